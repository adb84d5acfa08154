package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// breakerOpen reports whether the order sidecar's circuit breaker towards the warehouse is open.
func (s *Shop) breakerOpen() bool {
	return s.SidecarMetric("order", "dapr_resiliency_cb_state", `target="app_warehouse"`, `status="open"`) == 1
}

// invocationsReceived counts the service invocations the warehouse sidecar has received.
func (s *Shop) invocationsReceived() float64 {
	return s.SidecarMetric("warehouse", "dapr_http_server_request_count") +
		s.SidecarMetric("warehouse", "dapr_grpc_io_server_completed_rpcs", `grpc_server_method="/dapr.proto.internals.v1.ServiceInvocation/CallLocal"`)
}

// TestCircuitBreaker makes the warehouse hang (SIGSTOP): orders get 503 with Retry-After
// within the resiliency timeout, the breaker opens (its metric says so), later orders fail
// fast without reaching the warehouse, and once it answers again the breaker closes and orders
// succeed. Business refusals never open it. Reservations the frozen warehouse took for orders
// that were never stored are given back.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 20)

	// A burst of out-of-stock refusals: 2xx answers from the warehouse, so the breaker stays shut.
	for range 12 {
		if _, r := shop.PlaceOrder(l, "alice", "apple", 500); r.Status != http.StatusConflict {
			t.Fatalf("ordering 500 of 20: %d %s", r.Status, r.Body)
		}
	}
	if shop.breakerOpen() {
		t.Fatal("out-of-stock refusals opened the circuit breaker")
	}
	if _, r := shop.PlaceOrder(l, "alice", "apple", 1); r.Status != http.StatusCreated {
		t.Fatalf("a valid order after the refusals: %d %s", r.Status, r.Body)
	}

	shop.Signal("warehouse", syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			shop.Signal("warehouse", syscall.SIGCONT)
		}
	}()
	for i := 0; !shop.breakerOpen(); i++ {
		if i == 5 {
			t.Fatal("five failing orders did not open the circuit breaker")
		}
		start := time.Now()
		_, r := shop.PlaceOrder(l, "bob", "apple", 1)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("with the warehouse hanging: %d %s", r.Status, r.Body)
		}
		if took := time.Since(start); took > 9*time.Second {
			t.Fatalf("a refusal took %s: the timeout (2s) and two retries must bound it", took)
		}
	}
	received := shop.invocationsReceived()
	for range 5 {
		start := time.Now()
		_, r := shop.PlaceOrder(l, "bob", "apple", 1)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("with the breaker open: %d %s", r.Status, r.Body)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("with the breaker open a refusal took %s; it must fail fast", took)
		}
	}
	if got := shop.invocationsReceived(); got != received {
		t.Fatalf("with the breaker open the warehouse sidecar still received %v calls", got-received)
	}

	shop.Signal("warehouse", syscall.SIGCONT)
	stopped = false
	daprtest.Eventually(t, 60*time.Second, "orders to succeed again", func() error {
		if _, r := shop.PlaceOrder(l, "carol", "apple", 1); r.Status != http.StatusCreated {
			return fmt.Errorf("%d %s", r.Status, r.Body)
		}
		return nil
	})
	// The sidecar records the breaker's state as each call starts, so the next call shows it closed.
	daprtest.Eventually(t, 30*time.Second, "the breaker to close", func() error {
		if _, r := shop.PlaceOrder(l, "carol", "apple", 1); r.Status != http.StatusCreated {
			return fmt.Errorf("%d %s", r.Status, r.Body)
		}
		if shop.SidecarMetric("order", "dapr_resiliency_cb_state", `target="app_warehouse"`, `status="closed"`) != 1 {
			return fmt.Errorf("not closed")
		}
		return nil
	})
	// The frozen warehouse took the reservations of refused orders late, after order had given
	// up: nobody stored those orders, so the warehouse gives their stock back.
	shop.WaitConverged(l, 90*time.Second)
}

// TestOneCustomerCannotOpenTheBreaker: requests with one Idempotency-Key and different
// quantities all at once are one customer's mistake, not a failing warehouse. One is placed,
// the rest are refused as a reused key, and the next customer's order goes through.
func TestOneCustomerCannotOpenTheBreaker(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 1000)

	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r := shop.PlaceOrder(l, "alice", "apple", i+1, "Idempotency-Key", "one-key")
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusUnprocessableEntity] != 19 {
		t.Fatalf("20 requests with one key and quantities 1..20: %v, want one 201 and nineteen 422", count)
	}
	if shop.breakerOpen() {
		t.Fatal("one customer's requests opened the circuit breaker")
	}
	for _, c := range []string{"bob", "carol"} {
		if _, r := shop.PlaceOrder(l, c, "apple", 1); r.Status != http.StatusCreated {
			t.Fatalf("%s's order right after: %d %s", c, r.Status, r.Body)
		}
	}
	shop.WaitConverged(l, 60*time.Second)
}
