// Package app holds the order's use cases: place an order against reserved stock, cancel it,
// read orders, and follow deliveries.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

var (
	// ErrOutOfStock means the product has fewer units available than ordered.
	ErrOutOfStock = errors.New("out of stock")
	// ErrUnknownProduct means the warehouse does not know the product.
	ErrUnknownProduct = errors.New("unknown product")
	// ErrStockUnconfirmed means the warehouse could not confirm stock now (down, slow, breaker open).
	ErrStockUnconfirmed = errors.New("stock cannot be confirmed now")
	// ErrUnavailable means the order store could not be read or written now; nothing was stored.
	// Repositories also report a stored record that does not parse as ErrUnavailable (wrapping
	// the parse error): it is the store failing, not the caller's invalid input.
	ErrUnavailable = errors.New("orders cannot be stored now")
	// ErrNothingWritten means a repository's change failed before anything of it was written:
	// the store is as it was. Repositories wrap their error with it.
	ErrNothingWritten = errors.New("nothing was written")
	// ErrOutcomeUnknown means storing the order failed in a way that leaves open whether it was
	// stored, and the store could not be asked. A retry with the same idempotency key tells.
	ErrOutcomeUnknown = errors.New("the order may or may not have been stored")
)

type (
	refusalTag struct{}
	factTag    struct{}
)

// Refusal is the warehouse's reason for not reserving stock; the zero Refusal is none (the
// stock was reserved). The stock reserver maps the warehouse's answer onto this closed set.
type Refusal = value.Name[refusalTag]

// The reasons the warehouse refuses to reserve.
var (
	RefusedOutOfStock     = value.NameOf[refusalTag]("out of stock")
	RefusedUnknownProduct = value.NameOf[refusalTag]("unknown product")
	// RefusedClash means the order holds a reservation of another product or quantity (another
	// request with the same idempotency key is being placed).
	RefusedClash = value.NameOf[refusalTag]("reservation clash")
)

// Fact is a change to an order that the other services are told of, as the event of the same
// name: OrderPlaced or OrderCancelled. The zero Fact is none. (The adapters map facts to the
// contract's events and stored forms explicitly; the name is for log lines.)
type Fact = value.Name[factTag]

// The values of Fact.
var (
	OrderPlaced    = value.NameOf[factTag]("OrderPlaced")
	OrderCancelled = value.NameOf[factTag]("OrderCancelled")
)

// Reservation asks the warehouse for stock for one attempt at placing an order.
type Reservation struct {
	Order   domain.OrderID
	Product domain.ProductID
	Qty     domain.Qty
	// ID names this attempt's reservation.
	ID domain.ReservationID
	// Replaces names the reservations of the order's abandoned attempts.
	Replaces []domain.ReservationID
}

// StockReserver reserves stock in the warehouse, synchronously.
type StockReserver interface {
	// ReserveStock reserves stock for an attempt at placing an order, idempotent by order,
	// and returns the reservation the order holds: this attempt's, or the one an earlier
	// attempt made. A refusal is a result; an error means stock could not be confirmed.
	ReserveStock(ctx context.Context, r Reservation) (domain.ReservationID, Refusal, error)
	// ReleaseStock gives back a reservation the order is never stored on; another
	// reservation of the order is left alone.
	ReleaseStock(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) error
}

// Placement is what the store knows of an order id: the order once it is stored, and until
// then the reservations of attempts at placing it that were abandoned.
type Placement struct {
	Order     domain.Order
	Stored    bool
	Abandoned []domain.ReservationID
}

// Repository stores orders. It publishes nothing: the app announces a fact once the change
// that makes it true is stored, and the watch list (Unconfirmed) makes sure the announcement
// is not lost.
type Repository interface {
	// Add stores a new order, listed under its customer, and puts watch (of its OrderPlaced)
	// on the watch list, in one step: the watch is kept exactly when the order is stored.
	// Adding the very same order again changes nothing; domain.ErrOrderExists if another
	// order holds the id, and domain.ErrReservationAbandoned if the order's reservation was
	// abandoned (Settle).
	Add(ctx context.Context, o domain.Order, watch Watch) error
	// Find returns what is stored under an order id.
	Find(ctx context.Context, id domain.OrderID) (Placement, error)
	// Get returns an order; domain.ErrUnknownOrder if none is stored.
	Get(ctx context.Context, id domain.OrderID) (domain.Order, error)
	// Settle returns the order if it is stored. Otherwise it records reservation as
	// abandoned, so that the order is never stored on it, and returns Stored false.
	Settle(ctx context.Context, id domain.OrderID, reservation domain.ReservationID) (Placement, error)
	// Update changes an order under concurrency control; change reports whether the order
	// changed at all. A change decided on a stale read is decided again on a fresh one.
	Update(ctx context.Context, id domain.OrderID, change func(*domain.Order) (changed bool, err error)) (domain.Order, error)
	// UpdateWatched is Update that puts watch on the watch list in the same step when change
	// changes the order: a change not made is not watched.
	UpdateWatched(ctx context.Context, id domain.OrderID, watch Watch, change func(*domain.Order) (changed bool, err error)) (domain.Order, error)
	// ByCustomer returns a page of a customer's orders, newest first, and the cursor of the
	// next page ("" after the last); cursor "" is the first page. A cursor it never handed out
	// is domain.ErrInvalidInput.
	ByCustomer(ctx context.Context, customer domain.CustomerID, cursor string) (orders []domain.Order, next string, err error)
	// Orders returns the orders stored under ids, by id; ids with none are left out.
	Orders(ctx context.Context, ids []domain.OrderID) (map[domain.OrderID]domain.Order, error)
}

// Unconfirmed is the watch list of order events: each fact is watched in the same step as the
// change that makes it true is stored (Repository.Add, Repository.UpdateWatched), until it
// falls due some time later; the republisher then looks at the order, and publishes the event again if
// its consumers have not confirmed it yet. This is what makes "stored, then published" safe:
// an event lost after the commit (the broker down, the process killed between the two) is
// published again, and the consumers recognise a repeat by its id.
type Unconfirmed interface {
	// Watch notes announced facts to check when they fall due.
	Watch(ctx context.Context, watches ...Watch) error
	// Due returns the watches fallen due by now and done, which removes them once every one
	// still unconfirmed has been watched again. It returns none while another replica
	// republishes.
	Due(ctx context.Context, now time.Time) (due []Watch, done func(context.Context) error, err error)
}

// Watch is an announced fact of an order to check when it falls due.
type Watch struct {
	Order domain.OrderID
	Fact  Fact
	Due   time.Time
	// Attempts counts how often the fact was announced again; each time it waits twice as
	// long for the next check, up to MaxRepublishWait.
	Attempts int
}

// MaxRepublishWait is the longest an unconfirmed event waits between publications: during a
// long outage of a consumer, its events are published again about once an hour, not flooded.
const MaxRepublishWait = time.Hour

// Announcer publishes the event of a fact of an order. An event published again keeps its id,
// so consumers recognise a repeat.
type Announcer interface {
	Announce(ctx context.Context, f Fact, o domain.Order) error
}

// Metrics counts what happens to orders.
type Metrics interface {
	OrderPlaced(qty int)
	OrderRefused(reason string)
	OrderCancelled()
	// Unconfirmed reports, after a pass of the republisher, how many events it published
	// again and how old the oldest of them is.
	Unconfirmed(republished int, oldest time.Duration)
}

// App is the order service.
type App struct {
	repo     Repository
	stock    StockReserver
	watch    Unconfirmed
	announce Announcer
	metrics  Metrics
	log      *slog.Logger
	now      func() time.Time
	// republishAfter is how long an event may go unconfirmed before it is published again.
	republishAfter time.Duration
}

// New returns the order use cases; an event no consumer confirms within republishAfter is
// published again.
func New(repo Repository, stock StockReserver, watch Unconfirmed, announce Announcer, m Metrics, log *slog.Logger,
	now func() time.Time, republishAfter time.Duration,
) *App {
	return &App{repo: repo, stock: stock, watch: watch, announce: announce, metrics: m, log: log, now: now, republishAfter: republishAfter}
}

// PlaceOrder is a customer's request to order a product.
type PlaceOrder struct {
	CustomerID     string
	ProductID      string
	Qty            int
	IdempotencyKey string
}

// PlaceOrder reserves the stock synchronously, stores the order, then publishes OrderPlaced.
// created is false when an earlier request with the same idempotency key already placed the
// order, which is returned as it stands.
//
// The reservation is given back only when the order is provably not stored: should storing
// fail in a way that leaves the outcome open (a lost reply, a timeout), the store is asked,
// and asking makes sure a write still in flight can no longer store the order on this
// reservation. If even that fails, the reservation stays with the warehouse, which settles
// it with this service after its hold.
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

	var abandoned []domain.ReservationID
	if !key.IsZero() {
		p, err := a.repo.Find(ctx, id)
		switch {
		case err != nil:
			return o, false, unavailable(err)
		case p.Stored:
			prev, err := sameRequest(p.Order, product, qty)
			return prev, false, err
		}
		abandoned = p.Abandoned
	}

	holder, refusal, err := a.stock.ReserveStock(ctx, Reservation{Order: id, Product: product, Qty: qty, ID: domain.NewReservationID(), Replaces: abandoned})
	if err != nil {
		a.metrics.OrderRefused("stock_unconfirmed")
		return o, false, fmt.Errorf("%w: %w", ErrStockUnconfirmed, err)
	}
	switch refusal {
	case RefusedOutOfStock:
		a.metrics.OrderRefused("out_of_stock")
		return o, false, fmt.Errorf("%w: %s has fewer than %d units available", ErrOutOfStock, product, qty.Int())
	case RefusedUnknownProduct:
		a.metrics.OrderRefused("unknown_product")
		return o, false, fmt.Errorf("%w: %s", ErrUnknownProduct, product)
	case RefusedClash:
		a.metrics.OrderRefused("idempotency_key_reused")
		return o, false, fmt.Errorf("%w: an order with this key for another product or quantity is being placed", domain.ErrIdempotencyReused)
	}

	o = domain.Place(id, customer, product, qty, holder, a.now().UTC())
	err = a.repo.Add(ctx, o, Watch{Order: id, Fact: OrderPlaced, Due: a.now().Add(a.republishAfter)})
	switch {
	case err == nil:
	case errors.Is(err, ErrNothingWritten) && key.IsZero():
		// Nothing was written under a fresh order id: the reservation can go back at once.
		// (With a key, a concurrent request may be storing the order on it: settle first.)
		a.release(ctx, o, log)
		a.metrics.OrderRefused("store_unavailable")
		return o, false, unavailable(err)
	case errors.Is(err, domain.ErrOrderExists) && !key.IsZero():
		// A concurrent request with the same key stored it first, on the same reservation.
		prev, err := a.repo.Get(ctx, id)
		if err != nil {
			return prev, false, a.storeErr(err)
		}
		prev, err = sameRequest(prev, product, qty)
		return prev, false, err
	case errors.Is(err, domain.ErrReservationAbandoned):
		// The warehouse settled this attempt's reservation as unconfirmed meanwhile.
		a.release(ctx, o, log)
		a.metrics.OrderRefused("store_unavailable")
		return o, false, fmt.Errorf("%w: this attempt took too long and was abandoned: %w", ErrUnavailable, err)
	default:
		return a.settle(ctx, o, err, log)
	}
	a.metrics.OrderPlaced(qty.Int())
	log.InfoContext(ctx, "order placed", "qty", qty, "reservationId", holder)
	a.publish(ctx, OrderPlaced, o, log)
	return o, true, nil
}

// publish announces a fact of an order once the order is stored. The request is answered
// whatever the outcome: the order stands, and a lost event is published again when its watch
// falls due. It does not wait past publishWithin, and a client that gives up does not cancel it.
func (a *App) publish(ctx context.Context, f Fact, o domain.Order, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishWithin)
	defer cancel()
	if err := a.announce.Announce(ctx, f, o); err != nil {
		log.WarnContext(ctx, "the event could not be published; it is published again once its watch falls due",
			"eventType", f, "republishAfter", a.republishAfter, "err", err)
	}
}

// publishWithin bounds how long a request waits to publish its event after the commit.
const publishWithin = 3 * time.Second

// settle finds out whether an order whose write failed was stored after all, and makes sure
// it never will be if it was not. It keeps asking until the request's deadline (at least a
// few seconds), so that a short outage of the store ends in a definite answer.
func (a *App) settle(ctx context.Context, o domain.Order, addErr error, log *slog.Logger) (domain.Order, bool, error) {
	deadline := time.Now().Add(settleAtLeast)
	if d, ok := ctx.Deadline(); ok && d.After(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	var (
		p   Placement
		err error
	)
	for {
		if p, err = a.repo.Settle(ctx, o.ID(), o.Reservation()); err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	switch {
	case err != nil:
		a.metrics.OrderRefused("outcome_unknown")
		log.ErrorContext(ctx, "storing an order failed and whether it was stored is unknown; the warehouse settles its reservation after the hold",
			"reservationId", o.Reservation(), "err", addErr, "settleErr", err)
		return o, false, fmt.Errorf("%w: %w", ErrOutcomeUnknown, addErr)
	case p.Stored:
		created := p.Order.Reservation() == o.Reservation() && p.Order.CreatedAt().Equal(o.CreatedAt())
		if created {
			a.metrics.OrderPlaced(o.Qty().Int())
			log.InfoContext(ctx, "order placed (its store write reported a failure, but it was stored)", "qty", o.Qty(), "err", addErr)
			a.publish(ctx, OrderPlaced, p.Order, log)
		}
		prev, err := sameRequest(p.Order, o.Product(), o.Qty())
		return prev, created, err
	}
	a.release(ctx, o, log)
	a.metrics.OrderRefused("store_unavailable")
	return o, false, unavailable(addErr)
}

// settleAtLeast is how long an order request keeps asking the store about a failed write
// when its own deadline is nearer.
const settleAtLeast = 3 * time.Second

// sameRequest returns an order found under an idempotency key if it is what the request asks
// for, and domain.ErrIdempotencyReused if not.
func sameRequest(prev domain.Order, product domain.ProductID, qty domain.Qty) (domain.Order, error) {
	if !prev.SameRequest(product, qty) {
		return prev, fmt.Errorf("%w: order %s is for %d of %s", domain.ErrIdempotencyReused, prev.ID(), prev.Qty().Int(), prev.Product())
	}
	return prev, nil
}

// release gives back the reservation of an order that is provably not stored on it. If this
// fails, the warehouse still holds the stock, and gives it back itself after the hold.
func (a *App) release(ctx context.Context, o domain.Order, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.stock.ReleaseStock(ctx, o.ID(), o.Reservation()); err != nil {
		log.WarnContext(ctx, "could not give back the stock of an order that was not stored; the warehouse will after the hold",
			"reservationId", o.Reservation(), "err", err)
	}
}

// SettleOrder answers the warehouse about a reservation that stayed unconfirmed past its
// hold: whether the order is stored. If not, it never will be on that reservation.
func (a *App) SettleOrder(ctx context.Context, orderID, reservationID string) (stored bool, err error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return false, err
	}
	r, err := domain.ParseReservationID(reservationID)
	if err != nil {
		return false, err
	}
	p, err := a.repo.Settle(ctx, id, r)
	if err != nil {
		return false, a.storeErr(err)
	}
	if !p.Stored {
		a.log.WarnContext(ctx, "an unconfirmed reservation was settled: the order was never stored on it", "orderId", id, "reservationId", r)
	}
	return p.Stored, nil
}

// CancelOrder cancels a customer's order, then publishes OrderCancelled. Cancelling a
// cancelled order returns it unchanged.
func (a *App) CancelOrder(ctx context.Context, orderID string) (domain.Order, error) {
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		return domain.Order{}, err
	}
	cancelled := false
	watch := Watch{Order: id, Fact: OrderCancelled, Due: a.now().Add(a.republishAfter)}
	o, err := a.repo.UpdateWatched(ctx, id, watch, func(o *domain.Order) (bool, error) {
		cancelled = o.Cancel(a.now().UTC())
		return cancelled, nil
	})
	if err != nil {
		return o, a.storeErr(err)
	}
	if cancelled {
		a.metrics.OrderCancelled()
		log := a.log.With("orderId", id)
		log.InfoContext(ctx, "order cancelled")
		a.publish(ctx, OrderCancelled, o, log)
	}
	return o, nil
}

// RecordDeliveryStarted is the delivery service's word that an order's delivery started.
type RecordDeliveryStarted struct {
	OrderID string
}

// RecordDeliveryStarted moves an order to DELIVERY_STARTED, unless it was cancelled. The
// start confirms that OrderPlaced went out.
func (a *App) RecordDeliveryStarted(ctx context.Context, cmd RecordDeliveryStarted) error {
	id, err := domain.ParseOrderID(cmd.OrderID)
	if err != nil {
		return err
	}
	_, err = a.repo.Update(ctx, id, func(o *domain.Order) (bool, error) {
		return o.StartDelivery(a.now().UTC()), nil
	})
	return err
}

// RecordDeliveryCancelled is the delivery service's word that an order's delivery was
// cancelled.
type RecordDeliveryCancelled struct {
	OrderID string
}

// RecordDeliveryCancelled records that OrderCancelled reached the delivery service.
func (a *App) RecordDeliveryCancelled(ctx context.Context, cmd RecordDeliveryCancelled) error {
	id, err := domain.ParseOrderID(cmd.OrderID)
	if err != nil {
		return err
	}
	_, err = a.repo.Update(ctx, id, func(o *domain.Order) (bool, error) {
		return o.RecordDeliveryCancelled(), nil
	})
	return err
}

// RepublishUnconfirmed looks at every watched event fallen due: one whose consumers have not
// confirmed it is published again (same event id: consumers recognise a repeat) and watched
// again, twice as long; the rest are done. It reports how many it published.
func (a *App) RepublishUnconfirmed(ctx context.Context) (int, error) {
	now := a.now()
	due, done, err := a.watch.Due(ctx, now)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	ids := make([]domain.OrderID, len(due))
	for i, w := range due {
		ids[i] = w.Order
	}
	orders, err := a.repo.Orders(ctx, ids)
	if err != nil {
		return 0, err
	}
	var (
		again  []Watch
		oldest time.Duration
		errs   []error
	)
	for _, w := range due {
		o, stored := orders[w.Order]
		if !stored { // never stored: nothing was announced
			continue
		}
		latest := OrderPlaced
		if o.IsCancelled() {
			latest = OrderCancelled
		}
		if w.Fact != latest || o.Announced() { // a newer fact has its own watch; or confirmed
			continue
		}
		next := Watch{Order: w.Order, Fact: w.Fact, Attempts: w.Attempts + 1, Due: now.Add(republishWait(a.republishAfter, w.Attempts+1))}
		if err := a.announce.Announce(ctx, latest, o); err != nil {
			errs = append(errs, err)
			next = Watch{Order: w.Order, Fact: w.Fact, Attempts: w.Attempts, Due: now.Add(a.republishAfter)}
		} else {
			a.log.WarnContext(ctx, "published an unconfirmed event again", "orderId", o.ID(), "eventType", latest, "attempt", next.Attempts)
		}
		again = append(again, next)
		oldest = max(oldest, now.Sub(o.UpdatedAt()))
	}
	if err := a.watch.Watch(ctx, again...); err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	republished := len(again) - len(errs)
	a.metrics.Unconfirmed(republished, oldest)
	return republished, errors.Join(append(errs, done(ctx))...)
}

// republishWait is how long an event published again for the attempts-th time waits for its
// next check: twice as long each time, at most MaxRepublishWait.
func republishWait(after time.Duration, attempts int) time.Duration {
	wait := after
	for range attempts {
		if wait *= 2; wait >= MaxRepublishWait {
			return MaxRepublishWait
		}
	}
	return wait
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

// CustomerOrders returns a page of a customer's orders, newest first, and the cursor of the
// next page ("" after the last).
func (a *App) CustomerOrders(ctx context.Context, customerID, cursor string) ([]domain.Order, string, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return nil, "", err
	}
	orders, next, err := a.repo.ByCustomer(ctx, c, cursor)
	if err != nil {
		return nil, "", a.storeErr(err)
	}
	return orders, next, nil
}

// storeErr passes the repository's domain answers (an unknown order, a cursor it never
// handed out) through and marks the rest as the store being unavailable.
func (a *App) storeErr(err error) error {
	if err == nil || errors.Is(err, domain.ErrUnknownOrder) || errors.Is(err, domain.ErrInvalidInput) {
		return err
	}
	return unavailable(err)
}

// unavailable marks a failure of the store, once: a repository may have marked it already (a
// stored record that does not parse).
func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
