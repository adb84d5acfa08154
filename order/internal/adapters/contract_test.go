package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprtest"
)

func TestMemoryRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(*testing.T) (app.Repository, app.Repository) {
		r := adapters.NewMemoryRepository()
		return r, r
	})
}

func TestDaprRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) (app.Repository, app.Repository) {
		c := daprtest.LocalProfile(t, "order")
		return adapters.NewDaprRepository(c, "order-store"), adapters.NewDaprRepository(c, "order-store")
	})
}

func placedEvent(o domain.Order) contracts.Event {
	return contracts.Event{
		EventID: contracts.EventID(contracts.OrderPlaced, string(o.ID())), EventType: contracts.OrderPlaced,
		OccurredAt: o.CreatedAt(), OrderID: string(o.ID()), CustomerID: string(o.Customer()),
		ProductID: string(o.Product()), Qty: int(o.Qty()),
	}
}

// runContract checks a Repository; a and b stand for two replicas sharing one store.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository)) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	o1 := domain.Place("o-1", "alice", "apple", 2, "r-1", now)
	o2 := domain.Place("o-2", "alice", "pear", 1, "r-2", now.Add(time.Second))

	if err := a.Add(ctx, o1, placedEvent(o1)); err != nil {
		t.Fatal(err)
	}
	// The same order again (a retry whose first answer was lost) is stored once; another order
	// under the same id (a concurrent request with the same idempotency key) is refused.
	if err := b.Add(ctx, o1, placedEvent(o1)); err != nil {
		t.Fatalf("adding the same order again: %v", err)
	}
	rival := domain.Place("o-1", "alice", "apple", 2, "r-1", now.Add(time.Millisecond))
	if err := b.Add(ctx, rival, placedEvent(rival)); !errors.Is(err, domain.ErrOrderExists) {
		t.Fatalf("adding another order under a taken id: %v", err)
	}
	if err := b.Add(ctx, o2, placedEvent(o2)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, "o-1")
	if err != nil || got != o1 {
		t.Fatalf("read back %+v, %v (want %+v)", got, err, o1)
	}
	if _, err := a.Get(ctx, "nope"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	list, next, err := a.ByCustomer(ctx, "alice", "")
	if err != nil || len(list) != 2 || list[0].ID() != "o-2" || next != "" {
		t.Fatalf("alice's orders, newest first: %v %q %v", list, next, err)
	}
	if list, _, _ := a.ByCustomer(ctx, "bob", ""); len(list) != 0 {
		t.Fatalf("bob has orders: %v", list)
	}
	if _, _, err := a.ByCustomer(ctx, "alice", "p9"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("a cursor never handed out: %v", err)
	}

	// Two replicas cancel the same order at once: exactly one of them changes it.
	var changes atomic.Int32
	var wg sync.WaitGroup
	for _, r := range []app.Repository{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Update(ctx, "o-1", func(o *domain.Order) (bool, *contracts.Event, error) {
				if !o.Cancel(now.Add(time.Minute)) {
					return false, nil, nil
				}
				changes.Add(1)
				e := placedEvent(*o)
				e.EventType, e.EventID = contracts.OrderCancelled, contracts.EventID(contracts.OrderCancelled, "o-1")
				return true, &e, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ = a.Get(ctx, "o-1")
	if got.Status() != domain.Cancelled || !got.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("after concurrent cancels: %+v", got)
	}
	// A change decided on a stale read is decided again, so at most one decision per writer
	// that lost the race; exactly one of them stored the cancellation.
	if changes.Load() < 1 {
		t.Fatal("no replica cancelled the order")
	}
	if m, ok := a.(*adapters.MemoryRepository); ok {
		if n := len(m.Published()); n != 3 {
			t.Fatalf("published %d events, want 2 OrderPlaced and 1 OrderCancelled", n)
		}
	}
	changes.Store(0)
	if _, err := a.Update(ctx, "nope", func(*domain.Order) (bool, *contracts.Event, error) { changes.Add(1); return false, nil, nil }); !errors.Is(err, domain.ErrUnknownOrder) || changes.Load() != 0 {
		t.Fatalf("updating an unknown order: %v", err)
	}

	t.Run("settling", func(t *testing.T) {
		// A stored order settles as stored, whatever reservation is asked about.
		if p, err := b.Settle(ctx, "o-2", "r-2"); err != nil || !p.Stored || p.Order.ID() != "o-2" {
			t.Fatalf("settling a stored order: %+v %v", p, err)
		}
		// An order id nothing was stored under: its reservation is abandoned, for good.
		for range 2 {
			if p, err := a.Settle(ctx, "o-3", "r-3a"); err != nil || p.Stored || len(p.Abandoned) != 1 || p.Abandoned[0] != "r-3a" {
				t.Fatalf("settling an absent order: %+v %v", p, err)
			}
		}
		late := domain.Place("o-3", "carol", "apple", 1, "r-3a", now)
		if err := b.Add(ctx, late, placedEvent(late)); !errors.Is(err, domain.ErrReservationAbandoned) {
			t.Fatalf("storing on an abandoned reservation: %v", err)
		}
		if _, err := a.Get(ctx, "o-3"); !errors.Is(err, domain.ErrUnknownOrder) {
			t.Fatalf("an abandoned attempt reads as an order: %v", err)
		}
		if p, err := b.Find(ctx, "o-3"); err != nil || p.Stored || len(p.Abandoned) != 1 {
			t.Fatalf("find an abandoned attempt: %+v %v", p, err)
		}
		// The next attempt, on a fresh reservation, stores the order over the abandoned one.
		next := domain.Place("o-3", "carol", "apple", 1, "r-3b", now)
		if err := a.Add(ctx, next, placedEvent(next)); err != nil {
			t.Fatalf("the next attempt: %v", err)
		}
		if got, err := b.Get(ctx, "o-3"); err != nil || got != next {
			t.Fatalf("read back %+v %v", got, err)
		}
		if p, err := b.Settle(ctx, "o-3", "r-3a"); err != nil || !p.Stored {
			t.Fatalf("settling after the next attempt was stored: %+v %v", p, err)
		}
		if list, _, err := a.ByCustomer(ctx, "carol", ""); err != nil || len(list) != 1 {
			t.Fatalf("carol's orders: %v %v", list, err)
		}
		// An id abandoned and never stored is not listed.
		gone := domain.Place("o-4", "carol", "apple", 1, "r-4", now)
		if _, err := a.Settle(ctx, "o-4", "r-4"); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(ctx, gone, placedEvent(gone)); !errors.Is(err, domain.ErrReservationAbandoned) {
			t.Fatalf("storing on an abandoned reservation: %v", err)
		}
		if list, _, err := a.ByCustomer(ctx, "carol", ""); err != nil || len(list) != 1 {
			t.Fatalf("carol's orders list an abandoned attempt: %v %v", list, err)
		}
	})
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
			err := w.Watch(ctx, app.Watch{Order: domain.OrderID(fmt.Sprintf("o-%02d", i)), Event: contracts.OrderPlaced, Due: t0.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A cancellation of o-01 watched later is a watch of its own.
	if err := b.Watch(ctx, app.Watch{Order: "o-01", Event: contracts.OrderCancelled, Due: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	due, done, err := a.Due(ctx, t0.Add(10*time.Second))
	if err != nil || len(due) != 10 || due[0].Order != "o-00" || due[9].Order != "o-09" || due[1].Event != contracts.OrderPlaced {
		t.Fatalf("due by t0+10s: %+v %v", due, err)
	}
	// The other replica takes nothing while this one works off the due watches.
	if other, _, err := b.Due(ctx, t0.Add(10*time.Second)); err != nil || (len(other) != 0 && b != a) {
		t.Fatalf("the other replica took %d watches too, %v", len(other), err)
	}
	// o-05 is still unconfirmed: watched again, later, before the batch is done.
	if err := a.Watch(ctx, app.Watch{Order: "o-05", Event: contracts.OrderPlaced, Due: t0.Add(30 * time.Minute), Attempts: 1}); err != nil {
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
		seen[string(w.Order)+"/"+string(w.Event)] = w
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
