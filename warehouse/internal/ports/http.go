// Package ports is the warehouse's HTTP face: the public product API, the reservation API
// that only order calls (through Dapr service invocation), and the event routes daprd
// delivers to.
package ports

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/httpx"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// Routes adds the warehouse's routes to r and returns its event handlers. Admins register
// products and adjust stock; anyone with a token reads stock; only the sidecar (that is, order,
// as the sidecars' access control allows) reaches the reservation API.
func Routes(r *mux.Router, a *app.App, g *auth.Guard, events *eventsub.Metrics, log *slog.Logger) map[contracts.EventType]eventsub.Handler {
	errs := httpx.Errors{Log: log, Rules: []httpx.ErrorRule{
		// First: a stored record that cannot be read is unavailable stock, even though its
		// error wraps the domain's reason (an unknown status is invalid input, but not the
		// caller's).
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "Stock cannot be read or changed now",
			Detail: "The stock store is not reachable. Try again in a moment.", RetryAfter: 2},
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: domain.ErrAdjustmentKeyReused, Status: http.StatusUnprocessableEntity, Slug: "idempotency-key-reused", Title: "Idempotency key reused",
			Detail: "This Idempotency-Key named an adjustment of another number of units. Use a new key for a new adjustment."},
		{Err: domain.ErrUnknownProduct, Status: http.StatusNotFound, Slug: "unknown-product", Title: "Unknown product"},
		{Err: domain.ErrProductExists, Status: http.StatusConflict, Slug: "product-exists", Title: "Product already registered"},
		{Err: domain.ErrBelowReserved, Status: http.StatusConflict, Slug: "stock-reserved", Title: "Stock is reserved"},
	}}

	r.Handle("/products", g.Admin(registerProduct(a, errs))).Methods(http.MethodPost)
	r.Handle("/products/{productId}", g.Authenticated(getProduct(a, errs))).Methods(http.MethodGet)
	r.Handle("/products/{productId}/stock-adjustments", g.Admin(adjustStock(a, errs))).Methods(http.MethodPost)

	r.Handle("/reservations", g.Sidecar(reserveStock(a, errs))).Methods(http.MethodPost)
	r.Handle("/reservations/{orderId}/release", g.Sidecar(releaseReservation(a, errs))).Methods(http.MethodPost)

	// The handlers decode events into the warehouse's commands; dead-letter replay calls the
	// same map.
	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.OrderCancelled: func(ctx context.Context, e contracts.Event) error {
			return eventError(a.GiveBackStock(ctx, app.GiveBackStock{OrderID: e.OrderID, ProductID: e.ProductID}))
		},
		contracts.DeliveryStarted: func(ctx context.Context, e contracts.Event) error {
			return eventError(a.ShipStock(ctx, app.ShipStock{OrderID: e.OrderID, ProductID: e.ProductID}))
		},
	}
	r.Handle("/events/orders", g.Sidecar(eventsub.Route(contracts.TopicOrders, handlers, events, log))).Methods(http.MethodPost)
	r.Handle("/events/deliveries", g.Sidecar(eventsub.Route(contracts.TopicDeliveries, handlers, events, log))).Methods(http.MethodPost)
	return handlers
}

// eventError marks errors no retry can fix as poison, so the event is dead-lettered.
func eventError(err error) error {
	return eventsub.PoisonIf(err, domain.ErrInvalidInput, domain.ErrUnknownProduct, domain.ErrUnknownReservation)
}

type productJSON struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	OnHand    int    `json:"onHand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
}

func toProductJSON(p domain.Product) productJSON {
	return productJSON{ProductID: p.ID().String(), Name: p.Name(), OnHand: p.OnHand(), Reserved: p.Reserved(), Available: p.Available()}
}

func registerProduct(a *app.App, errs httpx.Errors) http.Handler {
	type request struct {
		ProductID string `json:"productId"`
		Name      string `json:"name"`
		Stock     *int   `json:"stock"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[request](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		if req.Stock == nil {
			errs.Write(w, r, httpx.Invalid("stock is required"))
			return
		}
		p, err := a.RegisterProduct(r.Context(), req.ProductID, req.Name, *req.Stock)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		w.Header().Set("Location", "/products/"+p.ID().String())
		httpx.WriteJSON(w, http.StatusCreated, toProductJSON(p))
	})
}

func getProduct(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Product(r.Context(), mux.Vars(r)["productId"])
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toProductJSON(p))
	})
}

func adjustStock(a *app.App, errs httpx.Errors) http.Handler {
	type request struct {
		Delta  int    `json:"delta"`
		Reason string `json:"reason"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[request](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		if len(req.Reason) > 200 {
			errs.Write(w, r, httpx.Invalid("reason may hold at most 200 characters"))
			return
		}
		p, err := a.AdjustStock(r.Context(), mux.Vars(r)["productId"], r.Header.Get("Idempotency-Key"), req.Delta)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, toProductJSON(p))
	})
}

// reserveStock answers a reservation request. A refusal is a 200 with reserved=false: Dapr's
// circuit breaker counts every non-2xx reply as a failure, and an out-of-stock product is no
// failure of the warehouse.
func reserveStock(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[contracts.ReserveStock](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		holder, refusal, err := a.ReserveStock(r.Context(), app.ReserveStock{
			OrderID: req.OrderID, ProductID: req.ProductID, Qty: req.Qty,
			ReservationID: req.ReservationID, Replaces: req.Replaces,
		})
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, contracts.Reservation{
			OrderID: req.OrderID, ProductID: req.ProductID, Qty: req.Qty,
			Reserved: refusal.IsZero(), Reason: reasons[refusal], ReservationID: holder.String(),
		})
	})
}

// reasons says the warehouse's refusals in the words of the reservation contract: the one
// place the two meet. No refusal has no reason.
var reasons = map[app.Refusal]contracts.Refusal{
	app.RefusedOutOfStock:     contracts.RefusedOutOfStock,
	app.RefusedUnknownProduct: contracts.RefusedUnknownProduct,
	app.RefusedClash:          contracts.RefusedClash,
}

func releaseReservation(a *app.App, errs httpx.Errors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := httpx.Decode[contracts.ReleaseStock](w, r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		orderID := mux.Vars(r)["orderId"]
		if err := a.ReleaseReservation(r.Context(), orderID, req.ReservationID); err != nil {
			errs.Write(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"orderId": orderID, "released": true})
	})
}
