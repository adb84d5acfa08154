package ports_test

import (
	"context"
	"fmt"
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
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
	"github.com/skmall/skmall/platform/value"
)

func pid(s string) domain.ProductID { return value.Must(domain.ParseProductID(s)) }

func newRouter(t testing.TB, stock *adapters.MemoryStock) (http.Handler, *authtest.Issuer) {
	r := mux.NewRouter()
	log := slog.New(slog.DiscardHandler)
	watches := &adapters.MemoryUnconfirmed{}
	a := app.New(adapters.NewMemoryRepository(watches), stock, watches, &adapters.MemoryAnnouncer{}, adapters.DiscardMetrics{}, log, time.Now, time.Minute)
	guard, issuer := authtest.New(t)
	ports.Routes(r, a, guard, ports.NewLimits(10*time.Second, 64), eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r, issuer
}

// A customer places, reads and cancels only their own orders; an admin reads and cancels
// anyone's; only the sidecar reaches the internal routes.
func TestOwnership(t *testing.T) {
	t.Parallel()
	h, issuer := newRouter(t, adapters.NewMemoryStock(map[domain.ProductID]int{pid("apple"): 5}))
	alice, bob, admin := issuer.Bearer("alice"), issuer.Bearer("bob"), issuer.Bearer("ops", "admin")
	rec := authtest.Do(h, "POST", "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, alice)
	if rec.Code != http.StatusCreated {
		t.Fatalf("alice orders: %d %s", rec.Code, rec.Body)
	}
	id := strings.Split(rec.Header().Get("Location"), "/")[2]
	cases := []struct {
		method, path, body, as string
		status                 int
	}{
		{"POST", "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, "", 401},
		{"POST", "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, bob, 403},
		{"POST", "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, admin, 403},
		{"GET", "/orders/" + id, "", "", 401},
		{"GET", "/orders/" + id, "", bob, 403},
		{"GET", "/orders/" + id, "", authtest.Sidecar, 401},
		{"GET", "/orders?customerId=alice", "", bob, 403},
		{"POST", "/orders/" + id + "/cancel", "", bob, 403},
		{"POST", "/internal/orders/" + id + "/settle", `{"reservationId":"r1"}`, admin, 403},
		{"POST", "/events/deliveries", "{}", alice, 403},
		{"GET", "/orders/" + id, "", alice, 200},
		{"GET", "/orders/" + id, "", admin, 200},
		{"GET", "/orders?customerId=alice", "", alice, 200},
		{"POST", "/internal/orders/" + id + "/settle", `{"reservationId":"r1"}`, authtest.Sidecar, 200},
		{"POST", "/internal/orders/ghost/settle", `{"reservationId":"r1"}`, authtest.Sidecar, 200},
		{"POST", "/internal/orders/ghost/settle", `{}`, authtest.Sidecar, 422},
	}
	for _, c := range cases {
		if rec := authtest.Do(h, c.method, c.path, c.body, c.as); rec.Code != c.status {
			t.Errorf("%s %s as %.20q: %d %s, want %d", c.method, c.path, c.as, rec.Code, rec.Body, c.status)
		}
	}
	if rec := authtest.Do(h, "GET", "/orders?customerId=bob", "", bob); strings.Contains(rec.Body.String(), id) {
		t.Fatalf("bob sees alice's order: %s", rec.Body)
	}
	if rec := authtest.Do(h, "GET", "/orders/"+id, "", alice); !strings.Contains(rec.Body.String(), `"status":"PLACED"`) {
		t.Fatalf("bob's refused cancel changed the order: %s", rec.Body)
	}
	if rec := authtest.Do(h, "POST", "/orders/"+id+"/cancel", "", admin); rec.Code != http.StatusOK {
		t.Fatalf("admin cancels: %d %s", rec.Code, rec.Body)
	}
}

func TestPlaceOrderAnswers(t *testing.T) {
	t.Parallel()
	stock := adapters.NewMemoryStock(map[domain.ProductID]int{pid("apple"): 2})
	h, issuer := newRouter(t, stock)
	alice := issuer.Bearer("alice")
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
		rec := authtest.Do(h, http.MethodPost, "/orders", c.body, alice)
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
	h, issuer := newRouter(t, adapters.NewMemoryStock(map[domain.ProductID]int{pid("apple"): 2}))
	alice := issuer.Bearer("alice")
	rec := authtest.Do(h, http.MethodPost, "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, alice)
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
	if rec := authtest.Do(h, http.MethodGet, "/orders/"+id, "", alice); !strings.Contains(rec.Body.String(), `"status":"DELIVERY_STARTED"`) {
		t.Fatalf("order after its delivery started: %s", rec.Body)
	}
}

// unreadableStore holds orders that do not parse, and reports them as the adapters do.
type unreadableStore struct{ app.Repository }

func (unreadableStore) err() error {
	_, err := domain.ParseStatus("SHIPPED")
	return fmt.Errorf("%w: stored order %q does not parse: %w", app.ErrUnavailable, "o-1", err)
}

func (s unreadableStore) Find(context.Context, domain.OrderID) (app.Placement, error) {
	return app.Placement{}, s.err()
}

func (s unreadableStore) Get(context.Context, domain.OrderID) (domain.Order, error) {
	return domain.Order{}, s.err()
}

// A stored order that does not parse is the store failing (503), not the caller's invalid
// input (422), though the error wraps the domain's parse error.
func TestUnreadableOrderIsUnavailable(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	log := slog.New(slog.DiscardHandler)
	stock := adapters.NewMemoryStock(map[domain.ProductID]int{pid("apple"): 2})
	a := app.New(unreadableStore{}, stock, &adapters.MemoryUnconfirmed{}, &adapters.MemoryAnnouncer{}, adapters.DiscardMetrics{}, log, time.Now, time.Minute)
	guard, issuer := authtest.New(t)
	ports.Routes(r, a, guard, ports.NewLimits(10*time.Second, 64), eventsub.NewMetrics(prometheus.NewRegistry()), log)
	alice := issuer.Bearer("alice")
	for _, rec := range []*httptest.ResponseRecorder{
		authtest.Do(r, http.MethodGet, "/orders/o-1", "", alice),
		doWithKey(r, `{"customerId":"alice","productId":"apple","qty":1}`, "k-1", alice),
	} {
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "unavailable") || rec.Header().Get("Retry-After") != "5" ||
			strings.Contains(rec.Body.String(), "SHIPPED") {
			t.Errorf("%d %s (Retry-After %q)", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
		}
	}
	if stock.Reserved() != 0 {
		t.Fatalf("reserved %d for an order whose key could not be looked up", stock.Reserved())
	}
}

// doWithKey places an order with an Idempotency-Key.
func doWithKey(h http.Handler, body, key, bearer string) *httptest.ResponseRecorder {
	return authtest.Do(h, http.MethodPost, "/orders", body, bearer, "Idempotency-Key", key)
}
