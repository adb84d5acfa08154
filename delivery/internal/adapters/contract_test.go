package adapters_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/value"
)

func orderLine(order, customer, product string, qty int) domain.OrderLine {
	return value.Must(domain.ParseOrderLine(order, customer, product, qty))
}

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
		c := daprtest.LocalProfile(t, "delivery")
		return adapters.NewDaprRepository(c, "delivery-store"), adapters.NewDaprRepository(c, "delivery-store")
	})
}

// runContract checks a Repository; a and b stand for two replicas sharing one store.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository)) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	order := value.Must(domain.ParseOrderID("o-1"))
	line := orderLine("o-1", "alice", "apple", 2)

	if _, err := a.Get(ctx, order); !errors.Is(err, domain.ErrUnknownDelivery) {
		t.Fatalf("unknown delivery: %v", err)
	}
	// Replicas race to create the one delivery of an order: exactly one creates it.
	var (
		wg       sync.WaitGroup
		creators atomic.Int32
	)
	for i := range 8 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			created := false // what this replica's last (committed) attempt decided
			_, err := r.Update(ctx, order, func(cur *domain.Delivery) *domain.Delivery {
				if created = cur == nil; !created {
					return nil
				}
				d := domain.Start(line, now)
				return &d
			})
			if err != nil {
				t.Error(err)
			}
			if created {
				creators.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := creators.Load(); n != 1 {
		t.Fatalf("%d replicas created the delivery, want exactly 1", n)
	}
	got, err := b.Get(ctx, order)
	if err != nil || got.Status() != domain.Started || got.Line() != line || !got.CreatedAt().Equal(now) || !got.WasStarted() ||
		got.ID() != domain.DeliveryIDFor(order) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	d, err := a.Update(ctx, order, func(cur *domain.Delivery) *domain.Delivery {
		if cur == nil || !cur.Cancel(now.Add(time.Minute)) {
			return nil
		}
		return cur
	})
	if err != nil || d.Status() != domain.Cancelled || !d.WasStarted() || d.Line() != line || !d.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("cancel: %+v %v", d, err)
	}
	// A change that decides nothing returns the delivery as stored.
	d, err = b.Update(ctx, order, func(*domain.Delivery) *domain.Delivery { return nil })
	if err != nil || d.Status() != domain.Cancelled || !d.UpdatedAt().Equal(now.Add(time.Minute)) || d.Line() != line || !d.CreatedAt().Equal(now) {
		t.Fatalf("no-op update: %+v %v", d, err)
	}
	// The delivery of an order cancelled before it was placed is stored as never started.
	other := orderLine("o-2", "bob", "pear", 1000)
	d, err = a.Update(ctx, other.Order(), func(*domain.Delivery) *domain.Delivery {
		d := domain.CancelUnstarted(other, now)
		return &d
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, other.Order()); err != nil || got.ID() != d.ID() || got.Line() != other || !got.UpdatedAt().Equal(now) || got.WasStarted() || got.Status() != domain.Cancelled {
		t.Fatalf("unstarted delivery read back %+v, %v; stored %+v", got, err, d)
	}

	// A delivery added outright is stored once, however many replicas add one at once; adding
	// a delivery of an order that has one changes nothing and says so.
	third := orderLine("o-3", "carol", "plum", 3)
	added := make(chan error, 8)
	for i := range 8 {
		r := a
		if i%2 == 1 {
			r = b
		}
		go func() { added <- r.Add(ctx, domain.Start(third, now.Add(time.Duration(i)*time.Second))) }()
	}
	stored := 0
	for range 8 {
		switch err := <-added; {
		case err == nil:
			stored++
		case !errors.Is(err, app.ErrDeliveryExists):
			t.Fatal(err)
		}
	}
	got, err = a.Get(ctx, third.Order())
	if stored != 1 || err != nil || got.Line() != third || !got.WasStarted() || got.CreatedAt().Sub(now) < 0 || got.CreatedAt().Sub(now) >= 8*time.Second {
		t.Fatalf("after 8 adds (%d stored): %+v %v", stored, got, err)
	}
	if err := b.Add(ctx, domain.Start(other, now)); !errors.Is(err, app.ErrDeliveryExists) {
		t.Fatalf("adding a delivery of an order cancelled before: %v", err)
	}
	if got, err := a.Get(ctx, other.Order()); err != nil || got.WasStarted() || got.Status() != domain.Cancelled {
		t.Fatalf("the unstarted delivery after an add: %+v %v", got, err)
	}
}

// The announcer publishes the same events, with the same ids, fields and occurredAt, as the
// delivery service always has: DeliveryStarted when the delivery was created, DeliveryCancelled
// when it last changed.
func TestAnnouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub := &eventsub.MemoryPublisher{}
	ann := adapters.NewAnnouncer(pub)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	cancelled := created.Add(time.Minute)
	line := orderLine("o-1", "alice", "apple", 2)
	d := domain.Start(line, created)
	if err := ann.DeliveryStarted(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Cancel(cancelled)
	if err := ann.DeliveryCancelled(ctx, d); err != nil {
		t.Fatal(err)
	}
	unstarted := domain.CancelUnstarted(orderLine("o-2", "bob", "pear", 1), created)
	if err := ann.DeliveryCancelled(ctx, unstarted); err != nil {
		t.Fatal(err)
	}
	want := []contracts.Event{
		{
			EventID: contracts.EventID(contracts.DeliveryStarted, "o-1"), EventType: contracts.DeliveryStarted, OccurredAt: created,
			OrderID: "o-1", CustomerID: "alice", ProductID: "apple", Qty: 2, DeliveryID: domain.DeliveryIDFor(line.Order()).String(),
		},
		{
			EventID: contracts.EventID(contracts.DeliveryCancelled, "o-1"), EventType: contracts.DeliveryCancelled, OccurredAt: cancelled,
			OrderID: "o-1", CustomerID: "alice", ProductID: "apple", Qty: 2, DeliveryID: domain.DeliveryIDFor(line.Order()).String(),
		},
		{
			EventID: contracts.EventID(contracts.DeliveryCancelled, "o-2"), EventType: contracts.DeliveryCancelled, OccurredAt: created,
			OrderID: "o-2", CustomerID: "bob", ProductID: "pear", Qty: 1, DeliveryID: unstarted.ID().String(),
		},
	}
	if got := pub.Events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("published\n%+v\nwant\n%+v", got, want)
	}
}

// The memory announcer keeps what it is told, in order.
func TestMemoryAnnouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ann := &adapters.MemoryAnnouncer{}
	d := domain.Start(orderLine("o-1", "alice", "apple", 2), time.Now())
	if err := ann.DeliveryStarted(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ann.DeliveryCancelled(ctx, d); err != nil {
		t.Fatal(err)
	}
	want := []adapters.Announcement{{Kind: adapters.AnnouncedStarted, Delivery: d}, {Kind: adapters.AnnouncedCancelled, Delivery: d}}
	if got := ann.Announced(); !reflect.DeepEqual(got, want) {
		t.Fatalf("announced %+v, want %+v", got, want)
	}
}
