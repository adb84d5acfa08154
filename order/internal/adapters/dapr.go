package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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
	customers *daprstate.Store[customerOrders]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{
		orders:    daprstate.New[orderRecord](client, store, "order-"),
		customers: daprstate.New[customerOrders](client, store, "customer-"),
	}
}

// Add lists the order under its customer first, then creates it with its event. An id listed
// but never stored (a failed write) is skipped when the list is read.
func (d *DaprRepository) Add(ctx context.Context, o domain.Order, placed contracts.Event) error {
	payload, err := contracts.Encode(placed)
	if err != nil {
		return err
	}
	id := string(o.ID())
	if _, err := d.customers.Update(ctx, string(o.Customer()), func(cur *customerOrders) (daprstate.Change[customerOrders], error) {
		next := customerOrders{}
		if cur != nil {
			if slices.Contains(cur.OrderIDs, id) {
				return daprstate.Change[customerOrders]{}, nil
			}
			next.OrderIDs = slices.Clone(cur.OrderIDs)
		}
		next.OrderIDs = append(next.OrderIDs, id)
		return daprstate.Change[customerOrders]{Value: &next}, nil
	}); err != nil {
		return err
	}
	err = d.orders.Create(ctx, id, toRecord(o), payload)
	if errors.Is(err, daprstate.ErrExists) {
		return fmt.Errorf("%w: %s", domain.ErrOrderExists, id)
	}
	return err
}

func (d *DaprRepository) Get(ctx context.Context, id domain.OrderID) (domain.Order, error) {
	rec, found, err := d.orders.Get(ctx, string(id))
	if err != nil {
		return domain.Order{}, err
	}
	if !found {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	return rec.order()
}

func (d *DaprRepository) Update(ctx context.Context, id domain.OrderID, change func(*domain.Order) (bool, *contracts.Event, error)) (domain.Order, error) {
	rec, err := d.orders.Update(ctx, string(id), func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		if cur == nil {
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

func (d *DaprRepository) ByCustomer(ctx context.Context, customer domain.CustomerID) ([]domain.Order, error) {
	list, _, err := d.customers.Get(ctx, string(customer))
	if err != nil {
		return nil, err
	}
	recs, err := d.orders.GetMany(ctx, list.OrderIDs)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Order, 0, len(recs))
	for _, r := range recs {
		o, err := r.order()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
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

type reservationRequest struct {
	OrderID   string `json:"orderId"`
	ProductID string `json:"productId"`
	Qty       int    `json:"qty"`
}

type reservationResult struct {
	Reserved bool   `json:"reserved"`
	Reason   string `json:"reason"`
}

func (s *DaprStockReserver) ReserveStock(ctx context.Context, order domain.OrderID, product domain.ProductID, qty domain.Qty) (app.Refusal, error) {
	body, err := json.Marshal(reservationRequest{OrderID: string(order), ProductID: string(product), Qty: int(qty)})
	if err != nil {
		return "", err
	}
	out, err := s.client.InvokeMethodWithContent(ctx, s.warehouse, "reservations", "post",
		&dapr.DataContent{ContentType: "application/json", Data: body})
	if err != nil {
		return "", fmt.Errorf("reserve stock for order %s: %w", order, err)
	}
	var res reservationResult
	if err := json.Unmarshal(out, &res); err != nil {
		return "", fmt.Errorf("reserve stock for order %s: unreadable answer: %w", order, err)
	}
	switch {
	case res.Reserved:
		return "", nil
	case res.Reason == string(app.RefusedOutOfStock), res.Reason == string(app.RefusedUnknownProduct):
		return app.Refusal(res.Reason), nil
	}
	return "", errors.New("reserve stock: the warehouse refused for an unknown reason " + res.Reason)
}

func (s *DaprStockReserver) ReleaseStock(ctx context.Context, order domain.OrderID) error {
	_, err := s.client.InvokeMethodWithContent(ctx, s.warehouse, "reservations/"+string(order)+"/release", "post",
		&dapr.DataContent{ContentType: "application/json", Data: []byte("{}")})
	if err != nil {
		return fmt.Errorf("release stock of order %s: %w", order, err)
	}
	return nil
}
