package ports_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/ports"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

// mypage builds its page from the contract's events only, in whatever order they arrive.
func TestBuildsThePageFromEvents(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	guard, issuer := authtest.New(t)
	ports.Routes(r, app.New(adapters.NewMemoryRepository()), guard, eventsub.NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(io.Discard, nil)))

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

	rec := authtest.Do(r, http.MethodGet, "/mypage/alice/orders", "", issuer.Bearer("alice"))
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
	rec = authtest.Do(r, http.MethodGet, "/mypage/bob/orders", "", issuer.Bearer("bob"))
	if rec.Code != http.StatusOK || rec.Body.String() != "{\"customerId\":\"bob\",\"orders\":[]}\n" {
		t.Fatalf("bob's empty page: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/mypage/alice/orders", "/mypage/alice/orders/o1"} {
		for as, want := range map[string]int{"": 401, issuer.Bearer("bob"): 403, authtest.Sidecar: 401, issuer.Bearer("ops", "admin"): 200} {
			if rec := authtest.Do(r, http.MethodGet, path, "", as); rec.Code != want {
				t.Errorf("%s as %.20q: %d %s, want %d", path, as, rec.Code, rec.Body, want)
			}
		}
	}
	if rec := authtest.Do(r, http.MethodPost, "/events/orders", "{}", issuer.Bearer("alice")); rec.Code != http.StatusForbidden {
		t.Errorf("a customer delivered an event: %d", rec.Code)
	}
}
