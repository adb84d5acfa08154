// Package domain is the delivery's model: one delivery per order, started when the order is
// placed and cancelled when the order is. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

var (
	ErrInvalidInput    = errors.New("invalid input")
	ErrUnknownDelivery = errors.New("unknown delivery")
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// OrderID names the order a delivery is for; one delivery per order.
type OrderID string

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: orderId must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, s)
	}
	return OrderID(s), nil
}

// DeliveryID names a delivery. It is derived from the order id, so that the one delivery of
// an order has the same id however often its start is retried.
type DeliveryID string

// DeliveryIDFor returns the id of the delivery of an order.
func DeliveryIDFor(order OrderID) DeliveryID {
	return DeliveryID(uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte("skmall:delivery:"+string(order)), 5).String())
}

// Status is where a delivery stands.
type Status string

const (
	Started   Status = "STARTED"
	Cancelled Status = "CANCELLED"
)

// ParseStatus accepts the closed set of statuses.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Started, Cancelled:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown delivery status %q", ErrInvalidInput, s)
}

// OrderLine is what a delivery carries: who gets how many of what.
type OrderLine struct {
	Order    OrderID
	Customer string
	Product  string
	Qty      int
}

// Delivery is the delivery of one order.
type Delivery struct {
	id        DeliveryID
	line      OrderLine
	status    Status
	started   bool
	createdAt time.Time
	updatedAt time.Time
}

// Start starts the delivery of a placed order.
func Start(line OrderLine, now time.Time) Delivery {
	return Delivery{id: DeliveryIDFor(line.Order), line: line, status: Started, started: true, createdAt: now, updatedAt: now}
}

// CancelUnstarted records the delivery of an order that was cancelled before the delivery
// heard it was placed: it never starts, even when the order's placement arrives later.
func CancelUnstarted(line OrderLine, now time.Time) Delivery {
	return Delivery{id: DeliveryIDFor(line.Order), line: line, status: Cancelled, createdAt: now, updatedAt: now}
}

// Restore rebuilds a delivery from storage.
func Restore(id DeliveryID, line OrderLine, status Status, started bool, createdAt, updatedAt time.Time) Delivery {
	return Delivery{id: id, line: line, status: status, started: started, createdAt: createdAt, updatedAt: updatedAt}
}

func (d Delivery) ID() DeliveryID       { return d.id }
func (d Delivery) Line() OrderLine      { return d.line }
func (d Delivery) Status() Status       { return d.status }
func (d Delivery) WasStarted() bool     { return d.started }
func (d Delivery) CreatedAt() time.Time { return d.createdAt }
func (d Delivery) UpdatedAt() time.Time { return d.updatedAt }

// Cancel cancels the delivery. It reports whether anything changed.
func (d *Delivery) Cancel(now time.Time) bool {
	if d.status == Cancelled {
		return false
	}
	d.status, d.updatedAt = Cancelled, now
	return true
}
