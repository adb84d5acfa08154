package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/httpx"
)

// The rules at the door, the same for every adapter (REST and gRPC): who may do what, and
// which refusal each error is. Each adapter only translates.

// errorRules map the app's errors to refusals once: REST answers them as problems, gRPC as
// statuses with the slug as the ErrorInfo reason. The refusals that come in floods (overload,
// stock that cannot be confirmed, order's own store out of reach) are logged for both doors
// together (lim's tallies).
func errorRules(lim Limits) []httpx.ErrorRule {
	return append([]httpx.ErrorRule{
		{Err: errOverloaded, Status: http.StatusServiceUnavailable, Slug: "overloaded", Title: "Too busy right now",
			Detail: "Too many order requests are in progress. Nothing was ordered; try again in a moment.", RetryAfter: 1,
			Tally: lim.overloads},
		// The 503s come first: what the store or the warehouse answered may not parse, and then
		// the error wraps the domain's parse error, which is not the caller's invalid input.
		{Err: app.ErrStockUnconfirmed, Status: http.StatusServiceUnavailable, Slug: "stock-unconfirmed", Title: "Stock cannot be confirmed now",
			Detail: "The warehouse cannot confirm stock right now. Nothing was ordered; try again in a moment.", RetryAfter: 5,
			Tally: lim.unconfirmed},
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "Orders cannot be taken now",
			Detail: "Orders cannot be stored right now. Nothing was ordered; try again in a moment.", RetryAfter: 5,
			Tally: lim.unavailable},
		{Err: app.ErrOutcomeUnknown, Status: http.StatusServiceUnavailable, Slug: "outcome-unknown", Title: "Whether the order was stored is not known yet",
			Detail: "Storing the order failed in a way that leaves open whether it was stored. Send the request again with the same Idempotency-Key to learn its outcome; without a key, look at your orders before ordering again.", RetryAfter: 5},
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: app.ErrUnknownProduct, Status: http.StatusUnprocessableEntity, Slug: "unknown-product", Title: "Unknown product"},
		{Err: domain.ErrIdempotencyReused, Status: http.StatusUnprocessableEntity, Slug: "idempotency-key-reused", Title: "Idempotency key reused",
			Detail: "This Idempotency-Key was used for a different order. Use a new key for a new order."},
		{Err: domain.ErrUnknownOrder, Status: http.StatusNotFound, Slug: "unknown-order", Title: "Unknown order"},
		{Err: app.ErrOutOfStock, Status: http.StatusConflict, Slug: "out-of-stock", Title: "Out of stock"},
	}, auth.Rules...)
}

func httpErrors(log *slog.Logger, lim Limits) httpx.Errors {
	return httpx.Errors{Log: log, Rules: errorRules(lim)}
}

// Limits bound the work order placement takes on, through every door together.
type Limits struct {
	// PlaceTimeout bounds one order request.
	PlaceTimeout time.Duration
	// placing holds a slot per order request in progress (MAX_PLACING_ORDERS); past them the
	// next requests are refused at once (errOverloaded) instead of queueing.
	placing chan struct{}
	// overloads logs those refusals: under overload there are hundreds a second, and a line
	// each would only add to the load.
	overloads *httpx.Tally
	// unconfirmed logs the refusals for want of the warehouse's answer: while it is down or
	// its breaker is open, every order request is one, refused at once.
	unconfirmed *httpx.Tally
	// unavailable logs the refusals for want of order's own store: while it is down, every
	// request that reads or writes orders is one.
	unavailable *httpx.Tally
}

// NewLimits returns the limits of order placement; every door is given the same.
func NewLimits(placeTimeout time.Duration, maxPlacing int) Limits {
	return Limits{
		PlaceTimeout: placeTimeout, placing: make(chan struct{}, maxPlacing),
		overloads: httpx.NewTally(time.Second), unconfirmed: httpx.NewTally(time.Second), unavailable: httpx.NewTally(time.Second),
	}
}

var errOverloaded = errors.New("too many order requests in progress")

// placeOrder places an order for the caller, if a slot is free. An empty customer id is
// invalid input, answered as such by the app.
func placeOrder(ctx context.Context, a *app.App, lim Limits, cmd app.PlaceOrder) (domain.Order, bool, error) {
	if who := auth.FromContext(ctx); cmd.CustomerID != "" && who.Subject != cmd.CustomerID {
		return domain.Order{}, false, auth.Forbidden("A customer places orders only for themselves: customerId must be the token's subject.")
	}
	select {
	case lim.placing <- struct{}{}:
		defer func() { <-lim.placing }()
	default:
		return domain.Order{}, false, errOverloaded
	}
	ctx, cancel := context.WithTimeout(ctx, lim.PlaceTimeout)
	defer cancel()
	return a.PlaceOrder(ctx, cmd)
}

// callersOrder reads an order, if the caller may act for its customer.
func callersOrder(ctx context.Context, a *app.App, id string) (domain.Order, error) {
	o, err := a.Order(ctx, id)
	if err != nil {
		return o, err
	}
	if !auth.FromContext(ctx).MayActFor(o.Customer().String()) {
		return domain.Order{}, auth.Forbidden("This order belongs to another customer.")
	}
	return o, nil
}

// cancelOrder cancels an order, if the caller may act for its customer.
func cancelOrder(ctx context.Context, a *app.App, id string) (domain.Order, error) {
	o, err := callersOrder(ctx, a, id)
	if err != nil {
		return o, err
	}
	return a.CancelOrder(ctx, o.ID().String())
}

// customerOrders reads a page of a customer's orders, if the caller may act for them.
func customerOrders(ctx context.Context, a *app.App, customer, cursor string) ([]domain.Order, string, error) {
	if customer == "" {
		return nil, "", httpx.Invalid("customerId is required")
	}
	if !auth.FromContext(ctx).MayActFor(customer) {
		return nil, "", auth.Forbidden("A customer lists only their own orders.")
	}
	return a.CustomerOrders(ctx, customer, cursor)
}
