// Package daprclient connects a service to its Dapr sidecar.
package daprclient

import (
	"context"
	"fmt"
	"log/slog"
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
