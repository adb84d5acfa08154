package adapters

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// DaprOrders asks the order service whether an order exists, through Dapr service invocation
// on the sidecar's HTTP API, where a 404 from the order service arrives as a 404.
type DaprOrders struct {
	client  *http.Client
	sidecar string // http://host:port of the sidecar's HTTP API
	appID   string
	token   string
}

// NewDaprOrders returns a checker invoking appID through the sidecar at sidecarURL.
func NewDaprOrders(sidecarURL, orderAppID, daprAPIToken string) *DaprOrders {
	return &DaprOrders{client: &http.Client{Timeout: 5 * time.Second}, sidecar: sidecarURL, appID: orderAppID, token: daprAPIToken}
}

func (d *DaprOrders) OrderExists(ctx context.Context, order domain.OrderID) (bool, error) {
	u := fmt.Sprintf("%s/v1.0/invoke/%s/method/internal/orders/%s", d.sidecar, d.appID, url.PathEscape(string(order)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set(auth.DaprTokenHeader, d.token)
	resp, err := d.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("ask the order service about %s: %w", order, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("ask the order service about %s: %s", order, resp.Status)
}
