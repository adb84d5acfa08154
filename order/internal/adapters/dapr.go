package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// DaprRepository keeps orders in a Dapr state store configured with a transactional outbox
// (outboxPublishPubsub / outboxPublishTopic). Every state transaction on that store publishes
// its write, so only writes that carry an event use a transaction.
type DaprRepository struct {
	orders    *daprstate.Store[orderRecord]
	customers *daprstate.Log
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{
		orders:    daprstate.New[orderRecord](client, store, "order-"),
		customers: daprstate.NewLog(client, store, "customer-"),
	}
}

// Add lists the order under its customer first, then creates it with its event. An id listed
// but never stored (a failed write, an abandoned attempt) is skipped when the list is read.
func (d *DaprRepository) Add(ctx context.Context, o domain.Order, placed contracts.Event) error {
	payload, err := contracts.Encode(placed)
	if err != nil {
		return err
	}
	id := string(o.ID())
	if err := d.customers.Add(ctx, string(o.Customer()), id); err != nil {
		return err
	}
	rec := toRecord(o)
	err = d.orders.Create(ctx, id, rec, payload)
	if !errors.Is(err, daprstate.ErrExists) {
		return err
	}
	// The id holds something: another order, or abandoned attempts at placing this one.
	_, err = d.orders.Update(ctx, id, func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		write, err := cur.add(rec)
		if err != nil || !write {
			return daprstate.Change[orderRecord]{}, err
		}
		return daprstate.Change[orderRecord]{Value: &rec, Outbox: payload}, nil
	})
	return err
}

func (d *DaprRepository) Find(ctx context.Context, id domain.OrderID) (app.Placement, error) {
	rec, found, err := d.orders.Get(ctx, string(id))
	if err != nil || !found {
		return app.Placement{}, err
	}
	return rec.placement()
}

func (d *DaprRepository) Get(ctx context.Context, id domain.OrderID) (domain.Order, error) {
	p, err := d.Find(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if !p.Stored {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	return p.Order, nil
}

// Settle writes the abandoned reservation under the order id, guarded by the ETag (or as a
// create), so a write of the order on that reservation that is still in flight fails.
func (d *DaprRepository) Settle(ctx context.Context, id domain.OrderID, reservation domain.ReservationID) (app.Placement, error) {
	rec, err := d.orders.Update(ctx, string(id), func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		return daprstate.Change[orderRecord]{Value: cur.abandon(id, reservation)}, nil
	})
	if err != nil {
		return app.Placement{}, err
	}
	return rec.placement()
}

func (d *DaprRepository) Update(ctx context.Context, id domain.OrderID, change func(*domain.Order) (bool, *contracts.Event, error)) (domain.Order, error) {
	rec, err := d.orders.Update(ctx, string(id), func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		if cur == nil || !cur.stored() {
			return daprstate.Change[orderRecord]{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
		}
		o, err := cur.order()
		if err != nil {
			return daprstate.Change[orderRecord]{}, err
		}
		changed, e, err := change(&o)
		if err != nil || !changed {
			return daprstate.Change[orderRecord]{}, err
		}
		next := toRecord(o)
		ch := daprstate.Change[orderRecord]{Value: &next}
		if e != nil {
			if ch.Outbox, err = contracts.Encode(*e); err != nil {
				return daprstate.Change[orderRecord]{}, err
			}
		}
		return ch, nil
	})
	if err != nil {
		return domain.Order{}, err
	}
	return rec.order()
}

func (d *DaprRepository) ByCustomer(ctx context.Context, customer domain.CustomerID, cursor string) ([]domain.Order, string, error) {
	ids, next, err := d.customers.Page(ctx, string(customer), cursor)
	if errors.Is(err, daprstate.ErrBadCursor) {
		return nil, "", fmt.Errorf("%w: %w", domain.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, "", err
	}
	recs, err := d.orders.GetMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.Order, 0, len(recs))
	for _, r := range recs {
		if !r.stored() {
			continue
		}
		o, err := r.order()
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	return out, next, nil
}

func (d *DaprRepository) Orders(ctx context.Context, ids []domain.OrderID) (map[domain.OrderID]domain.Order, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = string(id)
	}
	recs, err := d.orders.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[domain.OrderID]domain.Order, len(recs))
	for _, r := range recs {
		if !r.stored() {
			continue
		}
		o, err := r.order()
		if err != nil {
			return nil, err
		}
		out[o.ID()] = o
	}
	return out, nil
}

// DaprStockReserver asks the warehouse for stock through Dapr service invocation, so the
// call runs under the Resiliency policy (timeout, retries, circuit breaker) of the sidecar.
type DaprStockReserver struct {
	client    dapr.Client
	warehouse string
}

// NewDaprStockReserver returns a reserver that invokes the given app id.
func NewDaprStockReserver(client dapr.Client, warehouseAppID string) *DaprStockReserver {
	return &DaprStockReserver{client: client, warehouse: warehouseAppID}
}

func (s *DaprStockReserver) ReserveStock(ctx context.Context, r app.Reservation) (domain.ReservationID, app.Refusal, error) {
	req := contracts.ReserveStock{OrderID: string(r.Order), ProductID: string(r.Product), Qty: int(r.Qty), ReservationID: string(r.ID)}
	for _, id := range r.Replaces {
		req.Replaces = append(req.Replaces, string(id))
	}
	var res contracts.Reservation
	if err := s.invoke(ctx, "reservations", req, &res); err != nil {
		return "", "", fmt.Errorf("reserve stock for order %s: %w", r.Order, err)
	}
	switch {
	case res.Reserved && res.ReservationID != "":
		return domain.ReservationID(res.ReservationID), "", nil
	case res.Reserved:
		return "", "", fmt.Errorf("reserve stock for order %s: the warehouse did not name the reservation", r.Order)
	}
	switch refusal := app.Refusal(res.Reason); refusal {
	case app.RefusedOutOfStock, app.RefusedUnknownProduct, app.RefusedClash:
		return "", refusal, nil
	}
	return "", "", fmt.Errorf("reserve stock for order %s: the warehouse refused for an unknown reason %q", r.Order, res.Reason)
}

func (s *DaprStockReserver) ReleaseStock(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) error {
	err := s.invoke(ctx, "reservations/"+url.PathEscape(string(order))+"/release", contracts.ReleaseStock{ReservationID: string(reservation)}, nil)
	if err != nil {
		return fmt.Errorf("release stock of order %s: %w", order, err)
	}
	return nil
}

// invoke posts req as JSON to a method of the warehouse and decodes its answer into res.
func (s *DaprStockReserver) invoke(ctx context.Context, method string, req, res any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := s.client.InvokeMethodWithContent(ctx, s.warehouse, method, "post", &dapr.DataContent{ContentType: "application/json", Data: body})
	if err != nil || res == nil {
		return err
	}
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("unreadable answer: %w", err)
	}
	return nil
}
