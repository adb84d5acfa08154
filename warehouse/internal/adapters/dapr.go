package adapters

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/invoke"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// DaprRepository keeps products, reservations and stock adjustments in a transactional Dapr
// state store.
type DaprRepository struct {
	products     *daprstate.Store[productRecord]
	reservations *daprstate.Store[reservationRecord]
	catalog      *daprstate.Store[catalog]
	adjustments  *daprstate.Store[adjustmentRecord]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{
		products:     daprstate.New[productRecord](client, store, "product-"),
		reservations: daprstate.New[reservationRecord](client, store, "reservation-"),
		catalog:      daprstate.New[catalog](client, store, "catalog-"),
		adjustments:  daprstate.New[adjustmentRecord](client, store, "adjustment-"),
	}
}

// AddProduct lists the product in the catalog first, then stores it; an id listed but not
// stored (a failed write) is skipped when the catalog is read.
func (d *DaprRepository) AddProduct(ctx context.Context, p domain.Product) error {
	id := p.ID().String()
	if _, err := d.catalog.Update(ctx, "all", func(cur *catalog) (daprstate.Change[catalog], error) {
		next := catalog{}
		if cur != nil {
			if slices.Contains(cur.ProductIDs, id) {
				return daprstate.Change[catalog]{}, nil
			}
			next.ProductIDs = slices.Clone(cur.ProductIDs)
		}
		next.ProductIDs = append(next.ProductIDs, id)
		return daprstate.Change[catalog]{Value: &next}, nil
	}); err != nil {
		return err
	}
	_, err := d.products.Update(ctx, id, func(cur *productRecord) (daprstate.Change[productRecord], error) {
		if cur != nil {
			return daprstate.Change[productRecord]{}, fmt.Errorf("%w: %s", domain.ErrProductExists, p.ID())
		}
		rec := toProductRecord(p)
		return daprstate.Change[productRecord]{Value: &rec}, nil
	})
	return err
}

func (d *DaprRepository) Product(ctx context.Context, id domain.ProductID) (domain.Product, error) {
	rec, found, err := d.products.Get(ctx, id.String())
	if err != nil {
		return domain.Product{}, err
	}
	if !found {
		return domain.Product{}, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	return rec.product()
}

func (d *DaprRepository) AdjustProduct(ctx context.Context, id domain.ProductID, key domain.AdjustmentKey,
	change func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, error) {
	var p domain.Product // as the last decision, the one written, left it
	err := daprstate.UpdatePair(ctx, d.products, id.String(), d.adjustments, adjustmentDoc(id, key),
		func(pr *productRecord, ar *adjustmentRecord) (np *productRecord, na *adjustmentRecord, err error) {
			p, np, na, err = applyAdjustment(id, pr, ar, change)
			return np, na, err
		})
	if err != nil {
		return domain.Product{}, err
	}
	return p, nil
}

func (d *DaprRepository) ProductIDs(ctx context.Context) ([]domain.ProductID, error) {
	c, _, err := d.catalog.Get(ctx, "all")
	if err != nil {
		return nil, err
	}
	return c.productIDs()
}

func (d *DaprRepository) Reservation(ctx context.Context, order domain.OrderID) (domain.Reservation, error) {
	rec, found, err := d.reservations.Get(ctx, order.String())
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
	return daprstate.UpdatePair(ctx, d.products, id.String(), d.reservations, order.String(),
		func(pr *productRecord, rr *reservationRecord) (*productRecord, *reservationRecord, error) {
			return applyStockChange(id, pr, rr, change)
		})
}

// DaprOrders settles unconfirmed reservations with the order service, through Dapr service
// invocation.
type DaprOrders struct {
	orders *invoke.Client
}

// NewDaprOrders returns the order service as the app id orderAppID.
func NewDaprOrders(client dapr.Client, orderAppID string) *DaprOrders {
	return &DaprOrders{orders: invoke.New(client, orderAppID)}
}

// Settle asks the order service whether the order is stored on the reservation; when it is
// not, the order service promises it never will be.
func (d *DaprOrders) Settle(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) (bool, error) {
	var s contracts.OrderSettlement
	err := d.orders.Post(ctx, "internal/orders/"+url.PathEscape(order.String())+"/settle",
		contracts.SettleOrder{ReservationID: reservation.String()}, &s)
	if err != nil {
		return false, fmt.Errorf("settle order %s with the order service: %w", order, err)
	}
	return s.Stored, nil
}
