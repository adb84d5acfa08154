package app_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

type noMetrics struct{}

func (noMetrics) DeliveryStarted()   {}
func (noMetrics) DeliveryCancelled() {}

func newApp(repo app.Repository) (*app.App, *adapters.MemoryAnnouncer) {
	ann := &adapters.MemoryAnnouncer{}
	return app.New(repo, ann, noMetrics{}, slog.New(slog.DiscardHandler), time.Now), ann
}

var (
	placed    = app.StartDelivery{OrderID: "o1", CustomerID: "alice", ProductID: "apple", Qty: 3}
	cancelled = app.CancelDelivery{OrderID: "o1", CustomerID: "alice", ProductID: "apple", Qty: 3}
)

// However the order's events arrive, and however often, there is one delivery whose status
// follows the order, and each fact about it is announced again every time, about the same delivery.
func TestOneDeliveryPerOrderWhateverTheOrderOfEvents(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		commands    []any
		status      domain.Status
		wasStarted  bool
		announcedAs []string
	}{
		{"placed", []any{placed}, domain.Started, true, []string{adapters.AnnouncedStarted}},
		{"placed twice", []any{placed, placed}, domain.Started, true, []string{adapters.AnnouncedStarted, adapters.AnnouncedStarted}},
		{"placed then cancelled", []any{placed, cancelled}, domain.Cancelled, true, []string{adapters.AnnouncedStarted, adapters.AnnouncedCancelled}},
		{"cancelled before placed", []any{cancelled, placed}, domain.Cancelled, false, []string{adapters.AnnouncedCancelled}},
		{"cancelled twice", []any{placed, cancelled, cancelled}, domain.Cancelled, true, []string{adapters.AnnouncedStarted, adapters.AnnouncedCancelled, adapters.AnnouncedCancelled}},
	}
	wantLine := value.Must(domain.ParseOrderLine("o1", "alice", "apple", 3))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, ann := newApp(adapters.NewMemoryRepository())
			ctx := context.Background()
			for _, cmd := range c.commands {
				var err error
				switch cmd := cmd.(type) {
				case app.StartDelivery:
					err = a.StartDelivery(ctx, cmd)
				case app.CancelDelivery:
					err = a.CancelDelivery(ctx, cmd)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			d, err := a.Delivery(ctx, "o1")
			if err != nil || d.Status() != c.status || d.WasStarted() != c.wasStarted ||
				d.ID() != domain.DeliveryIDFor(value.Must(domain.ParseOrderID("o1"))) || d.Line() != wantLine {
				t.Fatalf("delivery %+v, %v", d, err)
			}
			got := ann.Announced()
			if len(got) != len(c.announcedAs) {
				t.Fatalf("announced %+v, want %v", got, c.announcedAs)
			}
			for i, an := range got {
				want := domain.Started
				if an.Kind == adapters.AnnouncedCancelled {
					want = domain.Cancelled
				}
				if an.Kind != c.announcedAs[i] || an.Delivery.ID() != d.ID() || an.Delivery.Line() != wantLine ||
					an.Delivery.Status() != want || !an.Delivery.CreatedAt().Equal(d.CreatedAt()) {
					t.Fatalf("announcement %d: %+v", i, an)
				}
			}
		})
	}
}

// Two replicas take the same cancellation at once: only the one whose write cancels the
// delivery counts it. The other decided to cancel too, lost the race to write, and found the
// delivery cancelled on its next attempt.
func TestARaceLostWhileCancellingCountsNothing(t *testing.T) {
	t.Parallel()
	for name, before := range map[string][]app.StartDelivery{"unstarted": nil, "started": {placed}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := &racedDeliveries{MemoryRepository: adapters.NewMemoryRepository()}
			var counted cancellations
			a := app.New(repo, &adapters.MemoryAnnouncer{}, &counted, slog.New(slog.DiscardHandler), time.Now)
			for _, cmd := range before {
				if err := a.StartDelivery(ctx, cmd); err != nil {
					t.Fatal(err)
				}
			}
			repo.race = true
			if err := a.CancelDelivery(ctx, cancelled); err != nil {
				t.Fatal(err)
			}
			if counted != 0 {
				t.Fatalf("the replica that lost the race counted %d cancellations", counted)
			}
			if d, err := a.Delivery(ctx, "o1"); err != nil || d.Status() != domain.Cancelled {
				t.Fatalf("delivery %+v, %v", d, err)
			}
		})
	}
}

// racedDeliveries loses the first race it is armed for: the change is decided on the delivery
// as read, then another replica cancels it before the write, so the write fails and the
// change is decided again on what that replica left.
type racedDeliveries struct {
	*adapters.MemoryRepository
	race bool
}

func (r *racedDeliveries) Update(ctx context.Context, order domain.OrderID, change func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	if r.race {
		r.race = false
		var cur *domain.Delivery
		if d, err := r.Get(ctx, order); err == nil {
			cur = &d
		}
		change(cur) // decided, never written
		if _, err := r.MemoryRepository.Update(ctx, order, func(cur *domain.Delivery) *domain.Delivery {
			if cur == nil {
				d := domain.CancelUnstarted(value.Must(domain.ParseOrderLine("o1", "alice", "apple", 3)), time.Now())
				return &d
			}
			cur.Cancel(time.Now())
			return cur
		}); err != nil {
			return domain.Delivery{}, err
		}
	}
	return r.MemoryRepository.Update(ctx, order, change)
}

// cancellations counts the cancellations the delivery service reports.
type cancellations int

func (*cancellations) DeliveryStarted()     {}
func (c *cancellations) DeliveryCancelled() { *c++ }

// A command whose order line is not valid changes nothing and says it is invalid input.
func TestInvalidOrderLines(t *testing.T) {
	t.Parallel()
	for name, cmd := range map[string]app.StartDelivery{
		"order":    {OrderID: "a b", CustomerID: "alice", ProductID: "apple", Qty: 1},
		"customer": {OrderID: "o1", CustomerID: "", ProductID: "apple", Qty: 1},
		"product":  {OrderID: "o1", CustomerID: "alice", ProductID: "-apple", Qty: 1},
		"no qty":   {OrderID: "o1", CustomerID: "alice", ProductID: "apple", Qty: 0},
		"too many": {OrderID: "o1", CustomerID: "alice", ProductID: "apple", Qty: domain.MaxQty + 1},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, ann := newApp(adapters.NewMemoryRepository())
			ctx := context.Background()
			if err := a.StartDelivery(ctx, cmd); !errors.Is(err, domain.ErrInvalidInput) || errors.Is(err, app.ErrUnavailable) {
				t.Errorf("start: %v", err)
			}
			if err := a.CancelDelivery(ctx, app.CancelDelivery(cmd)); !errors.Is(err, domain.ErrInvalidInput) || errors.Is(err, app.ErrUnavailable) {
				t.Errorf("cancel: %v", err)
			}
			if got := ann.Announced(); len(got) != 0 {
				t.Errorf("announced %+v", got)
			}
			if _, err := a.Delivery(ctx, "o1"); !errors.Is(err, domain.ErrUnknownDelivery) {
				t.Errorf("a delivery was stored: %v", err)
			}
		})
	}
}

func TestUnknownDelivery(t *testing.T) {
	t.Parallel()
	a, _ := newApp(adapters.NewMemoryRepository())
	if _, err := a.Delivery(context.Background(), "nope"); !errors.Is(err, domain.ErrUnknownDelivery) || errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if _, err := a.Delivery(context.Background(), "a b"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("err %v", err)
	}
}

// A store that fails makes every use case answer ErrUnavailable, with the store's error as
// the cause, and nothing is announced.
func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	a, ann := newApp(adapters.UnreachableRepository{Cause: cause})
	ctx := context.Background()
	_, getErr := a.Delivery(ctx, "o1")
	for name, err := range map[string]error{
		"start":  a.StartDelivery(ctx, placed),
		"cancel": a.CancelDelivery(ctx, cancelled),
		"get":    getErr,
	} {
		if !errors.Is(err, app.ErrUnavailable) || !errors.Is(err, cause) || errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := ann.Announced(); len(got) != 0 {
		t.Errorf("announced %+v", got)
	}
}
