package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// TestASidecarWithoutNameResolutionIsStartedAgain holds the SQLite file the sidecars find each
// other in locked for longer than a sidecar waits for it, while the warehouse's sidecar starts.
// That sidecar cannot set up its name resolution and daprd goes on without it, so the order
// service's sidecar finds no warehouse ("no host found") and every order would be refused 503.
// The shop notices and starts the sidecar again once the file is free.
func TestASidecarWithoutNameResolutionIsStartedAgain(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "local")
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)

	// sqlite3 takes the write lock and keeps it for 5 s (a sidecar waits 3 s: busyTimeout in
	// components/config.yaml). It also removes the registration of the sidecar about to be
	// killed, which would otherwise point at the new one's ports for up to 10 s more.
	holdWriteLock(t, filepath.Join(shop.dir, daprtest.NameResolutionFile), 5*time.Second,
		"DELETE FROM hosts WHERE app_id = 'warehouse';")
	shop.CrashSidecar("warehouse", 0)
	shop.WaitReady("warehouse")
	if !shop.LogContains("daprd-warehouse", nameResolutionFailed...) {
		t.Fatal("the warehouse's sidecar set up its name resolution although the file was locked; the test proves nothing")
	}
	// Once its sidecar sees the app healthy again, orders go through (without the new start,
	// every one is refused: "no host found").
	daprtest.Eventually(t, 20*time.Second, "an order to be placed", func() error {
		if _, r := shop.PlaceOrder(l, "alice", "apple", 1); r.Status != http.StatusCreated {
			return fmt.Errorf("order: %d %s", r.Status, r.Body)
		}
		return nil
	})
	shop.WaitConverged(l, 30*time.Second)
}

// TestASidecarWaitsForABusyNameResolutionFile starts a sidecar while another connection holds
// the write lock of the file the sidecars find each other in, for less than a sidecar waits
// (busyTimeout, 3 s): as when the shop's sidecars start together. On the file as a shop makes
// it, the sidecar waits its turn and registers. On a file in SQLite's default journal mode,
// the control, it gives up at once: it has to switch the file to WAL, and SQLite fails that
// switch without waiting while anyone holds a lock.
func TestASidecarWaitsForABusyNameResolutionFile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		prepared bool // the sidecar registers only on a prepared file
	}{{"as a shop makes it", true}, {"in the default journal mode", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, daprtest.NameResolutionFile)
			if c.prepared {
				newNameResolutionFile(t, dir)
			}
			holdWriteLock(t, file, 2*time.Second)
			daprtest.Sidecar(t, dir, "warehouse", nil)
			if failed := logContains(filepath.Join(dir, "daprd-warehouse.log"), nameResolutionFailed...); failed == c.prepared {
				t.Fatalf("name resolution failed: %t, want %t", failed, !c.prepared)
			}
			if c.prepared {
				out, err := exec.Command("sqlite3", file, "SELECT count(*) FROM hosts WHERE app_id = 'warehouse';").CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != "1" {
					t.Fatalf("the sidecar's registration: %v: %s", err, out)
				}
			}
		})
	}
}

// holdWriteLock has sqlite3 take the write lock of the SQLite file at path and run statements
// in that transaction, and returns once it holds it; sqlite3 commits after d.
func holdWriteLock(t testing.TB, path string, d time.Duration, statements ...string) {
	t.Helper()
	lock := exec.Command("sqlite3", path)
	stdin, err := lock.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := lock.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	// Should the test end first, sqlite3 ends with its input (and rolls back).
	t.Cleanup(func() { _ = stdin.Close(); _ = lock.Wait() })
	if _, err := fmt.Fprintln(stdin, "BEGIN IMMEDIATE;", strings.Join(statements, " "), "SELECT 'locked';"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("sqlite3 did not take the lock: %q %v", line, err)
	}
	go func() {
		time.Sleep(d)
		_, _ = fmt.Fprintln(stdin, "COMMIT;")
		_ = stdin.Close()
	}()
}
