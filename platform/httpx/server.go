package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// NewServer returns an HTTP server with timeouts that keep slow or idle clients from holding
// connections forever.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// Shutdown is how a server stops when its context ends. First it says it is going (Going, so
// that readiness fails and load balancers stop sending) and keeps serving for Delay while they
// notice. Then it keeps serving until Linger returns, for what still forwards requests here
// (svc lingers until the Dapr sidecar has stopped). Last it stops accepting and lets in-flight
// requests finish. Lingering and finishing together take at most Drain.
//
// From the first moment every answer says Connection: close, so that clients open their next
// connection to another instance; idle connections are closed only at the end, when nobody
// should be sending here any more (closing them earlier races a client reusing one).
type Shutdown struct {
	Going  func()
	Delay  time.Duration
	Linger func(ctx context.Context)
	Drain  time.Duration
}

// Serve runs srv until ctx ends, then shuts it down as sd says.
func Serve(ctx context.Context, srv *http.Server, sd Shutdown, log *slog.Logger) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var going atomic.Bool
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if going.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down", "delay", sd.Delay.String(), "drain", sd.Drain.String())
	going.Store(true)
	if sd.Going != nil {
		sd.Going()
	}
	time.Sleep(sd.Delay)
	dctx, cancel := context.WithTimeout(context.Background(), sd.Drain)
	defer cancel()
	if sd.Linger != nil {
		sd.Linger(dctx)
	}
	if err := srv.Shutdown(dctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.InfoContext(dctx, "stopped")
	return nil
}
