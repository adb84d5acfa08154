// Package adapters connects orders to the outside: the Dapr state store with its
// transactional outbox, the warehouse through Dapr service invocation, and in-memory
// stand-ins for tests.
package adapters

import (
	"fmt"
	"slices"
	"time"

	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
)

// orderRecord is what is stored under an order id: the order, or, before it is stored, the
// reservations of abandoned attempts at placing it (and no status).
type orderRecord struct {
	OrderID       string `json:"orderId"`
	CustomerID    string `json:"customerId,omitempty"`
	ProductID     string `json:"productId,omitempty"`
	Qty           int    `json:"qty,omitempty"`
	ReservationID string `json:"reservationId,omitempty"`
	Status        string `json:"status,omitempty"`
	// DeliveryCancelled: the delivery service confirmed the cancellation.
	DeliveryCancelled bool      `json:"deliveryCancelled,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	Abandoned         []string  `json:"abandoned,omitempty"`
}

// maxAbandoned bounds the abandoned reservations remembered under one order id; the oldest
// go first, long after any request that held them ended.
const maxAbandoned = 16

func toRecord(o domain.Order) orderRecord {
	return orderRecord{
		OrderID: string(o.ID()), CustomerID: string(o.Customer()), ProductID: string(o.Product()),
		Qty: int(o.Qty()), ReservationID: string(o.Reservation()), Status: string(o.Status()),
		DeliveryCancelled: o.DeliveryCancelled(), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
}

// stored reports whether the record holds an order (not only abandoned attempts).
func (r orderRecord) stored() bool { return r.Status != "" }

func (r orderRecord) order() (domain.Order, error) {
	st, err := domain.ParseStatus(r.Status)
	if err != nil {
		return domain.Order{}, err
	}
	return domain.Restore(domain.OrderID(r.OrderID), domain.CustomerID(r.CustomerID), domain.ProductID(r.ProductID),
		domain.Qty(r.Qty), domain.ReservationID(r.ReservationID), st, r.DeliveryCancelled, r.CreatedAt, r.UpdatedAt), nil
}

func (r orderRecord) placement() (app.Placement, error) {
	if !r.stored() {
		p := app.Placement{}
		for _, a := range r.Abandoned {
			p.Abandoned = append(p.Abandoned, domain.ReservationID(a))
		}
		return p, nil
	}
	o, err := r.order()
	return app.Placement{Order: o, Stored: true}, err
}

// add decides how an order is stored over what the id holds: not over another order, nor on
// an abandoned reservation. write is false when the very same order is already stored.
func (r *orderRecord) add(o orderRecord) (write bool, err error) {
	switch {
	case r == nil:
		return true, nil
	case r.stored() && r.same(o):
		return false, nil
	case r.stored():
		return false, fmt.Errorf("%w: %s", domain.ErrOrderExists, o.OrderID)
	case slices.Contains(r.Abandoned, o.ReservationID):
		return false, fmt.Errorf("%w: order %s, reservation %s", domain.ErrReservationAbandoned, o.OrderID, o.ReservationID)
	}
	return true, nil
}

// abandon decides the record that remembers reservation as abandoned; nil when there is
// nothing to write (the order is stored, or the reservation is remembered already).
func (r *orderRecord) abandon(id domain.OrderID, reservation domain.ReservationID) *orderRecord {
	next := orderRecord{OrderID: string(id)}
	if r != nil {
		if r.stored() || slices.Contains(r.Abandoned, string(reservation)) {
			return nil
		}
		next.Abandoned = slices.Clone(r.Abandoned)
	}
	next.Abandoned = append(next.Abandoned, string(reservation))
	if over := len(next.Abandoned) - maxAbandoned; over > 0 {
		next.Abandoned = next.Abandoned[over:]
	}
	return &next
}

func (r orderRecord) same(o orderRecord) bool {
	return r.OrderID == o.OrderID && r.CustomerID == o.CustomerID && r.ProductID == o.ProductID && r.Qty == o.Qty &&
		r.ReservationID == o.ReservationID && r.Status == o.Status && r.DeliveryCancelled == o.DeliveryCancelled &&
		r.CreatedAt.Equal(o.CreatedAt) && r.UpdatedAt.Equal(o.UpdatedAt)
}
