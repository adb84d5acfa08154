package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/value"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// The stored forms are what the state store already holds: field names and values never change.
func TestRecordsKeepTheirStoredForm(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	apple, o1 := value.Must(domain.ParseProductID("apple")), value.Must(domain.ParseOrderID("o1"))
	p, err := domain.NewProduct(apple, "Apple", 10)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Reserve(value.Must(domain.ParseReservationID("r1")), o1, value.Must(domain.ParseQty(3)), at, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		rec  any
		want string
	}{
		{"product", toProductRecord(p), `{"productId":"apple","name":"Apple","onHand":10,"reserved":3,"holds":{"o1":"2026-01-01T10:01:00Z"}}`},
		{"reservation", toReservationRecord(r), `{"id":"r1","orderId":"o1","productId":"apple","qty":3,"status":"RESERVED","createdAt":"2026-01-01T10:00:00Z","updatedAt":"2026-01-01T10:00:00Z"}`},
		{"catalog", catalog{ProductIDs: []string{"apple", "pear"}}, `{"productIds":["apple","pear"]}`},
	}
	for _, c := range cases {
		if got, err := json.Marshal(c.rec); err != nil || string(got) != c.want {
			t.Errorf("%s stored as %s (%v), want %s", c.name, got, err, c.want)
		}
	}

	// And they read back as they were.
	var pr productRecord
	if err := json.Unmarshal([]byte(cases[0].want), &pr); err != nil {
		t.Fatal(err)
	}
	back, err := pr.product()
	if err != nil || back.ID() != p.ID() || back.OnHand() != 10 || back.Reserved() != 3 ||
		!back.Holds()[o1].Equal(at.Add(time.Minute)) {
		t.Fatalf("product read back as %+v, %v", back, err)
	}
	var rr reservationRecord
	if err := json.Unmarshal([]byte(cases[1].want), &rr); err != nil {
		t.Fatal(err)
	}
	if got, err := rr.reservation(); err != nil || got != r {
		t.Fatalf("reservation read back as %+v, %v; want %+v", got, err, r)
	}
}

// A reservation stored before reservations had names reads back with the empty name, and is
// stored again without one.
func TestUnnamedReservationReadsBack(t *testing.T) {
	t.Parallel()
	rr := reservationRecord{OrderID: "o1", ProductID: "apple", Qty: 2, Status: "SHIPPED"}
	r, err := rr.reservation()
	if err != nil || !r.ID().IsZero() || !r.Is(domain.ReservationID{}) || r.Status() != domain.Shipped {
		t.Fatalf("read %+v, %v", r, err)
	}
	if raw, _ := json.Marshal(toReservationRecord(r)); strings.Contains(string(raw), `"id"`) {
		t.Fatalf("stored again as %s", raw)
	}
}

// A stored record that does not parse is the store's failure, not the caller's invalid input:
// the warehouse answers that stock is unavailable.
func TestUnreadableRecordsAreUnavailableStock(t *testing.T) {
	t.Parallel()
	apple, o1 := value.Must(domain.ParseProductID("apple")), value.Must(domain.ParseOrderID("o1"))
	unreadable := map[string]func(*MemoryRepository){
		"reservation status": func(m *MemoryRepository) {
			rec := m.reservations[o1]
			rec.Status = "LOST"
			m.reservations[o1] = rec
		},
		"reservation qty": func(m *MemoryRepository) {
			rec := m.reservations[o1]
			rec.Qty = 0
			m.reservations[o1] = rec
		},
		"hold of a product": func(m *MemoryRepository) {
			rec := m.products[apple]
			rec.Holds = map[string]time.Time{"not an id": time.Now()}
			m.products[apple] = rec
		},
	}
	for name, spoil := range unreadable {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := NewMemoryRepository()
			a := app.New(repo, &MemoryOrders{}, noMetrics{}, time.Now, time.Minute)
			if _, err := a.RegisterProduct(ctx, "apple", "Apple", 5); err != nil {
				t.Fatal(err)
			}
			if _, refusal, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: "o1", ProductID: "apple", Qty: 2, ReservationID: "r1"}); err != nil || !refusal.IsZero() {
				t.Fatal(refusal, err)
			}
			spoil(repo)
			err := a.ShipStock(ctx, app.ShipStock{OrderID: "o1", ProductID: "apple"})
			if !errors.Is(err, app.ErrUnavailable) || !strings.Contains(err.Error(), "stored") {
				t.Fatalf("shipping from an unreadable record: %v, want it unavailable", err)
			}
		})
	}
}

type noMetrics struct{}

func (noMetrics) Reservation(string, int) {}
func (noMetrics) HoldReleased(int)        {}
