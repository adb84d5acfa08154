package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
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

	client := &http.Client{Timeout: 20 * time.Second}
	var refused, placed atomic.Int32
	var wg sync.WaitGroup
	tick := time.NewTicker(100 * time.Millisecond)
	for i := range 60 {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer := fmt.Sprintf("d%03d", i%20)
			req, _, _ := shop.newRequest(http.MethodPost, "order", "/orders",
				map[string]any{"customerId": customer, "productId": "apple", "qty": 1}, shop.As(customer)...)
			resp, err := client.Do(req)
			if err != nil {
				refused.Add(1)
				t.Errorf("order %d: %v", i, err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != http.StatusCreated {
				refused.Add(1)
				body, _ := io.ReadAll(resp.Body)
				t.Errorf("order %d: %s %s", i, resp.Status, body)
				return
			}
			var o order
			if err := decodeJSON(resp, &o); err == nil {
				l.recordAccepted(o)
				placed.Add(1)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	t.Logf("%d orders placed, %d refused", placed.Load(), refused.Load())
	if refused.Load() != 0 {
		t.Fatalf("%d of 60 orders refused on a disk whose flushes take 200 ms", refused.Load())
	}
	shop.WaitConverged(l, 60*time.Second)
}
