// Package adapters connects deliveries to the outside: the Dapr state store and pub/sub, and
// in-memory twins of both for tests.
package adapters

import (
	"fmt"
	"time"

	"github.com/skmall/skmall/delivery/internal/domain"
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
		DeliveryID: d.ID().String(), OrderID: l.Order().String(), CustomerID: l.Customer().String(),
		ProductID: l.Product().String(), Qty: l.Qty().Int(),
		Status: d.Status().String(), Started: d.WasStarted(), CreatedAt: d.CreatedAt(), UpdatedAt: d.UpdatedAt(),
	}
}

// delivery parses a stored delivery. A record that does not parse is corrupt storage, never
// the caller's invalid input; the app reports it as the store failing.
func (r record) delivery() (domain.Delivery, error) {
	id, err := domain.ParseDeliveryID(r.DeliveryID)
	if err != nil {
		return domain.Delivery{}, fmt.Errorf("stored delivery of order %q: %w", r.OrderID, err)
	}
	line, err := domain.ParseOrderLine(r.OrderID, r.CustomerID, r.ProductID, r.Qty)
	if err != nil {
		return domain.Delivery{}, fmt.Errorf("stored delivery %s: %w", id, err)
	}
	st, err := domain.ParseStatus(r.Status)
	if err != nil {
		return domain.Delivery{}, fmt.Errorf("stored delivery %s: %w", id, err)
	}
	return domain.Restore(id, line, st, r.Started, r.CreatedAt, r.UpdatedAt), nil
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
