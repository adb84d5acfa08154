// Package domain is the order's model: a customer's order of a quantity of one product, and
// the life it goes through. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The domain's errors; callers tell them apart with errors.Is.
var (
	ErrInvalidInput      = errors.New("invalid input")
	ErrUnknownOrder      = errors.New("unknown order")
	ErrOrderExists       = errors.New("order already exists")
	ErrIdempotencyReused = errors.New("idempotency key already used for another order")
	// ErrReservationAbandoned means the attempt at placing an order was abandoned (its store write
	// failed, or the warehouse settled its reservation as unconfirmed); the order is never
	// stored on that reservation.
	ErrReservationAbandoned = errors.New("reservation abandoned")
)

// MaxQty is the most units of a product one order may ask for.
const MaxQty = 1000

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// checkID is the one rule every id of an order follows.
func checkID(field, s string) error {
	if !idPattern.MatchString(s) {
		return fmt.Errorf("%w: %s must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", ErrInvalidInput, field, s)
	}
	return nil
}

// must is what every MustParse does with its Parse's answer.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// OrderID names an order. Only ParseOrderID (and NewOrderID) make one.
type OrderID struct{ s string }

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) {
	if err := checkID("orderId", s); err != nil {
		return OrderID{}, err
	}
	return OrderID{s}, nil
}

// MustParseOrderID is ParseOrderID for values known to be valid (tests, constants); it panics
// on anything ParseOrderID refuses.
func MustParseOrderID(s string) OrderID { return must(ParseOrderID(s)) }

func (id OrderID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id OrderID) LogValue() slog.Value { return slog.StringValue(id.s) }

// CustomerID names a customer. Only ParseCustomerID makes one.
type CustomerID struct{ s string }

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	if err := checkID("customerId", s); err != nil {
		return CustomerID{}, err
	}
	return CustomerID{s}, nil
}

// MustParseCustomerID is ParseCustomerID for values known to be valid (tests, constants); it
// panics on anything ParseCustomerID refuses.
func MustParseCustomerID(s string) CustomerID { return must(ParseCustomerID(s)) }

func (id CustomerID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id CustomerID) LogValue() slog.Value { return slog.StringValue(id.s) }

// ProductID names a product. Only ParseProductID makes one.
type ProductID struct{ s string }

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) {
	if err := checkID("productId", s); err != nil {
		return ProductID{}, err
	}
	return ProductID{s}, nil
}

// MustParseProductID is ParseProductID for values known to be valid (tests, constants); it
// panics on anything ParseProductID refuses.
func MustParseProductID(s string) ProductID { return must(ParseProductID(s)) }

func (id ProductID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ProductID) LogValue() slog.Value { return slog.StringValue(id.s) }

// Qty is how many units of the product are ordered: 1 to MaxQty. Only ParseQty makes one.
type Qty struct{ n int }

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return Qty{}, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalidInput, MaxQty, n)
	}
	return Qty{n}, nil
}

// MustParseQty is ParseQty for values known to be valid (tests, constants); it panics on
// anything ParseQty refuses.
func MustParseQty(n int) Qty { return must(ParseQty(n)) }

func (q Qty) Int() int       { return q.n }
func (q Qty) String() string { return strconv.Itoa(q.n) }

// LogValue logs the quantity as its number (slog would otherwise log an empty struct).
func (q Qty) LogValue() slog.Value { return slog.IntValue(q.n) }

// ReservationID names the stock the warehouse set aside for one attempt at placing an order.
// Only ParseReservationID (and NewReservationID) make one.
type ReservationID struct{ s string }

// ParseReservationID validates a reservation id.
func ParseReservationID(s string) (ReservationID, error) {
	if err := checkID("reservationId", s); err != nil {
		return ReservationID{}, err
	}
	return ReservationID{s}, nil
}

// MustParseReservationID is ParseReservationID for values known to be valid (tests,
// constants); it panics on anything ParseReservationID refuses.
func MustParseReservationID(s string) ReservationID { return must(ParseReservationID(s)) }

// NewReservationID names a new attempt's reservation.
func NewReservationID() ReservationID { return ReservationID{uuid.NewString()} }

func (id ReservationID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ReservationID) LogValue() slog.Value { return slog.StringValue(id.s) }

// IdempotencyKey lets a client retry an order request safely. The zero key is an absent one.
// Only ParseIdempotencyKey makes one.
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

// MustParseIdempotencyKey is ParseIdempotencyKey for values known to be valid (tests,
// constants); it panics on anything ParseIdempotencyKey refuses.
func MustParseIdempotencyKey(s string) IdempotencyKey { return must(ParseIdempotencyKey(s)) }

// IsZero reports whether the key is absent.
func (k IdempotencyKey) IsZero() bool { return k.s == "" }

func (k IdempotencyKey) String() string { return k.s }

// LogValue logs the key as its string (slog would otherwise log an empty struct).
func (k IdempotencyKey) LogValue() slog.Value { return slog.StringValue(k.s) }

// NewOrderID returns the id of a new order. With an idempotency key the id is derived from
// the customer and the key, so a retried request names the same order.
func NewOrderID(customer CustomerID, key IdempotencyKey) OrderID {
	if key.IsZero() {
		return OrderID{uuid.NewString()}
	}
	return OrderID{uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(customer.s+"\x00"+key.s), 5).String()}
}

// Status is where an order stands: one of Placed, DeliveryStarted and Cancelled.
type Status struct{ s string }

// The values of Status.
var (
	Placed          = Status{"PLACED"}
	DeliveryStarted = Status{"DELIVERY_STARTED"}
	Cancelled       = Status{"CANCELLED"}
)

// ParseStatus accepts the closed set of statuses.
func ParseStatus(s string) (Status, error) {
	switch st := (Status{s}); st {
	case Placed, DeliveryStarted, Cancelled:
		return st, nil
	}
	return Status{}, fmt.Errorf("%w: unknown order status %q", ErrInvalidInput, s)
}

func (st Status) String() string { return st.s }

// LogValue logs the status as its string (slog would otherwise log an empty struct).
func (st Status) LogValue() slog.Value { return slog.StringValue(st.s) }

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
