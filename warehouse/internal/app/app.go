// Package app holds the warehouse's use cases: register products, adjust and report stock,
// reserve stock for orders, and follow orders and deliveries to move reserved stock.
package app

import (
	"context"
	"errors"
	"fmt"
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

// OrderChecker asks the order service, which owns orders, whether an order exists.
type OrderChecker interface {
	OrderExists(ctx context.Context, order domain.OrderID) (bool, error)
}

// Metrics counts what the warehouse does.
type Metrics interface {
	Reservation(outcome string, qty int)
	HoldReleased(qty int)
}

// App is the warehouse.
type App struct {
	repo    Repository
	orders  OrderChecker
	metrics Metrics
	now     func() time.Time
	hold    time.Duration
}

// New returns the warehouse's use cases. hold is how long a reservation waits for its order
// to be confirmed before the warehouse checks whether the order was stored at all.
func New(repo Repository, orders OrderChecker, m Metrics, now func() time.Time, hold time.Duration) *App {
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
)

// ReserveStock sets qty units of a product aside for an order. It is idempotent by order: a
// repeated request for an order that already holds the same reservation succeeds without
// reserving again. A refusal (out of stock, unknown product) is a result, not an error.
func (a *App) ReserveStock(ctx context.Context, orderID, productID string, qty int) (Refusal, error) {
	oid, err := domain.ParseOrderID(orderID)
	if err != nil {
		return "", err
	}
	pid, err := domain.ParseProductID(productID)
	if err != nil {
		return "", err
	}
	q, err := domain.ParseQty(qty)
	if err != nil {
		return "", err
	}
	err = a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
		if r != nil && r.Status() != domain.Released {
			if !r.Matches(pid, q) {
				return nil, fmt.Errorf("%w: order %s holds %d of %s", domain.ErrReservationClash, oid, r.Qty(), r.Product())
			}
			return nil, nil
		}
		// A released reservation is one whose order was never stored (the order service gave
		// it back): a retry of that order reserves afresh.
		res, err := p.Reserve(oid, q, a.now(), a.hold)
		if err != nil {
			return nil, err
		}
		return &res, nil
	})
	switch {
	case errors.Is(err, domain.ErrOutOfStock):
		a.metrics.Reservation("out_of_stock", int(q))
		return RefusedOutOfStock, nil
	case errors.Is(err, domain.ErrUnknownProduct):
		a.metrics.Reservation("unknown_product", int(q))
		return RefusedUnknownProduct, nil
	case err != nil:
		return "", err
	}
	a.metrics.Reservation("reserved", int(q))
	return "", nil
}

// ReleaseReservation gives back the stock of an order that was never stored. Releasing an
// unknown or already released reservation changes nothing.
func (a *App) ReleaseReservation(ctx context.Context, orderID string) error {
	oid, err := domain.ParseOrderID(orderID)
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
	return a.move(ctx, r.Product(), oid, a.giveBack)
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
// request outlived the caller's patience). A reservation unconfirmed past its hold is checked
// against the order service, the owner of orders: an order that exists is confirmed, one that
// does not is released. It returns how many reservations were released.
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
			exists, err := a.orders.OrderExists(ctx, oid)
			if err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", oid, err))
				continue
			}
			if exists {
				errs = append(errs, a.move(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) bool { return p.Confirm(r) }))
				continue
			}
			var qty int
			err = a.repo.UpdateStock(ctx, pid, oid, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
				if r == nil || !p.Confirm(r) { // no longer held: confirmed or settled meanwhile
					return nil, nil
				}
				if !p.GiveBack(r, a.now()) {
					return nil, nil
				}
				qty = int(r.Qty())
				return r, nil
			})
			if err != nil {
				errs = append(errs, err)
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
