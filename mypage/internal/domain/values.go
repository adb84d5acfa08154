package domain

import (
	"fmt"
	"log/slog"
	"regexp"
)

// The values of a row are structs with an unexported field: only this package makes them, so
// anything holding one holds a valid one. Everyone else goes through Parse.

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// id is the shape every id type here shares, so that their one rule is written once.
type id interface{ ~struct{ s string } }

// parseID validates an id of any type here; field names it in the error.
func parseID[T id](field, s string) (T, error) {
	if !idPattern.MatchString(s) {
		return T{}, fmt.Errorf("%w: %s must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", ErrInvalidInput, field, s)
	}
	return T{s}, nil
}

// must is for values known to be valid: it panics on anything Parse refuses.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// CustomerID names a customer. Only ParseCustomerID makes one.
type CustomerID struct{ s string }

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) { return parseID[CustomerID]("customerId", s) }

// MustParseCustomerID is ParseCustomerID for ids known to be valid (tests, constants); it
// panics on anything ParseCustomerID refuses.
func MustParseCustomerID(s string) CustomerID { return must(ParseCustomerID(s)) }

func (c CustomerID) String() string { return c.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (c CustomerID) LogValue() slog.Value { return slog.StringValue(c.s) }

// OrderID names an order. Only ParseOrderID makes one.
type OrderID struct{ s string }

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) { return parseID[OrderID]("orderId", s) }

// MustParseOrderID is ParseOrderID for ids known to be valid (tests, constants); it panics
// on anything ParseOrderID refuses.
func MustParseOrderID(s string) OrderID { return must(ParseOrderID(s)) }

func (id OrderID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id OrderID) LogValue() slog.Value { return slog.StringValue(id.s) }

// ProductID names a product. Only ParseProductID makes one.
type ProductID struct{ s string }

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) { return parseID[ProductID]("productId", s) }

// MustParseProductID is ParseProductID for ids known to be valid (tests, constants); it
// panics on anything ParseProductID refuses.
func MustParseProductID(s string) ProductID { return must(ParseProductID(s)) }

func (id ProductID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ProductID) LogValue() slog.Value { return slog.StringValue(id.s) }

// MaxQty is the most units of a product one order holds: the order service takes no more,
// and the event contract allows no more.
const MaxQty = 1000

// Qty is how many units of the product an order holds: 1 to MaxQty. Only ParseQty makes one.
type Qty struct{ n int }

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return Qty{}, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalidInput, MaxQty, n)
	}
	return Qty{n}, nil
}

// MustParseQty is ParseQty for quantities known to be valid (tests, constants); it panics on
// anything ParseQty refuses.
func MustParseQty(n int) Qty { return must(ParseQty(n)) }

// Int is the number of units.
func (q Qty) Int() int { return q.n }

func (q Qty) String() string { return fmt.Sprint(q.n) }

// LogValue logs the quantity as its number (slog would otherwise log an empty struct).
func (q Qty) LogValue() slog.Value { return slog.IntValue(q.n) }

// oneOf returns the member of a closed set named s; field names the set in the error.
func oneOf[T id](field, s string, set ...T) (T, error) {
	for _, v := range set {
		if v == (T{s}) {
			return v, nil
		}
	}
	return T{}, fmt.Errorf("%w: %s must be one of %q, got %q", ErrInvalidInput, field, set, s)
}

// Fact is one thing that happened to an order, as the page learns it; each is named after
// the event that tells it. The set is closed: the values below are all there are.
type Fact struct{ s string }

// The values of Fact.
var (
	OrderPlaced       = Fact{"OrderPlaced"}
	OrderCancelled    = Fact{"OrderCancelled"}
	DeliveryStarted   = Fact{"DeliveryStarted"}
	DeliveryCancelled = Fact{"DeliveryCancelled"}
)

// facts is the closed set of facts, in the order a row lists what it heard.
var facts = [...]Fact{OrderPlaced, OrderCancelled, DeliveryStarted, DeliveryCancelled}

// ParseFact returns the fact named s.
func ParseFact(s string) (Fact, error) { return oneOf("fact", s, facts[:]...) }

func (f Fact) String() string { return f.s }

// LogValue logs the fact as its name (slog would otherwise log an empty struct).
func (f Fact) LogValue() slog.Value { return slog.StringValue(f.s) }

// OrderStatus is where an order stands, as the shop names it. The set is closed: the values
// below are all there are.
type OrderStatus struct{ s string }

// The values of OrderStatus.
var (
	StatusPlaced          = OrderStatus{"PLACED"}
	StatusDeliveryStarted = OrderStatus{"DELIVERY_STARTED"}
	StatusCancelled       = OrderStatus{"CANCELLED"}
)

// ParseOrderStatus returns the order status named s.
func ParseOrderStatus(s string) (OrderStatus, error) {
	return oneOf("orderStatus", s, StatusPlaced, StatusDeliveryStarted, StatusCancelled)
}

func (s OrderStatus) String() string { return s.s }

// LogValue logs the status as its name (slog would otherwise log an empty struct).
func (s OrderStatus) LogValue() slog.Value { return slog.StringValue(s.s) }

// DeliveryStatus is where an order's delivery stands, as the shop names it. The set is
// closed: the values below are all there are, DeliveryStatusNone (the zero value, named "")
// among them.
type DeliveryStatus struct{ s string }

// The values of DeliveryStatus.
var (
	// DeliveryStatusNone is no delivery of the order heard of yet.
	DeliveryStatusNone      = DeliveryStatus{}
	DeliveryStatusStarted   = DeliveryStatus{"STARTED"}
	DeliveryStatusCancelled = DeliveryStatus{"CANCELLED"}
)

// ParseDeliveryStatus returns the delivery status named s ("" is DeliveryStatusNone).
func ParseDeliveryStatus(s string) (DeliveryStatus, error) {
	return oneOf("deliveryStatus", s, DeliveryStatusNone, DeliveryStatusStarted, DeliveryStatusCancelled)
}

func (s DeliveryStatus) String() string { return s.s }

// LogValue logs the status as its name (slog would otherwise log an empty struct).
func (s DeliveryStatus) LogValue() slog.Value { return slog.StringValue(s.s) }
