package httpx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/httpx"
)

// TestServeLingersBeforeItStops: after its delay a stopping server keeps taking new requests
// until Linger returns (a sidecar may still forward them), and tells clients to move on; only
// then does it stop accepting.
func TestServeLingersBeforeItStops(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	srv := httpx.NewServer(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "served")
	}))
	ctx, stop := context.WithCancel(context.Background())
	lingering, release := make(chan struct{}), make(chan struct{})
	going := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- httpx.Serve(ctx, srv, httpx.Shutdown{
			Going: func() { close(going) },
			Delay: 50 * time.Millisecond,
			Linger: func(ctx context.Context) {
				close(lingering)
				select {
				case <-release:
				case <-ctx.Done():
				}
			},
			Drain: 10 * time.Second,
		}, slog.New(slog.DiscardHandler))
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	// get asks the server once and tells whether its answer closed the connection.
	get := func() (closes bool, err error) {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.Close, nil
	}
	waitServing(t, get)
	if closes, _ := get(); closes {
		t.Fatal("a serving server closes the connection after each answer")
	}

	stop()
	<-going
	<-lingering
	closes, err := get()
	if err != nil {
		t.Fatalf("a request while the server lingers: %v", err)
	}
	if !closes {
		t.Error("answers while stopping do not say Connection: close")
	}
	select {
	case err := <-served:
		t.Fatalf("the server stopped while Linger had not returned: %v", err)
	default:
	}

	close(release)
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := get(); err == nil {
		t.Fatal("the stopped server still answers")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func waitServing(t *testing.T, get func() (bool, error)) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := get(); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("the server never answered: %v", err)
		}
	}
}
