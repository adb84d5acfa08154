package ports_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

// mypage builds its page from the contract's events only, in whatever order they arrive.
func TestBuildsThePageFromEvents(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	ports.Routes(r, app.New(adapters.NewMemoryRepository()), eventsub.NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(io.Discard, nil)))

	deliver := func(path string, typ contracts.EventType, order string) {
		if got := eventsubtest.DeliverEvent(t, r, path, eventsubtest.Event(typ, order, "alice", "apple", 2)); got != "SUCCESS" {
			t.Fatalf("%s: %s", typ, got)
		}
	}
	deliver("/events/deliveries", contracts.DeliveryStarted, "o1") // before its OrderPlaced
	deliver("/events/orders", contracts.OrderPlaced, "o1")
	deliver("/events/orders", contracts.OrderPlaced, "o2")
	deliver("/events/orders", contracts.OrderCancelled, "o2")
	deliver("/events/deliveries", contracts.DeliveryCancelled, "o2")

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/mypage/alice/orders", nil))
	var page struct {
		CustomerID string `json:"customerId"`
		Orders     []struct {
			OrderID        string `json:"orderId"`
			OrderStatus    string `json:"orderStatus"`
			DeliveryStatus string `json:"deliveryStatus"`
		} `json:"orders"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range page.Orders {
		got[o.OrderID] = o.OrderStatus + "/" + o.DeliveryStatus
	}
	if page.CustomerID != "alice" || got["o1"] != "DELIVERY_STARTED/STARTED" || got["o2"] != "CANCELLED/CANCELLED" || len(got) != 2 {
		t.Fatalf("page: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/mypage/bob/orders", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "{\"customerId\":\"bob\",\"orders\":[]}\n" {
		t.Fatalf("bob's empty page: %d %s", rec.Code, rec.Body)
	}
}
