// Package domain is the order's model: a customer's order of a quantity of one product, and
// the life it goes through. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/skmall/skmall/platform/value"
)

// The domain's errors; callers tell them apart with errors.Is. Every refusal of a value
// (platform/value) is ErrInvalidInput.
var (
	ErrInvalidInput      = value.ErrInvalid
	ErrUnknownOrder      = errors.New("unknown order")
	ErrOrderExists       = errors.New("order already exists")
	ErrIdempotencyReused = errors.New("idempotency key already used for another order")
	// ErrReservationAbandoned means the attempt at placing an order was abandoned (its store write
	// failed, or the warehouse settled its reservation as unconfirmed); the order is never
	// stored on that reservation.
	ErrReservationAbandoned = errors.New("reservation abandoned")
)

type (
	orderTag       struct{}
	customerTag    struct{}
	productTag     struct{}
	reservationTag struct{}
	statusTag      struct{}
)

// OrderID names an order. Only ParseOrderID (and NewOrderID) make one.
type OrderID = value.ID[orderTag]

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) { return value.ParseID[orderTag]("orderId", s) }

// CustomerID names a customer. Only ParseCustomerID makes one.
type CustomerID = value.ID[customerTag]

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	return value.ParseID[customerTag]("customerId", s)
}

// ProductID names a product. Only ParseProductID makes one.
type ProductID = value.ID[productTag]

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) { return value.ParseID[productTag]("productId", s) }

// ReservationID names the stock the warehouse set aside for one attempt at placing an order.
// Only ParseReservationID (and NewReservationID) make one.
type ReservationID = value.ID[reservationTag]

// ParseReservationID validates a reservation id.
func ParseReservationID(s string) (ReservationID, error) {
	return value.ParseID[reservationTag]("reservationId", s)
}

// NewReservationID names a new attempt's reservation.
func NewReservationID() ReservationID {
	return value.Must(value.ParseID[reservationTag]("reservationId", uuid.NewString()))
}

// MaxQty is the most units of a product one order may ask for.
const MaxQty = value.MaxQty

// Qty is how many units of the product are ordered: 1 to MaxQty. Only ParseQty makes one.
type Qty = value.Qty

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) { return value.ParseQty(n) }

// IdempotencyKey lets a client retry an order request safely. The zero key is an absent one.
// Only ParseIdempotencyKey makes one. (Not a value.ID: a key has its own format, and may be
// absent.)
type IdempotencyKey struct{ s string }

// ParseIdempotencyKey accepts an absent key or 1 to 128 printable ASCII characters.
func ParseIdempotencyKey(s string) (IdempotencyKey, error) {
	if len(s) > 128 {
		return IdempotencyKey{}, fmt.Errorf("%w: Idempotency-Key may hold at most 128 characters", ErrInvalidInput)
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return IdempotencyKey{}, fmt.Errorf("%w: Idempotency-Key must be printable ASCII without spaces", ErrInvalidInput)
		}
	}
	return IdempotencyKey{s}, nil
}

// IsZero reports whether the key is absent.
func (k IdempotencyKey) IsZero() bool { return k.s == "" }

func (k IdempotencyKey) String() string { return k.s }

// LogValue logs the key as its string (slog would otherwise log an empty struct).
func (k IdempotencyKey) LogValue() slog.Value { return slog.StringValue(k.s) }

// NewOrderID returns the id of a new order. With an idempotency key the id is derived from
// the customer and the key, so a retried request names the same order.
func NewOrderID(customer CustomerID, key IdempotencyKey) OrderID {
	id := uuid.NewString()
	if !key.IsZero() {
		id = uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(customer.String()+"\x00"+key.s), 5).String()
	}
	return value.Must(value.ParseID[orderTag]("orderId", id))
}

// Status is where an order stands: one of Placed, DeliveryStarted and Cancelled.
type Status = value.Name[statusTag]

// The values of Status.
var (
	Placed          = value.NameOf[statusTag]("PLACED")
	DeliveryStarted = value.NameOf[statusTag]("DELIVERY_STARTED")
	Cancelled       = value.NameOf[statusTag]("CANCELLED")
)

// ParseStatus accepts the closed set of statuses.
func ParseStatus(s string) (Status, error) {
	return value.ParseName("order status", s, Placed, DeliveryStarted, Cancelled)
}

// Order is a customer's order of a quantity of one product.
type Order struct {
	id          OrderID
	customer    CustomerID
	product     ProductID
	qty         Qty
	reservation ReservationID
	status      Status
	// deliveryCancelled: the delivery service confirmed the cancellation.
	deliveryCancelled bool
	createdAt         time.Time
	updatedAt         time.Time
}

// Place starts an order whose stock the warehouse reserved under reservation.
func Place(id OrderID, customer CustomerID, product ProductID, qty Qty, reservation ReservationID, now time.Time) Order {
	return Order{id: id, customer: customer, product: product, qty: qty, reservation: reservation, status: Placed, createdAt: now, updatedAt: now}
}

// Restore rebuilds an order from storage.
func Restore(id OrderID, customer CustomerID, product ProductID, qty Qty, reservation ReservationID, status Status,
	deliveryCancelled bool, createdAt, updatedAt time.Time,
) Order {
	return Order{id: id, customer: customer, product: product, qty: qty, reservation: reservation, status: status,
		deliveryCancelled: deliveryCancelled, createdAt: createdAt, updatedAt: updatedAt}
}

func (o Order) ID() OrderID                { return o.id }
func (o Order) Customer() CustomerID       { return o.customer }
func (o Order) Product() ProductID         { return o.product }
func (o Order) Qty() Qty                   { return o.qty }
func (o Order) Reservation() ReservationID { return o.reservation }
func (o Order) Status() Status             { return o.status }
func (o Order) CreatedAt() time.Time       { return o.createdAt }
func (o Order) UpdatedAt() time.Time       { return o.updatedAt }
func (o Order) IsCancelled() bool          { return o.status == Cancelled }
func (o Order) DeliveryCancelled() bool    { return o.deliveryCancelled }
func (o Order) SameRequest(product ProductID, qty Qty) bool {
	return o.product == product && o.qty == qty
}

// Cancel cancels the order, before or after its delivery started. It reports whether the
// order changed: cancelling a cancelled order changes nothing.
func (o *Order) Cancel(now time.Time) bool {
	if o.IsCancelled() {
		return false
	}
	o.status, o.updatedAt = Cancelled, now
	return true
}

// StartDelivery records that the order's delivery started. A cancelled order stays
// cancelled, and a repeated start changes nothing.
func (o *Order) StartDelivery(now time.Time) bool {
	if o.status != Placed {
		return false
	}
	o.status, o.updatedAt = DeliveryStarted, now
	return true
}

// RecordDeliveryCancelled records that the delivery of a cancelled order was cancelled: the
// cancellation reached the delivery service. It reports whether the order changed.
func (o *Order) RecordDeliveryCancelled() bool {
	if !o.IsCancelled() || o.deliveryCancelled {
		return false
	}
	o.deliveryCancelled = true
	return true
}

// Announced reports whether the consumers confirmed the order's latest event: the delivery
// started (the order was placed) or was cancelled (the order was cancelled).
func (o Order) Announced() bool {
	switch o.status {
	case DeliveryStarted:
		return true
	case Cancelled:
		return o.deliveryCancelled
	}
	return false
}
