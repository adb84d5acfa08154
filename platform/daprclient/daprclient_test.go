package daprclient_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprclient"
)

// TestWaitGone: it waits while the sidecar answers, and returns once it has stopped.
func TestWaitGone(t *testing.T) {
	t.Parallel()
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/healthz/outbound" {
			t.Errorf("asked %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	gone := make(chan struct{})
	go func() {
		daprclient.WaitGone(context.Background(), sidecar.URL, slog.New(slog.DiscardHandler))
		close(gone)
	}()
	select {
	case <-gone:
		t.Fatal("WaitGone returned while the sidecar answers")
	case <-time.After(time.Second):
	}
	sidecar.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitGone did not return after the sidecar stopped")
	}
}

// TestWaitGoneEndsWithItsContext: a sidecar that does not stop holds the app no longer than
// its context.
func TestWaitGoneEndsWithItsContext(t *testing.T) {
	t.Parallel()
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sidecar.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	daprclient.WaitGone(ctx, sidecar.URL, slog.New(slog.DiscardHandler))
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("WaitGone took %s with a context of 500ms", waited)
	}
}
