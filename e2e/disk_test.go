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

	start := time.Now()
	placed, refused := shop.steadyOrders(l, "", 60, 100*time.Millisecond, "d", 20)
	for _, f := range refused {
		// When and how fast: a stock check that timed out takes seconds; an open breaker answers at once.
		t.Errorf("order %d, sent at %s, answered in %s: %s", f.i, f.sent.Sub(start).Round(time.Millisecond), f.took.Round(time.Millisecond), f.what)
	}
	t.Logf("%d orders placed, %d refused", placed, len(refused))
	if len(refused) != 0 {
		t.Fatalf("%d of 60 orders refused on a disk whose flushes take 200 ms", len(refused))
	}
	shop.WaitConverged(l, 60*time.Second)
}
