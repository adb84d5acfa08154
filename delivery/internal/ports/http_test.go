package ports_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/delivery/internal/ports"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
	"github.com/skmall/skmall/platform/value"
)

type noMetrics struct{}

func (noMetrics) DeliveryStarted()   {}
func (noMetrics) DeliveryCancelled() {}

// newRouter is delivery's routes on in-memory adapters, with a guard whose tokens issuer signs.
func newRouter(t testing.TB) (http.Handler, *authtest.Issuer) {
	r, issuer, _, _ := newRouterOn(t, adapters.NewMemoryRepository())
	return r, issuer
}

// newRouterOn is delivery's routes on repo, announcing through a memory publisher (which checks
// every event against its schema); it also returns the event handlers the routes serve.
func newRouterOn(t testing.TB, repo app.Repository) (http.Handler, *authtest.Issuer, *eventsub.MemoryPublisher, map[contracts.EventType]eventsub.Handler) {
	r := mux.NewRouter()
	log := slog.New(slog.DiscardHandler)
	pub := &eventsub.MemoryPublisher{}
	a := app.New(repo, adapters.NewAnnouncer(pub), noMetrics{}, log, time.Now)
	guard, issuer := authtest.New(t)
	handlers := ports.Routes(r, a, guard, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r, issuer, pub, handlers
}

func TestConsumesOrderEvents(t *testing.T) {
	t.Parallel()
	r, issuer, pub, _ := newRouterOn(t, adapters.NewMemoryRepository())
	alice := issuer.Bearer("alice")

	if got := eventsubtest.DeliverEvent(t, r, "/events/orders", eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 1)); got != "SUCCESS" {
		t.Fatalf("OrderPlaced: %s", got)
	}
	if got := eventsubtest.Deliver(t, r, "/events/orders", eventsubtest.Envelope("orders", []byte(`{"eventType":"OrderPlaced","orderId":"o2"}`))); got != "DROP" {
		t.Fatalf("a malformed OrderPlaced: %s, want DROP", got)
	}
	rec := authtest.Do(r, http.MethodGet, "/deliveries/o1", "", alice)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"STARTED"`) {
		t.Fatalf("delivery: %d %s", rec.Code, rec.Body)
	}
	deliveryID := domain.DeliveryIDFor(value.Must(domain.ParseOrderID("o1"))).String()
	for _, field := range []string{`"deliveryId":"` + deliveryID + `"`, `"orderId":"o1"`, `"customerId":"alice"`, `"productId":"apple"`, `"qty":1`} {
		if !strings.Contains(rec.Body.String(), field) {
			t.Errorf("delivery lacks %s: %s", field, rec.Body)
		}
	}
	rec = authtest.Do(r, http.MethodGet, "/deliveries/o2", "", alice)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("a dead-lettered event created a delivery: %d %s", rec.Code, rec.Body)
	}
	for as, want := range map[string]int{"": 401, issuer.Bearer("bob"): 403, authtest.Sidecar: 401, issuer.Bearer("ops", "admin"): 200} {
		if rec := authtest.Do(r, http.MethodGet, "/deliveries/o1", "", as); rec.Code != want {
			t.Errorf("alice's delivery as %.20q: %d, want %d", as, rec.Code, want)
		}
	}
	if rec := authtest.Do(r, http.MethodPost, "/events/orders", "{}", alice); rec.Code != http.StatusForbidden {
		t.Errorf("a customer delivered an event: %d", rec.Code)
	}

	if got := eventsubtest.DeliverEvent(t, r, "/events/orders", eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 1)); got != "SUCCESS" {
		t.Fatalf("OrderCancelled: %s", got)
	}
	events := pub.Events()
	if len(events) != 2 {
		t.Fatalf("published %+v", events)
	}
	for i, typ := range []contracts.EventType{contracts.DeliveryStarted, contracts.DeliveryCancelled} {
		e := events[i]
		if e.EventType != typ || e.EventID != contracts.EventID(typ, "o1") || e.OrderID != "o1" || e.CustomerID != "alice" ||
			e.ProductID != "apple" || e.Qty != 1 || e.DeliveryID != deliveryID {
			t.Errorf("event %d: %+v", i, e)
		}
	}
}

// A store that cannot be reached answers 503 with Retry-After, and order events are delivered
// again (RETRY), not dead-lettered; the dead-letter replay handlers do the same.
func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	r, issuer, pub, handlers := newRouterOn(t, adapters.UnreachableRepository{Cause: errors.New("connection refused")})
	rec := authtest.Do(r, http.MethodGet, "/deliveries/o1", "", issuer.Bearer("alice"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" ||
		!strings.Contains(rec.Body.String(), `"type":"https://skmall.example/problems/unavailable"`) ||
		!strings.Contains(rec.Body.String(), `"title":"Deliveries cannot be read now"`) ||
		!strings.Contains(rec.Body.String(), `"detail":"The delivery store is not reachable. Try again in a moment."`) {
		t.Fatalf("get: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	for _, typ := range []contracts.EventType{contracts.OrderPlaced, contracts.OrderCancelled} {
		e := eventsubtest.Event(typ, "o1", "alice", "apple", 1)
		if got := eventsubtest.DeliverEvent(t, r, "/events/orders", e); got != "RETRY" {
			t.Errorf("%s: %s, want RETRY", typ, got)
		}
		if err := handlers[typ](context.Background(), e); !errors.Is(err, app.ErrUnavailable) || errors.Is(err, eventsub.ErrPoison) {
			t.Errorf("replaying %s: %v", typ, err)
		}
	}
	if got := pub.Events(); len(got) != 0 {
		t.Errorf("published %+v", got)
	}
}

// The handlers the routes return (and dead-letter replay calls) dead-letter an event whose
// order line is invalid, and handle a good one.
func TestReplayHandlers(t *testing.T) {
	t.Parallel()
	_, _, pub, handlers := newRouterOn(t, adapters.NewMemoryRepository())
	if len(handlers) != 2 {
		t.Fatalf("handlers for %v", handlers)
	}
	bad := eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 1)
	bad.Qty = 0
	if err := handlers[contracts.OrderPlaced](context.Background(), bad); !errors.Is(err, eventsub.ErrPoison) || !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("invalid OrderPlaced: %v", err)
	}
	if err := handlers[contracts.OrderCancelled](context.Background(), eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 1)); err != nil {
		t.Fatalf("OrderCancelled: %v", err)
	}
	if got := pub.Events(); len(got) != 1 || got[0].EventType != contracts.DeliveryCancelled {
		t.Fatalf("published %+v", got)
	}
}
