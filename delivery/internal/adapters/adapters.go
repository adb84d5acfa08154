// Package adapters connects deliveries to the outside: the Dapr state store, and an
// in-memory store and publisher for tests.
package adapters

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// record is how a delivery is stored.
type record struct {
	DeliveryID string    `json:"deliveryId"`
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Qty        int       `json:"qty"`
	Status     string    `json:"status"`
	Started    bool      `json:"started"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func toRecord(d domain.Delivery) record {
	l := d.Line()
	return record{
		DeliveryID: string(d.ID()), OrderID: string(l.Order), CustomerID: l.Customer, ProductID: l.Product, Qty: l.Qty,
		Status: string(d.Status()), Started: d.WasStarted(), CreatedAt: d.CreatedAt(), UpdatedAt: d.UpdatedAt(),
	}
}

func (r record) delivery() (domain.Delivery, error) {
	st, err := domain.ParseStatus(r.Status)
	if err != nil {
		return domain.Delivery{}, err
	}
	line := domain.OrderLine{Order: domain.OrderID(r.OrderID), Customer: r.CustomerID, Product: r.ProductID, Qty: r.Qty}
	return domain.Restore(domain.DeliveryID(r.DeliveryID), line, st, r.Started, r.CreatedAt, r.UpdatedAt), nil
}

// update applies a change to a stored record (nil when absent) and returns the record to write.
func update(cur *record, change func(*domain.Delivery) *domain.Delivery) (*record, error) {
	var d *domain.Delivery
	if cur != nil {
		v, err := cur.delivery()
		if err != nil {
			return nil, err
		}
		d = &v
	}
	next := change(d)
	if next == nil {
		return nil, nil
	}
	rec := toRecord(*next)
	return &rec, nil
}

// DaprRepository keeps deliveries in a Dapr state store.
type DaprRepository struct {
	store *daprstate.Store[record]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{store: daprstate.New[record](client, store, "delivery-")}
}

func (r *DaprRepository) Get(ctx context.Context, order domain.OrderID) (domain.Delivery, error) {
	rec, found, err := r.store.Get(ctx, string(order))
	if err != nil {
		return domain.Delivery{}, err
	}
	if !found {
		return domain.Delivery{}, fmt.Errorf("%w: order %s", domain.ErrUnknownDelivery, order)
	}
	return rec.delivery()
}

func (r *DaprRepository) Update(ctx context.Context, order domain.OrderID, change func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	rec, err := r.store.Update(ctx, string(order), func(cur *record) (daprstate.Change[record], error) {
		next, err := update(cur, change)
		return daprstate.Change[record]{Value: next}, err
	})
	if err != nil {
		return domain.Delivery{}, err
	}
	return rec.delivery()
}

// MemoryRepository keeps deliveries in memory, for tests.
type MemoryRepository struct {
	mu   sync.Mutex
	recs map[domain.OrderID]record
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{recs: map[domain.OrderID]record{}}
}

func (m *MemoryRepository) Get(_ context.Context, order domain.OrderID) (domain.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.recs[order]
	if !ok {
		return domain.Delivery{}, fmt.Errorf("%w: order %s", domain.ErrUnknownDelivery, order)
	}
	return rec.delivery()
}

func (m *MemoryRepository) Update(_ context.Context, order domain.OrderID, change func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur *record
	if rec, ok := m.recs[order]; ok {
		cur = &rec
	}
	next, err := update(cur, change)
	if err != nil {
		return domain.Delivery{}, err
	}
	if next != nil {
		m.recs[order] = *next
		return next.delivery()
	}
	return cur.delivery()
}
