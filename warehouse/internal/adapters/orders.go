package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// DaprOrders settles unconfirmed reservations with the order service, through Dapr service
// invocation.
type DaprOrders struct {
	client dapr.Client
	appID  string
}

// NewDaprOrders returns the order service as the app id orderAppID.
func NewDaprOrders(client dapr.Client, orderAppID string) *DaprOrders {
	return &DaprOrders{client: client, appID: orderAppID}
}

func (d *DaprOrders) Settle(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) (bool, error) {
	body, err := json.Marshal(contracts.SettleOrder{ReservationID: string(reservation)})
	if err != nil {
		return false, err
	}
	out, err := d.client.InvokeMethodWithContent(ctx, d.appID, "internal/orders/"+url.PathEscape(string(order))+"/settle", "post",
		&dapr.DataContent{ContentType: "application/json", Data: body})
	if err != nil {
		return false, fmt.Errorf("settle order %s with the order service: %w", order, err)
	}
	var s contracts.OrderSettlement
	if err := json.Unmarshal(out, &s); err != nil {
		return false, fmt.Errorf("settle order %s: unreadable answer: %w", order, err)
	}
	return s.Stored, nil
}
