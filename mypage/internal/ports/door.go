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
	return []httpx.ErrorRule{
		{Err: domain.ErrInvalidInput, Status: http.StatusUnprocessableEntity, Slug: "invalid-input", Title: "Invalid input"},
		{Err: domain.ErrUnknownOrder, Status: http.StatusNotFound, Slug: "unknown-order", Title: "Unknown order"},
		{Err: app.ErrUnavailable, Status: http.StatusServiceUnavailable, Slug: "unavailable", Title: "My page cannot be shown now",
			Detail: "The page store is not reachable. Try again in a moment.", RetryAfter: 2},
	}
}

// GRPCErrors are the refusals of the gRPC adapter: the same rules as the REST adapter's.
func GRPCErrors(log *slog.Logger) grpcx.Errors { return grpcx.Errors{Log: log, Rules: errorRules()} }

// pageOrders reads a page of a customer's page, if the caller may read it (refused before
// anything is read).
func pageOrders(ctx context.Context, a *app.App, customer, cursor string) ([]domain.Row, string, error) {
	if !auth.FromContext(ctx).MayActFor(customer) {
		return nil, "", auth.Forbidden("A customer reads only their own page.")
	}
	return a.Orders(ctx, customer, cursor)
}
