package domain

import (
	"crypto/sha1"
	"fmt"

	"github.com/google/uuid"

	"github.com/skmall/skmall/platform/value"
)

// The value types below are platform/value's, tagged so that only this package makes them:
// everyone else goes through Parse and the domain can trust every value it is handed. They
// have no JSON methods on purpose: storage and the wire convert explicitly with String/Int and
// Parse, which keeps both formats independent of the domain.

type (
	orderTag    struct{}
	customerTag struct{}
	productTag  struct{}
	deliveryTag struct{}
	statusTag   struct{}
)

// MaxQty is the most units one order line may carry (the contracts' limit on qty).
const MaxQty = value.MaxQty

// OrderID names the order a delivery is for; one delivery per order. Only ParseOrderID makes one.
type OrderID = value.ID[orderTag]

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) { return value.ParseID[orderTag]("orderId", s) }

// CustomerID names the customer who gets the delivery. Only ParseCustomerID makes one.
type CustomerID = value.ID[customerTag]

// ParseCustomerID validates a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	return value.ParseID[customerTag]("customerId", s)
}

// ProductID names the product delivered. Only ParseProductID makes one.
type ProductID = value.ID[productTag]

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) { return value.ParseID[productTag]("productId", s) }

// Qty is how many units of the product are delivered: 1 to MaxQty. Only ParseQty makes one.
type Qty = value.Qty

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) { return value.ParseQty(n) }

// DeliveryID names a delivery. It is derived from the order id (DeliveryIDFor), so that the one
// delivery of an order has the same id however often its start is retried.
type DeliveryID = value.ID[deliveryTag]

// DeliveryIDFor returns the id of the delivery of an order.
func DeliveryIDFor(order OrderID) DeliveryID {
	derived := uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte("skmall:delivery:"+order.String()), 5).String()
	return value.Must(value.ParseID[deliveryTag]("deliveryId", derived))
}

// ParseDeliveryID validates a delivery id (as stored).
func ParseDeliveryID(s string) (DeliveryID, error) {
	return value.ParseID[deliveryTag]("deliveryId", s)
}

// Status is where a delivery stands: one of Started and Cancelled.
type Status = value.Name[statusTag]

// The values of Status.
var (
	Started   = value.NameOf[statusTag]("STARTED")
	Cancelled = value.NameOf[statusTag]("CANCELLED")
)

// ParseStatus accepts the closed set of statuses.
func ParseStatus(s string) (Status, error) {
	return value.ParseName("delivery status", s, Started, Cancelled)
}

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
	if order.IsZero() || customer.IsZero() || product.IsZero() || qty.IsZero() {
		return OrderLine{}, fmt.Errorf("%w: order line lacks a part: order %q, customer %q, product %q, qty %d",
			ErrInvalidInput, order, customer, product, qty.Int())
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

func (l OrderLine) Order() OrderID       { return l.order }
func (l OrderLine) Customer() CustomerID { return l.customer }
func (l OrderLine) Product() ProductID   { return l.product }
func (l OrderLine) Qty() Qty             { return l.qty }
