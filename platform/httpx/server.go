package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

// Shutdown is how a server stops when its context ends: first it says it is going (Going, so
// that readiness fails and load balancers stop sending), keeps serving for Delay while they
// notice, then stops accepting and lets in-flight requests finish for up to Drain.
type Shutdown struct {
	Going func()
	Delay time.Duration
	Drain time.Duration
}

// Serve runs srv until ctx ends, then shuts it down as sd says.
func Serve(ctx context.Context, srv *http.Server, sd Shutdown, log *slog.Logger) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down", "delay", sd.Delay.String(), "drain", sd.Drain.String())
	if sd.Going != nil {
		sd.Going()
	}
	// Answers now say Connection: close, so clients stop reusing connections that are about
	// to go away.
	srv.SetKeepAlivesEnabled(false)
	time.Sleep(sd.Delay)
	sctx, cancel := context.WithTimeout(context.Background(), sd.Drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.InfoContext(sctx, "stopped")
	return nil
}
