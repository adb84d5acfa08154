// Package invoke calls another service's internal API through Dapr service invocation, JSON in
// and JSON out, so the call runs under the sidecars' access control and resiliency policy
// (timeouts, retries, circuit breaker). Both ends of every internal API use the request and
// answer types in contracts.
package invoke

import (
	"context"
	"encoding/json"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"
)

// Client calls the methods of one app.
type Client struct {
	dapr  dapr.Client
	appID string
}

// New returns a client of the app with the given Dapr app id.
func New(c dapr.Client, appID string) *Client { return &Client{dapr: c, appID: appID} }

// Post posts req as JSON to method and decodes the answer into res (unless res is nil). Any
// non-2xx answer is an error: business refusals travel in 2xx answers (see contracts).
func (c *Client) Post(ctx context.Context, method string, req, res any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode request to %s/%s: %w", c.appID, method, err)
	}
	out, err := c.dapr.InvokeMethodWithContent(ctx, c.appID, method, "post",
		&dapr.DataContent{ContentType: "application/json", Data: body})
	if err != nil {
		return fmt.Errorf("invoke %s/%s: %w", c.appID, method, err)
	}
	if res == nil {
		return nil
	}
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("unreadable answer from %s/%s: %w", c.appID, method, err)
	}
	return nil
}
