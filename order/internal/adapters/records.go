// Package adapters connects orders to the outside: the Dapr state store with its
// transactional outbox, the warehouse through Dapr service invocation, and in-memory
// stand-ins for tests.
package adapters

import (
	"time"

	"github.com/skmall/skmall/order/internal/domain"
)

// orderRecord is how an order is stored.
type orderRecord struct {
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Qty        int       `json:"qty"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func toRecord(o domain.Order) orderRecord {
	return orderRecord{
		OrderID: string(o.ID()), CustomerID: string(o.Customer()), ProductID: string(o.Product()),
		Qty: int(o.Qty()), Status: string(o.Status()), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
}

func (r orderRecord) order() (domain.Order, error) {
	st, err := domain.ParseStatus(r.Status)
	if err != nil {
		return domain.Order{}, err
	}
	return domain.Restore(domain.OrderID(r.OrderID), domain.CustomerID(r.CustomerID), domain.ProductID(r.ProductID),
		domain.Qty(r.Qty), st, r.CreatedAt, r.UpdatedAt), nil
}

// customerOrders is the list of a customer's order ids.
type customerOrders struct {
	OrderIDs []string `json:"orderIds"`
}
