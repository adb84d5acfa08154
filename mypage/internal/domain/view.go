// Package domain is mypage's model: a customer's page of their orders, one row per order,
// built only from the events the other services publish. Each row remembers which facts it has
// heard, so the events can arrive in any order and any number of times and the row still ends
// the same.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

var (
	ErrInvalidInput = errors.New("invalid input")
	ErrUnknownOrder = errors.New("unknown order")
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CustomerID names a customer.
type CustomerID string

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: customerId must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, s)
	}
	return CustomerID(s), nil
}

// Fact is one thing that happened to an order, as the view learns it.
type Fact string

const (
	OrderPlaced       Fact = "OrderPlaced"
	OrderCancelled    Fact = "OrderCancelled"
	DeliveryStarted   Fact = "DeliveryStarted"
	DeliveryCancelled Fact = "DeliveryCancelled"
)

// Order statuses and delivery statuses, as the shop names them.
const (
	StatusPlaced          = "PLACED"
	StatusDeliveryStarted = "DELIVERY_STARTED"
	StatusCancelled       = "CANCELLED"
	DeliveryStatusStarted = "STARTED"
)

// Row is one order on a customer's page.
type Row struct {
	Customer  CustomerID
	OrderID   string
	ProductID string
	Qty       int
	CreatedAt time.Time // when the order was placed (or the first fact heard, until then)
	UpdatedAt time.Time // when the latest fact happened
	Heard     map[Fact]bool
}

// OrderStatus is the order's status as the facts heard tell it.
func (r Row) OrderStatus() string {
	switch {
	case r.Heard[OrderCancelled], r.Heard[DeliveryCancelled]:
		return StatusCancelled
	case r.Heard[DeliveryStarted]:
		return StatusDeliveryStarted
	}
	return StatusPlaced
}

// DeliveryStatus is the delivery's status; empty until the delivery starts (or is cancelled).
func (r Row) DeliveryStatus() string {
	switch {
	case r.Heard[DeliveryCancelled]:
		return StatusCancelled
	case r.Heard[DeliveryStarted]:
		return DeliveryStatusStarted
	}
	return ""
}

// Happening is a fact about an order as an event reports it.
type Happening struct {
	Fact       Fact
	OrderID    string
	ProductID  string
	Qty        int
	OccurredAt time.Time
}

// NewRow is the row of an order nothing was heard of yet.
func NewRow(c CustomerID, orderID string) Row {
	return Row{Customer: c, OrderID: orderID, Heard: map[Fact]bool{}}
}

// Learn adds a fact to the row. It reports whether the row changed: a fact heard before
// changes nothing.
func (r *Row) Learn(h Happening) bool {
	if r.Heard == nil {
		r.Heard = map[Fact]bool{}
	}
	if r.Heard[h.Fact] {
		return false
	}
	if len(r.Heard) == 0 {
		r.ProductID, r.Qty, r.CreatedAt = h.ProductID, h.Qty, h.OccurredAt
	}
	r.Heard[h.Fact] = true
	if h.Fact == OrderPlaced || h.OccurredAt.Before(r.CreatedAt) {
		r.CreatedAt = h.OccurredAt
	}
	if h.OccurredAt.After(r.UpdatedAt) {
		r.UpdatedAt = h.OccurredAt
	}
	return true
}
