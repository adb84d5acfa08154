// Package daprclient connects a service to its Dapr sidecar.
package daprclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
	dapr "github.com/dapr/go-sdk/client"
)

// Connect dials the sidecar's gRPC API, retrying while the sidecar starts, for up to wait.
// token is the sidecar's DAPR_API_TOKEN, sent with every call.
func Connect(ctx context.Context, addr, token string, wait time.Duration, log *slog.Logger) (dapr.Client, error) {
	var c dapr.Client
	b := backoff.NewExponentialBackOff()
	b.MaxInterval = 2 * time.Second
	b.MaxElapsedTime = wait
	err := backoff.Retry(func() error {
		var err error
		c, err = dapr.NewClientWithAddressContext(ctx, addr)
		if err != nil {
			log.InfoContext(ctx, "waiting for the Dapr sidecar", "addr", addr, "err", err)
		}
		return err //nolint:wrapcheck // seen only by backoff, and wrapped below
	}, backoff.WithContext(b, ctx))
	if err != nil {
		return nil, fmt.Errorf("connect to the Dapr sidecar at %s: %w", addr, err)
	}
	c.WithAuthToken(token)
	return c, nil
}

// WaitGone waits until the sidecar whose HTTP API is at httpBase stops answering (it has
// stopped its servers), or ctx ends. In a pod the sidecar keeps forwarding requests to its app
// for a while after SIGTERM, so the app keeps serving until then.
func WaitGone(ctx context.Context, httpBase string, log *slog.Logger) {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpBase+"/v1.0/healthz/outbound", nil)
		if err != nil {
			return
		}
		resp, err := client.Do(req)
		if err != nil && ctx.Err() == nil && !isTimeout(err) {
			log.InfoContext(ctx, "the Dapr sidecar has stopped")
			return
		}
		if err == nil {
			_ = resp.Body.Close()
		}
		select {
		case <-ctx.Done():
			log.WarnContext(ctx, "stopping while the Dapr sidecar still answers")
			return
		case <-tick.C:
		}
	}
}

// isTimeout: a sidecar too busy to answer within the timeout is still there.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
