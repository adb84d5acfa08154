package eventsub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
	"github.com/skmall/skmall/platform/telemetry"
)

// The handler runs in the delivered event's trace, and Route's own lines about the event
// carry its trace id, so one order can be followed across the services' logs.
func TestAnEventIsHandledInItsTrace(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	var seen string
	var logs bytes.Buffer
	log := slog.New(telemetry.NewHandler(&logs, slog.LevelDebug))
	h := eventsub.Route(contracts.TopicOrders, map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: func(ctx context.Context, _ contracts.Event) error {
			seen = telemetry.TraceID(ctx)
			return nil
		},
	}, eventsub.NewMetrics(prometheus.NewRegistry()), log)

	payload, err := contracts.Encode(eventsubtest.Event(contracts.OrderPlaced, "o1", "c1", "p1", 1))
	if err != nil {
		t.Fatal(err)
	}
	var ce map[string]any
	if err := json.Unmarshal(eventsubtest.Envelope("orders", payload), &ce); err != nil {
		t.Fatal(err)
	}
	ce["traceparent"] = "00-" + traceID + "-00f067aa0ba902b7-01"
	body, _ := json.Marshal(ce)
	if got := eventsubtest.Deliver(t, h, "/events/orders", body); got != "SUCCESS" {
		t.Fatalf("delivery: %s", got)
	}
	if seen != traceID {
		t.Errorf("handler's trace id %q, want %q", seen, traceID)
	}
	if !strings.Contains(logs.String(), `"traceId":"`+traceID+`"`) {
		t.Errorf("Route's log lines lack the trace id:\n%s", logs.String())
	}
}
