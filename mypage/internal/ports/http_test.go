package ports_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
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
	"github.com/skmall/skmall/platform/httpx"
)

// mypage builds its page from the contract's events only, in whatever order they arrive.
func TestBuildsThePageFromEvents(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	guard, issuer := authtest.New(t)
	ports.Routes(r, app.New(adapters.NewMemoryRepository()), guard, eventsub.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))

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

	// One order, as the page shows it.
	rec = authtest.Do(r, http.MethodGet, "/mypage/alice/orders/o1", "", issuer.Bearer("alice"))
	var row map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &row); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("o1: %d %s", rec.Code, rec.Body)
	}
	if row["orderId"] != "o1" || row["productId"] != "apple" || row["qty"] != 2.0 || row["orderStatus"] != "DELIVERY_STARTED" ||
		row["deliveryStatus"] != "STARTED" || row["createdAt"] == nil || row["updatedAt"] == nil || len(row) != 7 {
		t.Fatalf("o1: %s", rec.Body)
	}
	// An event about alice's order naming bob can never be recorded: it is dead-lettered.
	if got := eventsubtest.DeliverEvent(t, r, "/events/orders", eventsubtest.Event(contracts.OrderCancelled, "o1", "bob", "apple", 2)); got != "DROP" {
		t.Fatalf("bob's event about alice's order: %s", got)
	}
	admin := issuer.Bearer("ops", "admin")
	if rec := authtest.Do(r, http.MethodGet, "/mypage/alice/orders/nope", "", admin); !strings.Contains(rec.Body.String(), `"detail":"alice's order nope: unknown order"`) {
		t.Errorf("unknown order: %s", rec.Body)
	}
	for path, want := range map[string]struct {
		code int
		slug string
	}{
		"/mypage/alice/orders/nope":      {404, "unknown-order"},
		"/mypage/alice/orders/bad%20id":  {404, "unknown-order"}, // not an order id: no such order
		"/mypage/bad%20id/orders":        {422, "invalid-input"},
		"/mypage/bad%20id/orders/o1":     {422, "invalid-input"},
		"/mypage/alice/orders?cursor=p9": {422, "invalid-input"},
	} {
		rec := authtest.Do(r, http.MethodGet, path, "", admin)
		if rec.Code != want.code || !strings.Contains(rec.Body.String(), want.slug) {
			t.Errorf("%s: %d %s, want %d %s", path, rec.Code, rec.Body, want.code, want.slug)
		}
	}
}

var errDown = errors.New("connection refused")

// When the page store is down, readers are told to come back, and daprd to deliver again.
func TestAnUnreachableStoreIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	guard, issuer := authtest.New(t)
	ports.Routes(r, app.New(adapters.UnreachableRepository{Cause: errDown}), guard, eventsub.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	for _, path := range []string{"/mypage/alice/orders", "/mypage/alice/orders/o1"} {
		rec := authtest.Do(r, http.MethodGet, path, "", issuer.Bearer("alice"))
		var problem map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &problem)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" ||
			problem["type"] != httpx.ProblemType+"unavailable" || problem["title"] != "My page cannot be shown now" ||
			problem["detail"] != "The page store is not reachable. Try again in a moment." {
			t.Errorf("%s: %d %v %s", path, rec.Code, rec.Header(), rec.Body)
		}
	}
	if got := eventsubtest.DeliverEvent(t, r, "/events/orders", eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 2)); got != "RETRY" {
		t.Fatalf("an event while the store is down: %s", got)
	}
}
