package adapters_test

import (
	"context"
	"errors"
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

	if rows, next, err := a.Page(ctx, "alice", ""); err != nil || len(rows) != 0 || next != "" {
		t.Fatalf("empty page: %+v %q %v", rows, next, err)
	}
	// Two replicas learn many facts about one customer's orders at once: none is lost, and
	// every order is listed once.
	var wg sync.WaitGroup
	for i := range 40 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("o-%02d", i%20)
			fact := domain.OrderPlaced
			if i >= 20 {
				fact = domain.DeliveryStarted
			}
			h := domain.Happening{Fact: fact, OrderID: id, ProductID: "apple", Qty: 1, OccurredAt: now.Add(time.Duration(i%20) * time.Second)}
			if err := r.Update(ctx, "alice", id, func(row *domain.Row) bool { return row.Learn(h) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rows, next, err := b.Page(ctx, "alice", "")
	if err != nil || len(rows) != 20 || next != "" {
		t.Fatalf("after 40 facts of 20 orders: %d rows, %q, %v", len(rows), next, err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.OrderID] || r.OrderStatus() != domain.StatusDeliveryStarted {
			t.Fatalf("row %+v (listed twice, or a fact lost)", r)
		}
		seen[r.OrderID] = true
	}
	row, err := a.Row(ctx, "alice", "o-07")
	if err != nil || row.OrderStatus() != domain.StatusDeliveryStarted || !row.CreatedAt.Equal(now.Add(7*time.Second)) || row.Qty != 1 {
		t.Fatalf("row read back: %+v %v", row, err)
	}
	if rows, _, _ := a.Page(ctx, "bob", ""); len(rows) != 0 {
		t.Fatalf("bob sees alice's orders: %+v", rows)
	}
	if _, err := a.Row(ctx, "bob", "o-07"); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("bob reads alice's row: %v", err)
	}
	// An event naming another customer for a known order changes nothing.
	h := domain.Happening{Fact: domain.OrderCancelled, OrderID: "o-07", OccurredAt: now}
	if err := b.Update(ctx, "bob", "o-07", func(row *domain.Row) bool { return row.Learn(h) }); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("bob's event about alice's order: %v", err)
	}
	if _, _, err := a.Page(ctx, "alice", "p9"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("a cursor never handed out: %v", err)
	}
}
