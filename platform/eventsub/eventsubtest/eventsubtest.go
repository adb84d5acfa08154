// Package eventsubtest builds the deliveries daprd makes to subscription routes, for
// consumer tests.
package eventsubtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/authtest"
)

// Event is a contract-valid event of type t about an order.
func Event(t contracts.EventType, orderID, customerID, productID string, qty int) contracts.Event {
	e := contracts.Event{
		EventID: contracts.EventID(t, orderID), EventType: t, OccurredAt: time.Now().UTC(),
		OrderID: orderID, CustomerID: customerID, ProductID: productID, Qty: qty,
	}
	if t.Topic() == contracts.TopicDeliveries {
		e.DeliveryID = "d-" + orderID
	}
	return e
}

// Envelope wraps a raw payload in a CloudEvent the way daprd delivers it.
func Envelope(topic string, payload json.RawMessage) []byte {
	raw, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "ce-1", "source": "test", "type": "com.dapr.event.sent",
		"datacontenttype": "application/json", "topic": topic, "pubsubname": "pubsub", "data": payload,
	})
	return raw
}

// Deliver posts a CloudEvent body to a route of h, as daprd would, and returns the status
// the app answered (SUCCESS, RETRY or DROP).
func Deliver(t testing.TB, h http.Handler, path string, body []byte) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	authtest.AsSidecar(req)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST %s answered %d: %s", path, rec.Code, rec.Body)
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return out.Status
}

// DeliverEvent encodes e (checking it against its schema) and delivers it.
func DeliverEvent(t testing.TB, h http.Handler, path string, e contracts.Event) string {
	t.Helper()
	raw, err := contracts.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return Deliver(t, h, path, Envelope(e.EventType.Topic(), raw))
}
