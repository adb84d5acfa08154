// Package ports is mypage's HTTP face: the customer's page, answered from mypage's own store
// only, and the event routes daprd delivers order and delivery events to.
package ports

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/httpx"
)

// Routes adds mypage's routes to r and returns its event handlers. A customer reads only
// their own page; an admin reads anyone's.
func Routes(r *mux.Router, a *app.App, g *auth.Guard, events *eventsub.Metrics, log *slog.Logger) map[contracts.EventType]eventsub.Handler {
	errs := httpx.Errors{Log: log, Rules: errorRules()}
	r.Handle("/mypage/{customerId}/orders", g.Authenticated(listOrders(a, errs))).Methods(http.MethodGet)
	r.Handle("/mypage/{customerId}/orders/{orderId}", g.Authenticated(getOrder(a, errs))).Methods(http.MethodGet)

	// Every event the page consumes tells a fact of the same name about its order.
	record := func(ctx context.Context, e contracts.Event) error {
		err := a.RecordOrderFact(ctx, app.RecordOrderFact{
			Fact: string(e.EventType), OrderID: e.OrderID, CustomerID: e.CustomerID,
			ProductID: e.ProductID, Qty: e.Qty, OccurredAt: e.OccurredAt,
		})
		return eventsub.PoisonIf(err, domain.ErrInvalidInput)
	}
	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: record, contracts.OrderCancelled: record,
		contracts.DeliveryStarted: record, contracts.DeliveryCancelled: record,
	}
	r.Handle("/events/orders", g.Sidecar(eventsub.Route(contracts.TopicOrders, handlers, events, log))).Methods(http.MethodPost)
	r.Handle("/events/deliveries", g.Sidecar(eventsub.Route(contracts.TopicDeliveries, handlers, events, log))).Methods(http.MethodPost)
	return handlers
}

type rowJSON struct {
	OrderID        string    `json:"orderId"`
	ProductID      string    `json:"productId"`
	Qty            int       `json:"qty"`
	OrderStatus    string    `json:"orderStatus"`
	DeliveryStatus string    `json:"deliveryStatus"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

func toJSON(r domain.Row) rowJSON {
	return rowJSON{
		OrderID: r.OrderID().String(), ProductID: r.ProductID().String(), Qty: r.Qty().Int(),
		OrderStatus: r.OrderStatus().String(), DeliveryStatus: r.DeliveryStatus().String(),
		CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
}

func listOrders(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		customer := mux.Vars(r)["customerId"]
		rows, next, err := pageOrders(r.Context(), a, customer, r.URL.Query().Get("cursor"))
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteCustomerOrders(w, customer, rows, next, toJSON)
	})
}

func getOrder(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		row, err := pageOrder(r.Context(), a, vars["customerId"], vars["orderId"])
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toJSON(row))
	})
}
