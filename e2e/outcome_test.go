package e2e

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// orderUntilDefinite is a client that does what the API asks: it retries with its key until
// the answer is definite, for at most 90 s. It records a placed order in the ledger and
// returns every answer.
func (s *Shop) orderUntilDefinite(l *Ledger, r orderRequest) []attempt {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := retryingClient{shop: s, ledger: l, counts: new(clientCounts), pause: 500 * time.Millisecond}
	answers, definite := c.placeOrder(ctx, r)
	if !definite {
		s.t.Fatalf("no definite answer for %s's order within 90s: %+v", r.customer, answers)
	}
	return answers
}

// storedOrders adds to the ledger the orders a customer has, as a client told that the
// outcome is open would look them up.
func (s *Shop) storedOrders(l *Ledger, customer string) []order {
	s.t.Helper()
	var list struct {
		Orders []order `json:"orders"`
	}
	s.Call(http.MethodGet, "order", "/orders?customerId="+customer, nil, s.As(customer)...).JSON(s.t, &list)
	for _, o := range list.Orders {
		l.recordAccepted(o)
	}
	return list.Orders
}

// TestUnknownOutcomeOfStoringAnOrder cuts the reply of the commit that stores an order (the
// commit reaches PostgreSQL; its answer never reaches the order sidecar) and then keeps the
// store out of reach for a while, so order cannot simply ask again at once. The order is
// stored and its OrderPlaced goes out, so its stock must stay reserved for it, and every
// answer a client got must match what was stored.
func TestUnknownOutcomeOfStoringAnOrder(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis", ProxyStore("order"))
	proxy := shop.Proxies["order"]
	l := newLedger()
	// Each case orders a product of its own: the proxy finds the order's write by its product,
	// which only the order's value holds (a key, which reads send too, never does).
	for _, product := range []string{"plum", "pear", "fig"} {
		shop.RegisterProduct(l, product, 10)
	}

	t.Run("a retrying client", func(t *testing.T) {
		proxy.CutNextCommit("plum", 8*time.Second)
		answers := shop.orderUntilDefinite(l, orderRequest{customer: "lost-reply", product: "plum", qty: 3, key: "checkout-1"})
		if proxy.Cuts != 1 {
			t.Fatalf("the commit was not cut (cuts %d)", proxy.Cuts)
		}
		t.Logf("answers: %+v", answers)
		if last := answers[len(answers)-1]; last.status != http.StatusCreated {
			t.Fatalf("answers %+v: the order was stored, the client must learn it", answers)
		}
		// The request whose commit went through is answered "placed", or "not known yet";
		// never "nothing was ordered". (Its retries, while the store is out of reach, may be
		// told to come back: they stored nothing themselves.)
		if first := answers[0]; first.status != http.StatusCreated && first.kind != "outcome-unknown" && first.kind != "no-answer" {
			t.Fatalf("the request that stored the order was answered %s", first)
		}
	})

	t.Run("concurrent requests with one key", func(t *testing.T) {
		proxy.CutNextCommit("pear", 8*time.Second)
		var wg sync.WaitGroup
		results := make([][]attempt, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = shop.orderUntilDefinite(l, orderRequest{customer: "same-key", product: "pear", qty: 2, key: "checkout-2"})
			}()
		}
		wg.Wait()
		ids := map[string]bool{}
		for _, answers := range results {
			last := answers[len(answers)-1]
			if last.status != http.StatusCreated {
				t.Fatalf("a retry of the stored order ended with %+v", answers)
			}
			ids[last.order.OrderID] = true
		}
		if len(ids) != 1 || proxy.Cuts != 2 {
			t.Fatalf("one key placed %d orders (cuts %d)", len(ids), proxy.Cuts)
		}
	})

	t.Run("no key, the store out of reach for longer than the request", func(t *testing.T) {
		proxy.CutNextCommit("fig", 25*time.Second)
		a := shop.orderAttempt("order", orderRequest{customer: "no-key", product: "fig", qty: 4})
		if a.status == http.StatusCreated {
			t.Fatalf("answered 201 while the store was out of reach: %+v", a)
		}
		if a.kind != "outcome-unknown" {
			t.Fatalf("answered %d %q; the outcome is open, and the answer must say so", a.status, a.kind)
		}
		// The client looks at its orders once the store is back.
		time.Sleep(25 * time.Second)
		shop.WaitReady("order")
		if got := shop.storedOrders(l, "no-key"); len(got) != 1 {
			t.Fatalf("no-key has %d orders, want the one whose commit went through", len(got))
		}
	})

	shop.WaitConverged(l, 2*time.Minute)
}

// TestSettlingRacesAStoreWrite: the warehouse's hold on a reservation passes while the order
// request that made it is still storing the order (its write is held up on the way to
// PostgreSQL). The warehouse settles the reservation with order: either the order is stored
// and the reservation kept, or the late write can no longer store the order on it, the
// request is told nothing was ordered, and its retry with the same key reserves afresh.
func TestSettlingRacesAStoreWrite(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis", ProxyStore("order"), AppEnv("RESERVATION_HOLD=2s", "RESERVATION_SWEEP=500ms"))
	proxy := shop.Proxies["order"]
	l := newLedger()
	// The proxy finds the order's write by its product, which only the order's value holds.
	shop.RegisterProduct(l, "quince", 10)

	proxy.DelayNext("quince", 6*time.Second)
	answers := shop.orderUntilDefinite(l, orderRequest{customer: "slow-writer", product: "quince", qty: 3, key: "checkout-1"})
	if proxy.Delays != 1 {
		t.Fatal("the store write was not held up")
	}
	t.Logf("answers: %+v", answers)
	if last := answers[len(answers)-1]; last.status != http.StatusCreated {
		t.Fatalf("answers %+v", answers)
	}
	// Either the write wins (the settlement finds the order stored) or the settlement does
	// (the attempt is abandoned, its stock given back, and the retry reserves afresh). Within
	// one replica the two take turns; either way the books must balance.
	t.Logf("units the warehouse gave back after settling: %v", shop.AppMetric("warehouse", "warehouse_unconfirmed_released_units_total"))
	// Orders keep flowing, each well within the hold.
	for i := range 3 {
		if _, r := shop.PlaceOrder(l, "quick", "quince", 1); r.Status != http.StatusCreated {
			t.Fatalf("order %d: %d %s", i, r.Status, r.Body)
		}
	}
	shop.WaitConverged(l, time.Minute)
	if p := shop.Product("quince"); p.OnHand != 4 {
		t.Fatalf("apple %+v, want 6 shipped", p)
	}
}
