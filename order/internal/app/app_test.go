package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/eventsub"
)

type countingMetrics struct {
	mu                sync.Mutex
	placed, cancelled int
	refused           map[string]int
}

func (m *countingMetrics) OrderPlaced(int) { m.mu.Lock(); m.placed++; m.mu.Unlock() }
func (m *countingMetrics) OrderRefused(r string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]int{}
	}
	m.refused[r]++
}
func (m *countingMetrics) OrderCancelled() { m.mu.Lock(); m.cancelled++; m.mu.Unlock() }

type fixture struct {
	app     *app.App
	repo    *adapters.MemoryRepository
	stock   *adapters.MemoryStock
	watch   *adapters.MemoryUnconfirmed
	direct  *eventsub.MemoryPublisher
	metrics *countingMetrics
}

func newFixture() fixture {
	f := fixture{
		repo:    adapters.NewMemoryRepository(),
		stock:   adapters.NewMemoryStock(map[domain.ProductID]int{"apple": 10}),
		watch:   &adapters.MemoryUnconfirmed{},
		direct:  &eventsub.MemoryPublisher{},
		metrics: &countingMetrics{},
	}
	f.app = app.New(f.repo, f.stock, f.watch, f.direct, f.metrics, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	return f
}

func place(customer, product string, qty int, key string) app.PlaceOrder {
	return app.PlaceOrder{CustomerID: customer, ProductID: product, Qty: qty, IdempotencyKey: key}
}

func TestPlaceOrderStoresTheOrderWithItsEvent(t *testing.T) {
	t.Parallel()
	f := newFixture()
	o, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, ""))
	if err != nil || !created || o.Status() != domain.Placed {
		t.Fatalf("place: %v %v %v", o, created, err)
	}
	events := f.repo.Published()
	if len(events) != 1 || events[0].EventType != contracts.OrderPlaced || events[0].OrderID != string(o.ID()) ||
		events[0].Qty != 3 || events[0].CustomerID != "alice" || events[0].EventID != contracts.EventID(contracts.OrderPlaced, string(o.ID())) {
		t.Fatalf("published %+v", events)
	}
	if f.stock.Reservations() != 1 || f.metrics.placed != 1 {
		t.Fatalf("reservations %d, placed %d", f.stock.Reservations(), f.metrics.placed)
	}
}

func TestPlaceOrderRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cmd  app.PlaceOrder
		down bool
		want error
	}{
		{"out of stock", place("alice", "apple", 11, ""), false, app.ErrOutOfStock},
		{"unknown product", place("alice", "durian", 1, ""), false, app.ErrUnknownProduct},
		{"warehouse down", place("alice", "apple", 1, ""), true, app.ErrStockUnconfirmed},
		{"qty zero", place("alice", "apple", 0, ""), false, domain.ErrInvalidInput},
		{"qty absurd", place("alice", "apple", domain.MaxQty+1, ""), false, domain.ErrInvalidInput},
		{"no customer", place("", "apple", 1, ""), false, domain.ErrInvalidInput},
		{"bad product id", place("alice", "ap ple", 1, ""), false, domain.ErrInvalidInput},
		{"bad idempotency key", place("alice", "apple", 1, "with space"), false, domain.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			f.stock.Down = c.down
			_, _, err := f.app.PlaceOrder(context.Background(), c.cmd)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if len(f.repo.Published()) != 0 || f.stock.Reservations() != 0 {
				t.Fatal("a refused order left something behind")
			}
		})
	}
}

func TestPlaceOrderGivesStockBackWhenTheOrderCannotBeStored(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.repo.FailAdds = true
	if _, _, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "k")); !errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if f.stock.Reservations() != 0 {
		t.Fatal("the reservation of an order that was never stored was not released")
	}
	// The client retries with the same key once the store is back: one order, one reservation.
	f.repo.FailAdds = false
	if _, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "k")); err != nil || !created {
		t.Fatalf("retry: %v %v", created, err)
	}
	if f.stock.Reservations() != 1 {
		t.Fatalf("reservations %d", f.stock.Reservations())
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make(chan domain.OrderID, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := f.app.PlaceOrder(ctx, place("alice", "apple", 2, "key-1"))
			if err != nil {
				t.Error(err)
				return
			}
			ids <- o.ID()
		}()
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("same key, different orders: %s and %s", first, id)
		}
	}
	if n := len(f.repo.Published()); n != 1 || f.stock.Reservations() != 1 {
		t.Fatalf("20 retries: %d events, %d reservations", n, f.stock.Reservations())
	}
	if _, _, err := f.app.PlaceOrder(ctx, place("alice", "apple", 5, "key-1")); !errors.Is(err, domain.ErrIdempotencyReused) {
		t.Fatalf("key reused for another order: %v", err)
	}
	// Keys belong to a customer: bob's key-1 is another order.
	o, created, err := f.app.PlaceOrder(ctx, place("bob", "apple", 2, "key-1"))
	if err != nil || !created || o.ID() == first {
		t.Fatalf("bob's key-1: %v %v %v", o.ID(), created, err)
	}
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	o, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 3, ""))
	for range 2 {
		c, err := f.app.CancelOrder(ctx, string(o.ID()))
		if err != nil || c.Status() != domain.Cancelled {
			t.Fatalf("cancel: %v %v", c, err)
		}
	}
	events := f.repo.Published()
	if len(events) != 2 || events[1].EventType != contracts.OrderCancelled || f.metrics.cancelled != 1 {
		t.Fatalf("cancelling twice published %+v", events)
	}
	if _, err := f.app.CancelOrder(ctx, "no-such-order"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	// A delivery start heard after the cancellation does not revive the order.
	if err := f.app.RecordDeliveryStarted(ctx, string(o.ID())); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.app.Order(ctx, string(o.ID())); got.Status() != domain.Cancelled {
		t.Fatalf("status %s", got.Status())
	}
}

func TestRecordDeliveryStarted(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	o, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 3, ""))
	for range 2 {
		if err := f.app.RecordDeliveryStarted(ctx, string(o.ID())); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := f.app.Order(ctx, string(o.ID())); got.Status() != domain.DeliveryStarted {
		t.Fatalf("status %s", got.Status())
	}
	if err := f.app.RecordDeliveryStarted(ctx, "ghost"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	if n := len(f.repo.Published()); n != 1 {
		t.Fatalf("recording a delivery start published %d events", n)
	}
}

func TestCustomerOrders(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	a, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	b, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 2, ""))
	f.app.PlaceOrder(ctx, place("bob", "apple", 1, ""))
	orders, err := f.app.CustomerOrders(ctx, "alice")
	if err != nil || len(orders) != 2 || orders[0].ID() != a.ID() || orders[1].ID() != b.ID() {
		t.Fatalf("alice's orders: %v %v", orders, err)
	}
	if _, err := f.app.CustomerOrders(ctx, ""); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("no customer: %v", err)
	}
}

// An order event that no consumer confirms is published again, with the same id; a confirmed
// one is not.
func TestUnconfirmedEventsArePublishedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	started, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	lost, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 2, ""))
	cancelled, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 3, ""))
	if err := f.app.RecordDeliveryStarted(ctx, string(started.ID())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.CancelOrder(ctx, string(cancelled.ID())); err != nil {
		t.Fatal(err)
	}
	if n, err := f.app.RepublishUnconfirmed(ctx, time.Now().Add(-time.Minute)); n != 0 || err != nil {
		t.Fatalf("before anything is due: %d, %v", n, err)
	}
	n, err := f.app.RepublishUnconfirmed(ctx, time.Now().Add(time.Minute))
	if n != 2 || err != nil {
		t.Fatalf("republished %d, %v; want the lost placement and the unconfirmed cancellation", n, err)
	}
	got := map[string]contracts.EventType{}
	for _, e := range f.direct.Events() {
		got[e.OrderID] = e.EventType
		if e.EventID != contracts.EventID(e.EventType, e.OrderID) {
			t.Fatalf("republished with another id: %+v", e)
		}
	}
	if got[string(lost.ID())] != contracts.OrderPlaced || got[string(cancelled.ID())] != contracts.OrderCancelled || len(got) != 2 {
		t.Fatalf("republished %v", got)
	}
	if err := f.app.RecordDeliveryCancelled(ctx, string(cancelled.ID())); err != nil {
		t.Fatal(err)
	}
	if err := f.app.RecordDeliveryStarted(ctx, string(lost.ID())); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.app.RepublishUnconfirmed(ctx, time.Now().Add(time.Hour)); n != 0 {
		t.Fatalf("confirmed events were published again: %d", n)
	}
}
