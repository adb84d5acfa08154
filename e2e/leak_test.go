package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// TestReservationWithoutOrderIsReleased reserves stock the way order does, for an order that
// is then never stored (as when order crashes between reserving and saving): once the hold
// has passed, the warehouse settles it with order, learns the order is not stored (and never
// will be on it), and gives the stock back. A reservation whose order exists is kept.
func TestReservationWithoutOrderIsReleased(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)
	if _, r := shop.PlaceOrder(l, "alice", "apple", 2); r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations", map[string]any{"orderId": "crashed-before-saving", "productId": "apple", "qty": 3, "reservationId": "r1"})
	if r.Status != http.StatusOK || !contains(r.Body, `"reserved":true`) {
		t.Fatalf("reserve: %d %s", r.Status, r.Body)
	}
	if p := shop.Product("apple"); p.Available != 5 {
		t.Fatalf("after reserving 3 more: %+v", p)
	}
	daprtest.Eventually(t, 90*time.Second, "the lost reservation to be released", func() error {
		if p := shop.Product("apple"); p.Available != 8 {
			return fmt.Errorf("apple: %+v", p)
		}
		return nil
	})
	if got := shop.AppMetric("warehouse", "warehouse_unconfirmed_released_units_total"); got != 3 {
		t.Fatalf("released units metric: %v, want 3", got)
	}
	shop.WaitConverged(l, 30*time.Second)
}
