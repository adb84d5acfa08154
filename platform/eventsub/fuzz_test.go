package eventsub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

// FuzzRoute delivers arbitrary bodies to a subscription route, as a broken or hostile
// publisher could: the route always answers daprd with SUCCESS, RETRY or DROP, never panics,
// and hands the service only events that satisfy the contract.
func FuzzRoute(f *testing.F) {
	valid, _ := contracts.Encode(eventsubtest.Event(contracts.OrderPlaced, "o1", "alice", "apple", 2))
	for _, payload := range [][]byte{
		eventsubtest.Envelope("orders", valid),
		eventsubtest.Envelope("orders", json.RawMessage(`{"eventType":"OrderPlaced","orderId":"o1"}`)),
		eventsubtest.Envelope("orders", json.RawMessage(`"{\"eventType\":\"OrderPlaced\"}"`)),
		[]byte(`{"specversion":"1.0","data_base64":"eyJldmVudFR5cGUiOiJPcmRlclBsYWNlZCJ9"}`),
		[]byte(`{"specversion":"1.0","data":null}`),
		[]byte(`this is not JSON`),
		[]byte(``),
	} {
		f.Add(payload)
	}
	log := slog.New(slog.DiscardHandler)
	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: func(_ context.Context, e contracts.Event) error {
			if e.OrderID == "" || e.EventID == "" || e.Qty < 1 {
				panic("a handler got an event that breaks the contract: " + e.String())
			}
			return nil
		},
	}
	route := eventsub.Route("orders", handlers, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/events/orders", bytes.NewReader(body)))
		var out struct{ Status string }
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("answered %d %q", rec.Code, rec.Body)
		}
		switch out.Status {
		case "SUCCESS", "RETRY", "DROP":
		default:
			t.Fatalf("status %q", out.Status)
		}
	})
}
