package domain_test

import (
	"testing"
	"time"

	"github.com/skmall/skmall/order/internal/domain"
)

func TestOrderLife(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		name  string
		steps []string
		want  domain.Status
	}{
		{"placed", nil, domain.Placed},
		{"delivered", []string{"start"}, domain.DeliveryStarted},
		{"cancelled before delivery", []string{"cancel"}, domain.Cancelled},
		{"cancelled after delivery", []string{"start", "cancel"}, domain.Cancelled},
		{"start after cancel changes nothing", []string{"cancel", "start"}, domain.Cancelled},
		{"repeats change nothing", []string{"start", "start", "cancel", "cancel"}, domain.Cancelled},
	}
	for _, c := range cases {
		o := domain.Place("o1", "alice", "apple", 1, "r1", now)
		for _, s := range c.steps {
			if s == "start" {
				o.StartDelivery(now)
			} else {
				o.Cancel(now)
			}
		}
		if o.Status() != c.want {
			t.Errorf("%s: %s, want %s", c.name, o.Status(), c.want)
		}
	}
}

func TestNewOrderIDIsStablePerCustomerAndKey(t *testing.T) {
	t.Parallel()
	a := domain.NewOrderID("alice", "k1")
	if a != domain.NewOrderID("alice", "k1") || a == domain.NewOrderID("bob", "k1") || a == domain.NewOrderID("alice", "k2") {
		t.Fatal("ids derived from keys must be stable per customer and key")
	}
	if domain.NewOrderID("alice", "") == domain.NewOrderID("alice", "") {
		t.Fatal("orders without a key must get fresh ids")
	}
	if _, err := domain.ParseOrderID(string(a)); err != nil {
		t.Fatalf("derived id %s is not a valid order id: %v", a, err)
	}
}
