// Package ports is the order service's HTTP face: the public order API and the event route
// daprd delivers delivery events to.
package ports

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/httpx"
)

// Routes adds the order service's routes to r and returns its event handlers. A customer
// places, reads and cancels only their own orders; an admin reads and cancels anyone's.
func Routes(r *mux.Router, a *app.App, g *auth.Guard, lim Limits, events *eventsub.Metrics, log *slog.Logger) map[contracts.EventType]eventsub.Handler {
	errs := httpx.Errors{Log: log, Rules: []httpx.ErrorRule{
		// The 503s come first: what the store or the warehouse answered may not parse, and then
		// the error wraps the domain's parse error, which is not the caller's invalid input.
		{Err: app.ErrStockUnconfirmed, Status: http.StatusServiceUnavailable, Slug: "stock-unconfirmed", Title: "Stock cannot be confirmed now",
			Detail: "The warehouse cannot confirm stock right now. Nothing was ordered; try again in a moment.", RetryAfter: 5},
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "Orders cannot be taken now",
			Detail: "Orders cannot be stored right now. Nothing was ordered; try again in a moment.", RetryAfter: 5},
		{Err: app.ErrOutcomeUnknown, Status: http.StatusServiceUnavailable, Slug: "outcome-unknown", Title: "Whether the order was stored is not known yet",
			Detail: "Storing the order failed in a way that leaves open whether it was stored. Send the request again with the same Idempotency-Key to learn its outcome; without a key, look at your orders before ordering again.", RetryAfter: 5},
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: app.ErrUnknownProduct, Status: http.StatusUnprocessableEntity, Slug: "unknown-product", Title: "Unknown product"},
		{Err: domain.ErrIdempotencyReused, Status: http.StatusUnprocessableEntity, Slug: "idempotency-key-reused", Title: "Idempotency key reused",
			Detail: "This Idempotency-Key was used for a different order. Use a new key for a new order."},
		{Err: domain.ErrUnknownOrder, Status: http.StatusNotFound, Slug: "unknown-order", Title: "Unknown order"},
		{Err: app.ErrOutOfStock, Status: http.StatusConflict, Slug: "out-of-stock", Title: "Out of stock"},
	}}

	r.Handle("/orders", httpx.Limit(lim.MaxPlacing, 1, g.Authenticated(placeOrder(a, lim.PlaceTimeout, errs)))).Methods(http.MethodPost)
	r.Handle("/orders", g.Authenticated(listOrders(a, errs))).Methods(http.MethodGet)
	r.Handle("/orders/{orderId}", g.Authenticated(getOrder(a, errs))).Methods(http.MethodGet)
	r.Handle("/orders/{orderId}/cancel", g.Authenticated(cancelOrder(a, errs))).Methods(http.MethodPost)
	// The warehouse settles, through its sidecar, a reservation that stayed unconfirmed.
	r.Handle("/internal/orders/{orderId}/settle", g.Sidecar(settleOrder(a, errs))).Methods(http.MethodPost)

	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.DeliveryStarted: func(ctx context.Context, e contracts.Event) error {
			err := a.RecordDeliveryStarted(ctx, app.RecordDeliveryStarted{OrderID: e.OrderID})
			return eventsub.PoisonIf(err, domain.ErrUnknownOrder, domain.ErrInvalidInput)
		},
		contracts.DeliveryCancelled: func(ctx context.Context, e contracts.Event) error {
			err := a.RecordDeliveryCancelled(ctx, app.RecordDeliveryCancelled{OrderID: e.OrderID})
			return eventsub.PoisonIf(err, domain.ErrUnknownOrder, domain.ErrInvalidInput)
		},
	}
	r.Handle("/events/deliveries", g.Sidecar(eventsub.Route(contracts.TopicDeliveries, handlers, events, log))).Methods(http.MethodPost)
	return handlers
}

// Limits bound the work POST /orders takes on.
type Limits struct {
	// PlaceTimeout bounds one order request.
	PlaceTimeout time.Duration
	// MaxPlacing is how many order requests run at once; the next ones get 503 + Retry-After.
	MaxPlacing int
}

type orderJSON struct {
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Qty        int       `json:"qty"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func toJSON(o domain.Order) orderJSON {
	return orderJSON{
		OrderID: o.ID().String(), CustomerID: o.Customer().String(), ProductID: o.Product().String(),
		Qty: o.Qty().Int(), Status: o.Status().String(), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
}

func placeOrder(a *app.App, timeout time.Duration, errs httpx.Errors) http.Handler {
	type request struct {
		CustomerID string `json:"customerId"`
		ProductID  string `json:"productId"`
		Qty        int    `json:"qty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[request](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		// An empty customerId is invalid input, answered as such by the app.
		if who := auth.FromContext(r.Context()); req.CustomerID != "" && who.Subject != req.CustomerID {
			auth.WriteForbidden(w, r, "A customer places orders only for themselves: customerId must be the token's subject.")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		o, created, err := a.PlaceOrder(ctx, app.PlaceOrder{
			CustomerID: req.CustomerID, ProductID: req.ProductID, Qty: req.Qty,
			IdempotencyKey: r.Header.Get("Idempotency-Key"),
		})
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		if !created {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Location", "/orders/"+o.ID().String())
		httpx.WriteJSON(w, http.StatusCreated, toJSON(o))
	})
}

// callersOrder reads the order the path names, if the caller may act for its customer; when
// not (or it cannot be read), it has answered and returns false.
func callersOrder(w http.ResponseWriter, r *http.Request, a *app.App, errs httpx.Errors) (domain.Order, bool) {
	o, err := a.Order(r.Context(), mux.Vars(r)["orderId"])
	if err != nil {
		errs.Write(w, r, err)
		return o, false
	}
	if !auth.FromContext(r.Context()).MayActFor(o.Customer().String()) {
		auth.WriteForbidden(w, r, "This order belongs to another customer.")
		return o, false
	}
	return o, true
}

func getOrder(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := callersOrder(w, r, a, errs); ok {
			httpx.WriteJSON(w, http.StatusOK, toJSON(o))
		}
	})
}

func settleOrder(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[contracts.SettleOrder](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		id := mux.Vars(r)["orderId"]
		stored, err := a.SettleOrder(r.Context(), id, req.ReservationID)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, contracts.OrderSettlement{OrderID: id, ReservationID: req.ReservationID, Stored: stored})
	})
}

func listOrders(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		customer := r.URL.Query().Get("customerId")
		if customer == "" {
			errs.Write(w, r, httpx.Invalid("the query parameter customerId is required"))
			return
		}
		if !auth.FromContext(r.Context()).MayActFor(customer) {
			auth.WriteForbidden(w, r, "A customer lists only their own orders.")
			return
		}
		orders, next, err := a.CustomerOrders(r.Context(), customer, r.URL.Query().Get("cursor"))
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteCustomerOrders(w, customer, orders, next, toJSON)
	})
}

func cancelOrder(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := callersOrder(w, r, a, errs)
		if !ok {
			return
		}
		o, err := a.CancelOrder(r.Context(), o.ID().String())
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toJSON(o))
	})
}
