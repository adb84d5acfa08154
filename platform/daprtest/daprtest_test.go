package daprtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestDaprdHoldsTheShopsComponents: the daprd built here (scripts/dapr-tools.sh) registers the
// components the shop uses and leaves Dapr's others out, which would take a third more binary
// and resident memory in every sidecar.
func TestDaprdHoldsTheShopsComponents(t *testing.T) {
	raw, err := os.ReadFile(Daprd(t))
	if err != nil {
		t.Fatal(err)
	}
	const contrib = "github.com/dapr/components-contrib/"
	for _, pkg := range []string{"state/postgresql/", "state/redis.", "state/sqlite.", "pubsub/redis.", "pubsub/rabbitmq.",
		"pubsub/kafka.", "secretstores/local/env.", "secretstores/kubernetes.", "nameresolution/sqlite.", "nameresolution/kubernetes."} {
		if !bytes.Contains(raw, []byte(contrib+pkg)) {
			t.Errorf("daprd has no %s", strings.TrimRight(pkg, "./"))
		}
	}
	for _, pkg := range []string{"state/mongodb.", "state/azure/", "state/aws/", "pubsub/gcp/", "bindings/"} {
		if bytes.Contains(raw, []byte(contrib+pkg)) {
			t.Errorf("daprd holds %s, which the shop does not use", strings.TrimRight(pkg, "./"))
		}
	}
}

// TestDaprdLogsItsVersion: a sidecar's every log line says which daprd wrote it, as Dapr's own
// builds do (with a component it cannot load, daprd logs and stops at once).
func TestDaprdLogsItsVersion(t *testing.T) {
	dir := t.TempDir()
	component := "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: unknown\nspec:\n  type: state.mongodb\n  version: v1\n"
	if err := os.WriteFile(filepath.Join(dir, "unknown.yaml"), []byte(component), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	daprd := Daprd(t)
	cmd := exec.CommandContext(ctx, daprd, "--app-id", "version-probe", "--resources-path", dir, "--log-as-json",
		"--dapr-http-port", strconv.Itoa(FreePort(t)), "--dapr-grpc-port", strconv.Itoa(FreePort(t)),
		"--dapr-internal-grpc-port", strconv.Itoa(FreePort(t)), "--metrics-port", strconv.Itoa(FreePort(t)))
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	version, err := exec.Command(daprd, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := `"ver":"` + strings.TrimSpace(string(version)) + `"`
	if !strings.Contains(string(out), want) {
		t.Fatalf("daprd's log has no %s:\n%s", want, out)
	}
}
