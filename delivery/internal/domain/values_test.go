package domain_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

func oid(s string) domain.OrderID { return value.Must(domain.ParseOrderID(s)) }

func orderLine(order, customer, product string, qty int) domain.OrderLine {
	return value.Must(domain.ParseOrderLine(order, customer, product, qty))
}

func TestParseIDs(t *testing.T) {
	t.Parallel()
	// Keyed by the field each parser names in its refusal.
	parsers := map[string]func(string) (string, error){
		"orderId": func(s string) (string, error) { id, err := domain.ParseOrderID(s); return id.String(), err },
		"customerId": func(s string) (string, error) {
			id, err := domain.ParseCustomerID(s)
			return id.String(), err
		},
		"productId": func(s string) (string, error) { id, err := domain.ParseProductID(s); return id.String(), err },
		"deliveryId": func(s string) (string, error) {
			id, err := domain.ParseDeliveryID(s)
			return id.String(), err
		},
	}
	for name, parse := range parsers {
		for _, s := range []string{"o1", "A.b_c-9", strings.Repeat("x", 64)} {
			if got, err := parse(s); err != nil || got != s {
				t.Errorf("%s id %q: %q, %v", name, s, got, err)
			}
		}
		for _, s := range []string{"", "-a", ".a", "a b", "a/b", strings.Repeat("x", 65)} {
			if got, err := parse(s); !errors.Is(err, domain.ErrInvalidInput) || got != "" || !strings.Contains(err.Error(), name) {
				t.Errorf("%s %q: %q, %v; want invalid input naming %s", name, s, got, err, name)
			}
		}
	}
}

func TestParseQty(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 7, domain.MaxQty} {
		if q, err := domain.ParseQty(n); err != nil || q.Int() != n {
			t.Errorf("qty %d: %v, %v", n, q, err)
		}
	}
	for _, n := range []int{-1, 0, domain.MaxQty + 1} {
		if q, err := domain.ParseQty(n); !errors.Is(err, domain.ErrInvalidInput) || q != (domain.Qty{}) {
			t.Errorf("qty %d: %v, %v; want invalid input", n, q, err)
		}
	}
	if got := value.Must(domain.ParseQty(42)).String(); got != "42" {
		t.Errorf("String: %q", got)
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for _, st := range []domain.Status{domain.Started, domain.Cancelled} {
		if got, err := domain.ParseStatus(st.String()); err != nil || got != st {
			t.Errorf("status %v: %v, %v", st, got, err)
		}
	}
	if domain.Started.String() != "STARTED" || domain.Cancelled.String() != "CANCELLED" {
		t.Errorf("statuses are %q and %q", domain.Started, domain.Cancelled)
	}
	for _, s := range []string{"", "started", "DELIVERED"} {
		if got, err := domain.ParseStatus(s); !errors.Is(err, domain.ErrInvalidInput) || got != (domain.Status{}) {
			t.Errorf("status %q: %v, %v; want invalid input", s, got, err)
		}
	}
}

func TestOrderLine(t *testing.T) {
	t.Parallel()
	o, c, p, q := oid("o1"), value.Must(domain.ParseCustomerID("alice")), value.Must(domain.ParseProductID("apple")), value.Must(domain.ParseQty(2))
	l, err := domain.NewOrderLine(o, c, p, q)
	if err != nil || l.Order() != o || l.Customer() != c || l.Product() != p || l.Qty() != q {
		t.Fatalf("line %+v, %v", l, err)
	}
	if parsed, err := domain.ParseOrderLine("o1", "alice", "apple", 2); err != nil || parsed != l {
		t.Fatalf("parsed line %+v, %v", parsed, err)
	}
	for name, f := range map[string]func() (domain.OrderLine, error){
		"no order":    func() (domain.OrderLine, error) { return domain.NewOrderLine(domain.OrderID{}, c, p, q) },
		"no customer": func() (domain.OrderLine, error) { return domain.NewOrderLine(o, domain.CustomerID{}, p, q) },
		"no product":  func() (domain.OrderLine, error) { return domain.NewOrderLine(o, c, domain.ProductID{}, q) },
		"no qty":      func() (domain.OrderLine, error) { return domain.NewOrderLine(o, c, p, domain.Qty{}) },
		"bad order":   func() (domain.OrderLine, error) { return domain.ParseOrderLine("", "alice", "apple", 2) },
		"bad cust":    func() (domain.OrderLine, error) { return domain.ParseOrderLine("o1", "", "apple", 2) },
		"bad product": func() (domain.OrderLine, error) { return domain.ParseOrderLine("o1", "alice", "", 2) },
		"bad qty":     func() (domain.OrderLine, error) { return domain.ParseOrderLine("o1", "alice", "apple", -2) },
	} {
		if l, err := f(); !errors.Is(err, domain.ErrInvalidInput) || l != (domain.OrderLine{}) {
			t.Errorf("%s: %+v, %v; want invalid input", name, l, err)
		}
	}
}

// Values log as what they stand for, not as empty structs.
func TestLogValues(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	o := oid("o1")
	log.Info("x", "order", o, "customer", value.Must(domain.ParseCustomerID("alice")), "product", value.Must(domain.ParseProductID("apple")),
		"qty", value.Must(domain.ParseQty(3)), "status", domain.Cancelled, "delivery", domain.DeliveryIDFor(o))
	want := `"order":"o1","customer":"alice","product":"apple","qty":3,"status":"CANCELLED","delivery":"` + domain.DeliveryIDFor(o).String() + `"`
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("logged %s, want %s", buf.String(), want)
	}
}

// The delivery id is derived from the order id alone, as it always was: stored deliveries and
// published events keep their ids.
func TestDeliveryIDFor(t *testing.T) {
	t.Parallel()
	id := domain.DeliveryIDFor(oid("o1"))
	if id.String() != "3bb0818b-cc08-5561-bac7-4c1d1491915e" {
		t.Fatalf("id %q", id)
	}
	if id != domain.DeliveryIDFor(oid("o1")) || id == domain.DeliveryIDFor(oid("o2")) {
		t.Fatal("delivery ids are not one per order")
	}
	if parsed, err := domain.ParseDeliveryID(id.String()); err != nil || parsed != id {
		t.Fatalf("parse %q: %v, %v", id, parsed, err)
	}
}

func TestDeliveryLife(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	line := orderLine("o1", "alice", "apple", 2)
	d := domain.Start(line, now)
	if d.Status() != domain.Started || !d.WasStarted() || d.Line() != line || d.ID() != domain.DeliveryIDFor(line.Order()) {
		t.Fatalf("started %+v", d)
	}
	if !d.Cancel(now.Add(time.Minute)) || d.Status() != domain.Cancelled || !d.UpdatedAt().Equal(now.Add(time.Minute)) || !d.CreatedAt().Equal(now) {
		t.Fatalf("cancelled %+v", d)
	}
	if d.Cancel(now.Add(time.Hour)) || !d.UpdatedAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("cancelled twice %+v", d)
	}
	u := domain.CancelUnstarted(line, now)
	if u.Status() != domain.Cancelled || u.WasStarted() || u.ID() != d.ID() {
		t.Fatalf("cancelled unstarted %+v", u)
	}
}
