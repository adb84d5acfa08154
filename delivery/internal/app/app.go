// Package app holds the delivery's use cases: start the delivery of a placed order, cancel
// the delivery of a cancelled order, and report deliveries.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/domain"
)

// Repository stores deliveries, one per order.
type Repository interface {
	// Get returns the delivery of an order; domain.ErrUnknownDelivery if there is none.
	Get(ctx context.Context, order domain.OrderID) (domain.Delivery, error)
	// Update changes the delivery of an order (nil when there is none yet) under concurrency
	// control. change returns the delivery to store, or nil to leave it as it is.
	Update(ctx context.Context, order domain.OrderID, change func(cur *domain.Delivery) *domain.Delivery) (domain.Delivery, error)
}

// EventPublisher publishes delivery events.
type EventPublisher interface {
	Publish(ctx context.Context, e contracts.Event) error
}

// Metrics counts what happens to deliveries.
type Metrics interface {
	DeliveryStarted()
	DeliveryCancelled()
}

// App is the delivery service.
type App struct {
	repo    Repository
	events  EventPublisher
	metrics Metrics
	log     *slog.Logger
	now     func() time.Time
}

// New returns the delivery use cases.
func New(repo Repository, events EventPublisher, m Metrics, log *slog.Logger, now func() time.Time) *App {
	return &App{repo: repo, events: events, metrics: m, log: log, now: now}
}

// OrderPlaced starts the order's delivery and publishes DeliveryStarted. The event is
// published after the delivery is stored and again on every redelivery of OrderPlaced (with
// the same event id), so a crash between the two loses nothing and consumers see duplicates
// they already know how to ignore. An order cancelled before it was placed here gets no start.
func (a *App) OrderPlaced(ctx context.Context, e contracts.Event) error {
	line, err := orderLine(e)
	if err != nil {
		return err
	}
	started := false
	d, err := a.repo.Update(ctx, line.Order, func(cur *domain.Delivery) *domain.Delivery {
		if cur != nil {
			return nil
		}
		d := domain.Start(line, a.now().UTC())
		started = true
		return &d
	})
	if err != nil {
		return err
	}
	if started {
		a.metrics.DeliveryStarted()
		a.log.InfoContext(ctx, "delivery started", "orderId", line.Order, "deliveryId", d.ID())
	}
	if !d.WasStarted() {
		return nil
	}
	return a.events.Publish(ctx, event(contracts.DeliveryStarted, d, d.CreatedAt()))
}

// OrderCancelled cancels the order's delivery, started or not, and publishes
// DeliveryCancelled (again on every redelivery, with the same event id).
func (a *App) OrderCancelled(ctx context.Context, e contracts.Event) error {
	line, err := orderLine(e)
	if err != nil {
		return err
	}
	cancelled := false
	d, err := a.repo.Update(ctx, line.Order, func(cur *domain.Delivery) *domain.Delivery {
		now := a.now().UTC()
		if cur == nil {
			d := domain.CancelUnstarted(line, now)
			cancelled = true
			return &d
		}
		if !cur.Cancel(now) {
			return nil
		}
		cancelled = true
		return cur
	})
	if err != nil {
		return err
	}
	if cancelled {
		a.metrics.DeliveryCancelled()
		a.log.InfoContext(ctx, "delivery cancelled", "orderId", line.Order, "deliveryId", d.ID(), "wasStarted", d.WasStarted())
	}
	return a.events.Publish(ctx, event(contracts.DeliveryCancelled, d, d.UpdatedAt()))
}

// Delivery returns the delivery of an order.
func (a *App) Delivery(ctx context.Context, orderID string) (domain.Delivery, error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return domain.Delivery{}, err
	}
	return a.repo.Get(ctx, id)
}

func orderLine(e contracts.Event) (domain.OrderLine, error) {
	id, err := domain.ParseOrderID(e.OrderID)
	if err != nil {
		return domain.OrderLine{}, err
	}
	if e.CustomerID == "" || e.ProductID == "" || e.Qty <= 0 {
		return domain.OrderLine{}, fmt.Errorf("%w: %s lacks the order line", domain.ErrInvalidInput, e)
	}
	return domain.OrderLine{Order: id, Customer: e.CustomerID, Product: e.ProductID, Qty: e.Qty}, nil
}

func event(t contracts.EventType, d domain.Delivery, at time.Time) contracts.Event {
	l := d.Line()
	return contracts.Event{
		EventID: contracts.EventID(t, string(l.Order)), EventType: t, OccurredAt: at,
		OrderID: string(l.Order), CustomerID: l.Customer, ProductID: l.Product, Qty: l.Qty,
		DeliveryID: string(d.ID()),
	}
}
