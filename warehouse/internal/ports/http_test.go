package ports_test

import (
	"encoding/json"
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
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/ports"
)

type noMetrics struct{}

func (noMetrics) Reservation(string, int) {}
func (noMetrics) HoldReleased(int)        {}

func newRouter(t *testing.T) http.Handler {
	t.Helper()
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ports.Routes(r, app.New(adapters.NewMemoryRepository(), &adapters.MemoryOrders{}, noMetrics{}, time.Now, time.Minute), eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r
}

func post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Refusals of the reservation API are 200s: Dapr's circuit breaker counts every non-2xx.
func TestReservationRefusalsAreResultsNotFailures(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	if rec := post(t, h, "/products", `{"productId":"apple","name":"Apple","stock":2}`); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	cases := []struct {
		body, reason string
		reserved     bool
	}{
		{`{"orderId":"o1","productId":"apple","qty":2}`, "", true},
		{`{"orderId":"o1","productId":"apple","qty":2}`, "", true},
		{`{"orderId":"o2","productId":"apple","qty":1}`, "OUT_OF_STOCK", false},
		{`{"orderId":"o3","productId":"durian","qty":1}`, "UNKNOWN_PRODUCT", false},
	}
	for _, c := range cases {
		rec := post(t, h, "/reservations", c.body)
		var res struct {
			Reserved bool   `json:"reserved"`
			Reason   string `json:"reason"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.body, rec.Code, rec.Body)
		}
		if res.Reserved != c.reserved || res.Reason != c.reason {
			t.Errorf("%s: %+v, want reserved=%v reason=%q", c.body, res, c.reserved, c.reason)
		}
	}
}

// The warehouse consumes the events the contract describes and dead-letters what it can
// never process.
func TestConsumesContractEvents(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	post(t, h, "/products", `{"productId":"apple","name":"Apple","stock":5}`)
	post(t, h, "/reservations", `{"orderId":"o1","productId":"apple","qty":2}`)

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
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/products/apple", nil))
	if !strings.Contains(rec.Body.String(), `"onHand":5,"reserved":0`) {
		t.Fatalf("after start and cancel: %s", rec.Body)
	}
}
