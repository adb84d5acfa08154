package ports_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	"github.com/skmall/skmall/warehouse/internal/domain"
	"github.com/skmall/skmall/warehouse/internal/ports"
)

// A store that is down, or a stored record that cannot be read, is a 503 that tells the
// caller to try again in a moment, on every route; events wait for the store to come back.
func TestUnavailableStock(t *testing.T) {
	t.Parallel()
	failures := map[string]error{
		"store down":        errors.New("dial tcp 127.0.0.1:3500: connection refused"),
		"unreadable record": fmt.Errorf("stored reservation of order %q: %w", "o1", domain.ErrInvalidInput),
	}
	for name, failure := range failures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := mux.NewRouter()
			log := slog.New(slog.DiscardHandler)
			guard, issuer := authtest.New(t)
			a := app.New(adapters.UnreachableRepository{Cause: failure}, &adapters.MemoryOrders{}, noMetrics{}, time.Now, time.Minute)
			ports.Routes(r, a, guard, eventsub.NewMetrics(prometheus.NewRegistry()), log)
			admin := issuer.Bearer("ops", "admin")
			requests := []struct{ method, path, body, as string }{
				{"POST", "/products", `{"productId":"apple","name":"Apple","stock":2}`, admin},
				{"GET", "/products/apple", "", admin},
				{"POST", "/products/apple/stock-adjustments", `{"delta":5}`, admin},
				{"POST", "/reservations", `{"orderId":"o1","productId":"apple","qty":1,"reservationId":"r1"}`, authtest.Sidecar},
				{"POST", "/reservations/o1/release", `{"reservationId":"r1"}`, authtest.Sidecar},
			}
			for _, q := range requests {
				rec := authtest.Do(r, q.method, q.path, q.body, q.as)
				var p struct{ Type, Title, Detail string }
				_ = json.Unmarshal(rec.Body.Bytes(), &p)
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" ||
					rec.Header().Get("Content-Type") != "application/problem+json" ||
					p.Type != "https://skmall.example/problems/unavailable" || p.Title != "Stock cannot be read or changed now" ||
					p.Detail != "The stock store is not reachable. Try again in a moment." {
					t.Errorf("%s %s: %d %v %s", q.method, q.path, rec.Code, rec.Header(), rec.Body)
				}
			}
			if name != "store down" {
				return
			}
			for path, e := range map[string]contracts.Event{
				"/events/orders":     eventsubtest.Event(contracts.OrderCancelled, "o1", "alice", "apple", 1),
				"/events/deliveries": eventsubtest.Event(contracts.DeliveryStarted, "o1", "alice", "apple", 1),
			} {
				if got := eventsubtest.DeliverEvent(t, r, path, e); got != "RETRY" {
					t.Errorf("%s with the store down: %s, want RETRY", e.EventType, got)
				}
			}
		})
	}
}
