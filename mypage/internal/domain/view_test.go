package domain_test

import (
	"testing"
	"time"

	"github.com/skmall/skmall/mypage/internal/domain"
)

func permutations(facts []domain.Fact) [][]domain.Fact {
	if len(facts) <= 1 {
		return [][]domain.Fact{facts}
	}
	var out [][]domain.Fact
	for i, f := range facts {
		rest := append(append([]domain.Fact{}, facts[:i]...), facts[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]domain.Fact{f}, p...))
		}
	}
	return out
}

// Whatever order the facts of an order arrive in, and however often, the row ends the same.
func TestRowsConvergeWhateverTheOrderOfEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := map[domain.Fact]time.Time{
		domain.OrderPlaced: t0, domain.DeliveryStarted: t0.Add(time.Second),
		domain.OrderCancelled: t0.Add(time.Minute), domain.DeliveryCancelled: t0.Add(time.Minute + time.Second),
	}
	lives := []struct {
		facts                 []domain.Fact
		orderStatus, delivery string
	}{
		{[]domain.Fact{domain.OrderPlaced}, "PLACED", ""},
		{[]domain.Fact{domain.OrderPlaced, domain.DeliveryStarted}, "DELIVERY_STARTED", "STARTED"},
		{[]domain.Fact{domain.OrderPlaced, domain.DeliveryStarted, domain.OrderCancelled, domain.DeliveryCancelled}, "CANCELLED", "CANCELLED"},
		{[]domain.Fact{domain.OrderPlaced, domain.OrderCancelled, domain.DeliveryCancelled}, "CANCELLED", "CANCELLED"},
	}
	for _, life := range lives {
		for _, perm := range permutations(life.facts) {
			row := domain.NewRow("alice", "o1")
			for _, f := range append(perm, perm...) { // every fact twice
				row.Learn(domain.Happening{Fact: f, OrderID: "o1", ProductID: "apple", Qty: 2, OccurredAt: at[f]})
			}
			last := at[life.facts[len(life.facts)-1]]
			if row.OrderStatus() != life.orderStatus || row.DeliveryStatus() != life.delivery ||
				!row.CreatedAt.Equal(t0) || !row.UpdatedAt.Equal(last) || row.Qty != 2 || row.ProductID != "apple" {
				t.Errorf("%v: %s/%s created %v updated %v", perm, row.OrderStatus(), row.DeliveryStatus(), row.CreatedAt, row.UpdatedAt)
			}
		}
	}
}

func TestLearnReportsChange(t *testing.T) {
	t.Parallel()
	row := domain.NewRow("alice", "o1")
	h := domain.Happening{Fact: domain.OrderPlaced, OrderID: "o1", ProductID: "apple", Qty: 1, OccurredAt: time.Now()}
	if !row.Learn(h) || row.Learn(h) {
		t.Fatal("the first hearing changes the row, a repeat does not")
	}
}
