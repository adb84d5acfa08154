package adapters_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
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
		c := daprtest.LocalProfile(t, "delivery")
		return adapters.NewDaprRepository(c, "delivery-store"), adapters.NewDaprRepository(c, "delivery-store")
	})
}

// runContract checks a Repository; a and b stand for two replicas sharing one store.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository)) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	line := domain.OrderLine{Order: "o-1", Customer: "alice", Product: "apple", Qty: 2}

	if _, err := a.Get(ctx, "o-1"); !errors.Is(err, domain.ErrUnknownDelivery) {
		t.Fatalf("unknown delivery: %v", err)
	}
	// Replicas race to create the one delivery of an order: exactly one creates it.
	var wg sync.WaitGroup
	for i := range 8 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Update(ctx, "o-1", func(cur *domain.Delivery) *domain.Delivery {
				if cur != nil {
					return nil
				}
				d := domain.Start(line, now)
				return &d
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := b.Get(ctx, "o-1")
	if err != nil || got.Status() != domain.Started || got.Line() != line || !got.CreatedAt().Equal(now) || !got.WasStarted() {
		t.Fatalf("read back %+v, %v", got, err)
	}
	d, err := a.Update(ctx, "o-1", func(cur *domain.Delivery) *domain.Delivery {
		if cur == nil || !cur.Cancel(now.Add(time.Minute)) {
			return nil
		}
		return cur
	})
	if err != nil || d.Status() != domain.Cancelled || !d.WasStarted() {
		t.Fatalf("cancel: %+v %v", d, err)
	}
	// A change that decides nothing returns the delivery as stored.
	d, err = b.Update(ctx, "o-1", func(*domain.Delivery) *domain.Delivery { return nil })
	if err != nil || d.Status() != domain.Cancelled || !d.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("no-op update: %+v %v", d, err)
	}
}
