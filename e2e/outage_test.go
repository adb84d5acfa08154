package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shortRetryBudget shortens the sidecars' inbound retry policy to three tries 100 ms apart, so
// that an outage of a few seconds outlasts the whole budget.
func shortRetryBudget(t testing.TB, dir string) {
	t.Helper()
	p := filepath.Join(dir, "common", "resiliency.yaml")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	old := "      eventDelivery:\n        policy: exponential\n        maxInterval: 10s\n        maxRetries: 10\n"
	if !strings.Contains(string(raw), old) {
		t.Fatalf("%s no longer holds the eventDelivery policy this test shortens", p)
	}
	short := "      eventDelivery:\n        policy: constant\n        duration: 100ms\n        maxRetries: 2\n"
	if err := os.WriteFile(p, []byte(strings.Replace(string(raw), old, short, 1)), 0o644); err != nil { //nolint:gosec // G703: p is in the test's own copy of components/ (EditComponents), not outside input
		t.Fatal(err)
	}
}

// TestStoreOutageLongerThanTheRetryBudget takes the warehouse's database out of reach right
// after ten orders, for far longer than the sidecars' whole retry budget, while the events of
// those orders (and of cancellations made meanwhile) flow to the warehouse. While it cannot
// reach its store the warehouse takes no events, so they wait instead of failing; once the
// store is back, every event has its effect, stock adds up, and no dead letter is parked for
// an event whose effect happened.
func TestStoreOutageLongerThanTheRetryBudget(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis", ProxyStore("warehouse"), EditComponents(shortRetryBudget))
	store := shop.Proxies["warehouse"]
	l := newLedger()
	// Several products, so the warehouse's events do not queue behind one product's: each
	// spends its whole retry budget well within the outage.
	products := []string{"apple", "pear", "plum", "fig", "kiwi"}
	for _, p := range products {
		shop.RegisterProduct(l, p, 100)
	}
	var placed []order
	for i := range 10 {
		o, r := shop.PlaceOrder(l, fmt.Sprintf("outage-%d", i%3), products[i%len(products)], 1+i%2)
		if r.Status != http.StatusCreated {
			t.Fatalf("order %d: %d %s", i, r.Status, r.Body)
		}
		placed = append(placed, o)
	}
	const outage = 30 * time.Second
	store.Refuse(outage)
	failedBefore := shop.AppMetric("warehouse", "events_handled_total", `outcome="retry"`)
	// Cancellations go on meanwhile (order and delivery are fine): OrderCancelled reaches the
	// warehouse too.
	for _, o := range placed[:3] {
		shop.CancelOrder(l, o.OrderID)
	}
	time.Sleep(outage)

	shop.WaitConverged(l, 3*time.Minute)
	for _, app := range appNames {
		if got := shop.AppMetric(app, "deadletters_parked"); got != 0 {
			t.Errorf("%s parked %v dead letters", app, got)
		}
		var lot struct {
			Total int `json:"total"`
		}
		shop.Call(http.MethodGet, app, "/deadletters", nil).JSON(t, &lot)
		if lot.Total != 0 {
			t.Errorf("%s lists %d dead letters", app, lot.Total)
		}
	}
	t.Logf("deliveries the warehouse failed during the outage: %v",
		shop.AppMetric("warehouse", "events_handled_total", `outcome="retry"`)-failedBefore)
}
