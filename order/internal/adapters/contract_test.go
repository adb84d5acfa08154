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
	o1 := domain.Place("o-1", "alice", "apple", 2, now)
	o2 := domain.Place("o-2", "alice", "pear", 1, now.Add(time.Second))

	if err := a.Add(ctx, o1, placedEvent(o1)); err != nil {
		t.Fatal(err)
	}
	// The same order again (a retry whose first answer was lost) is stored once; another order
	// under the same id (a concurrent request with the same idempotency key) is refused.
	if err := b.Add(ctx, o1, placedEvent(o1)); err != nil {
		t.Fatalf("adding the same order again: %v", err)
	}
	rival := domain.Place("o-1", "alice", "apple", 2, now.Add(time.Millisecond))
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
	list, err := a.ByCustomer(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("alice's orders: %v %v", list, err)
	}
	if list, _ := a.ByCustomer(ctx, "bob"); len(list) != 0 {
		t.Fatalf("bob has orders: %v", list)
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
}

func TestMemoryUnconfirmed(t *testing.T) {
	t.Parallel()
	runUnconfirmedContract(t, &adapters.MemoryUnconfirmed{})
}

func TestDaprUnconfirmed(t *testing.T) {
	t.Parallel()
	runUnconfirmedContract(t, adapters.NewDaprUnconfirmed(daprtest.LocalProfile(t, "order"), "order-store"))
}

func runUnconfirmedContract(t *testing.T, w app.Unconfirmed) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Watch(ctx, domain.OrderID(fmt.Sprintf("o-%02d", i)), t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	due, err := w.Due(ctx, t0.Add(10*time.Second))
	if err != nil || len(due) != 10 || due[0] != "o-00" || due[9] != "o-09" {
		t.Fatalf("due before t0+10s: %v %v", due, err)
	}
	for _, id := range []domain.OrderID{"o-00", "o-05", "never-watched"} {
		if err := w.Confirm(ctx, id, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// o-01 is watched again (a newer event) and then confirmed as of before that: it stays.
	if err := w.Watch(ctx, "o-01", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := w.Confirm(ctx, "o-01", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, _ := w.Due(ctx, t0.Add(10*time.Second)); len(due) != 7 {
		t.Fatalf("after confirming two and pushing one back: %v", due)
	}
	if due, _ := w.Due(ctx, t0.Add(2*time.Hour)); len(due) != 38 {
		t.Fatalf("all still watched: %d, want 38", len(due))
	}
}
