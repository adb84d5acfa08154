package ports_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

type noMetrics struct{}

func (noMetrics) DeliveryStarted()   {}
func (noMetrics) DeliveryCancelled() {}

func TestConsumesOrderEvents(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(adapters.NewMemoryRepository(), &eventsub.MemoryPublisher{}, noMetrics{}, log, time.Now)
	ports.Routes(r, a, eventsub.NewMetrics(prometheus.NewRegistry()), log)

	if got := eventsubtest.DeliverEvent(t, r, "/events/orders", eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 1)); got != "SUCCESS" {
		t.Fatalf("OrderPlaced: %s", got)
	}
	if got := eventsubtest.Deliver(t, r, "/events/orders", eventsubtest.Envelope("orders", []byte(`{"eventType":"OrderPlaced","orderId":"o2"}`))); got != "DROP" {
		t.Fatalf("a malformed OrderPlaced: %s, want DROP", got)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/deliveries/o1", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"STARTED"`) {
		t.Fatalf("delivery: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/deliveries/o2", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("a dead-lettered event created a delivery: %d %s", rec.Code, rec.Body)
	}
}
