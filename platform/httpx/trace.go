package httpx

import (
	"net/http"

	"github.com/skmall/skmall/platform/telemetry"
)

// Trace runs each request in the trace its traceparent header names, or in a new one: what the
// request logs, and the events it causes, carry that trace id.
func Trace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := telemetry.WithTraceparent(r.Context(), r.Header.Get("traceparent"))
		if telemetry.TraceID(ctx) == "" {
			ctx = telemetry.NewTrace(ctx)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
