package contracts_test

import (
	"testing"

	"github.com/skmall/skmall/contracts"
)

// FuzzDecode: a payload either decodes into an event that satisfies the contract (and encodes
// back to a payload the schema accepts) or is refused as ErrInvalidEvent; nothing panics.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"eventId":"e1","eventType":"OrderPlaced","occurredAt":"2026-01-02T03:04:05Z","orderId":"o1","customerId":"alice","productId":"apple","qty":2}`,
		`{"eventId":"e1","eventType":"DeliveryStarted","occurredAt":"2026-01-02T03:04:05Z","orderId":"o1","customerId":"alice","productId":"apple","qty":2,"deliveryId":"d1"}`,
		`{"eventType":"OrderPlaced","orderId":"poison-1"}`,
		`{"eventType":"OrderShipped"}`,
		`{"eventId":"e1","eventType":"OrderPlaced","occurredAt":"yesterday","orderId":"o1","customerId":"alice","productId":"apple","qty":-1}`,
		`null`, `[]`, `"OrderPlaced"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := contracts.Decode(payload)
		if err != nil {
			return
		}
		if !e.EventType.Valid() || e.EventID == "" || e.OrderID == "" {
			t.Fatalf("accepted %q as %+v", payload, e)
		}
		if _, err := contracts.Encode(e); err != nil {
			t.Fatalf("accepted %q but cannot encode it back: %v", payload, err)
		}
	})
}
