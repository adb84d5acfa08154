package e2e

import (
	"os"
	"testing"
)

// TestMain stops Sentry and removes the apps built for the run once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	stopSecurity()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
