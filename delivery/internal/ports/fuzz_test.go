package ports_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

// FuzzOrderEvents delivers arbitrary bodies to delivery's event route as its sidecar would:
// the service always answers daprd (SUCCESS, RETRY or DROP), never panics, and what it stored
// stays readable.
func FuzzOrderEvents(f *testing.F) {
	placed, _ := contracts.Encode(eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 1))
	cancelled, _ := contracts.Encode(eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 1))
	for _, seed := range [][]byte{
		eventsubtest.Envelope("orders", placed),
		eventsubtest.Envelope("orders", cancelled),
		eventsubtest.Envelope("orders", json.RawMessage(`{"eventType":"OrderPlaced","orderId":"o2"}`)),
		[]byte(`{"specversion":"1.0","data":"not an event"}`),
		[]byte(`not a CloudEvent`),
	} {
		f.Add(seed)
	}
	r, issuer := newRouter(f)
	admin := issuer.Bearer("ops", "admin")
	f.Fuzz(func(t *testing.T, body []byte) {
		switch status := eventsubtest.Deliver(t, r, "/events/orders", body); status {
		case "SUCCESS", "RETRY", "DROP":
		default:
			t.Fatalf("answered %q", status)
		}
		if rec := authtest.Do(r, http.MethodGet, "/deliveries/o1", "", admin); rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
			t.Fatalf("reading a delivery after %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}
