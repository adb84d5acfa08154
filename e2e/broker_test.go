package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestOrdersAreTakenWhileTheBrokerIsDown cuts order's sidecar off the broker. Orders and
// cancellations are still taken: each is stored, and its event, which cannot be published,
// waits on the watch list. Once the broker is back, every event lost meanwhile is published
// again, and the shop ends as if the broker had never gone.
func TestOrdersAreTakenWhileTheBrokerIsDown(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis", ProxyBroker("order"))
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100)

	const outage = 20 * time.Second
	shop.BrokerProxies["order"].Refuse(outage)
	down := time.Now()
	var placed []order
	for i := range 8 {
		placed = append(placed, shop.MustPlaceOrder(l, fmt.Sprintf("with the broker down, order %d", i), fmt.Sprintf("b%d", i%3), "apple", 1+i%2))
	}
	for _, o := range placed[:3] {
		shop.CancelOrder(l, o.OrderID)
	}
	took := time.Since(down)
	if took >= outage {
		t.Fatalf("the orders took %s, longer than the broker was down (%s)", took, outage)
	}
	t.Logf("8 orders and 3 cancellations taken in %s with the broker down", took.Round(time.Millisecond))
	if n := shop.AppMetric("order", "order_events_republished_total"); n != 0 {
		t.Fatalf("%v events published again before the broker came back", n)
	}
	shop.WaitConverged(l, 2*time.Minute)
	// Lost: the placements of the five orders still placed, and the three cancellations (a
	// cancelled order's placement is not published again: its cancellation says it all).
	n := shop.AppMetric("order", "order_events_republished_total")
	if n < 8 {
		t.Fatalf("%v events published again, want at least the 8 lost", n)
	}
	t.Logf("%v events published again", n)
}
