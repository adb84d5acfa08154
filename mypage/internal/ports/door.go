package ports

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/grpcx"
	"github.com/skmall/skmall/platform/httpx"
)

// The rules at the door, the same for every adapter (REST and gRPC).

// errorRules map the app's errors to refusals once: REST answers them as problems, gRPC as
// statuses with the slug as the ErrorInfo reason.
func errorRules() []httpx.ErrorRule {
	return append([]httpx.ErrorRule{
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: domain.ErrUnknownOrder, Status: http.StatusNotFound, Slug: "unknown-order", Title: "Unknown order"},
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "My page cannot be shown now",
			Detail: "The page store is not reachable. Try again in a moment.", RetryAfter: 2},
	}, auth.Rules...)
}

// GRPCErrors are the refusals of the gRPC adapter: the same rules as the REST adapter's.
func GRPCErrors(log *slog.Logger) grpcx.Errors { return grpcx.Errors{Log: log, Rules: errorRules()} }

// ownPage refuses, before anything is read, a page that is not the caller's.
func ownPage(ctx context.Context, customer string) error {
	if !auth.FromContext(ctx).MayActFor(customer) {
		return auth.Forbidden("A customer reads only their own page.")
	}
	return nil
}

// pageOrders reads a page of the orders on a customer's page, if the caller may read it.
func pageOrders(ctx context.Context, a *app.App, customer, cursor string) ([]domain.Row, string, error) {
	if err := ownPage(ctx, customer); err != nil {
		return nil, "", err
	}
	return a.Orders(ctx, customer, cursor)
}

// pageOrder reads one order on a customer's page, if the caller may read it.
func pageOrder(ctx context.Context, a *app.App, customer, order string) (domain.Row, error) {
	if err := ownPage(ctx, customer); err != nil {
		return domain.Row{}, err
	}
	return a.Order(ctx, customer, order)
}
