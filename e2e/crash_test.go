package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// try sends a request without failing the test on a transport error: during a crash a lost
// connection is an expected answer.
func (s *Shop) try(method, app, path string, body any, headers ...string) (int, []byte, error) {
	req, _, err := s.newRequest(method, app, path, body, headers...)
	if err != nil {
		return 0, nil, err
	}
	r, err := send(req)
	return r.Status, r.Body, err
}

// customer is a client that behaves as the API asks: it retries an order with the same
// Idempotency-Key until it gets a definite answer, and a cancel until it is done.
func customer(shop *Shop, l *Ledger, id string, stop <-chan struct{}, counts *loadCounts) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("%s-%d", id, i)
		var placed order
		definite := false
		for !definite {
			status, body, err := shop.try(http.MethodPost, "order", "/orders",
				map[string]any{"customerId": id, "productId": "apple", "qty": 1 + i%3}, append(shop.As(id), "Idempotency-Key", key)...)
			switch {
			case err == nil && status == http.StatusCreated:
				if json.Unmarshal(body, &placed) == nil {
					l.mu.Lock()
					l.accepted[placed.OrderID] = placed
					l.mu.Unlock()
					counts.placed.Add(1)
					definite = true
				}
			case err == nil && status == http.StatusConflict:
				counts.refused.Add(1)
				definite = true
			default:
				counts.retried.Add(1)
				time.Sleep(200 * time.Millisecond)
			}
		}
		if placed.OrderID != "" && i%4 == 1 {
			for {
				status, _, err := shop.try(http.MethodPost, "order", "/orders/"+placed.OrderID+"/cancel", nil, shop.As(id)...)
				if err == nil && status == http.StatusOK {
					l.mu.Lock()
					l.cancelled[placed.OrderID] = true
					l.mu.Unlock()
					break
				}
				counts.retried.Add(1)
				time.Sleep(200 * time.Millisecond)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type loadCounts struct{ placed, refused, retried atomic.Int32 }

// TestCrashAnywhere keeps customers ordering and cancelling while every app, every sidecar,
// the broker and a database are killed and restarted, one at a time. Afterwards every order
// that got a 201 exists with all its consequences, stock adds up, no delivery is duplicated,
// and reservations of orders that were never stored have been given back.
func TestCrashAnywhere(t *testing.T) {
	shop := StartShop(t, "postgres-redis", DurableBroker(), PrivatePostgres())
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100000)

	stop := make(chan struct{})
	var counts loadCounts
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer(shop, l, fmt.Sprintf("crash-%d", c), stop, &counts)
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	pause := func() { time.Sleep(1500 * time.Millisecond) }
	pause()
	for _, app := range appNames {
		t.Logf("kill -9 %s", app)
		shop.CrashApp(app, time.Second)
		shop.WaitReady(app)
		pause()
		t.Logf("kill -9 the sidecar of %s", app)
		shop.CrashSidecar(app, time.Second)
		shop.WaitReady(app)
		pause()
	}
	t.Log("kill -9 the broker (Redis)")
	shop.CrashBroker(time.Second)
	pause()
	t.Log("crash PostgreSQL")
	shop.CrashDatabase(time.Second)
	pause()
	pause()

	close(stop)
	wg.Wait()
	t.Logf("load: %d orders placed, %d refused, %d requests retried", counts.placed.Load(), counts.refused.Load(), counts.retried.Load())
	if counts.placed.Load() < 20 {
		t.Fatalf("only %d orders went through: the load did not run", counts.placed.Load())
	}
	shop.WaitConverged(l, 3*time.Minute)
}
