// Package app holds the warehouse's use cases: register products, adjust and report stock,
// reserve stock for orders, and follow orders and deliveries to move reserved stock.
package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// Repository stores products and reservations.
type Repository interface {
	// AddProduct stores a new product; domain.ErrProductExists if the id is taken.
	AddProduct(ctx context.Context, p domain.Product) error
	// Product returns a product; domain.ErrUnknownProduct if there is none.
	Product(ctx context.Context, id domain.ProductID) (domain.Product, error)
	// UpdateProduct changes a product under concurrency control.
	UpdateProduct(ctx context.Context, id domain.ProductID, change func(*domain.Product) error) (domain.Product, error)
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
		return domain.Product{}, err
	}
	return p, nil
}

// Product reports a product's stock.
func (a *App) Product(ctx context.Context, id string) (domain.Product, error) {
	pid, err := domain.ParseProductID(id)
	if err != nil {
		return domain.Product{}, err
	}
	return a.repo.Product(ctx, pid)
}

// AdjustStock changes a product's stock on hand by delta.
func (a *App) AdjustStock(ctx context.Context, id string, delta int) (domain.Product, error) {
	pid, err := domain.ParseProductID(id)
	if err != nil {
		return domain.Product{}, err
	}
	if delta == 0 || delta > domain.MaxStock || delta < -domain.MaxStock {
		return domain.Product{}, fmt.Errorf("%w: delta must be a non-zero number of units between -%d and %d", domain.ErrInvalidInput, domain.MaxStock, domain.MaxStock)
	}
	return a.repo.UpdateProduct(ctx, pid, func(p *domain.Product) error { return p.Adjust(delta) })
}

// Refusal says why stock could not be reserved.
type Refusal string

const (
	RefusedOutOfStock     Refusal = "OUT_OF_STOCK"
	RefusedUnknownProduct Refusal = "UNKNOWN_PRODUCT"
	// RefusedClash: the order already holds a reservation for another product or quantity
	// (two requests with one idempotency key asking for different things).
	RefusedClash Refusal = "RESERVATION_CLASH"
)

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
		return "", "", err
	}
	pid, err := domain.ParseProductID(cmd.ProductID)
	if err != nil {
		return "", "", err
	}
	q, err := domain.ParseQty(cmd.Qty)
	if err != nil {
		return "", "", err
	}
	rid, err := domain.ParseReservationID(cmd.ReservationID)
	if err != nil {
		return "", "", err
	}
	if len(cmd.Replaces) > MaxReplaced {
		return "", "", fmt.Errorf("%w: at most %d reservations can be replaced", domain.ErrInvalidInput, MaxReplaced)
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
			return &res, err
		case r.Status() == domain.Reserved && slices.Contains(cmd.Replaces, string(r.ID())):
			res, err := p.Replace(r, rid, q, now, a.hold)
			holder = res.ID()
			return &res, err
		case !r.Matches(pid, q):
			return nil, fmt.Errorf("%w: order %s holds %d of %s", domain.ErrReservationClash, oid, r.Qty(), r.Product())
		}
		holder = r.ID()
		if !p.ExtendHold(r, now, a.hold) {
			return nil, nil
		}
		return r, nil
	})
	switch {
	case errors.Is(err, domain.ErrOutOfStock):
		a.metrics.Reservation("out_of_stock", int(q))
		return "", RefusedOutOfStock, nil
	case errors.Is(err, domain.ErrUnknownProduct):
		a.metrics.Reservation("unknown_product", int(q))
		return "", RefusedUnknownProduct, nil
	case errors.Is(err, domain.ErrReservationClash):
		a.metrics.Reservation("clash", int(q))
		return "", RefusedClash, nil
	case err != nil:
		return "", "", err
	}
	a.metrics.Reservation("reserved", int(q))
	return holder, "", nil
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
		return err
	}
	return a.move(ctx, r.Product(), oid, func(p *domain.Product, r *domain.Reservation) bool {
		return r.Is(rid) && r.Status() == domain.Reserved && p.GiveBack(r, a.now())
	})
}

// OrderCancelled gives a cancelled order's quantity back: the reservation is released, or
// the stock restocked if the delivery had started.
func (a *App) OrderCancelled(ctx context.Context, orderID, productID string) error {
	return a.moveParsed(ctx, productID, orderID, a.giveBack)
}

// DeliveryStarted turns an order's reservation into a real stock decrease.
func (a *App) DeliveryStarted(ctx context.Context, orderID, productID string) error {
	return a.moveParsed(ctx, productID, orderID, func(p *domain.Product, r *domain.Reservation) bool {
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
	return a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
		if r == nil {
			return nil, fmt.Errorf("%w: order %s holds no reservation on %s", domain.ErrUnknownReservation, oid, pid)
		}
		if !step(p, r) {
			return nil, nil
		}
		return r, nil
	})
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
		return 0, err
	}
	released := 0
	var errs []error
	for _, pid := range ids {
		p, err := a.repo.Product(ctx, pid)
		if err != nil {
			errs = append(errs, err)
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
		return 0, err
	}
	stored, err := a.orders.Settle(ctx, oid, r.ID())
	if err != nil {
		return 0, err
	}
	qty := 0
	err = a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, cur *domain.Reservation) (*domain.Reservation, error) {
		// Only the reservation that was settled: another attempt may have replaced it meanwhile.
		if cur == nil || !cur.Is(r.ID()) || !p.Confirm(cur) {
			return nil, nil
		}
		if !stored {
			if !p.GiveBack(cur, a.now()) {
				return nil, nil
			}
			qty = int(cur.Qty())
		}
		return cur, nil
	})
	return qty, err
}
