// Package ports is the delivery service's HTTP face: the delivery API and the event route
// daprd delivers order events to.
package ports

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/httpx"
)

// Routes adds the delivery service's routes to r and returns its event handlers.
func Routes(r *mux.Router, a *app.App, g *auth.Guard, events *eventsub.Metrics, log *slog.Logger) map[contracts.EventType]eventsub.Handler {
	// ErrUnavailable comes first: a stored delivery that does not parse also wraps
	// domain.ErrInvalidInput, yet it is the store's failure, not the caller's input.
	errs := httpx.Errors{Log: log, Rules: []httpx.ErrorRule{
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "Deliveries cannot be read now",
			Detail: "The delivery store is not reachable. Try again in a moment.", RetryAfter: 2},
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: domain.ErrUnknownDelivery, Status: http.StatusNotFound, Slug: "unknown-delivery", Title: "Unknown delivery"},
	}}
	r.Handle("/deliveries/{orderId}", g.Authenticated(getDelivery(a, errs))).Methods(http.MethodGet)

	// The handlers decode an order event into the use case's command. Dead-letter replay
	// calls the same map, so a replayed event takes exactly this way too.
	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: func(ctx context.Context, e contracts.Event) error {
			return poison(a.StartDelivery(ctx, app.StartDelivery{
				OrderID: e.OrderID, CustomerID: e.CustomerID, ProductID: e.ProductID, Qty: e.Qty,
			}))
		},
		contracts.OrderCancelled: func(ctx context.Context, e contracts.Event) error {
			return poison(a.CancelDelivery(ctx, app.CancelDelivery{
				OrderID: e.OrderID, CustomerID: e.CustomerID, ProductID: e.ProductID, Qty: e.Qty,
			}))
		},
	}
	r.Handle("/events/orders", g.Sidecar(eventsub.Route(contracts.TopicOrders, handlers, events, log))).Methods(http.MethodPost)
	return handlers
}

// poison marks what no retry can fix, so that daprd dead-letters the event instead of
// delivering it again.
func poison(err error) error { return eventsub.PoisonIf(err, domain.ErrInvalidInput) }

type deliveryJSON struct {
	DeliveryID string    `json:"deliveryId"`
	OrderID    string    `json:"orderId"`
	Status     string    `json:"status"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Qty        int       `json:"qty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func getDelivery(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := a.Delivery(r.Context(), mux.Vars(r)["orderId"])
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		l := d.Line()
		if !auth.FromContext(r.Context()).MayActFor(l.Customer().String()) {
			auth.WriteForbidden(w, r, "This delivery is of another customer's order.")
			return
		}
		httpx.WriteJSON(w, http.StatusOK, deliveryJSON{
			DeliveryID: d.ID().String(), OrderID: l.Order().String(), Status: d.Status().String(),
			CustomerID: l.Customer().String(), ProductID: l.Product().String(), Qty: l.Qty().Int(),
			CreatedAt: d.CreatedAt(), UpdatedAt: d.UpdatedAt(),
		})
	})
}
