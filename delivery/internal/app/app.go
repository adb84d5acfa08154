// Package app holds the delivery's use cases: start the delivery of a placed order, cancel
// the delivery of a cancelled order, and report deliveries.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/skmall/skmall/delivery/internal/domain"
)

// ErrUnavailable is the delivery store not answering now.
var ErrUnavailable = errors.New("deliveries cannot be read or changed now")

// ErrDeliveryExists is a Repository's answer to adding the delivery of an order that has one.
var ErrDeliveryExists = errors.New("the order has a delivery already")

// Repository stores deliveries, one per order.
type Repository interface {
	// Get returns the delivery of an order; domain.ErrUnknownDelivery if there is none.
	Get(ctx context.Context, order domain.OrderID) (domain.Delivery, error)
	// Update changes the delivery of an order (nil when there is none yet) under concurrency
	// control. change returns the delivery to store, or nil to leave it as it is.
	Update(ctx context.Context, order domain.OrderID, change func(cur *domain.Delivery) *domain.Delivery) (domain.Delivery, error)
	// Add stores the delivery of an order that has none yet, without reading first;
	// ErrDeliveryExists when the order has one (then nothing of it changed).
	Add(ctx context.Context, d domain.Delivery) error
}

// Announcer tells the other services what became of a delivery. Announcing the same delivery
// again announces the same fact again (consumers recognise it).
type Announcer interface {
	DeliveryStarted(ctx context.Context, d domain.Delivery) error
	DeliveryCancelled(ctx context.Context, d domain.Delivery) error
}

// Metrics counts what happens to deliveries.
type Metrics interface {
	DeliveryStarted()
	DeliveryCancelled()
}

// App is the delivery service.
type App struct {
	repo     Repository
	announce Announcer
	metrics  Metrics
	log      *slog.Logger
	now      func() time.Time
}

// New returns the delivery use cases.
func New(repo Repository, announce Announcer, m Metrics, log *slog.Logger, now func() time.Time) *App {
	return &App{repo: repo, announce: announce, metrics: m, log: log, now: now}
}

// StartDelivery says an order was placed: its line is what the delivery carries.
type StartDelivery struct {
	OrderID, CustomerID, ProductID string
	Qty                            int
}

// StartDelivery starts the order's delivery and announces it. The announcement follows the
// stored delivery and is made again on every redelivery of the order's placement, so a crash
// between the two loses nothing and consumers see duplicates they already know how to ignore.
// An order cancelled before it was placed here gets no start.
func (a *App) StartDelivery(ctx context.Context, cmd StartDelivery) error {
	line, err := domain.ParseOrderLine(cmd.OrderID, cmd.CustomerID, cmd.ProductID, cmd.Qty)
	if err != nil {
		return err
	}
	// Nearly always the order has no delivery yet: it is stored outright, one write instead of
	// a read and a write. Should it have one (this event comes again, or the order's
	// cancellation came first), that one stands.
	d := domain.Start(line, a.now().UTC())
	err = a.repo.Add(ctx, d)
	switch {
	case err == nil:
		a.metrics.DeliveryStarted()
		a.log.InfoContext(ctx, "delivery started", "orderId", line.Order(), "deliveryId", d.ID())
	case errors.Is(err, ErrDeliveryExists):
		if d, err = a.repo.Get(ctx, line.Order()); err != nil {
			return storeErr(err)
		}
	default:
		return storeErr(err)
	}
	if !d.WasStarted() {
		return nil
	}
	return a.announce.DeliveryStarted(ctx, d)
}

// CancelDelivery says an order was cancelled. It carries the whole order line, because the
// cancellation may reach the delivery before the placement does.
type CancelDelivery struct {
	OrderID, CustomerID, ProductID string
	Qty                            int
}

// CancelDelivery cancels the order's delivery, started or not, and announces it (again on
// every redelivery of the order's cancellation).
func (a *App) CancelDelivery(ctx context.Context, cmd CancelDelivery) error {
	line, err := domain.ParseOrderLine(cmd.OrderID, cmd.CustomerID, cmd.ProductID, cmd.Qty)
	if err != nil {
		return err
	}
	cancelled := false
	d, err := a.repo.Update(ctx, line.Order(), func(cur *domain.Delivery) *domain.Delivery {
		cancelled = false // what an earlier attempt decided was not written: this one decides again
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
		return storeErr(err)
	}
	if cancelled {
		a.metrics.DeliveryCancelled()
		a.log.InfoContext(ctx, "delivery cancelled", "orderId", line.Order(), "deliveryId", d.ID(), "wasStarted", d.WasStarted())
	}
	return a.announce.DeliveryCancelled(ctx, d)
}

// Delivery returns the delivery of an order.
func (a *App) Delivery(ctx context.Context, orderID string) (domain.Delivery, error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return domain.Delivery{}, err
	}
	d, err := a.repo.Get(ctx, id)
	return d, storeErr(err)
}

// storeErr passes through the one domain answer a repository gives, and marks everything else
// as the store being unavailable: the caller's input was parsed before the store was asked,
// so even a stored delivery that does not parse is the store's failure, not the caller's.
func storeErr(err error) error {
	if err == nil || errors.Is(err, domain.ErrUnknownDelivery) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
