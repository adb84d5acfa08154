package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/value"
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
func (m *countingMetrics) OrderCancelled()                { m.mu.Lock(); m.cancelled++; m.mu.Unlock() }
func (m *countingMetrics) Unconfirmed(int, time.Duration) {}

type fixture struct {
	app     *app.App
	clock   *clock
	repo    *adapters.MemoryRepository
	stock   *adapters.MemoryStock
	watch   *adapters.MemoryUnconfirmed
	direct  *adapters.MemoryAnnouncer
	metrics *countingMetrics
}

func newFixture() fixture {
	watch := &adapters.MemoryUnconfirmed{}
	f := fixture{
		clock:   &clock{now: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		repo:    adapters.NewMemoryRepository(watch),
		stock:   adapters.NewMemoryStock(map[domain.ProductID]int{value.Must(domain.ParseProductID("apple")): 10}),
		watch:   watch,
		direct:  &adapters.MemoryAnnouncer{},
		metrics: &countingMetrics{},
	}
	f.app = app.New(f.repo, f.stock, f.watch, f.direct, f.metrics, slog.New(slog.DiscardHandler), f.clock.Now, republishAfter)
	return f
}

const republishAfter = 2 * time.Minute

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func place(customer, product string, qty int, key string) app.PlaceOrder {
	return app.PlaceOrder{CustomerID: customer, ProductID: product, Qty: qty, IdempotencyKey: key}
}

func TestPlaceOrderStoresTheOrderThenPublishesItsEvent(t *testing.T) {
	t.Parallel()
	f := newFixture()
	o, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, ""))
	if err != nil || !created || o.Status() != domain.Placed {
		t.Fatalf("place: %v %v %v", o, created, err)
	}
	events := f.direct.Events()
	if len(events) != 1 || events[0].EventType != contracts.OrderPlaced || events[0].OrderID != o.ID().String() ||
		events[0].Qty != 3 || events[0].CustomerID != "alice" || events[0].EventID != contracts.EventID(contracts.OrderPlaced, o.ID().String()) ||
		!events[0].OccurredAt.Equal(o.UpdatedAt()) || events[0].ProductID != "apple" {
		t.Fatalf("published %+v", events)
	}
	if f.stock.Reserved() != 3 || f.metrics.placed != 1 || o.Reservation() == (domain.ReservationID{}) {
		t.Fatalf("reserved %d, placed %d, reservation %q", f.stock.Reserved(), f.metrics.placed, o.Reservation())
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
			if len(f.direct.Events()) != 0 || f.stock.Reserved() != 0 {
				t.Fatal("a refused order left something behind")
			}
		})
	}
}

func TestPlaceOrderGivesStockBackWhenTheOrderIsNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.repo.FailAdds = true
	if _, _, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "k")); !errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if f.stock.Reserved() != 0 {
		t.Fatal("the reservation of an order that was never stored was not released")
	}
	// The client retries with the same key once the store is back: one order, reserved once.
	f.repo.FailAdds = false
	if _, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "k")); err != nil || !created {
		t.Fatalf("retry: %v %v", created, err)
	}
	if f.stock.Reserved() != 3 {
		t.Fatalf("reserved %d", f.stock.Reserved())
	}
}

// A write that failed before anything of it reached the store stored nothing: without a key
// (no other request can hold the order's id) the stock goes back at once, and the client is
// told to try again, even when the store cannot be asked.
func TestPlaceOrderThatWroteNothingGivesStockBackAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.repo.FailAdds, f.repo.FailSettles = true, true
	if _, _, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "")); !errors.Is(err, app.ErrUnavailable) || errors.Is(err, app.ErrOutcomeUnknown) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	if f.stock.Reserved() != 0 || f.watch.Len() != 0 {
		t.Fatalf("reserved %d, watched %d: an order that wrote nothing kept its stock or its watch", f.stock.Reserved(), f.watch.Len())
	}
}

// The store committed the order but its answer was lost: the order is placed, and its stock
// stays reserved for it.
func TestPlaceOrderWhoseStoreAnswerIsLost(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "k"} {
		f := newFixture()
		f.repo.LoseAddReplies = true
		o, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, key))
		if err != nil || !created {
			t.Fatalf("key %q: %v %v", key, created, err)
		}
		if got, err := f.app.Order(context.Background(), o.ID().String()); err != nil || got.Status() != domain.Placed {
			t.Fatalf("key %q: stored %v %v", key, got, err)
		}
		if f.stock.Reserved() != 3 || f.metrics.placed != 1 {
			t.Fatalf("key %q: an order that was stored lost its stock: reserved %d, placed %d", key, f.stock.Reserved(), f.metrics.placed)
		}
		if events := f.direct.Events(); len(events) != 1 || events[0].EventType != contracts.OrderPlaced || events[0].OrderID != o.ID().String() {
			t.Fatalf("key %q: an order that was stored published %+v, want its OrderPlaced", key, events)
		}
	}
}

// When neither the write nor the question afterwards gets through, nobody can tell whether
// the order was stored: the client is told so, and the stock stays reserved (the warehouse
// settles it after its hold).
func TestPlaceOrderWhoseOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.repo.LoseAddReplies, f.repo.FailSettles = true, true
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _, err := f.app.PlaceOrder(ctx, place("alice", "apple", 3, "k"))
	if !errors.Is(err, app.ErrOutcomeUnknown) || errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("err %v, want only ErrOutcomeUnknown", err)
	}
	if f.stock.Reserved() != 3 {
		t.Fatalf("reserved %d: the stock of an order that may be stored was given back", f.stock.Reserved())
	}
	// The retry with the key learns the outcome.
	f.repo.LoseAddReplies, f.repo.FailSettles = false, false
	o, created, err := f.app.PlaceOrder(context.Background(), place("alice", "apple", 3, "k"))
	if err != nil || created || o.Status() != domain.Placed || f.stock.Reserved() != 3 {
		t.Fatalf("retry: %v %v %v, reserved %d", o, created, err, f.stock.Reserved())
	}
}

// Two requests with one key: the first stores the order; the second's write fails with an
// open outcome. The second must not give back the stock the first order holds.
func TestSameKeyRaceKeepsTheStoredOrdersStock(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	var first domain.Order
	f.repo.BeforeAdd = func() {
		f.repo.BeforeAdd = nil
		// While the second request is about to store, the first (same key) stores the order.
		f.clock.Add(time.Millisecond)
		var err error
		if first, _, err = f.app.PlaceOrder(ctx, place("alice", "apple", 3, "k")); err != nil {
			t.Error(err)
		}
		f.repo.FailAdds = true
	}
	o, created, err := f.app.PlaceOrder(ctx, place("alice", "apple", 3, "k"))
	if err != nil || created || o.ID() != first.ID() {
		t.Fatalf("second request: %v %v %v", o, created, err)
	}
	if f.stock.Reserved() != 3 {
		t.Fatalf("reserved %d: the stored order's stock was given back", f.stock.Reserved())
	}
}

// The warehouse settled an attempt's reservation (its hold passed) while the attempt was
// still storing the order: that attempt stores nothing and gives the stock back; the next
// one with the same key reserves afresh and is placed.
func TestSettledAttemptIsNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	f.repo.BeforeAdd = func() {
		f.repo.BeforeAdd = nil
		id := domain.NewOrderID(value.Must(domain.ParseCustomerID("alice")), value.Must(domain.ParseIdempotencyKey("k")))
		for _, r := range f.stock.Holders() {
			if stored, err := f.app.SettleOrder(ctx, id.String(), r.String()); err != nil || stored {
				t.Errorf("settle: %v %v", stored, err)
			}
		}
	}
	if _, _, err := f.app.PlaceOrder(ctx, place("alice", "apple", 3, "k")); !errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("the settled attempt: %v", err)
	}
	if f.stock.Reserved() != 0 {
		t.Fatalf("reserved %d after the settled attempt", f.stock.Reserved())
	}
	o, created, err := f.app.PlaceOrder(ctx, place("alice", "apple", 3, "k"))
	if err != nil || !created || f.stock.Reserved() != 3 {
		t.Fatalf("next attempt: %v %v %v, reserved %d", o, created, err, f.stock.Reserved())
	}
	if stored, err := f.app.SettleOrder(ctx, o.ID().String(), o.Reservation().String()); err != nil || !stored {
		t.Fatalf("settling a stored order: %v %v", stored, err)
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
	// Requests racing past the lookup may each store the very same order (to the nanosecond,
	// as this test's clock makes them) and publish it: one event, by its id, which consumers
	// recognise when it comes again.
	events := map[string]bool{}
	for _, e := range f.direct.Events() {
		events[e.EventID] = true
	}
	if len(events) != 1 || f.stock.Reserved() != 2 {
		t.Fatalf("20 retries: %d events, %d units reserved", len(events), f.stock.Reserved())
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
		c, err := f.app.CancelOrder(ctx, o.ID().String())
		if err != nil || c.Status() != domain.Cancelled {
			t.Fatalf("cancel: %v %v", c, err)
		}
	}
	events := f.direct.Events()
	if len(events) != 2 || events[1].EventType != contracts.OrderCancelled || f.metrics.cancelled != 1 {
		t.Fatalf("cancelling twice published %+v", events)
	}
	if _, err := f.app.CancelOrder(ctx, "no-such-order"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	// A delivery start heard after the cancellation does not revive the order.
	if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: o.ID().String()}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.app.Order(ctx, o.ID().String()); got.Status() != domain.Cancelled {
		t.Fatalf("status %s", got.Status())
	}
}

func TestRecordDeliveryStarted(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	o, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 3, ""))
	for range 2 {
		if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: o.ID().String()}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := f.app.Order(ctx, o.ID().String()); got.Status() != domain.DeliveryStarted {
		t.Fatalf("status %s", got.Status())
	}
	if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: "ghost"}); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	if n := len(f.direct.Events()); n != 1 {
		t.Fatalf("recording a delivery start published %d events", n)
	}
}

func TestCustomerOrders(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	a, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	b, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 2, ""))
	if _, _, err := f.app.PlaceOrder(ctx, place("bob", "apple", 1, "")); err != nil {
		t.Fatal(err)
	}
	orders, next, err := f.app.CustomerOrders(ctx, "alice", "")
	if err != nil || len(orders) != 2 || orders[0].ID() != b.ID() || orders[1].ID() != a.ID() || next != "" {
		t.Fatalf("alice's orders, newest first: %v %q %v", orders, next, err)
	}
	if _, _, err := f.app.CustomerOrders(ctx, "", ""); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("no customer: %v", err)
	}
}

// An order event that no consumer confirms is published again, with the same id, and again
// later, each time after a longer wait; a confirmed one is not.
func TestUnconfirmedEventsArePublishedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	started, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	f.direct.Down = true // the broker fails right after the order is stored: its event is lost
	lost, created, placeErr := f.app.PlaceOrder(ctx, place("alice", "apple", 2, ""))
	if placeErr != nil || !created {
		t.Fatalf("an order whose event could not be published: %v %v; want it placed", created, placeErr)
	}
	f.direct.Down = false
	cancelled, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 3, ""))
	if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: started.ID().String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.CancelOrder(ctx, cancelled.ID().String()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.direct.Events()); n != 3 {
		t.Fatalf("%d events published at once; want two placements and a cancellation", n)
	}
	f.direct.Forget()
	f.clock.Add(republishAfter - time.Second)
	if n, err := f.app.RepublishUnconfirmed(ctx); n != 0 || err != nil {
		t.Fatalf("before anything is due: %d, %v", n, err)
	}
	f.clock.Add(2 * time.Second)
	n, err := f.app.RepublishUnconfirmed(ctx)
	if n != 2 || err != nil {
		t.Fatalf("republished %d, %v; want the lost placement and the unconfirmed cancellation", n, err)
	}
	got := map[string]contracts.EventType{}
	for _, e := range f.direct.Events() {
		got[e.OrderID] = e.EventType
		if e.EventID != contracts.EventID(e.EventType, e.OrderID) {
			t.Fatalf("republished with another id: %+v", e)
		}
		o, err := f.app.Order(ctx, e.OrderID)
		if err != nil || !e.OccurredAt.Equal(o.UpdatedAt()) || e.CustomerID != "alice" || e.ProductID != "apple" || e.Qty != o.Qty().Int() {
			t.Fatalf("republished %+v for the order %+v, %v", e, o, err)
		}
	}
	if got[lost.ID().String()] != contracts.OrderPlaced || got[cancelled.ID().String()] != contracts.OrderCancelled || len(got) != 2 {
		t.Fatalf("republished %v", got)
	}
	// Still unconfirmed: published again only after twice the wait.
	f.clock.Add(republishAfter + time.Second)
	if n, _ := f.app.RepublishUnconfirmed(ctx); n != 0 {
		t.Fatalf("published again %d after one wait; the second wait is twice as long", n)
	}
	f.clock.Add(republishAfter)
	if n, _ := f.app.RepublishUnconfirmed(ctx); n != 2 {
		t.Fatalf("published again %d after the second wait", n)
	}
	if err := f.app.RecordDeliveryCancelled(ctx, app.RecordDeliveryCancelled{OrderID: cancelled.ID().String()}); err != nil {
		t.Fatal(err)
	}
	if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: lost.ID().String()}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour)
	if n, _ := f.app.RepublishUnconfirmed(ctx); n != 0 {
		t.Fatalf("confirmed events were published again: %d", n)
	}
	if f.watch.Len() != 0 {
		t.Fatalf("%d watches left after every event was confirmed", f.watch.Len())
	}
}

// A delivery start that crosses a cancellation (the order is cancelled right after the start
// was recorded) confirms the order's placement, not its cancellation: should OrderCancelled be
// lost, it is published again.
// A cancellation is watched with the change that makes it: one that changes nothing (an
// unknown order, or one cancelled already) adds no watch.
func TestOnlyCancellationsMadeAreWatched(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	if _, err := f.app.CancelOrder(ctx, "no-such-order"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("cancelling an unknown order: %v", err)
	}
	if f.watch.Len() != 0 {
		t.Fatalf("%d watches after cancelling an unknown order", f.watch.Len())
	}
	o, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	for range 2 {
		if _, err := f.app.CancelOrder(ctx, o.ID().String()); err != nil {
			t.Fatal(err)
		}
	}
	if f.watch.Len() != 2 {
		t.Fatalf("%d watches, want the placement's and the cancellation's", f.watch.Len())
	}
}

func TestCancellationStaysWatchedWhenTheDeliveryStartCrossesIt(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctx := context.Background()
	o, _, _ := f.app.PlaceOrder(ctx, place("alice", "apple", 1, ""))
	f.clock.Add(time.Second)
	f.repo.AfterUpdate = func() {
		f.clock.Add(time.Second)
		if _, err := f.app.CancelOrder(ctx, o.ID().String()); err != nil {
			t.Error(err)
		}
		f.clock.Add(time.Second)
	}
	if err := f.app.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: o.ID().String()}); err != nil {
		t.Fatal(err)
	}
	f.direct.Forget()
	f.clock.Add(republishAfter)
	if n, err := f.app.RepublishUnconfirmed(ctx); n != 1 || err != nil {
		t.Fatalf("republished %d, %v; want the cancellation", n, err)
	}
	if events := f.direct.Events(); len(events) != 1 || events[0].EventType != contracts.OrderCancelled {
		t.Fatalf("published %+v", events)
	}
}
