package ports_test

import (
	"io"
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
	"github.com/skmall/skmall/delivery/internal/ports"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

type noMetrics struct{}

func (noMetrics) DeliveryStarted()   {}
func (noMetrics) DeliveryCancelled() {}

// newRouter is delivery's routes on in-memory adapters, with a guard whose tokens issuer signs.
func newRouter(t testing.TB) (http.Handler, *authtest.Issuer) {
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(adapters.NewMemoryRepository(), &eventsub.MemoryPublisher{}, noMetrics{}, log, time.Now)
	guard, issuer := authtest.New(t)
	ports.Routes(r, a, guard, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r, issuer
}

func TestConsumesOrderEvents(t *testing.T) {
	t.Parallel()
	r, issuer := newRouter(t)
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
}
