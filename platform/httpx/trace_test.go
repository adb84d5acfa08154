package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skmall/skmall/platform/httpx"
	"github.com/skmall/skmall/platform/telemetry"
)

func TestARequestRunsInItsCallersTraceOrANewOne(t *testing.T) {
	t.Parallel()
	var got string
	h := httpx.Trace(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = telemetry.TraceID(r.Context()) }))

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace %q, want the caller's", got)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if len(got) != 32 || got == "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace %q, want a new one", got)
	}
}
