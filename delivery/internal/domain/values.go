package domain

import (
	"crypto/sha1"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"

	"github.com/google/uuid"
)

// The value types below are structs with an unexported field: only this package makes them,
// so everyone else goes through Parse and the domain can trust every value it is handed. They
// have no JSON methods on purpose: storage and the wire convert explicitly with String/Int and
// Parse, which keeps both formats independent of the domain.

// MaxQty is the most units one order line may carry (the contracts' limit on qty).
const MaxQty = 1000

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// parseID is the one rule every id of a delivery follows; field names the id in the error.
func parseID(field, s string) (string, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: %s must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, field, s)
	}
	return s, nil
}

// must is Parse for values known to be valid: it panics on anything Parse refuses.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// OrderID names the order a delivery is for; one delivery per order. Only ParseOrderID makes one.
type OrderID struct{ s string }

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) {
	s, err := parseID("orderId", s)
	return OrderID{s}, err
}

// MustParseOrderID is ParseOrderID for values known to be valid (tests, constants); it panics
// on anything ParseOrderID refuses.
func MustParseOrderID(s string) OrderID { return must(ParseOrderID(s)) }

func (id OrderID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id OrderID) LogValue() slog.Value { return slog.StringValue(id.s) }

// CustomerID names the customer who gets the delivery. Only ParseCustomerID makes one.
type CustomerID struct{ s string }

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	s, err := parseID("customerId", s)
	return CustomerID{s}, err
}

// MustParseCustomerID is ParseCustomerID for values known to be valid; it panics on anything
// ParseCustomerID refuses.
func MustParseCustomerID(s string) CustomerID { return must(ParseCustomerID(s)) }

func (id CustomerID) String() string { return id.s }

// LogValue logs the id as its string.
func (id CustomerID) LogValue() slog.Value { return slog.StringValue(id.s) }

// ProductID names the product delivered. Only ParseProductID makes one.
type ProductID struct{ s string }

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) {
	s, err := parseID("productId", s)
	return ProductID{s}, err
}

// MustParseProductID is ParseProductID for values known to be valid; it panics on anything
// ParseProductID refuses.
func MustParseProductID(s string) ProductID { return must(ParseProductID(s)) }

func (id ProductID) String() string { return id.s }

// LogValue logs the id as its string.
func (id ProductID) LogValue() slog.Value { return slog.StringValue(id.s) }

// Qty is how many units of the product are delivered: 1 to MaxQty. Only ParseQty makes one.
type Qty struct{ n int }

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return Qty{}, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalidInput, MaxQty, n)
	}
	return Qty{n}, nil
}

// MustParseQty is ParseQty for values known to be valid; it panics on anything ParseQty refuses.
func MustParseQty(n int) Qty { return must(ParseQty(n)) }

// Int is the quantity as a number.
func (q Qty) Int() int       { return q.n }
func (q Qty) String() string { return strconv.Itoa(q.n) }

// LogValue logs the quantity as a number.
func (q Qty) LogValue() slog.Value { return slog.IntValue(q.n) }

// DeliveryID names a delivery. It is derived from the order id (DeliveryIDFor), so that the one
// delivery of an order has the same id however often its start is retried.
type DeliveryID struct{ s string }

// DeliveryIDFor returns the id of the delivery of an order.
func DeliveryIDFor(order OrderID) DeliveryID {
	return DeliveryID{uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte("skmall:delivery:"+order.s), 5).String()}
}

// ParseDeliveryID validates a delivery id (as stored).
func ParseDeliveryID(s string) (DeliveryID, error) {
	s, err := parseID("deliveryId", s)
	return DeliveryID{s}, err
}

// MustParseDeliveryID is ParseDeliveryID for values known to be valid; it panics on anything
// ParseDeliveryID refuses.
func MustParseDeliveryID(s string) DeliveryID { return must(ParseDeliveryID(s)) }

func (id DeliveryID) String() string { return id.s }

// LogValue logs the id as its string.
func (id DeliveryID) LogValue() slog.Value { return slog.StringValue(id.s) }

// Status is where a delivery stands: one of Started and Cancelled.
type Status struct{ s string }

// The values of Status.
var (
	Started   = Status{"STARTED"}
	Cancelled = Status{"CANCELLED"}
)

// ParseStatus accepts the closed set of statuses.
func ParseStatus(s string) (Status, error) {
	switch st := (Status{s}); st {
	case Started, Cancelled:
		return st, nil
	}
	return Status{}, fmt.Errorf("%w: unknown delivery status %q", ErrInvalidInput, s)
}

func (s Status) String() string { return s.s }

// LogValue logs the status as its string.
func (s Status) LogValue() slog.Value { return slog.StringValue(s.s) }

// OrderLine is what a delivery carries: who gets how many of what, for which order. Only
// NewOrderLine and ParseOrderLine make one, so every part of a line is there and valid.
type OrderLine struct {
	order    OrderID
	customer CustomerID
	product  ProductID
	qty      Qty
}

// NewOrderLine makes an order line of parsed parts. It refuses zero values, the one way to
// hold a part that did not come from its Parse.
func NewOrderLine(order OrderID, customer CustomerID, product ProductID, qty Qty) (OrderLine, error) {
	if order == (OrderID{}) || customer == (CustomerID{}) || product == (ProductID{}) || qty == (Qty{}) {
		return OrderLine{}, fmt.Errorf("%w: order line lacks a part: order %q, customer %q, product %q, qty %d",
			ErrInvalidInput, order, customer, product, qty.n)
	}
	return OrderLine{order: order, customer: customer, product: product, qty: qty}, nil
}

// ParseOrderLine validates the raw parts of an order line.
func ParseOrderLine(order, customer, product string, qty int) (OrderLine, error) {
	o, err := ParseOrderID(order)
	if err != nil {
		return OrderLine{}, err
	}
	c, err := ParseCustomerID(customer)
	if err != nil {
		return OrderLine{}, err
	}
	p, err := ParseProductID(product)
	if err != nil {
		return OrderLine{}, err
	}
	q, err := ParseQty(qty)
	if err != nil {
		return OrderLine{}, err
	}
	return NewOrderLine(o, c, p, q)
}

// MustParseOrderLine is ParseOrderLine for values known to be valid; it panics on anything
// ParseOrderLine refuses.
func MustParseOrderLine(order, customer, product string, qty int) OrderLine {
	return must(ParseOrderLine(order, customer, product, qty))
}

func (l OrderLine) Order() OrderID       { return l.order }
func (l OrderLine) Customer() CustomerID { return l.customer }
func (l OrderLine) Product() ProductID   { return l.product }
func (l OrderLine) Qty() Qty             { return l.qty }
