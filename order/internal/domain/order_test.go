package domain_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

func oid(s string) domain.OrderID        { return value.Must(domain.ParseOrderID(s)) }
func cid(s string) domain.CustomerID     { return value.Must(domain.ParseCustomerID(s)) }
func pid(s string) domain.ProductID      { return value.Must(domain.ParseProductID(s)) }
func rid(s string) domain.ReservationID  { return value.Must(domain.ParseReservationID(s)) }
func qty(n int) domain.Qty               { return value.Must(domain.ParseQty(n)) }
func key(s string) domain.IdempotencyKey { return value.Must(domain.ParseIdempotencyKey(s)) }

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
		o := domain.Place(oid("o1"), cid("alice"), pid("apple"), qty(1), rid("r1"), now)
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
	alice, bob := cid("alice"), cid("bob")
	k1, k2, none := key("k1"), key("k2"), domain.IdempotencyKey{}
	a := domain.NewOrderID(alice, k1)
	if a != domain.NewOrderID(alice, k1) || a == domain.NewOrderID(bob, k1) || a == domain.NewOrderID(alice, k2) {
		t.Fatal("ids derived from keys must be stable per customer and key")
	}
	// Derived ids are kept: a retry after a release must name the order stored before it.
	if a.String() != "e5489c1f-dcef-5465-a584-779bc09fd4ea" {
		t.Fatalf("the id derived from alice and k1 changed to %s", a)
	}
	if first, second := domain.NewOrderID(alice, none), domain.NewOrderID(alice, none); first == second {
		t.Fatal("orders without a key must get fresh ids")
	}
	if _, err := domain.ParseOrderID(a.String()); err != nil {
		t.Fatalf("derived id %s is not a valid order id: %v", a, err)
	}
}

// Every value type is made only through its Parse, which refuses what the rules refuse and
// names the field it refused; what Parse accepts reads back as it came in, in strings,
// numbers and log lines alike. (platform/value's test covers the rules themselves.)
func TestValueTypes(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", " a", "a b", "-a", "ä", strings.Repeat("a", 65)} {
		if _, err := domain.ParseOrderID(bad); !errors.Is(err, domain.ErrInvalidInput) || !strings.Contains(err.Error(), "orderId") {
			t.Errorf("order id %q: %v", bad, err)
		}
		if _, err := domain.ParseCustomerID(bad); !errors.Is(err, domain.ErrInvalidInput) || !strings.Contains(err.Error(), "customerId") {
			t.Errorf("customer id %q: %v", bad, err)
		}
		if _, err := domain.ParseProductID(bad); !errors.Is(err, domain.ErrInvalidInput) || !strings.Contains(err.Error(), "productId") {
			t.Errorf("product id %q: %v", bad, err)
		}
		if _, err := domain.ParseReservationID(bad); !errors.Is(err, domain.ErrInvalidInput) || !strings.Contains(err.Error(), "reservationId") {
			t.Errorf("reservation id %q: %v", bad, err)
		}
	}
	for _, n := range []int{-1, 0, domain.MaxQty + 1} {
		if _, err := domain.ParseQty(n); !errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("qty %d: %v", n, err)
		}
	}
	for _, bad := range []string{"with space", "tab\t", "ü", strings.Repeat("k", 129)} {
		if _, err := domain.ParseIdempotencyKey(bad); !errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("idempotency key %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "placed", "SHIPPED"} {
		if _, err := domain.ParseStatus(bad); !errors.Is(err, domain.ErrInvalidInput) || !strings.Contains(err.Error(), "order status") {
			t.Errorf("status %q: %v", bad, err)
		}
	}
	if k, err := domain.ParseIdempotencyKey(""); err != nil || !k.IsZero() {
		t.Errorf("an absent idempotency key: %v %v", k, err)
	}
	for _, st := range []domain.Status{domain.Placed, domain.DeliveryStarted, domain.Cancelled} {
		if got, err := domain.ParseStatus(st.String()); err != nil || got != st {
			t.Errorf("status %s reads back as %s, %v", st, got, err)
		}
	}
	if q := qty(domain.MaxQty); q.Int() != domain.MaxQty || q.String() != "1000" {
		t.Errorf("qty %d reads back as %d, %s", domain.MaxQty, q.Int(), q)
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m",
		"orderId", oid("o-1"), "customerId", cid("alice"), "productId", pid("apple"), "qty", qty(3),
		"reservationId", rid("r.1"), "key", key("k_1"), "status", domain.DeliveryStarted)
	want := `"orderId":"o-1","customerId":"alice","productId":"apple","qty":3,"reservationId":"r.1","key":"k_1","status":"DELIVERY_STARTED"`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("logged %s, want %s", buf.String(), want)
	}
}
