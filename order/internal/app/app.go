// Package app holds the order's use cases: place an order against reserved stock, cancel it,
// read orders, and follow deliveries.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/domain"
)

var (
	// ErrOutOfStock: the product has fewer units available than ordered.
	ErrOutOfStock = errors.New("out of stock")
	// ErrUnknownProduct: the warehouse does not know the product.
	ErrUnknownProduct = errors.New("unknown product")
	// ErrStockUnconfirmed: the warehouse could not confirm stock now (down, slow, breaker open).
	ErrStockUnconfirmed = errors.New("stock cannot be confirmed now")
	// ErrUnavailable: the order store could not be read or written now.
	ErrUnavailable = errors.New("orders cannot be stored now")
)

// Refusal is the warehouse's reason for not reserving stock.
type Refusal string

const (
	RefusedOutOfStock     Refusal = "OUT_OF_STOCK"
	RefusedUnknownProduct Refusal = "UNKNOWN_PRODUCT"
)

// StockReserver reserves stock in the warehouse, synchronously.
type StockReserver interface {
	// ReserveStock reserves qty units of product for an order; idempotent by order. A refusal
	// is a result; an error means stock could not be confirmed (ErrStockUnconfirmed).
	ReserveStock(ctx context.Context, order domain.OrderID, product domain.ProductID, qty domain.Qty) (Refusal, error)
	// ReleaseStock gives back the reservation of an order that was never stored.
	ReleaseStock(ctx context.Context, order domain.OrderID) error
}

// Repository stores orders. Writes that carry an event store the order and publish the
// event atomically (transactional outbox): neither happens without the other.
type Repository interface {
	// Add stores a new order and publishes its event. Adding the very same order again changes
	// nothing; domain.ErrOrderExists if another order holds the id.
	Add(ctx context.Context, o domain.Order, placed contracts.Event) error
	// Get returns an order; domain.ErrUnknownOrder if there is none.
	Get(ctx context.Context, id domain.OrderID) (domain.Order, error)
	// Update changes an order under concurrency control; change returns the event to publish
	// with the change (nil: none) and reports whether the order changed at all.
	Update(ctx context.Context, id domain.OrderID, change func(*domain.Order) (changed bool, event *contracts.Event, err error)) (domain.Order, error)
	// ByCustomer returns a customer's orders.
	ByCustomer(ctx context.Context, customer domain.CustomerID) ([]domain.Order, error)
}

// Unconfirmed keeps the orders whose latest event no consumer has confirmed yet. The Dapr
// outbox publishes each event once; should that publication be lost (the broker failing at the
// wrong moment), the order stays here and is published again.
type Unconfirmed interface {
	// Watch adds an order, due now.
	Watch(ctx context.Context, id domain.OrderID, now time.Time) error
	// Confirm removes an order watched no later than at: its event was confirmed then.
	Confirm(ctx context.Context, id domain.OrderID, at time.Time) error
	// Due returns the orders watched since before the given time.
	Due(ctx context.Context, before time.Time) ([]domain.OrderID, error)
}

// EventPublisher publishes events directly (not through the outbox).
type EventPublisher interface {
	Publish(ctx context.Context, e contracts.Event) error
}

// Metrics counts what happens to orders.
type Metrics interface {
	OrderPlaced(qty int)
	OrderRefused(reason string)
	OrderCancelled()
}

// App is the order service.
type App struct {
	repo    Repository
	stock   StockReserver
	watch   Unconfirmed
	events  EventPublisher
	metrics Metrics
	log     *slog.Logger
	now     func() time.Time
}

// New returns the order use cases.
func New(repo Repository, stock StockReserver, watch Unconfirmed, events EventPublisher, m Metrics, log *slog.Logger, now func() time.Time) *App {
	return &App{repo: repo, stock: stock, watch: watch, events: events, metrics: m, log: log, now: now}
}

// PlaceOrder is a customer's request to order a product.
type PlaceOrder struct {
	CustomerID     string
	ProductID      string
	Qty            int
	IdempotencyKey string
}

// PlaceOrder reserves the stock synchronously, then stores the order and publishes
// OrderPlaced together. created is false when an earlier request with the same idempotency
// key already placed the order, which is returned as it stands.
func (a *App) PlaceOrder(ctx context.Context, cmd PlaceOrder) (o domain.Order, created bool, err error) {
	customer, err := domain.ParseCustomerID(cmd.CustomerID)
	if err != nil {
		return o, false, err
	}
	product, err := domain.ParseProductID(cmd.ProductID)
	if err != nil {
		return o, false, err
	}
	qty, err := domain.ParseQty(cmd.Qty)
	if err != nil {
		return o, false, err
	}
	key, err := domain.ParseIdempotencyKey(cmd.IdempotencyKey)
	if err != nil {
		return o, false, err
	}
	id := domain.NewOrderID(customer, key)
	log := a.log.With("orderId", id, "customerId", customer, "productId", product)

	if key != "" {
		if prev, found, err := a.previous(ctx, id, product, qty); found || err != nil {
			return prev, false, err
		}
	}

	refusal, err := a.stock.ReserveStock(ctx, id, product, qty)
	if err != nil {
		a.metrics.OrderRefused("stock_unconfirmed")
		return o, false, fmt.Errorf("%w: %v", ErrStockUnconfirmed, err)
	}
	switch refusal {
	case RefusedOutOfStock:
		a.metrics.OrderRefused("out_of_stock")
		return o, false, fmt.Errorf("%w: %s has fewer than %d units available", ErrOutOfStock, product, qty)
	case RefusedUnknownProduct:
		a.metrics.OrderRefused("unknown_product")
		return o, false, fmt.Errorf("%w: %s", ErrUnknownProduct, product)
	}

	o = domain.Place(id, customer, product, qty, a.now().UTC())
	err = a.watch.Watch(ctx, id, o.CreatedAt())
	if err == nil {
		err = a.repo.Add(ctx, o, event(contracts.OrderPlaced, o))
	}
	if errors.Is(err, domain.ErrOrderExists) && key != "" {
		// A concurrent request with the same key stored it first; the reservation is theirs too.
		prev, _, err := a.previous(ctx, id, product, qty)
		return prev, false, err
	}
	if err != nil {
		a.compensate(ctx, id, log)
		a.metrics.OrderRefused("store_unavailable")
		return o, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	a.metrics.OrderPlaced(int(qty))
	log.InfoContext(ctx, "order placed", "qty", qty)
	return o, true, nil
}

// previous returns the order an earlier request with the same idempotency key placed.
func (a *App) previous(ctx context.Context, id domain.OrderID, product domain.ProductID, qty domain.Qty) (domain.Order, bool, error) {
	prev, err := a.repo.Get(ctx, id)
	switch {
	case errors.Is(err, domain.ErrUnknownOrder):
		return prev, false, nil
	case err != nil:
		return prev, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	case !prev.SameRequest(product, qty):
		return prev, true, fmt.Errorf("%w: order %s is for %d of %s", domain.ErrIdempotencyReused, id, prev.Qty(), prev.Product())
	}
	return prev, true, nil
}

// compensate gives the reservation back when the order could not be stored. If this fails
// too, the warehouse still holds the stock for an order that does not exist; the failure is
// logged with the order id so it can be released by hand.
func (a *App) compensate(ctx context.Context, id domain.OrderID, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.stock.ReleaseStock(ctx, id); err != nil {
		log.ErrorContext(ctx, "could not release the stock of an order that was not stored", "err", err)
	}
}

// CancelOrder cancels a customer's order and publishes OrderCancelled with the change.
// Cancelling a cancelled order returns it unchanged.
func (a *App) CancelOrder(ctx context.Context, orderID string) (domain.Order, error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return domain.Order{}, err
	}
	if err := a.watch.Watch(ctx, id, a.now().UTC()); err != nil {
		return domain.Order{}, a.storeErr(err)
	}
	cancelled := false
	o, err := a.repo.Update(ctx, id, func(o *domain.Order) (bool, *contracts.Event, error) {
		cancelled = o.Cancel(a.now().UTC())
		if !cancelled {
			return false, nil, nil
		}
		e := event(contracts.OrderCancelled, *o)
		return true, &e, nil
	})
	if err != nil {
		return o, a.storeErr(err)
	}
	if cancelled {
		a.metrics.OrderCancelled()
		a.log.InfoContext(ctx, "order cancelled", "orderId", id)
	}
	return o, nil
}

// RecordDeliveryStarted moves an order to DELIVERY_STARTED, unless it was cancelled. The
// start confirms that OrderPlaced went out; a cancelled order waits for DeliveryCancelled.
func (a *App) RecordDeliveryStarted(ctx context.Context, orderID string) error {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return err
	}
	o, err := a.repo.Update(ctx, id, func(o *domain.Order) (bool, *contracts.Event, error) {
		return o.StartDelivery(a.now().UTC()), nil, nil
	})
	if err != nil || o.IsCancelled() {
		return err
	}
	return a.watch.Confirm(ctx, id, a.now().UTC())
}

// RecordDeliveryCancelled confirms that OrderCancelled went out.
func (a *App) RecordDeliveryCancelled(ctx context.Context, orderID string) error {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return err
	}
	o, err := a.repo.Get(ctx, id)
	if err != nil || !o.IsCancelled() {
		return err
	}
	return a.watch.Confirm(ctx, id, a.now().UTC())
}

// RepublishUnconfirmed publishes again the latest event of every order no consumer has
// confirmed since before the given time (same event id: consumers recognise a repeat), and
// reports how many it published.
func (a *App) RepublishUnconfirmed(ctx context.Context, before time.Time) (int, error) {
	ids, err := a.watch.Due(ctx, before)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		o, err := a.repo.Get(ctx, id)
		switch {
		case errors.Is(err, domain.ErrUnknownOrder): // never stored: nothing was announced
			errs = append(errs, a.watch.Confirm(ctx, id, a.now().UTC()))
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		var t contracts.EventType
		switch o.Status() {
		case domain.Placed:
			t = contracts.OrderPlaced
		case domain.Cancelled:
			t = contracts.OrderCancelled
		default:
			errs = append(errs, a.watch.Confirm(ctx, id, a.now().UTC()))
			continue
		}
		if err := a.events.Publish(ctx, event(t, o)); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := a.watch.Watch(ctx, id, a.now().UTC()); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		a.log.WarnContext(ctx, "published an unconfirmed event again", "orderId", id, "eventType", t)
	}
	return n, errors.Join(errs...)
}

// Order returns one order.
func (a *App) Order(ctx context.Context, orderID string) (domain.Order, error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return domain.Order{}, err
	}
	o, err := a.repo.Get(ctx, id)
	return o, a.storeErr(err)
}

// CustomerOrders returns a customer's orders, oldest first.
func (a *App) CustomerOrders(ctx context.Context, customerID string) ([]domain.Order, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return nil, err
	}
	orders, err := a.repo.ByCustomer(ctx, c)
	if err != nil {
		return nil, a.storeErr(err)
	}
	sort.SliceStable(orders, func(i, j int) bool { return orders[i].CreatedAt().Before(orders[j].CreatedAt()) })
	return orders, nil
}

// storeErr passes domain errors through and marks the rest as the store being unavailable.
func (a *App) storeErr(err error) error {
	if err == nil || errors.Is(err, domain.ErrUnknownOrder) || errors.Is(err, domain.ErrInvalidInput) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// event is the event of type t about o.
func event(t contracts.EventType, o domain.Order) contracts.Event {
	return contracts.Event{
		EventID: contracts.EventID(t, string(o.ID())), EventType: t, OccurredAt: o.UpdatedAt(),
		OrderID: string(o.ID()), CustomerID: string(o.Customer()), ProductID: string(o.Product()), Qty: int(o.Qty()),
	}
}
