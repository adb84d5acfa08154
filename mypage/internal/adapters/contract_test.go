package adapters_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
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
		c := daprtest.LocalProfile(t, "mypage")
		return adapters.NewDaprRepository(c, "mypage-store"), adapters.NewDaprRepository(c, "mypage-store")
	})
}

// runContract checks a Repository; a and b stand for two replicas sharing one store.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository)) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	if v, err := a.View(ctx, "alice"); err != nil || len(v.Orders) != 0 || v.Customer != "alice" {
		t.Fatalf("empty view: %+v %v", v, err)
	}
	// Two replicas learn many facts about one customer at once: none is lost.
	var wg sync.WaitGroup
	for i := range 20 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := domain.Happening{Fact: domain.OrderPlaced, OrderID: fmt.Sprintf("o-%02d", i), ProductID: "apple", Qty: 1, OccurredAt: now}
			if err := r.Update(ctx, "alice", func(v *domain.View) bool { return v.Learn(h) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v, err := b.View(ctx, "alice")
	if err != nil || len(v.Orders) != 20 {
		t.Fatalf("after 20 concurrent orders: %d rows, %v", len(v.Orders), err)
	}
	row := v.Orders["o-07"]
	if row.OrderStatus() != domain.StatusPlaced || !row.CreatedAt.Equal(now) || row.Qty != 1 {
		t.Fatalf("row read back: %+v", row)
	}
	if v, _ := a.View(ctx, "bob"); len(v.Orders) != 0 {
		t.Fatalf("bob sees alice's orders: %+v", v)
	}
}
