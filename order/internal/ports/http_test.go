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
	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/order/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

type noMetrics struct{}

func (noMetrics) OrderPlaced(int)     {}
func (noMetrics) OrderRefused(string) {}
func (noMetrics) OrderCancelled()     {}

func newRouter(stock *adapters.MemoryStock) http.Handler {
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(adapters.NewMemoryRepository(), stock, &adapters.MemoryUnconfirmed{}, &eventsub.MemoryPublisher{}, noMetrics{}, log, time.Now)
	ports.Routes(r, a, 10*time.Second, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPlaceOrderAnswers(t *testing.T) {
	t.Parallel()
	stock := adapters.NewMemoryStock(map[domain.ProductID]int{"apple": 2})
	h := newRouter(stock)
	cases := []struct {
		name, body string
		down       bool
		status     int
		slug       string
	}{
		{"placed", `{"customerId":"alice","productId":"apple","qty":2}`, false, 201, ""},
		{"out of stock", `{"customerId":"alice","productId":"apple","qty":1}`, false, 409, "out-of-stock"},
		{"unknown product", `{"customerId":"alice","productId":"durian","qty":1}`, false, 422, "unknown-product"},
		{"warehouse down", `{"customerId":"alice","productId":"apple","qty":1}`, true, 503, "stock-unconfirmed"},
		{"invalid", `{"customerId":"alice","productId":"apple","qty":0}`, false, 422, "invalid-input"},
	}
	for _, c := range cases {
		stock.Down = c.down
		rec := do(h, http.MethodPost, "/orders", c.body)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.slug) {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		if c.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", c.name)
		}
		if c.status >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, rec.Header().Get("Content-Type"))
		}
	}
}

func TestConsumesDeliveryEvents(t *testing.T) {
	t.Parallel()
	h := newRouter(adapters.NewMemoryStock(map[domain.ProductID]int{"apple": 2}))
	rec := do(h, http.MethodPost, "/orders", `{"customerId":"alice","productId":"apple","qty":1}`)
	id := strings.Split(rec.Header().Get("Location"), "/")[2]

	if got := eventsubtest.DeliverEvent(t, h, "/events/deliveries", eventsubtest.Event(contracts.DeliveryStarted, id, "alice", "apple", 1)); got != "SUCCESS" {
		t.Fatalf("DeliveryStarted: %s", got)
	}
	if got := eventsubtest.DeliverEvent(t, h, "/events/deliveries", eventsubtest.Event(contracts.DeliveryCancelled, id, "alice", "apple", 1)); got != "SUCCESS" {
		t.Fatalf("DeliveryCancelled (not consumed here) must be acknowledged: %s", got)
	}
	if got := eventsubtest.DeliverEvent(t, h, "/events/deliveries", eventsubtest.Event(contracts.DeliveryStarted, "ghost", "alice", "apple", 1)); got != "DROP" {
		t.Fatalf("DeliveryStarted of an unknown order: %s, want DROP", got)
	}
	if rec := do(h, http.MethodGet, "/orders/"+id, ""); !strings.Contains(rec.Body.String(), `"status":"DELIVERY_STARTED"`) {
		t.Fatalf("order after its delivery started: %s", rec.Body)
	}
}
