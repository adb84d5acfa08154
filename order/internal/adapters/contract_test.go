package adapters_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/value"
)

func TestMemoryRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(*testing.T) (app.Repository, app.Repository, app.Unconfirmed) {
		w := &adapters.MemoryUnconfirmed{}
		r := adapters.NewMemoryRepository(w)
		return r, r, w
	})
}

func TestDaprRepository(t *testing.T) {
	t.Parallel()
	var c dapr.Client
	runContract(t, func(t *testing.T) (app.Repository, app.Repository, app.Unconfirmed) {
		c = daprtest.LocalProfile(t, "order")
		w := adapters.NewDaprUnconfirmed(c, "order-store", time.Minute)
		return adapters.NewDaprRepository(c, "order-store", w),
			adapters.NewDaprRepository(c, "order-store", adapters.NewDaprUnconfirmed(c, "order-store", time.Minute)), w
	})
	// What the contract left in the store, in the stored form of before: an order, and the
	// abandoned attempts under an id never stored.
	o2 := runStart.Add(time.Second).Format(time.RFC3339Nano)
	assertStored(t, c, "order-o-2", `{"orderId":"o-2","customerId":"alice","productId":"pear","qty":1,"reservationId":"r-2",
		"status":"PLACED","createdAt":"`+o2+`","updatedAt":"`+o2+`"}`)
	assertStored(t, c, "order-o-4", `{"orderId":"o-4","createdAt":"0001-01-01T00:00:00Z","updatedAt":"0001-01-01T00:00:00Z","abandoned":["r-4"]}`)
	// A new order's watch is kept in the bucket of its second and of its customer's shard
	// (fnv-32a of the customer id, modulo 8): alice's two orders share one.
	h := fnv.New32a()
	_, _ = h.Write([]byte("alice"))
	assertStored(t, c, fmt.Sprintf("unconfirmed-%d-%d", runStart.Add(watchAfter).Unix(), h.Sum32()%8),
		`{"watches":{"o-1":{"event":"OrderPlaced"},"o-2":{"event":"OrderPlaced"}}}`)

	// A stored order that does not parse is the store failing, not the caller's invalid input.
	ctx := context.Background()
	bad := `{"orderId":"o-bad","customerId":"alice","productId":"apple","qty":1,"reservationId":"r-1","status":"SHIPPED",
		"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`
	if err := c.SaveState(ctx, "order-store", "order-o-bad", []byte(bad), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := adapters.NewDaprRepository(c, "order-store", nil).Get(ctx, oid("o-bad")); !errors.Is(err, app.ErrUnavailable) || !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("reading an order stored with an unknown status: %v, want app.ErrUnavailable caused by the parse error", err)
	}
}

// assertStored checks the JSON stored under key, field by field.
func assertStored(t *testing.T, c dapr.Client, key, want string) {
	t.Helper()
	it, err := c.GetState(context.Background(), "order-store", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp map[string]any
	if err := json.Unmarshal(it.Value, &got); err != nil {
		t.Fatalf("%s holds %s: %v", key, it.Value, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("%s holds %s, want %s", key, it.Value, want)
	}
}

func oid(s string) domain.OrderID       { return value.Must(domain.ParseOrderID(s)) }
func rid(s string) domain.ReservationID { return value.Must(domain.ParseReservationID(s)) }
func cid(s string) domain.CustomerID    { return value.Must(domain.ParseCustomerID(s)) }
func pid(s string) domain.ProductID     { return value.Must(domain.ParseProductID(s)) }

// place is domain.Place from plain values.
func place(id, customer, product string, qty int, reservation string, now time.Time) domain.Order {
	return domain.Place(oid(id), cid(customer), pid(product), value.Must(domain.ParseQty(qty)), rid(reservation), now)
}

// runStart is the time runContract places its orders at (one run per test binary and
// repository: the Dapr one checks its stored forms against it).
var runStart = time.Now().UTC().Truncate(time.Millisecond)

// watchAfter is when the contract's orders' watches fall due, after runStart.
const watchAfter = time.Hour

// runContract checks a Repository; a and b stand for two replicas sharing one store, and w
// for the watch list of a.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository, app.Unconfirmed)) {
	a, b, w := newRepos(t)
	ctx := context.Background()
	now := runStart
	watch := func(o domain.Order) app.Watch {
		return app.Watch{Order: o.ID(), Fact: app.OrderPlaced, Due: runStart.Add(watchAfter)}
	}
	o1 := place("o-1", "alice", "apple", 2, "r-1", now)
	o2 := place("o-2", "alice", "pear", 1, "r-2", now.Add(time.Second))

	if err := a.Add(ctx, o1, watch(o1)); err != nil {
		t.Fatal(err)
	}
	// The same order again (a retry whose first answer was lost) is stored once; another order
	// under the same id (a concurrent request with the same idempotency key) is refused.
	if err := b.Add(ctx, o1, watch(o1)); err != nil {
		t.Fatalf("adding the same order again: %v", err)
	}
	rival := place("o-1", "alice", "apple", 2, "r-1", now.Add(time.Millisecond))
	if err := b.Add(ctx, rival, watch(rival)); !errors.Is(err, domain.ErrOrderExists) {
		t.Fatalf("adding another order under a taken id: %v", err)
	}
	if err := b.Add(ctx, o2, watch(o2)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, oid("o-1"))
	if err != nil || got != o1 {
		t.Fatalf("read back %+v, %v (want %+v)", got, err, o1)
	}
	if _, err := a.Get(ctx, oid("nope")); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	list, next, err := a.ByCustomer(ctx, cid("alice"), "")
	if err != nil || len(list) != 2 || list[0].ID() != oid("o-2") || next != "" {
		t.Fatalf("alice's orders, newest first: %v %q %v", list, next, err)
	}
	if list, _, _ := a.ByCustomer(ctx, cid("bob"), ""); len(list) != 0 {
		t.Fatalf("bob has orders: %v", list)
	}
	if _, _, err := a.ByCustomer(ctx, cid("alice"), "p9"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("a cursor never handed out: %v", err)
	}

	// Two replicas cancel the same order at once: exactly one of them changes it.
	var changes atomic.Int32
	var wg sync.WaitGroup
	for _, r := range []app.Repository{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Update(ctx, oid("o-1"), func(o *domain.Order) (bool, error) {
				if !o.Cancel(now.Add(time.Minute)) {
					return false, nil
				}
				changes.Add(1)
				return true, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ = a.Get(ctx, oid("o-1"))
	if got.Status() != domain.Cancelled || !got.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("after concurrent cancels: %+v", got)
	}
	// A change decided on a stale read is decided again, so at most one decision per writer
	// that lost the race; exactly one of them stored the cancellation.
	if changes.Load() < 1 {
		t.Fatal("no replica cancelled the order")
	}
	changes.Store(0)
	if _, err := a.Update(ctx, oid("nope"), func(*domain.Order) (bool, error) { changes.Add(1); return false, nil }); !errors.Is(err, domain.ErrUnknownOrder) || changes.Load() != 0 {
		t.Fatalf("updating an unknown order: %v", err)
	}
	// A change that refuses fails the update with its error and leaves the order as it was
	// (and unwatched), whatever it did to the order it was handed.
	refused := errors.New("refused")
	for name, update := range map[string]func(change func(*domain.Order) (bool, error)) error{
		"Update": func(change func(*domain.Order) (bool, error)) error {
			_, err := b.Update(ctx, oid("o-2"), change)
			return err
		},
		"UpdateWatched": func(change func(*domain.Order) (bool, error)) error {
			_, err := b.UpdateWatched(ctx, oid("o-2"), app.Watch{Order: oid("o-2"), Fact: app.OrderCancelled, Due: runStart.Add(2 * watchAfter)}, change)
			return err
		},
	} {
		err := update(func(o *domain.Order) (bool, error) { return o.Cancel(now.Add(time.Hour)), refused })
		if !errors.Is(err, refused) {
			t.Fatalf("%s with a change that refuses: %v, want its error", name, err)
		}
		if got, _ := a.Get(ctx, oid("o-2")); got.Status() == domain.Cancelled {
			t.Fatalf("%s kept a refused change: %+v", name, got)
		}
	}

	t.Run("settling", func(t *testing.T) {
		// A stored order settles as stored, whatever reservation is asked about.
		if p, err := b.Settle(ctx, oid("o-2"), rid("r-2")); err != nil || !p.Stored || p.Order.ID() != oid("o-2") {
			t.Fatalf("settling a stored order: %+v %v", p, err)
		}
		// An order id nothing was stored under: its reservation is abandoned, for good.
		for range 2 {
			if p, err := a.Settle(ctx, oid("o-3"), rid("r-3a")); err != nil || p.Stored || len(p.Abandoned) != 1 || p.Abandoned[0] != rid("r-3a") {
				t.Fatalf("settling an absent order: %+v %v", p, err)
			}
		}
		late := place("o-3", "carol", "apple", 1, "r-3a", now)
		if err := b.Add(ctx, late, watch(late)); !errors.Is(err, domain.ErrReservationAbandoned) {
			t.Fatalf("storing on an abandoned reservation: %v", err)
		}
		if _, err := a.Get(ctx, oid("o-3")); !errors.Is(err, domain.ErrUnknownOrder) {
			t.Fatalf("an abandoned attempt reads as an order: %v", err)
		}
		if p, err := b.Find(ctx, oid("o-3")); err != nil || p.Stored || len(p.Abandoned) != 1 {
			t.Fatalf("find an abandoned attempt: %+v %v", p, err)
		}
		// The next attempt, on a fresh reservation, stores the order over the abandoned one.
		next := place("o-3", "carol", "apple", 1, "r-3b", now)
		if err := a.Add(ctx, next, watch(next)); err != nil {
			t.Fatalf("the next attempt: %v", err)
		}
		if got, err := b.Get(ctx, oid("o-3")); err != nil || got != next {
			t.Fatalf("read back %+v %v", got, err)
		}
		if p, err := b.Settle(ctx, oid("o-3"), rid("r-3a")); err != nil || !p.Stored {
			t.Fatalf("settling after the next attempt was stored: %+v %v", p, err)
		}
		if list, _, err := a.ByCustomer(ctx, cid("carol"), ""); err != nil || len(list) != 1 {
			t.Fatalf("carol's orders: %v %v", list, err)
		}
		// An id abandoned and never stored is not listed.
		gone := place("o-4", "carol", "apple", 1, "r-4", now)
		if _, err := a.Settle(ctx, oid("o-4"), rid("r-4")); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(ctx, gone, watch(gone)); !errors.Is(err, domain.ErrReservationAbandoned) {
			t.Fatalf("storing on an abandoned reservation: %v", err)
		}
		if list, _, err := a.ByCustomer(ctx, cid("carol"), ""); err != nil || len(list) != 1 {
			t.Fatalf("carol's orders list an abandoned attempt: %v %v", list, err)
		}
	})

	// A change made with its watch is watched when it changes the order, and only then.
	cancel := func(o *domain.Order) (bool, error) { return o.Cancel(now.Add(time.Hour)), nil }
	cancelled := func(id string) app.Watch {
		return app.Watch{Order: oid(id), Fact: app.OrderCancelled, Due: runStart.Add(2 * watchAfter)}
	}
	for range 2 { // the second changes nothing
		if got, err := b.UpdateWatched(ctx, oid("o-3"), cancelled("o-3"), cancel); err != nil || got.Status() != domain.Cancelled {
			t.Fatalf("cancelling o-3 with its watch: %+v %v", got, err)
		}
	}
	if got, err := a.UpdateWatched(ctx, oid("o-1"), cancelled("o-1"), cancel); err != nil || !got.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("cancelling o-1 again: %+v %v, want it as the first cancellation left it", got, err)
	}
	if _, err := a.UpdateWatched(ctx, oid("nope"), cancelled("nope"), cancel); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("cancelling an unknown order: %v", err)
	}
	// Cancellations with their watch and delivery starts of one order, at once from both
	// replicas: whatever the races, the order ends cancelled, and its cancellation is watched.
	o5 := place("o-5", "erin", "apple", 1, "r-5", now)
	if err := a.Add(ctx, o5, watch(o5)); err != nil {
		t.Fatal(err)
	}
	var racers sync.WaitGroup
	for i, r := range []app.Repository{a, b, b, a} {
		racers.Add(1)
		go func() {
			defer racers.Done()
			var err error
			if i%2 == 0 {
				_, err = r.UpdateWatched(ctx, oid("o-5"), cancelled("o-5"), cancel)
			} else {
				_, err = r.Update(ctx, oid("o-5"), func(o *domain.Order) (bool, error) { return o.StartDelivery(now.Add(time.Minute)), nil })
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	racers.Wait()
	if got, err := b.Get(ctx, oid("o-5")); err != nil || got.Status() != domain.Cancelled {
		t.Fatalf("o-5 after the race: %+v %v, want it cancelled", got, err)
	}

	// Every order stored is watched, and every change made with its watch, and nothing else:
	// an Add refused, a change not made and an unknown order leave no watch.
	due, _, err := w.Due(ctx, runStart.Add(3*watchAfter))
	if err != nil {
		t.Fatal(err)
	}
	var watched []string
	for _, x := range due {
		watched = append(watched, x.Order.String()+" "+x.Fact.String())
	}
	slices.Sort(watched)
	if want := []string{"o-1 OrderPlaced", "o-2 OrderPlaced", "o-3 OrderCancelled", "o-3 OrderPlaced", "o-5 OrderCancelled", "o-5 OrderPlaced"}; !slices.Equal(watched, want) {
		t.Fatalf("watched %v, want %v", watched, want)
	}
}

func TestMemoryUnconfirmed(t *testing.T) {
	t.Parallel()
	w := &adapters.MemoryUnconfirmed{}
	runUnconfirmedContract(t, w, w)
}

func TestDaprUnconfirmed(t *testing.T) {
	t.Parallel()
	c := daprtest.LocalProfile(t, "order")
	runUnconfirmedContract(t, adapters.NewDaprUnconfirmed(c, "order-store", time.Minute), adapters.NewDaprUnconfirmed(c, "order-store", time.Minute))

	// The stored form of before: one document per second and shard (fnv-32a of the order id,
	// modulo 8), and an index of the seconds.
	w := adapters.NewDaprUnconfirmed(c, "order-store", time.Minute)
	due := time.Unix(1_700_000_000, 300_000_000)
	if err := w.Watch(context.Background(), app.Watch{Order: oid("o-form"), Fact: app.OrderCancelled, Due: due, Attempts: 2}); err != nil {
		t.Fatal(err)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte("o-form"))
	assertStored(t, c, fmt.Sprintf("unconfirmed-1700000000-%d", h.Sum32()%8), `{"watches":{"o-form":{"event":"OrderCancelled","attempts":2}}}`)
	assertStored(t, c, "unconfirmed-index-all", `{"starts":[1700000000]}`)
}

// Two replicas asking at the same moment for the due watches: one takes them, never both,
// however their race for the lease goes.
func TestDaprUnconfirmedLeaseHasOneHolder(t *testing.T) {
	t.Parallel()
	c := daprtest.LocalProfile(t, "order")
	ctx := context.Background()
	replicas := []*adapters.DaprUnconfirmed{
		adapters.NewDaprUnconfirmed(c, "order-store", time.Minute),
		adapters.NewDaprUnconfirmed(c, "order-store", time.Minute),
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	if err := replicas[0].Watch(ctx, app.Watch{Order: oid("o-lease"), Fact: app.OrderPlaced, Due: t0}); err != nil {
		t.Fatal(err)
	}
	for round := range 40 {
		now := t0.Add(time.Duration(round+1) * 2 * time.Minute) // the last round's lease has run out
		var took [2]int
		var wg sync.WaitGroup
		for i, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				due, _, err := r.Due(ctx, now)
				if err != nil {
					t.Error(err)
				}
				took[i] = len(due)
			}()
		}
		wg.Wait()
		if took[0] > 0 && took[1] > 0 {
			t.Fatalf("round %d: both replicas took the due watches", round)
		}
		if took[0]+took[1] == 0 {
			t.Fatalf("round %d: neither replica took the due watches", round)
		}
	}
}

// runUnconfirmedContract checks a watch list; a and b stand for two replicas sharing one store.
func runUnconfirmedContract(t *testing.T, a, b app.Unconfirmed) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Second)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := a
			if i%2 == 1 {
				w = b
			}
			err := w.Watch(ctx, app.Watch{Order: oid(fmt.Sprintf("o-%02d", i)), Fact: app.OrderPlaced, Due: t0.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A cancellation of o-01 watched later is a watch of its own.
	if err := b.Watch(ctx, app.Watch{Order: oid("o-01"), Fact: app.OrderCancelled, Due: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	due, done, err := a.Due(ctx, t0.Add(10*time.Second))
	if err != nil || len(due) != 10 || due[0].Order != oid("o-00") || due[9].Order != oid("o-09") || due[1].Fact != app.OrderPlaced {
		t.Fatalf("due by t0+10s: %+v %v", due, err)
	}
	// The other replica takes nothing while this one works off the due watches.
	if other, _, err := b.Due(ctx, t0.Add(10*time.Second)); err != nil || (len(other) != 0 && b != a) {
		t.Fatalf("the other replica took %d watches too, %v", len(other), err)
	}
	// o-05 is still unconfirmed: watched again, later, before the batch is done.
	if err := a.Watch(ctx, app.Watch{Order: oid("o-05"), Fact: app.OrderPlaced, Due: t0.Add(30 * time.Minute), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := done(ctx); err != nil {
		t.Fatal(err)
	}
	if due, _, err := a.Due(ctx, t0.Add(10*time.Second)); err != nil || len(due) != 0 {
		t.Fatalf("a done batch is due again: %+v %v", due, err)
	}
	due, done, err = a.Due(ctx, t0.Add(2*time.Hour))
	if err != nil || len(due) != 32 {
		t.Fatalf("all still watched: %d %v, want 30 placements, o-05 again and o-01's cancellation", len(due), err)
	}
	seen := map[string]app.Watch{}
	for _, w := range due {
		seen[w.Order.String()+"/"+w.Fact.String()] = w
	}
	if w := seen["o-05/OrderPlaced"]; w.Attempts != 1 {
		t.Fatalf("o-05 watched again: %+v", w)
	}
	if _, ok := seen["o-01/OrderCancelled"]; !ok {
		t.Fatal("o-01's cancellation is not watched")
	}
	if err := done(ctx); err != nil {
		t.Fatal(err)
	}
	if due, _, _ := a.Due(ctx, t0.Add(3*time.Hour)); len(due) != 0 {
		t.Fatalf("left after everything was done: %+v", due)
	}
}

// warehouseStub answers the warehouse's methods with a fixed answer and records the calls.
type warehouseStub struct {
	dapr.Client // only InvokeMethodWithContent is called
	answer      string
	calls       []string
}

func (w *warehouseStub) InvokeMethodWithContent(_ context.Context, appID, method, verb string, c *dapr.DataContent) ([]byte, error) {
	w.calls = append(w.calls, verb+" "+appID+"/"+method+" "+string(c.Data))
	return []byte(w.answer), nil
}

// The stock reserver speaks the reservation API of contracts and maps the warehouse's refusals
// onto the app's; an answer it cannot read is an error, never a refusal.
func TestDaprStockReserver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := app.Reservation{Order: oid("o-1"), Product: pid("apple"), Qty: value.Must(domain.ParseQty(2)),
		ID: rid("r-2"), Replaces: []domain.ReservationID{rid("r-1")}}
	cases := []struct {
		answer  string
		holder  domain.ReservationID
		refusal app.Refusal
		fails   bool
	}{
		{answer: `{"reserved":true,"reservationId":"r-1"}`, holder: rid("r-1")},
		{answer: `{"reserved":false,"reason":"OUT_OF_STOCK"}`, refusal: app.RefusedOutOfStock},
		{answer: `{"reserved":false,"reason":"UNKNOWN_PRODUCT"}`, refusal: app.RefusedUnknownProduct},
		{answer: `{"reserved":false,"reason":"RESERVATION_CLASH"}`, refusal: app.RefusedClash},
		{answer: `{"reserved":false,"reason":"TOO_LATE"}`, fails: true},
		{answer: `{"reserved":true}`, fails: true},
		{answer: `{"reserved":true,"reservationId":"not a reservation"}`, fails: true},
		{answer: `reserved`, fails: true},
	}
	for _, c := range cases {
		w := &warehouseStub{answer: c.answer}
		holder, refusal, err := adapters.NewDaprStockReserver(w, "warehouse").ReserveStock(ctx, r)
		if holder != c.holder || refusal != c.refusal || (err != nil) != c.fails {
			t.Errorf("%s: %v %v %v", c.answer, holder, refusal, err)
		}
		want := `post warehouse/reservations {"orderId":"o-1","productId":"apple","qty":2,"reservationId":"r-2","replaces":["r-1"]}`
		if len(w.calls) != 1 || w.calls[0] != want {
			t.Errorf("%s: called %q, want %q", c.answer, w.calls, want)
		}
	}
	w := &warehouseStub{}
	if err := adapters.NewDaprStockReserver(w, "warehouse").ReleaseStock(ctx, oid("o-1"), rid("r-2")); err != nil {
		t.Fatal(err)
	}
	if want := `post warehouse/reservations/o-1/release {"reservationId":"r-2"}`; len(w.calls) != 1 || w.calls[0] != want {
		t.Fatalf("called %q, want %q", w.calls, want)
	}
}
