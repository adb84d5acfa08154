package ports_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/ports"
)

type noMetrics struct{}

func (noMetrics) Reservation(string, int) {}
func (noMetrics) HoldReleased(int)        {}

func newRouter(t testing.TB) (http.Handler, *authtest.Issuer) {
	t.Helper()
	r := mux.NewRouter()
	log := slog.New(slog.DiscardHandler)
	guard, issuer := authtest.New(t)
	ports.Routes(r, app.New(adapters.NewMemoryRepository(), &adapters.MemoryOrders{}, noMetrics{}, time.Now, time.Minute), guard, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r, issuer
}

// Admins manage the catalogue, anyone with a token reads stock, only the sidecar reserves.
func TestWhoMayDoWhat(t *testing.T) {
	t.Parallel()
	h, issuer := newRouter(t)
	admin, alice := issuer.Bearer("ops", "admin"), issuer.Bearer("alice")
	cases := []struct {
		method, path, body, as string
		status                 int
	}{
		{"POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, "", 401},
		{"POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, alice, 403},
		{"POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, authtest.Sidecar, 401},
		{"POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, admin, 201},
		{"GET", "/products/apple", "", "", 401},
		{"GET", "/products/apple", "", alice, 200},
		{"POST", "/products/apple/stock-adjustments", `{"delta":5}`, alice, 403},
		{"POST", "/products/apple/stock-adjustments", `{"delta":5}`, admin, 200},
		{"POST", "/reservations", `{"orderId":"o1","productId":"apple","qty":1,"reservationId":"r1"}`, alice, 403},
		{"POST", "/reservations", `{"orderId":"o1","productId":"apple","qty":1,"reservationId":"r1"}`, admin, 403},
		{"POST", "/reservations/o1/release", `{"reservationId":"r1"}`, admin, 403},
		{"POST", "/events/orders", `{}`, admin, 403},
		{"POST", "/reservations", `{"orderId":"o1","productId":"apple","qty":1,"reservationId":"r1"}`, authtest.Sidecar, 200},
	}
	for _, c := range cases {
		if rec := authtest.Do(h, c.method, c.path, c.body, c.as); rec.Code != c.status {
			t.Errorf("%s %s as %.20q: %d %s, want %d", c.method, c.path, c.as, rec.Code, rec.Body, c.status)
		}
	}
	var p struct{ OnHand, Reserved int }
	_ = json.Unmarshal(authtest.Do(h, "GET", "/products/apple", "", alice).Body.Bytes(), &p)
	if p.OnHand != 7 || p.Reserved != 1 {
		t.Fatalf("refused requests changed the stock: %+v", p)
	}
}

// An admin's adjustment sent again with its Idempotency-Key is made once; the key cannot name
// another adjustment.
func TestAdjustmentsAreMadeOncePerKey(t *testing.T) {
	t.Parallel()
	h, issuer := newRouter(t)
	admin := issuer.Bearer("ops", "admin")
	if rec := authtest.Do(h, "POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, admin); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	adjust := func(key, body string) *httptest.ResponseRecorder {
		return authtest.Do(h, http.MethodPost, "/products/apple/stock-adjustments", body, admin, "Idempotency-Key", key)
	}
	for range 2 {
		rec := adjust("delivery-17", `{"delta":5,"reason":"delivery"}`)
		var p struct{ OnHand int }
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusOK || p.OnHand != 7 {
			t.Fatalf("delivery-17: %d %s", rec.Code, rec.Body)
		}
	}
	rec := adjust("delivery-17", `{"delta":6}`)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "idempotency-key-reused") {
		t.Fatalf("delivery-17 for 6 units: %d %s", rec.Code, rec.Body)
	}
	if rec := adjust("with space", `{"delta":1}`); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a key with a space: %d %s", rec.Code, rec.Body)
	}
}

// Refusals of the reservation API are 200s: Dapr's circuit breaker counts every non-2xx.
func TestReservationRefusalsAreResultsNotFailures(t *testing.T) {
	t.Parallel()
	h, issuer := newRouter(t)
	if rec := authtest.Do(h, "POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, issuer.Bearer("ops", "admin")); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	cases := []struct {
		body, reason string
		reserved     bool
	}{
		{`{"orderId":"o1","productId":"apple","qty":2,"reservationId":"r1"}`, "", true},
		{`{"orderId":"o1","productId":"apple","qty":2,"reservationId":"r2"}`, "", true},
		{`{"orderId":"o2","productId":"apple","qty":1,"reservationId":"r3"}`, "OUT_OF_STOCK", false},
		{`{"orderId":"o3","productId":"durian","qty":1,"reservationId":"r4"}`, "UNKNOWN_PRODUCT", false},
		// One order asking for something else than it holds: two requests with one
		// idempotency key and different quantities. A customer can send those; they must not
		// count against the warehouse.
		{`{"orderId":"o1","productId":"apple","qty":1,"reservationId":"r5"}`, "RESERVATION_CLASH", false},
	}
	for _, c := range cases {
		rec := authtest.Do(h, "POST", "/reservations", c.body, authtest.Sidecar)
		var res struct {
			Reserved      bool   `json:"reserved"`
			Reason        string `json:"reason"`
			ReservationID string `json:"reservationId"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.body, rec.Code, rec.Body)
		}
		if res.Reserved != c.reserved || res.Reason != c.reason || (res.Reserved && res.ReservationID != "r1") || (!res.Reserved && res.ReservationID != "") {
			t.Errorf("%s: %+v, want reserved=%v reason=%q (held by r1)", c.body, res, c.reserved, c.reason)
		}
	}
}

// The warehouse consumes the events the contract describes and dead-letters what it can
// never process.
func TestConsumesContractEvents(t *testing.T) {
	t.Parallel()
	h, issuer := newRouter(t)
	authtest.Do(h, "POST", "/products", `{"productId":"apple","name":"Apple","stock":5}`, issuer.Bearer("ops", "admin"))
	authtest.Do(h, "POST", "/reservations", `{"orderId":"o1","productId":"apple","qty":2,"reservationId":"r1"}`, authtest.Sidecar)

	started := eventsubtest.Event(contracts.DeliveryStarted, "o1", "alice", "apple", 2)
	for range 2 {
		if got := eventsubtest.DeliverEvent(t, h, "/events/deliveries", started); got != "SUCCESS" {
			t.Fatalf("DeliveryStarted: %s", got)
		}
	}
	cancelled := eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 2)
	if got := eventsubtest.DeliverEvent(t, h, "/events/orders", cancelled); got != "SUCCESS" {
		t.Fatalf("OrderCancelled: %s", got)
	}
	if got := eventsubtest.DeliverEvent(t, h, "/events/orders", eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 2)); got != "SUCCESS" {
		t.Fatalf("OrderPlaced (not consumed here) must be acknowledged: %s", got)
	}
	if got := eventsubtest.DeliverEvent(t, h, "/events/deliveries", eventsubtest.Event(contracts.DeliveryStarted, "ghost", "alice", "apple", 2)); got != "DROP" {
		t.Fatalf("DeliveryStarted without a reservation: %s, want DROP (dead letter)", got)
	}
	rec := authtest.Do(h, "GET", "/products/apple", "", issuer.Bearer("alice"))
	if !strings.Contains(rec.Body.String(), `"onHand":5,"reserved":0`) {
		t.Fatalf("after start and cancel: %s", rec.Body)
	}
}
