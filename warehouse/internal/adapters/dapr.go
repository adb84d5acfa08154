package adapters

import (
	"context"
	"fmt"
	"slices"

	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// DaprRepository keeps products and reservations in a transactional Dapr state store.
type DaprRepository struct {
	products     *daprstate.Store[productRecord]
	reservations *daprstate.Store[reservationRecord]
	catalog      *daprstate.Store[catalog]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{
		products:     daprstate.New[productRecord](client, store, "product-"),
		reservations: daprstate.New[reservationRecord](client, store, "reservation-"),
		catalog:      daprstate.New[catalog](client, store, "catalog-"),
	}
}

// AddProduct lists the product in the catalog first, then stores it; an id listed but not
// stored (a failed write) is skipped when the catalog is read.
func (d *DaprRepository) AddProduct(ctx context.Context, p domain.Product) error {
	if _, err := d.catalog.Update(ctx, "all", func(cur *catalog) (daprstate.Change[catalog], error) {
		next := catalog{}
		if cur != nil {
			if slices.Contains(cur.ProductIDs, p.ID()) {
				return daprstate.Change[catalog]{}, nil
			}
			next.ProductIDs = slices.Clone(cur.ProductIDs)
		}
		next.ProductIDs = append(next.ProductIDs, p.ID())
		return daprstate.Change[catalog]{Value: &next}, nil
	}); err != nil {
		return err
	}
	_, err := d.products.Update(ctx, string(p.ID()), func(cur *productRecord) (daprstate.Change[productRecord], error) {
		if cur != nil {
			return daprstate.Change[productRecord]{}, fmt.Errorf("%w: %s", domain.ErrProductExists, p.ID())
		}
		rec := toProductRecord(p)
		return daprstate.Change[productRecord]{Value: &rec}, nil
	})
	return err
}

func (d *DaprRepository) Product(ctx context.Context, id domain.ProductID) (domain.Product, error) {
	rec, found, err := d.products.Get(ctx, string(id))
	if err != nil {
		return domain.Product{}, err
	}
	if !found {
		return domain.Product{}, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	return rec.product(), nil
}

func (d *DaprRepository) UpdateProduct(ctx context.Context, id domain.ProductID, change func(*domain.Product) error) (domain.Product, error) {
	rec, err := d.products.Update(ctx, string(id), func(cur *productRecord) (daprstate.Change[productRecord], error) {
		if cur == nil {
			return daprstate.Change[productRecord]{}, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
		}
		p := cur.product()
		if err := change(&p); err != nil {
			return daprstate.Change[productRecord]{}, err
		}
		next := toProductRecord(p)
		return daprstate.Change[productRecord]{Value: &next}, nil
	})
	if err != nil {
		return domain.Product{}, err
	}
	return rec.product(), nil
}

func (d *DaprRepository) ProductIDs(ctx context.Context) ([]domain.ProductID, error) {
	c, _, err := d.catalog.Get(ctx, "all")
	return c.ProductIDs, err
}

func (d *DaprRepository) Reservation(ctx context.Context, order domain.OrderID) (domain.Reservation, error) {
	rec, found, err := d.reservations.Get(ctx, string(order))
	if err != nil {
		return domain.Reservation{}, err
	}
	if !found {
		return domain.Reservation{}, fmt.Errorf("%w: order %s", domain.ErrUnknownReservation, order)
	}
	return rec.reservation()
}

func (d *DaprRepository) UpdateStock(ctx context.Context, id domain.ProductID, order domain.OrderID,
	change func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error),
) error {
	return daprstate.UpdatePair(ctx, d.products, string(id), d.reservations, string(order),
		func(pr *productRecord, rr *reservationRecord) (*productRecord, *reservationRecord, error) {
			return applyStockChange(id, pr, rr, change)
		})
}

// applyStockChange runs a stock change on stored records and returns the records to write.
func applyStockChange(id domain.ProductID, pr *productRecord, rr *reservationRecord,
	change func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error),
) (*productRecord, *reservationRecord, error) {
	if pr == nil {
		return nil, nil, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	p := pr.product()
	var r *domain.Reservation
	if rr != nil {
		res, err := rr.reservation()
		if err != nil {
			return nil, nil, err
		}
		r = &res
	}
	next, err := change(&p, r)
	if err != nil || next == nil {
		return nil, nil, err
	}
	np, nr := toProductRecord(p), toReservationRecord(*next)
	return &np, &nr, nil
}
