package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoOversell sends 150 concurrent orders for a product with stock 40: exactly 40 are
// accepted, the rest are refused as out of stock, and stock adds up at quiescence. Then mixed
// quantities race with cancellations of accepted orders.
func TestNoOversell(t *testing.T) {
	t.Parallel()
	for _, profile := range profiles() {
		t.Run(profile, func(t *testing.T) {
			shop := StartShop(t, profile)
			l := newLedger()
			shop.RegisterProduct(l, "apple", 40)

			// More at once than order takes on (MAX_PLACING_ORDERS): the excess is told to come
			// back (503, Retry-After) and does, with its Idempotency-Key, as a client should.
			var accepted, refused, overloaded atomic.Int32
			var wg sync.WaitGroup
			for i := range 150 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						_, r := shop.PlaceOrder(l, fmt.Sprintf("c%03d", i), "apple", 1, "Idempotency-Key", fmt.Sprintf("k%03d", i))
						switch r.Status {
						case http.StatusCreated:
							accepted.Add(1)
						case http.StatusConflict:
							refused.Add(1)
						case http.StatusServiceUnavailable:
							overloaded.Add(1)
							time.Sleep(100 * time.Millisecond)
							continue
						default:
							t.Errorf("order %d: %d %s", i, r.Status, r.Body)
						}
						return
					}
				}()
			}
			wg.Wait()
			t.Logf("150 at once: %d told to come back later", overloaded.Load())
			if accepted.Load() != 40 || refused.Load() != 110 {
				t.Fatalf("150 orders for 40 apples: %d accepted, %d refused", accepted.Load(), refused.Load())
			}
			shop.WaitConverged(l, 120*time.Second)

			// Mixed quantities racing with cancellations: whatever fits is accepted, what is
			// cancelled comes back, and the books balance.
			shop.RegisterProduct(l, "pear", 50)
			l.mu.Lock()
			var toCancel []string
			for id, o := range l.accepted {
				if len(toCancel) < 20 && o.ProductID == "apple" {
					toCancel = append(toCancel, id)
				}
			}
			l.mu.Unlock()
			var units atomic.Int32
			for i := range 60 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					qty := 1 + i%4
					if _, r := shop.PlaceOrder(l, fmt.Sprintf("m%03d", i), "pear", qty); r.Status == http.StatusCreated {
						units.Add(int32(qty))
					} else if r.Status != http.StatusConflict {
						t.Errorf("pear order %d: %d %s", i, r.Status, r.Body)
					}
				}()
			}
			for _, id := range toCancel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					shop.CancelOrder(l, id)
				}()
			}
			wg.Wait()
			if u := units.Load(); u > 50 || u < 47 {
				t.Fatalf("accepted %d pears of 50 (orders of 1-4 units must fill it to within 3)", u)
			}
			shop.WaitConverged(l, 120*time.Second)
		})
	}
}

// TestIdempotentRequests retries one order concurrently with the same Idempotency-Key: one
// order, one reservation. The reservation API itself is idempotent by order id.
func TestIdempotentRequests(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)

	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, r := shop.PlaceOrder(l, "alice", "apple", 3, "Idempotency-Key", "checkout-42")
			if r.Status != http.StatusCreated {
				t.Errorf("retry: %d %s", r.Status, r.Body)
			}
			ids <- o.OrderID
		}()
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("one key, two orders: %s and %s", first, id)
		}
	}
	if p := shop.Product("apple"); p.Available != 7 {
		t.Fatalf("20 retries reserved %d units", 10-p.Available)
	}
	for range 3 {
		r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations", map[string]any{"orderId": first, "productId": "apple", "qty": 3, "reservationId": "a-repeat"})
		if r.Status != http.StatusOK || !contains(r.Body, `"reserved":true`) {
			t.Fatalf("repeating the reservation: %d %s", r.Status, r.Body)
		}
	}
	if p := shop.Product("apple"); p.Available != 7 {
		t.Fatalf("repeated reservations reserved again: %+v", p)
	}
	shop.WaitConverged(l, 60*time.Second)
}

// TestNoOversellWithReplicas runs the shop as the chart does, two replicas of every service,
// and sends orders for one product to both order replicas at once: exactly the ones that fit
// are accepted, the rest are refused as out of stock, and no reservation gives up because the
// replicas fought over the product's document. A burst this size on two cores can outlast the
// stock check's timeout (and then the circuit breaker answers for the warehouse): those orders
// are told to come back (503, Retry-After) and do, with their Idempotency-Key, as a client
// should; none may be lost or placed twice.
func TestNoOversellWithReplicas(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis")
	for _, app := range appNames {
		shop.StartReplica(app, app+"-2")
	}
	l := newLedger()
	shop.RegisterProduct(l, "apple", 40)
	var accepted, refused, later atomic.Int32
	var wg sync.WaitGroup
	for i := range 120 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replica := []string{"order", "order-2"}[i%2]
			customer := fmt.Sprintf("r%03d", i)
			for {
				r := shop.Call(http.MethodPost, replica, "/orders", map[string]any{"customerId": customer, "productId": "apple", "qty": 1},
					append(shop.As(customer), "Idempotency-Key", customer)...)
				switch r.Status {
				case http.StatusCreated:
					var o order
					r.JSON(t, &o)
					l.recordAccepted(o)
					accepted.Add(1)
				case http.StatusConflict:
					refused.Add(1)
				case http.StatusServiceUnavailable:
					later.Add(1)
					time.Sleep(time.Second)
					continue
				default:
					t.Errorf("order %d at %s: %d %s", i, replica, r.Status, r.Body)
				}
				return
			}
		}()
	}
	wg.Wait()
	t.Logf("120 orders for 40 apples on two replicas: %d answers were 503 and came back", later.Load())
	if accepted.Load() != 40 || refused.Load() != 80 {
		t.Fatalf("120 orders for 40 apples on two replicas: %d accepted, %d refused", accepted.Load(), refused.Load())
	}
	for _, w := range []string{"warehouse", "warehouse-2"} {
		if shop.LogContains(w, "document changed by others too often") {
			t.Errorf("%s gave up a change because the other replica kept changing the document", w)
		}
	}
	shop.WaitConverged(l, 2*time.Minute)
}
