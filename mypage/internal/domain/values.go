package domain

import "github.com/skmall/skmall/platform/value"

// The values of a row are platform/value's types, tagged with a type only this package can
// name: only this package makes them, so anything holding one holds a valid one. Everyone
// else goes through Parse.

type customerTag struct{}

// CustomerID names a customer. Only ParseCustomerID makes one.
type CustomerID = value.ID[customerTag]

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	return value.ParseID[customerTag]("customerId", s)
}

type orderTag struct{}

// OrderID names an order. Only ParseOrderID makes one.
type OrderID = value.ID[orderTag]

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) { return value.ParseID[orderTag]("orderId", s) }

type productTag struct{}

// ProductID names a product. Only ParseProductID makes one.
type ProductID = value.ID[productTag]

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) { return value.ParseID[productTag]("productId", s) }

// MaxQty is the most units of a product one order holds: the order service takes no more,
// and the event contract allows no more.
const MaxQty = value.MaxQty

// Qty is how many units of the product an order holds: 1 to MaxQty. Only ParseQty makes one.
type Qty = value.Qty

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) { return value.ParseQty(n) }

type factTag struct{}

// Fact is one thing that happened to an order, as the page learns it; each is named after
// the event that tells it. The set is closed: the values below are all there are.
type Fact = value.Name[factTag]

// The values of Fact.
var (
	OrderPlaced       = value.NameOf[factTag]("OrderPlaced")
	OrderCancelled    = value.NameOf[factTag]("OrderCancelled")
	DeliveryStarted   = value.NameOf[factTag]("DeliveryStarted")
	DeliveryCancelled = value.NameOf[factTag]("DeliveryCancelled")
)

// facts is the closed set of facts, in the order a row lists what it heard.
var facts = [...]Fact{OrderPlaced, OrderCancelled, DeliveryStarted, DeliveryCancelled}

// ParseFact returns the fact named s.
func ParseFact(s string) (Fact, error) { return value.ParseName("fact", s, facts[:]...) }

type orderStatusTag struct{}

// OrderStatus is where an order stands, as the shop names it. The set is closed: the values
// below are all there are.
type OrderStatus = value.Name[orderStatusTag]

// The values of OrderStatus.
var (
	StatusPlaced          = value.NameOf[orderStatusTag]("PLACED")
	StatusDeliveryStarted = value.NameOf[orderStatusTag]("DELIVERY_STARTED")
	StatusCancelled       = value.NameOf[orderStatusTag]("CANCELLED")
)

// ParseOrderStatus returns the order status named s.
func ParseOrderStatus(s string) (OrderStatus, error) {
	return value.ParseName("orderStatus", s, StatusPlaced, StatusDeliveryStarted, StatusCancelled)
}

type deliveryStatusTag struct{}

// DeliveryStatus is where an order's delivery stands, as the shop names it. The set is
// closed: the values below are all there are, DeliveryStatusNone (the zero value, named "")
// among them.
type DeliveryStatus = value.Name[deliveryStatusTag]

// The values of DeliveryStatus.
var (
	// DeliveryStatusNone is no delivery of the order heard of yet.
	DeliveryStatusNone      = DeliveryStatus{}
	DeliveryStatusStarted   = value.NameOf[deliveryStatusTag]("STARTED")
	DeliveryStatusCancelled = value.NameOf[deliveryStatusTag]("CANCELLED")
)

// ParseDeliveryStatus returns the delivery status named s ("" is DeliveryStatusNone).
func ParseDeliveryStatus(s string) (DeliveryStatus, error) {
	return value.ParseName("deliveryStatus", s, DeliveryStatusNone, DeliveryStatusStarted, DeliveryStatusCancelled)
}
