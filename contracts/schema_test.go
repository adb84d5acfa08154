package contracts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, typ := range contracts.EventTypes {
		e := contracts.Event{
			EventID: contracts.EventID(typ, "o-1"), EventType: typ, OccurredAt: time.Now().UTC(),
			OrderID: "o-1", CustomerID: "alice", ProductID: "apple", Qty: 2,
		}
		if typ.Topic() == contracts.TopicDeliveries {
			e.DeliveryID = "d-1"
		}
		raw, err := contracts.Encode(e)
		if err != nil {
			t.Fatalf("%s: encode: %v", typ, err)
		}
		got, err := contracts.Decode(raw)
		if err != nil {
			t.Fatalf("%s: decode: %v", typ, err)
		}
		if !got.OccurredAt.Equal(e.OccurredAt) {
			t.Fatalf("%s: occurredAt %v, want %v", typ, got.OccurredAt, e.OccurredAt)
		}
		got.OccurredAt = e.OccurredAt
		if got != e {
			t.Fatalf("%s: round trip gave %+v, want %+v", typ, got, e)
		}
	}
}

func TestDecodeRejectsBrokenPayloads(t *testing.T) {
	t.Parallel()
	const ok = `"eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","orderId":"o1","customerId":"c1","productId":"p1"`
	cases := map[string]string{
		"not json":            `{`,
		"unknown type":        `{"eventType":"OrderShipped",` + ok + `,"qty":1}`,
		"missing qty":         `{"eventType":"OrderPlaced",` + ok + `}`,
		"zero qty":            `{"eventType":"OrderPlaced",` + ok + `,"qty":0}`,
		"absurd qty":          `{"eventType":"OrderPlaced",` + ok + `,"qty":100000}`,
		"unknown field":       `{"eventType":"OrderPlaced",` + ok + `,"qty":1,"price":3}`,
		"bad time":            `{"eventType":"OrderPlaced","eventId":"e1","occurredAt":"yesterday","orderId":"o1","customerId":"c1","productId":"p1","qty":1}`,
		"delivery without id": `{"eventType":"DeliveryStarted",` + ok + `,"qty":1}`,
		"array":               `[]`,
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := contracts.Decode([]byte(payload)); !errors.Is(err, contracts.ErrInvalidEvent) {
				t.Fatalf("Decode(%s) = %v, want ErrInvalidEvent", payload, err)
			}
		})
	}
}

func TestEncodeRefusesWhatConsumersWouldReject(t *testing.T) {
	t.Parallel()
	_, err := contracts.Encode(contracts.Event{EventType: contracts.OrderPlaced, OrderID: "o1"})
	if !errors.Is(err, contracts.ErrInvalidEvent) {
		t.Fatalf("Encode of an incomplete event = %v, want ErrInvalidEvent", err)
	}
}

func TestEventIDIsStablePerTransition(t *testing.T) {
	t.Parallel()
	a := contracts.EventID(contracts.DeliveryStarted, "o1")
	if a != contracts.EventID(contracts.DeliveryStarted, "o1") {
		t.Fatal("same transition, different ids")
	}
	if a == contracts.EventID(contracts.DeliveryCancelled, "o1") || a == contracts.EventID(contracts.DeliveryStarted, "o2") {
		t.Fatal("different transitions share an id")
	}
}
