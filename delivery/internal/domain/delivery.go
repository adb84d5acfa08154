// Package domain is the delivery's model: one delivery per order, started when the order is
// placed and cancelled when the order is. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"errors"
	"time"

	"github.com/skmall/skmall/platform/value"
)

// The domain's errors; callers tell them apart with errors.Is. ErrInvalidInput is
// platform/value's refusal, so every value that fails its Parse is invalid input.
var (
	ErrInvalidInput    = value.ErrInvalid
	ErrUnknownDelivery = errors.New("unknown delivery")
)

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
	return Delivery{id: DeliveryIDFor(line.order), line: line, status: Started, started: true, createdAt: now, updatedAt: now}
}

// CancelUnstarted records the delivery of an order that was cancelled before the delivery
// heard it was placed: it never starts, even when the order's placement arrives later.
func CancelUnstarted(line OrderLine, now time.Time) Delivery {
	return Delivery{id: DeliveryIDFor(line.order), line: line, status: Cancelled, createdAt: now, updatedAt: now}
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
