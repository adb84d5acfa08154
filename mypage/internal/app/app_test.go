package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

func placed() app.RecordOrderFact {
	return app.RecordOrderFact{
		Fact: "OrderPlaced", OrderID: "o1", CustomerID: "alice", ProductID: "apple", Qty: 2,
		OccurredAt: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
	}
}

func TestRecordOrderFact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := app.New(adapters.NewMemoryRepository())
	if err := a.RecordOrderFact(ctx, placed()); err != nil {
		t.Fatal(err)
	}
	started := placed()
	started.Fact, started.OccurredAt = "DeliveryStarted", started.OccurredAt.Add(time.Second)
	if err := a.RecordOrderFact(ctx, started); err != nil {
		t.Fatal(err)
	}
	row, err := a.Order(ctx, "alice", "o1")
	if err != nil || row.OrderStatus() != domain.StatusDeliveryStarted || row.ProductID() != value.Must(domain.ParseProductID("apple")) ||
		row.Qty() != value.Must(domain.ParseQty(2)) || !row.UpdatedAt().Equal(started.OccurredAt) {
		t.Fatalf("o1: %+v %v", row, err)
	}

	// The delivery's start heard before the placing, and the placing heard twice: one row with
	// both facts, placed when the order was, and newest first on the page.
	late := placed()
	late.OrderID, late.OccurredAt = "o2", late.OccurredAt.Add(time.Minute)
	early := late
	early.Fact, early.OccurredAt = "DeliveryStarted", late.OccurredAt.Add(time.Second)
	for _, cmd := range []app.RecordOrderFact{early, late, late} {
		if err := a.RecordOrderFact(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	rows, _, err := a.Orders(ctx, "alice", "")
	if err != nil || len(rows) != 2 || rows[0].OrderID().String() != "o2" || rows[0].OrderStatus() != domain.StatusDeliveryStarted ||
		len(rows[0].Heard()) != 2 || !rows[0].CreatedAt().Equal(late.OccurredAt) {
		t.Fatalf("alice's page after o2's facts: %+v %v", rows, err)
	}

	for name, spoil := range map[string]func(*app.RecordOrderFact){
		"unknown fact": func(c *app.RecordOrderFact) { c.Fact = "OrderShipped" },
		"bad customer": func(c *app.RecordOrderFact) { c.CustomerID = "bad id" },
		"bad order":    func(c *app.RecordOrderFact) { c.OrderID = "" },
		"bad product":  func(c *app.RecordOrderFact) { c.ProductID = "-" },
		"zero qty":     func(c *app.RecordOrderFact) { c.Qty = 0 },
		"absurd qty":   func(c *app.RecordOrderFact) { c.Qty = domain.MaxQty + 1 },
		"other customer's order": func(c *app.RecordOrderFact) {
			c.CustomerID, c.Fact = "bob", "OrderCancelled"
		},
	} {
		cmd := placed()
		spoil(&cmd)
		if err := a.RecordOrderFact(ctx, cmd); !errors.Is(err, domain.ErrInvalidInput) || errors.Is(err, app.ErrUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if row, err := a.Order(ctx, "alice", "o1"); err != nil || row.OrderStatus() != domain.StatusDeliveryStarted || len(row.Heard()) != 2 {
		t.Fatalf("o1 after refused facts: %+v %v", row, err)
	}
}

func TestOrderRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := app.New(adapters.NewMemoryRepository())
	if err := a.RecordOrderFact(ctx, placed()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		customer, order string
		want            error
	}{
		{"alice", "o2", domain.ErrUnknownOrder},
		{"bob", "o1", domain.ErrUnknownOrder},
		{"alice", "bad id", domain.ErrUnknownOrder}, // names no order, like any unknown id
		{"bad id", "o1", domain.ErrInvalidInput},
	} {
		_, err := a.Order(ctx, c.customer, c.order)
		if !errors.Is(err, c.want) || errors.Is(err, app.ErrUnavailable) || (errors.Is(c.want, domain.ErrUnknownOrder) && errors.Is(err, domain.ErrInvalidInput)) {
			t.Errorf("%s's order %q: %v, want %v", c.customer, c.order, err, c.want)
		}
	}
	if _, _, err := a.Orders(ctx, "alice", "p9"); !errors.Is(err, domain.ErrInvalidInput) || errors.Is(err, app.ErrUnavailable) {
		t.Errorf("a cursor never handed out: %v", err)
	}
	if _, _, err := a.Orders(ctx, "bad id", ""); !errors.Is(err, domain.ErrInvalidInput) {
		t.Errorf("a malformed customer: %v", err)
	}
}

// A failing store is ErrUnavailable to the callers, and the cause stays in the chain.
func TestStoreFailuresAreUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := errors.New("connection refused")
	a := app.New(adapters.UnreachableRepository{Cause: down})
	_, err1 := a.Order(ctx, "alice", "o1")
	_, _, err2 := a.Orders(ctx, "alice", "")
	err3 := a.RecordOrderFact(ctx, placed())
	for i, err := range []error{err1, err2, err3} {
		if !errors.Is(err, app.ErrUnavailable) || !errors.Is(err, down) || errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("call %d: %v", i, err)
		}
	}
}
