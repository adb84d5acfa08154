// Package domain is mypage's model: a customer's page of their orders, one row per order,
// built only from the events the other services publish. Each row remembers which facts it has
// heard, so the events can arrive in any order and any number of times and the row still ends
// the same.
package domain

import (
	"errors"
	"maps"
	"time"

	"github.com/skmall/skmall/platform/value"
)

// The domain's errors; callers tell them apart with errors.Is. ErrInvalidInput is
// platform/value's: every refusal of a value here wraps it.
var (
	ErrInvalidInput = value.ErrInvalid
	ErrUnknownOrder = errors.New("unknown order")
)

// Row is one order on a customer's page. It is a value: a copy changes apart from the row
// it was copied from.
type Row struct {
	customer  CustomerID
	orderID   OrderID
	productID ProductID
	qty       Qty
	createdAt time.Time // when the order was placed (or the first fact heard, until then)
	updatedAt time.Time // when the latest fact happened
	heard     map[Fact]bool
}

// NewRow is the row of an order nothing was heard of yet.
func NewRow(c CustomerID, orderID OrderID) Row {
	return Row{customer: c, orderID: orderID}
}

// RestoreRow is a row as it was stored, with the facts it had heard.
func RestoreRow(c CustomerID, orderID OrderID, productID ProductID, qty Qty, createdAt, updatedAt time.Time, heard []Fact) Row {
	r := Row{customer: c, orderID: orderID, productID: productID, qty: qty, createdAt: createdAt, updatedAt: updatedAt}
	if len(heard) > 0 {
		r.heard = make(map[Fact]bool, len(heard))
		for _, f := range heard {
			r.heard[f] = true
		}
	}
	return r
}

func (r Row) Customer() CustomerID { return r.customer }
func (r Row) OrderID() OrderID     { return r.orderID }
func (r Row) ProductID() ProductID { return r.productID }
func (r Row) Qty() Qty             { return r.qty }

// CreatedAt is when the order was placed (or, until that is heard, the earliest fact heard).
func (r Row) CreatedAt() time.Time { return r.createdAt }

// UpdatedAt is when the latest fact heard happened.
func (r Row) UpdatedAt() time.Time { return r.updatedAt }

// Heard lists the facts the row has heard, in a fixed order.
func (r Row) Heard() []Fact {
	var out []Fact
	for _, f := range facts {
		if r.heard[f] {
			out = append(out, f)
		}
	}
	return out
}

// OrderStatus is the order's status as the facts heard tell it.
func (r Row) OrderStatus() OrderStatus {
	switch {
	case r.heard[OrderCancelled], r.heard[DeliveryCancelled]:
		return StatusCancelled
	case r.heard[DeliveryStarted]:
		return StatusDeliveryStarted
	}
	return StatusPlaced
}

// DeliveryStatus is the delivery's status; DeliveryStatusNone until the delivery starts (or
// is cancelled).
func (r Row) DeliveryStatus() DeliveryStatus {
	switch {
	case r.heard[DeliveryCancelled]:
		return DeliveryStatusCancelled
	case r.heard[DeliveryStarted]:
		return DeliveryStatusStarted
	}
	return DeliveryStatusNone
}

// Happening is a fact about an order as an event reports it.
type Happening struct {
	Fact       Fact
	ProductID  ProductID
	Qty        Qty
	OccurredAt time.Time
}

// Learn adds a fact to the row. It reports whether the row changed: a fact heard before
// changes nothing, and neither does a happening without a fact.
func (r *Row) Learn(h Happening) bool {
	if h.Fact.IsZero() || r.heard[h.Fact] {
		return false
	}
	if len(r.heard) == 0 {
		r.productID, r.qty, r.createdAt = h.ProductID, h.Qty, h.OccurredAt
	}
	// A new map, not the one this row may share with copies of it.
	heard := make(map[Fact]bool, len(r.heard)+1)
	maps.Copy(heard, r.heard)
	heard[h.Fact] = true
	r.heard = heard
	if h.Fact == OrderPlaced || h.OccurredAt.Before(r.createdAt) {
		r.createdAt = h.OccurredAt
	}
	if h.OccurredAt.After(r.updatedAt) {
		r.updatedAt = h.OccurredAt
	}
	return true
}
