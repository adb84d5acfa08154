// Package contracts holds what the services promise each other over pub/sub: topic names,
// event types and the event payload, plus the language-neutral JSON Schemas that producers
// and consumers both validate against. It holds no business rules.
package contracts

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"time"
)

// Pub/sub topics.
const (
	TopicOrders     = "orders"     // OrderPlaced, OrderCancelled
	TopicDeliveries = "deliveries" // DeliveryStarted, DeliveryCancelled
)

// EventType names a fact one service tells the others.
type EventType string

// The event types of the contract, one per fact.
const (
	OrderPlaced       EventType = "OrderPlaced"
	OrderCancelled    EventType = "OrderCancelled"
	DeliveryStarted   EventType = "DeliveryStarted"
	DeliveryCancelled EventType = "DeliveryCancelled"
)

// EventTypes lists every event type in the contract.
var EventTypes = []EventType{OrderPlaced, OrderCancelled, DeliveryStarted, DeliveryCancelled}

// Topic is where events of this type are published.
func (t EventType) Topic() string {
	switch t {
	case OrderPlaced, OrderCancelled:
		return TopicOrders
	case DeliveryStarted, DeliveryCancelled:
		return TopicDeliveries
	}
	return ""
}

// Valid reports whether t is one of the contract's event types.
func (t EventType) Valid() bool { return t.Topic() != "" }

// Event is the payload of every event. All events carry the whole order line, so that a
// consumer can act on whichever event of an order reaches it first.
type Event struct {
	EventID    string    `json:"eventId"`
	EventType  EventType `json:"eventType"`
	OccurredAt time.Time `json:"occurredAt"`
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Qty        int       `json:"qty"`
	DeliveryID string    `json:"deliveryId,omitempty"`
}

// EventID is the id of the one event of type t about an order. Each transition happens at most
// once per order, so the id is derived from both: a republished event keeps its id, and
// consumers can recognise it.
func EventID(t EventType, orderID string) string {
	sum := sha1.Sum([]byte(string(t) + "/" + orderID))
	return hex.EncodeToString(sum[:16])
}

// String is for log lines.
func (e Event) String() string {
	return fmt.Sprintf("%s(order %s, event %s)", e.EventType, e.OrderID, e.EventID)
}
