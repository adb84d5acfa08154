package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// TestWarehouseDownMeansTryAgain stops the warehouse: orders are refused at once with 503 and
// Retry-After ("try again in a moment"), nothing is stored, and once the warehouse is back
// orders go through again.
func TestWarehouseDownMeansTryAgain(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)
	shop.StopApp("warehouse")

	for range 3 {
		start := time.Now()
		_, r := shop.PlaceOrder(l, "alice", "apple", 1)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("with the warehouse down: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("refusing took %s; the resiliency timeout is 2s with two retries", took)
		}
	}
	var list struct {
		Orders []order `json:"orders"`
	}
	shop.Call(http.MethodGet, "order", "/orders?customerId=alice", nil).JSON(t, &list)
	if len(list.Orders) != 0 {
		t.Fatalf("refused orders were stored: %+v", list.Orders)
	}

	shop.StartApp("warehouse")
	shop.WaitReady("warehouse")
	daprtest.Eventually(t, 60*time.Second, "orders to be taken again", func() error {
		if _, r := shop.PlaceOrder(l, "alice", "apple", 1); r.Status != http.StatusCreated {
			return errStatus(r)
		}
		return nil
	})
	if p := shop.Product("apple"); p.Available != 9 {
		t.Fatalf("apple after the outage: %+v, want 9 available (refused orders hold no stock)", p)
	}
	shop.WaitConverged(l, 60*time.Second)
}

// TestShopsOnOneMachineStayApart: two shops at once on one machine, with the same app ids
// and the same Sentry, as make run beside make test. With its own warehouse stopped, a shop
// refuses with 503; it does not find the other shop's warehouse, which would answer 422 for
// a product it does not know.
func TestShopsOnOneMachineStayApart(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	other := StartShop(t, profiles()[0])
	l, otherLedger := newLedger(), newLedger()
	shop.RegisterProduct(l, "apple", 10)
	other.RegisterProduct(otherLedger, "pear", 10)
	shop.StopApp("warehouse")

	for range 3 {
		if _, r := shop.PlaceOrder(l, "alice", "apple", 1); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("with its own warehouse down the shop answered %d %s, want 503", r.Status, r.Body)
		}
	}
	if _, r := other.PlaceOrder(otherLedger, "bob", "pear", 1); r.Status != http.StatusCreated {
		t.Fatalf("the other shop, whole: %d %s", r.Status, r.Body)
	}
	if p := other.Product("pear"); p.Available != 9 {
		t.Fatalf("pear at the other shop: %+v, want 9 available", p)
	}
	other.WaitConverged(otherLedger, 60*time.Second)
}
