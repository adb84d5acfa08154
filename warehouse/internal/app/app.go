// Package app holds the warehouse's use cases: register products, adjust and report stock,
// reserve stock for orders, and follow orders and deliveries to move reserved stock.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// ErrUnavailable means the stock could not be read or changed now: the store failed or could
// not be read. Nothing was changed; the caller may try again in a moment.
var ErrUnavailable = errors.New("stock cannot be read or changed now")

// Repository stores products and reservations. The domain errors its methods name below,
// and the errors a change function returns, are the only errors it reports that are not
// failures of the store.
type Repository interface {
	// AddProduct stores a new product; domain.ErrProductExists if the id is taken.
	AddProduct(ctx context.Context, p domain.Product) error
	// Product returns a product; domain.ErrUnknownProduct if there is none.
	Product(ctx context.Context, id domain.ProductID) (domain.Product, error)
	// AdjustProduct changes a product and keeps the adjustment made under key, together,
	// atomically. change sees the adjustment kept under key before (nil when there is none)
	// and returns the one to keep (nil: change nothing). It returns the product as change left
	// it; domain.ErrUnknownProduct if the product does not exist.
	AdjustProduct(ctx context.Context, id domain.ProductID, key domain.AdjustmentKey,
		change func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error)) (domain.Product, error)
	// ProductIDs lists every registered product.
	ProductIDs(ctx context.Context) ([]domain.ProductID, error)
	// Reservation returns the reservation of an order; domain.ErrUnknownReservation if none.
	Reservation(ctx context.Context, order domain.OrderID) (domain.Reservation, error)
	// UpdateStock changes a product and the reservation an order holds on it (nil when it
	// holds none) together, atomically. change returns the reservation to store (nil: keep
	// it as it is) and may have changed the product. domain.ErrUnknownProduct if the product
	// does not exist.
	UpdateStock(ctx context.Context, id domain.ProductID, order domain.OrderID,
		change func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error)) error
}

// Orders is the order service, which owns orders.
type Orders interface {
	// Settle asks about an order whose reservation is still unconfirmed: stored reports
	// whether the order is stored. When it is not, the order service makes sure it never will
	// be on that reservation, so the reservation can be given back.
	Settle(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) (stored bool, err error)
}

// Metrics counts what the warehouse does.
type Metrics interface {
	Reservation(outcome string, qty int)
	HoldReleased(qty int)
}

// App is the warehouse.
type App struct {
	repo    Repository
	orders  Orders
	metrics Metrics
	now     func() time.Time
	hold    time.Duration
}

// New returns the warehouse's use cases. hold is how long a reservation waits for its order
// to be confirmed before the warehouse settles it with the order service.
func New(repo Repository, orders Orders, m Metrics, now func() time.Time, hold time.Duration) *App {
	return &App{repo: repo, orders: orders, metrics: m, now: now, hold: hold}
}

// RegisterProduct adds a product with its initial stock.
func (a *App) RegisterProduct(ctx context.Context, id, name string, stock int) (domain.Product, error) {
	pid, err := domain.ParseProductID(id)
	if err != nil {
		return domain.Product{}, err
	}
	n, err := domain.ParseName(name)
	if err != nil {
		return domain.Product{}, err
	}
	p, err := domain.NewProduct(pid, n, stock)
	if err != nil {
		return domain.Product{}, err
	}
	if err := a.repo.AddProduct(ctx, p); err != nil {
		return domain.Product{}, storeErr(err)
	}
	return p, nil
}

// Product reports a product's stock.
func (a *App) Product(ctx context.Context, id string) (domain.Product, error) {
	pid, err := domain.ParseProductID(id)
	if err != nil {
		return domain.Product{}, err
	}
	p, err := a.repo.Product(ctx, pid)
	return p, storeErr(err)
}

// AdjustStock changes a product's stock on hand by delta, once per key: an adjustment asked
// for again under its key changes nothing and answers the product as it stands. Without a key
// ("") the adjustment gets one of its own, so a write decided again after its answer was lost
// is not made twice.
func (a *App) AdjustStock(ctx context.Context, id, key string, delta int) (domain.Product, error) {
	pid, err := domain.ParseProductID(id)
	if err != nil {
		return domain.Product{}, err
	}
	if delta == 0 || delta > domain.MaxStock || delta < -domain.MaxStock {
		return domain.Product{}, fmt.Errorf("%w: delta must be a non-zero number of units between -%d and %d", domain.ErrInvalidInput, domain.MaxStock, domain.MaxStock)
	}
	var k domain.AdjustmentKey
	if key == "" {
		k = domain.NewAdjustmentKey()
	} else if k, err = domain.ParseAdjustmentKey(key); err != nil {
		return domain.Product{}, err
	}
	p, err := a.repo.AdjustProduct(ctx, pid, k, func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error) {
		if earlier != nil {
			return nil, refuse(earlier.Repeats(delta))
		}
		if err := p.Adjust(delta); err != nil {
			return nil, refuse(err)
		}
		adj := domain.NewAdjustment(k, delta, a.now().UTC())
		return &adj, nil
	})
	return p, storeErr(err)
}

// Refusal says why stock could not be reserved: one of RefusedOutOfStock,
// RefusedUnknownProduct and RefusedClash. The zero Refusal is no refusal.
type Refusal struct{ s string }

// The refusals of a reservation.
var (
	// RefusedOutOfStock means fewer units are available than the order asks for.
	RefusedOutOfStock = Refusal{"OUT_OF_STOCK"}
	// RefusedUnknownProduct means no product has the id the order names.
	RefusedUnknownProduct = Refusal{"UNKNOWN_PRODUCT"}
	// RefusedClash means the order already holds a reservation for another product or
	// quantity (two requests with one idempotency key asking for different things).
	RefusedClash = Refusal{"RESERVATION_CLASH"}
)

// IsZero reports whether this is no refusal: the stock was reserved.
func (r Refusal) IsZero() bool { return r == Refusal{} }

func (r Refusal) String() string { return r.s }

// LogValue logs the refusal as its name (slog would otherwise log an empty struct).
func (r Refusal) LogValue() slog.Value { return slog.StringValue(r.s) }

// ReserveStock is order's request to set stock aside for one attempt at placing an order.
type ReserveStock struct {
	OrderID       string
	ProductID     string
	Qty           int
	ReservationID string
	// Replaces names reservations of the order's earlier attempts that were abandoned: the
	// order service promised never to store the order on them.
	Replaces []string
}

// ReserveStock sets qty units of a product aside for an order and returns the reservation the
// order holds. It is idempotent by order: a repeated request for an order that holds a
// reservation of the same product and quantity reserves nothing more, returns that
// reservation and gives it a new hold. A reservation that was released, or that an abandoned
// attempt made (Replaces), is reserved afresh under the new name. A refusal (out of stock,
// unknown product, a clash with the order's reservation) is a result, not an error.
func (a *App) ReserveStock(ctx context.Context, cmd ReserveStock) (domain.ReservationID, Refusal, error) {
	oid, err := domain.ParseOrderID(cmd.OrderID)
	if err != nil {
		return domain.ReservationID{}, Refusal{}, err
	}
	pid, err := domain.ParseProductID(cmd.ProductID)
	if err != nil {
		return domain.ReservationID{}, Refusal{}, err
	}
	q, err := domain.ParseQty(cmd.Qty)
	if err != nil {
		return domain.ReservationID{}, Refusal{}, err
	}
	rid, err := domain.ParseReservationID(cmd.ReservationID)
	if err != nil {
		return domain.ReservationID{}, Refusal{}, err
	}
	if len(cmd.Replaces) > MaxReplaced {
		return domain.ReservationID{}, Refusal{}, fmt.Errorf("%w: at most %d reservations can be replaced", domain.ErrInvalidInput, MaxReplaced)
	}
	var holder domain.ReservationID
	err = a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
		now := a.now()
		switch {
		case r == nil, r.Status() == domain.Released:
			// A released reservation is one whose order was never stored (or was cancelled
			// before it was stored): the order's next attempt reserves afresh.
			res, err := p.Reserve(rid, oid, q, now, a.hold)
			holder = res.ID()
			return &res, refuse(err)
		case r.Status() == domain.Reserved && slices.Contains(cmd.Replaces, r.ID().String()):
			res, err := p.Replace(r, rid, q, now, a.hold)
			holder = res.ID()
			return &res, refuse(err)
		case !r.Matches(pid, q):
			return nil, refuse(fmt.Errorf("%w: order %s holds %d of %s", domain.ErrReservationClash, oid, r.Qty().Int(), r.Product()))
		}
		holder = r.ID()
		if !p.ExtendHold(r, now, a.hold) {
			return nil, nil
		}
		return r, nil
	})
	err = storeErr(err)
	switch {
	case errors.Is(err, domain.ErrOutOfStock):
		a.metrics.Reservation("out_of_stock", q.Int())
		return domain.ReservationID{}, RefusedOutOfStock, nil
	case errors.Is(err, domain.ErrUnknownProduct):
		a.metrics.Reservation("unknown_product", q.Int())
		return domain.ReservationID{}, RefusedUnknownProduct, nil
	case errors.Is(err, domain.ErrReservationClash):
		a.metrics.Reservation("clash", q.Int())
		return domain.ReservationID{}, RefusedClash, nil
	case err != nil:
		return domain.ReservationID{}, Refusal{}, err
	}
	a.metrics.Reservation("reserved", q.Int())
	return holder, Refusal{}, nil
}

// MaxReplaced bounds how many abandoned reservations one request may name.
const MaxReplaced = 16

// ReleaseReservation gives back the stock of a reservation whose order was never stored and
// never will be on it. Releasing an unknown, already released or superseded reservation
// changes nothing.
func (a *App) ReleaseReservation(ctx context.Context, orderID, reservationID string) error {
	oid, err := domain.ParseOrderID(orderID)
	if err != nil {
		return err
	}
	rid, err := domain.ParseReservationID(reservationID)
	if err != nil {
		return err
	}
	r, err := a.repo.Reservation(ctx, oid)
	if errors.Is(err, domain.ErrUnknownReservation) {
		return nil
	}
	if err != nil {
		return storeErr(err)
	}
	return a.move(ctx, r.Product(), oid, func(p *domain.Product, r *domain.Reservation) bool {
		return r.Is(rid) && r.Status() == domain.Reserved && p.GiveBack(r, a.now())
	})
}

// GiveBackStock is the order service's word that an order was cancelled.
type GiveBackStock struct {
	OrderID   string
	ProductID string
}

// GiveBackStock gives a cancelled order's quantity back: the reservation is released, or
// the stock restocked if the delivery had started.
func (a *App) GiveBackStock(ctx context.Context, cmd GiveBackStock) error {
	return a.moveParsed(ctx, cmd.ProductID, cmd.OrderID, a.giveBack)
}

// ShipStock is the delivery service's word that an order's delivery started.
type ShipStock struct {
	OrderID   string
	ProductID string
}

// ShipStock turns an order's reservation into a real stock decrease: the units left with the
// delivery.
func (a *App) ShipStock(ctx context.Context, cmd ShipStock) error {
	return a.moveParsed(ctx, cmd.ProductID, cmd.OrderID, func(p *domain.Product, r *domain.Reservation) bool {
		return p.ShipReserved(r, a.now())
	})
}

func (a *App) giveBack(p *domain.Product, r *domain.Reservation) bool { return p.GiveBack(r, a.now()) }

func (a *App) moveParsed(ctx context.Context, productID, orderID string, step func(*domain.Product, *domain.Reservation) bool) error {
	oid, err := domain.ParseOrderID(orderID)
	if err != nil {
		return err
	}
	pid, err := domain.ParseProductID(productID)
	if err != nil {
		return err
	}
	return a.move(ctx, pid, oid, step)
}

// move applies one step of a reservation's life (confirm, ship, give back) to the stock of a
// product; step reports whether anything changed, and repeated or late steps change nothing.
func (a *App) move(ctx context.Context, pid domain.ProductID, oid domain.OrderID, step func(*domain.Product, *domain.Reservation) bool) error {
	return storeErr(a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
		if r == nil {
			return nil, refuse(fmt.Errorf("%w: order %s holds no reservation on %s", domain.ErrUnknownReservation, oid, pid))
		}
		if !step(p, r) {
			return nil, nil
		}
		return r, nil
	}))
}

// ReleaseUnconfirmed gives back the stock of reservations whose order was never stored: the
// order service reserved, then crashed or failed before storing the order (or the reservation
// request outlived the caller's patience). A reservation unconfirmed past its hold is settled
// with the order service, the owner of orders: one whose order is stored on it is confirmed;
// otherwise the order service makes sure the order never will be stored on it, and it is
// given back. It returns how many reservations were released.
func (a *App) ReleaseUnconfirmed(ctx context.Context) (int, error) {
	ids, err := a.repo.ProductIDs(ctx)
	if err != nil {
		return 0, storeErr(err)
	}
	released := 0
	var errs []error
	for _, pid := range ids {
		p, err := a.repo.Product(ctx, pid)
		if err != nil {
			errs = append(errs, storeErr(err))
			continue
		}
		for _, oid := range p.ExpiredHolds(a.now()) {
			qty, err := a.settle(ctx, pid, oid)
			if err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", oid, err))
				continue
			}
			if qty > 0 {
				released++
				a.metrics.HoldReleased(qty)
			}
		}
	}
	return released, errors.Join(errs...)
}

// settle confirms or gives back one expired hold, and returns the units given back.
func (a *App) settle(ctx context.Context, pid domain.ProductID, oid domain.OrderID) (int, error) {
	r, err := a.repo.Reservation(ctx, oid)
	if err != nil {
		return 0, storeErr(err)
	}
	stored, err := a.orders.Settle(ctx, oid, r.ID())
	if err != nil {
		return 0, err
	}
	qty := 0
	err = a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, cur *domain.Reservation) (*domain.Reservation, error) {
		qty = 0 // what an earlier attempt decided was not written: this one decides again
		// Only the reservation that was settled: another attempt may have replaced it meanwhile.
		if cur == nil || !cur.Is(r.ID()) || !p.Confirm(cur) {
			return nil, nil
		}
		if !stored {
			if !p.GiveBack(cur, a.now()) {
				return nil, nil
			}
			qty = cur.Qty().Int()
		}
		return cur, nil
	})
	return qty, storeErr(err)
}

// refused wraps the error a change of stock returned: the domain refused the change. The
// repository hands it back, and storeErr tells it apart from what the store reports.
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// refuse marks the error of a change (nil stays nil).
func refuse(err error) error {
	if err == nil {
		return nil
	}
	return refused{err}
}

// storeErr passes the domain's refusals and the repository's own answers (no such product,
// product exists, no such reservation) through as they are, and marks everything else as the
// stock being unavailable: a store that failed, or a stored record that cannot be read (whose
// error may well wrap domain.ErrInvalidInput, yet is no fault of the caller's).
func storeErr(err error) error {
	var r refused
	switch {
	case err == nil:
		return nil
	case errors.As(err, &r):
		return r.err
	case errors.Is(err, domain.ErrUnknownProduct), errors.Is(err, domain.ErrProductExists), errors.Is(err, domain.ErrUnknownReservation):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
