package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// customer orders a product again and again, retrying each order as the API asks until the
// answer is definite, and cancels one order in four, until stop is closed.
func customer(c retryingClient, id, product string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		answers, _ := c.placeOrder(context.Background(), orderRequest{customer: id, product: product, qty: 1 + i%3, key: fmt.Sprintf("%s-%d", id, i)})
		last := answers[len(answers)-1]
		// Every order here is valid and keeps its key's product and quantity: a 422 is a wrong
		// refusal, whatever crashed.
		if last.status == http.StatusUnprocessableEntity {
			c.shop.t.Errorf("%s's valid order %d was refused: %s", id, i, last)
		}
		if last.status == http.StatusCreated && i%4 == 1 {
			c.cancelOrder(context.Background(), id, last.order.OrderID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashAnywhere keeps customers ordering and cancelling while every app, every sidecar,
// the broker and a database are killed and restarted, one at a time. Afterwards every order
// that got a 201 exists with all its consequences, stock adds up, no delivery is duplicated,
// and reservations of orders that were never stored have been given back.
func TestCrashAnywhere(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "postgres-redis", DurableBroker(), PrivatePostgres())
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100000)

	stopLoad := customersOrdering(t, shop, l, "apple", 4, "crash")

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

	stopLoad()
	shop.WaitConverged(l, 3*time.Minute)
}

// customersOrdering starts n customers (named prefix-0, prefix-1, …) ordering a product and
// cancelling through retrying clients. The function it returns stops them, waits for them,
// reports what they did and fails the test unless at least 20 orders went through; the test's
// cleanup calls it too, should the test end early.
func customersOrdering(t *testing.T, shop *Shop, l *Ledger, product string, n int, prefix string) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var counts clientCounts
	client := retryingClient{shop: shop, ledger: l, counts: &counts, pause: 200 * time.Millisecond}
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer(client, fmt.Sprintf("%s-%d", prefix, c), product, done)
		}()
	}
	var once sync.Once
	halt := func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(halt)
	return func() {
		t.Helper()
		halt()
		t.Logf("load: %d orders placed, %d refused, %d requests retried", counts.placed.Load(), counts.refused.Load(), counts.retried.Load())
		if counts.placed.Load() < 20 {
			t.Fatalf("only %d orders went through: the load did not run", counts.placed.Load())
		}
	}
}
