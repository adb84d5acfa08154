package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/daprtest"
)

// publishEvent publishes a contract event through an app's sidecar.
func (s *Shop) publishEvent(app string, e contracts.Event) {
	s.t.Helper()
	raw, err := contracts.Encode(e)
	if err != nil {
		s.t.Fatal(err)
	}
	s.publish(app, e.EventType.Topic(), string(raw))
}

func event(t contracts.EventType, o order) contracts.Event {
	e := contracts.Event{
		EventID: contracts.EventID(t, o.OrderID), EventType: t, OccurredAt: time.Now().UTC(),
		OrderID: o.OrderID, CustomerID: o.CustomerID, ProductID: o.ProductID, Qty: o.Qty,
	}
	if t.Topic() == contracts.TopicDeliveries {
		e.DeliveryID = "d-" + o.OrderID
	}
	return e
}

// TestRedeliveryAndReordering publishes duplicates and events in the wrong order through Dapr:
// every consumer ends in the right state, and no duplicate changes anything. On every profile.
func TestRedeliveryAndReordering(t *testing.T) {
	t.Parallel()
	for _, profile := range profiles() {
		t.Run(profile, func(t *testing.T) { redeliveryAndReordering(t, profile) })
	}
}

func redeliveryAndReordering(t *testing.T, profile string) {
	shop := StartShop(t, profile)
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)

	// Duplicates of a real order's events, before and after it is cancelled.
	o, r := shop.PlaceOrder(l, "alice", "apple", 3)
	if r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	shop.WaitConverged(l, 60*time.Second)
	var d delivery
	shop.Call(http.MethodGet, "delivery", "/deliveries/"+o.OrderID, nil).JSON(t, &d)
	for range 3 {
		shop.publishEvent("order", event(contracts.OrderPlaced, o))
		started := event(contracts.DeliveryStarted, o)
		started.DeliveryID = d.DeliveryID
		shop.publishEvent("delivery", started)
	}
	shop.CancelOrder(l, o.OrderID)
	shop.WaitConverged(l, 60*time.Second)
	started := event(contracts.DeliveryStarted, o)
	started.DeliveryID = d.DeliveryID
	for range 3 { // late duplicates, after the cancellation restocked the apples
		shop.publishEvent("order", event(contracts.OrderPlaced, o))
		shop.publishEvent("delivery", started)
		shop.publishEvent("order", event(contracts.OrderCancelled, o))
	}

	// OrderCancelled before OrderPlaced at delivery: the delivery never starts.
	early := order{OrderID: "reordered-1", CustomerID: "zed", ProductID: "apple", Qty: 1}
	shop.publishEvent("order", event(contracts.OrderCancelled, early))
	daprtest.Eventually(t, 30*time.Second, "delivery to hear of the cancellation", func() error {
		return shop.deliveryIs(early.OrderID, "CANCELLED")
	})
	shop.publishEvent("order", event(contracts.OrderPlaced, early))

	// DeliveryStarted before OrderPlaced at mypage.
	late := order{OrderID: "reordered-2", CustomerID: "zed", ProductID: "apple", Qty: 2}
	shop.publishEvent("delivery", event(contracts.DeliveryStarted, late))
	daprtest.Eventually(t, 30*time.Second, "mypage to hear of the delivery", func() error {
		return shop.rowIs("zed", late.OrderID, "DELIVERY_STARTED", "STARTED")
	})
	shop.publishEvent("order", event(contracts.OrderPlaced, late))

	daprtest.Eventually(t, 30*time.Second, "the reordered orders to settle", func() error {
		if err := shop.rowIs("zed", early.OrderID, "CANCELLED", "CANCELLED"); err != nil {
			return err
		}
		if err := shop.rowIs("zed", late.OrderID, "DELIVERY_STARTED", "STARTED"); err != nil {
			return err
		}
		// Delivery starts reordered-2's delivery when its OrderPlaced comes, the last event
		// above; mypage's row shows STARTED before that, from the DeliveryStarted.
		if err := shop.deliveryIs(late.OrderID, "STARTED"); err != nil {
			return err
		}
		return shop.deliveryIs(early.OrderID, "CANCELLED")
	})
	// The duplicates have been handled by now (they were published before the last events
	// above, on the same topics); nothing they carried changed anything.
	shop.WaitConverged(l, 60*time.Second)
	if p := shop.Product("apple"); p.OnHand != 10 || p.Reserved != 0 {
		t.Fatalf("duplicates moved stock: %+v", p)
	}
	// Started once each: the real order and reordered-2; never the early-cancelled one, and
	// never again for a duplicate.
	if n := shop.AppMetric("delivery", "deliveries_started_total"); n != 2 {
		t.Fatalf("deliveries started: %v, want 2", n)
	}
}

func (s *Shop) deliveryIs(orderID, status string) error {
	r := s.Call(http.MethodGet, "delivery", "/deliveries/"+orderID, nil)
	var d delivery
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return err
		}
	}
	if d.Status != status {
		return fmt.Errorf("delivery of %s: %d %s, want %s", orderID, r.Status, r.Body, status)
	}
	return nil
}

func (s *Shop) rowIs(customer, orderID, orderStatus, deliveryStatus string) error {
	r := s.Call(http.MethodGet, "mypage", "/mypage/"+customer+"/orders/"+orderID, nil)
	var row myRow
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &row); err != nil {
			return err
		}
	}
	if row.OrderStatus != orderStatus || row.DeliveryStatus != deliveryStatus {
		return fmt.Errorf("mypage row of %s: %d %s, want %s/%s", orderID, r.Status, r.Body, orderStatus, deliveryStatus)
	}
	return nil
}
