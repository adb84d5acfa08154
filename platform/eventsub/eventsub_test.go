package eventsub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

func TestRouteTellsDaprWhatBecameOfEachEvent(t *testing.T) {
	t.Parallel()
	errTransient := errors.New("store down")
	errNotFound := errors.New("not found")
	var handled []string
	m := eventsub.NewMetrics(prometheus.NewRegistry())
	h := eventsub.Route(contracts.TopicOrders, map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: func(_ context.Context, e contracts.Event) error {
			handled = append(handled, e.OrderID)
			switch e.OrderID {
			case "transient":
				return errTransient
			case "poison":
				return eventsub.PoisonIf(fmt.Errorf("order %s: %w", e.OrderID, errNotFound), errors.New("unrelated"), errNotFound)
			}
			return nil
		},
	}, m, slog.New(slog.DiscardHandler))

	placed := func(id string) contracts.Event { return eventsubtest.Event(contracts.OrderPlaced, id, "c1", "p1", 1) }
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"handled", eventsubtest.Envelope("orders", mustEncode(t, placed("ok"))), "SUCCESS"},
		{"transient failure", eventsubtest.Envelope("orders", mustEncode(t, placed("transient"))), "RETRY"},
		{"not a type this service consumes", eventsubtest.Envelope("orders", mustEncode(t, eventsubtest.Event(contracts.OrderCancelled, "x", "c1", "p1", 1))), "SUCCESS"},
		{"breaks the schema", eventsubtest.Envelope("orders", []byte(`{"eventType":"OrderPlaced","orderId":"x"}`)), "DROP"},
		{"unknown event type", eventsubtest.Envelope("orders", []byte(`{"eventType":"OrderShipped"}`)), "DROP"},
		{"not a CloudEvent", []byte(`not json`), "DROP"},
		{"no data", []byte(`{"id":"1","topic":"orders"}`), "DROP"},
		{"data as a JSON string", eventsubtest.Envelope("orders", mustQuote(t, mustEncode(t, placed("ok2")))), "SUCCESS"},
	}
	for _, c := range cases {
		if got := eventsubtest.Deliver(t, h, "/events/orders", c.body); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if got := eventsubtest.Deliver(t, h, "/events/orders", eventsubtest.Envelope("orders", mustEncode(t, placed("poison")))); got != "DROP" {
		t.Errorf("poison: %s, want DROP", got)
	}
	if len(handled) != 4 {
		t.Errorf("handler ran for %v; it must not see events that break the contract", handled)
	}
	if n := testutil.CollectAndCount(m.Handled(), "events_handled_total"); n == 0 {
		t.Error("no events_handled_total series")
	}
}

func mustEncode(t *testing.T, e contracts.Event) []byte {
	t.Helper()
	raw, err := contracts.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustQuote(t *testing.T, raw []byte) []byte {
	t.Helper()
	q := []byte{'"'}
	for _, b := range raw {
		if b == '"' {
			q = append(q, '\\')
		}
		q = append(q, b)
	}
	return append(q, '"')
}
