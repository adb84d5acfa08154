package contracts

import (
	"testing"
	"time"
)

// go test -bench . ./contracts: what checking an event against its schema costs, at each end.
func benchEvent() Event {
	return Event{
		EventID: EventID(OrderPlaced, "c1-0001"), EventType: OrderPlaced, OccurredAt: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		OrderID: "4b9a7a1c-0f5e-5c1e-9d3a-1f2e3d4c5b6a", CustomerID: "c1", ProductID: "apple", Qty: 2,
	}
}

func BenchmarkEncode(b *testing.B) {
	e := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	raw, err := Encode(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
