// Package domain is mypage's model: one customer's view of all their orders, built only from
// the events the other services publish. Each row remembers which facts it has heard, so the
// events can arrive in any order and any number of times and the row still ends the same.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
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

// View is a customer's page: all their orders.
type View struct {
	Customer CustomerID
	Orders   map[string]Row
}

// NewView is the empty page of a customer.
func NewView(c CustomerID) View { return View{Customer: c, Orders: map[string]Row{}} }

// Learn adds a fact to the view. It reports whether the view changed: a fact heard before
// changes nothing.
func (v *View) Learn(h Happening) bool {
	row, ok := v.Orders[h.OrderID]
	if !ok {
		row = Row{OrderID: h.OrderID, ProductID: h.ProductID, Qty: h.Qty, CreatedAt: h.OccurredAt, Heard: map[Fact]bool{}}
	}
	if row.Heard[h.Fact] {
		return false
	}
	row.Heard[h.Fact] = true
	if h.Fact == OrderPlaced || h.OccurredAt.Before(row.CreatedAt) {
		row.CreatedAt = h.OccurredAt
	}
	if h.OccurredAt.After(row.UpdatedAt) {
		row.UpdatedAt = h.OccurredAt
	}
	v.Orders[h.OrderID] = row
	return true
}

// Rows returns the orders, oldest first.
func (v View) Rows() []Row {
	rows := make([]Row, 0, len(v.Orders))
	for _, r := range v.Orders {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt) {
			return rows[i].CreatedAt.Before(rows[j].CreatedAt)
		}
		return rows[i].OrderID < rows[j].OrderID
	})
	return rows
}
