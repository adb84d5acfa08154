package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

type noMetrics struct{}

func (noMetrics) DeliveryStarted()   {}
func (noMetrics) DeliveryCancelled() {}

func newApp() (*app.App, *eventsub.MemoryPublisher) {
	pub := &eventsub.MemoryPublisher{}
	return app.New(adapters.NewMemoryRepository(), pub, noMetrics{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now), pub
}

var (
	placed    = eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 3)
	cancelled = eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 3)
)

// However the order's events arrive, and however often, there is one delivery whose status
// follows the order, and each delivery event is published with the same id every time.
func TestOneDeliveryPerOrderWhateverTheOrderOfEvents(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		events      []contracts.Event
		status      domain.Status
		wasStarted  bool
		publishedAs []contracts.EventType
	}{
		{"placed", []contracts.Event{placed}, domain.Started, true, []contracts.EventType{contracts.DeliveryStarted}},
		{"placed twice", []contracts.Event{placed, placed}, domain.Started, true, []contracts.EventType{contracts.DeliveryStarted, contracts.DeliveryStarted}},
		{"placed then cancelled", []contracts.Event{placed, cancelled}, domain.Cancelled, true, []contracts.EventType{contracts.DeliveryStarted, contracts.DeliveryCancelled}},
		{"cancelled before placed", []contracts.Event{cancelled, placed}, domain.Cancelled, false, []contracts.EventType{contracts.DeliveryCancelled}},
		{"cancelled twice", []contracts.Event{placed, cancelled, cancelled}, domain.Cancelled, true, []contracts.EventType{contracts.DeliveryStarted, contracts.DeliveryCancelled, contracts.DeliveryCancelled}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, pub := newApp()
			ctx := context.Background()
			for _, e := range c.events {
				var err error
				if e.EventType == contracts.OrderPlaced {
					err = a.OrderPlaced(ctx, e)
				} else {
					err = a.OrderCancelled(ctx, e)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			d, err := a.Delivery(ctx, "o1")
			if err != nil || d.Status() != c.status || d.WasStarted() != c.wasStarted || d.ID() != domain.DeliveryIDFor("o1") {
				t.Fatalf("delivery %+v, %v", d, err)
			}
			got := pub.Events()
			if len(got) != len(c.publishedAs) {
				t.Fatalf("published %+v, want %v", got, c.publishedAs)
			}
			for i, e := range got {
				if e.EventType != c.publishedAs[i] || e.EventID != contracts.EventID(e.EventType, "o1") || e.DeliveryID != string(d.ID()) || e.Qty != 3 {
					t.Fatalf("event %d: %+v", i, e)
				}
			}
		})
	}
}

func TestUnknownDelivery(t *testing.T) {
	t.Parallel()
	a, _ := newApp()
	if _, err := a.Delivery(context.Background(), "nope"); !errors.Is(err, domain.ErrUnknownDelivery) {
		t.Fatalf("err %v", err)
	}
	if _, err := a.Delivery(context.Background(), "a b"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("err %v", err)
	}
}
