package daprtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNameResolutionIsTheShops: the lone sidecars find others as the shop's sidecars do
// (components/config.yaml, which says why each setting is what it is).
func TestNameResolutionIsTheShops(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(RepoRoot(t), "components", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := NameResolution(NameResolutionFile); !strings.Contains(string(raw), want) {
		t.Fatalf("components/config.yaml has no\n%s", want)
	}
}
