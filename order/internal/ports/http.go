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
	errs := httpErrors(log, lim)

	r.Handle("/orders", g.Authenticated(placeOrderHandler(a, lim, errs))).Methods(http.MethodPost)
	r.Handle("/orders", g.Authenticated(listOrders(a, errs))).Methods(http.MethodGet)
	r.Handle("/orders/{orderId}", g.Authenticated(getOrder(a, errs))).Methods(http.MethodGet)
	r.Handle("/orders/{orderId}/cancel", g.Authenticated(cancelOrderHandler(a, errs))).Methods(http.MethodPost)
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

func placeOrderHandler(a *app.App, lim Limits, errs httpx.Errors) http.Handler {
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
		o, created, err := placeOrder(r.Context(), a, lim, app.PlaceOrder{
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

func getOrder(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := callersOrder(r.Context(), a, mux.Vars(r)["orderId"])
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toJSON(o))
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
		orders, next, err := customerOrders(r.Context(), a, customer, r.URL.Query().Get("cursor"))
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteCustomerOrders(w, customer, orders, next, toJSON)
	})
}

func cancelOrderHandler(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := cancelOrder(r.Context(), a, mux.Vars(r)["orderId"])
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toJSON(o))
	})
}
