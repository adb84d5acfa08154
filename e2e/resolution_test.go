package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
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
	lock := exec.Command("sqlite3", filepath.Join(shop.dir, "nameresolution.db"))
	stdin, err := lock.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintln(stdin, "BEGIN EXCLUSIVE; DELETE FROM hosts WHERE app_id = 'warehouse';"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(5 * time.Second)
		_, _ = fmt.Fprintln(stdin, "COMMIT;")
		_ = stdin.Close()
	}()
	t.Cleanup(func() { _ = lock.Wait() })

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
