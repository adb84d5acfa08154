package e2e

import (
	"os"
	"testing"
)

// TestMain removes the apps built for the run once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
