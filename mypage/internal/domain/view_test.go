package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/value"
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

var (
	alice = value.Must(domain.ParseCustomerID("alice"))
	o1    = value.Must(domain.ParseOrderID("o1"))
	apple = value.Must(domain.ParseProductID("apple"))
)

func qty(n int) domain.Qty { return value.Must(domain.ParseQty(n)) }

// Whatever order the facts of an order arrive in, and however often, the row ends the same.
func TestRowsConvergeWhateverTheOrderOfEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := map[domain.Fact]time.Time{
		domain.OrderPlaced: t0, domain.DeliveryStarted: t0.Add(time.Second),
		domain.OrderCancelled: t0.Add(time.Minute), domain.DeliveryCancelled: t0.Add(time.Minute + time.Second),
	}
	lives := []struct {
		facts          []domain.Fact
		orderStatus    domain.OrderStatus
		deliveryStatus domain.DeliveryStatus
	}{
		{[]domain.Fact{domain.OrderPlaced}, domain.StatusPlaced, domain.DeliveryStatusNone},
		{[]domain.Fact{domain.OrderPlaced, domain.DeliveryStarted}, domain.StatusDeliveryStarted, domain.DeliveryStatusStarted},
		{[]domain.Fact{domain.OrderPlaced, domain.DeliveryStarted, domain.OrderCancelled, domain.DeliveryCancelled}, domain.StatusCancelled, domain.DeliveryStatusCancelled},
		{[]domain.Fact{domain.OrderPlaced, domain.OrderCancelled, domain.DeliveryCancelled}, domain.StatusCancelled, domain.DeliveryStatusCancelled},
		{[]domain.Fact{domain.OrderPlaced, domain.OrderCancelled}, domain.StatusCancelled, domain.DeliveryStatusNone},
	}
	for _, life := range lives {
		for _, perm := range permutations(life.facts) {
			row := domain.NewRow(alice, o1)
			for _, f := range append(perm, perm...) { // every fact twice
				row.Learn(domain.Happening{Fact: f, ProductID: apple, Qty: qty(2), OccurredAt: at[f]})
			}
			last := at[life.facts[len(life.facts)-1]]
			if row.OrderStatus() != life.orderStatus || row.DeliveryStatus() != life.deliveryStatus ||
				!row.CreatedAt().Equal(t0) || !row.UpdatedAt().Equal(last) || row.Qty() != qty(2) ||
				row.ProductID() != apple || row.Customer() != alice || row.OrderID() != o1 || len(row.Heard()) != len(life.facts) {
				t.Errorf("%v: %s/%s created %v updated %v heard %v", perm, row.OrderStatus(), row.DeliveryStatus(), row.CreatedAt(), row.UpdatedAt(), row.Heard())
			}
		}
	}
}

func TestLearnReportsChange(t *testing.T) {
	t.Parallel()
	row := domain.NewRow(alice, o1)
	h := domain.Happening{Fact: domain.OrderPlaced, ProductID: apple, Qty: qty(1), OccurredAt: time.Now()}
	if !row.Learn(h) || row.Learn(h) {
		t.Fatal("the first hearing changes the row, a repeat does not")
	}
	if row.Learn(domain.Happening{ProductID: apple, Qty: qty(1), OccurredAt: time.Now()}) {
		t.Fatal("a happening without a fact changed the row")
	}
}

// A row is a value: learning on a copy leaves the original as it was.
func TestCopiesOfARowChangeApart(t *testing.T) {
	t.Parallel()
	row := domain.NewRow(alice, o1)
	row.Learn(domain.Happening{Fact: domain.OrderPlaced, ProductID: apple, Qty: qty(1), OccurredAt: time.Now()})
	cp := row
	if !cp.Learn(domain.Happening{Fact: domain.OrderCancelled, ProductID: apple, Qty: qty(1), OccurredAt: time.Now()}) {
		t.Fatal("the copy did not learn")
	}
	if row.OrderStatus() != domain.StatusPlaced || !slices.Equal(row.Heard(), []domain.Fact{domain.OrderPlaced}) {
		t.Fatalf("the original changed with its copy: %s %v", row.OrderStatus(), row.Heard())
	}
}

func TestRestoreRowKeepsWhatWasStored(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	heard := []domain.Fact{domain.OrderPlaced, domain.DeliveryStarted}
	row := domain.RestoreRow(alice, o1, apple, qty(3), t0, t0.Add(time.Second), heard)
	if row.Customer() != alice || row.OrderID() != o1 || row.ProductID() != apple || row.Qty().Int() != 3 ||
		!row.CreatedAt().Equal(t0) || !row.UpdatedAt().Equal(t0.Add(time.Second)) || !slices.Equal(row.Heard(), heard) ||
		row.OrderStatus() != domain.StatusDeliveryStarted || row.DeliveryStatus() != domain.DeliveryStatusStarted {
		t.Fatalf("restored: %+v", row)
	}
	if row.Learn(domain.Happening{Fact: domain.DeliveryStarted, ProductID: apple, Qty: qty(3), OccurredAt: t0}) {
		t.Fatal("a restored row learned a fact it had heard")
	}
}
