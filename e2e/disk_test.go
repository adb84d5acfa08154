package e2e

import (
	"testing"
	"time"
)

// TestSlowDisk: on the SQLite profiles a disk whose flushes are slow does not hold up orders.
// Every flush of every sidecar takes 200 ms here, as on a disk busy with other writes (a
// build beside the shop was enough). A commit waits for the write to its log, not for the
// disk (synchronous(NORMAL), components/local/statestores.yaml), so the shop takes 10 orders
// a second as usual. With SQLite's default every commit waited for its own flush, one at a
// time per file: the stock checks behind them timed out, and orders were refused.
func TestSlowDisk(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "local", SlowDisk(200*time.Millisecond))
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100000)

	placed, refused := shop.steadyOrders(l, "", 60, 100*time.Millisecond, "d", 20)
	for _, f := range refused {
		t.Errorf("order %d: %s", f.i, f.what)
	}
	t.Logf("%d orders placed, %d refused", placed, len(refused))
	if len(refused) != 0 {
		t.Fatalf("%d of 60 orders refused on a disk whose flushes take 200 ms", len(refused))
	}
	shop.WaitConverged(l, 60*time.Second)
}
