package domain_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/value"
)

func TestIDsAreParsed(t *testing.T) {
	t.Parallel()
	parsers := map[string]func(string) (string, error){
		"customerId": func(s string) (string, error) { id, err := domain.ParseCustomerID(s); return id.String(), err },
		"orderId":    func(s string) (string, error) { id, err := domain.ParseOrderID(s); return id.String(), err },
		"productId":  func(s string) (string, error) { id, err := domain.ParseProductID(s); return id.String(), err },
	}
	for field, parse := range parsers {
		for _, ok := range []string{"a", "o-1", "A.b_c-9", strings.Repeat("x", 64)} {
			if got, err := parse(ok); err != nil || got != ok {
				t.Errorf("%s %q: %q, %v", field, ok, got, err)
			}
		}
		for _, bad := range []string{"", "-a", "bad id", "a/b", strings.Repeat("x", 65)} {
			if got, err := parse(bad); !errors.Is(err, domain.ErrInvalidInput) || got != "" || !strings.Contains(err.Error(), field) {
				t.Errorf("%s %q: %q, %v", field, bad, got, err)
			}
		}
	}
}

func TestQtyIsOneToMax(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, domain.MaxQty} {
		if q, err := domain.ParseQty(n); err != nil || q.Int() != n {
			t.Errorf("qty %d: %v, %v", n, q, err)
		}
	}
	for _, n := range []int{-1, 0, domain.MaxQty + 1} {
		if q, err := domain.ParseQty(n); !errors.Is(err, domain.ErrInvalidInput) || q != (domain.Qty{}) {
			t.Errorf("qty %d: %v, %v", n, q, err)
		}
	}
}

// The closed sets keep the names the API, the events and the stored rows use.
func TestClosedSetsKeepTheirNames(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]domain.Fact{
		"OrderPlaced": domain.OrderPlaced, "OrderCancelled": domain.OrderCancelled,
		"DeliveryStarted": domain.DeliveryStarted, "DeliveryCancelled": domain.DeliveryCancelled,
	} {
		if got, err := domain.ParseFact(name); err != nil || got != f || f.String() != name {
			t.Errorf("fact %s: %v, %v", name, got, err)
		}
	}
	for name, s := range map[string]domain.OrderStatus{
		"PLACED": domain.StatusPlaced, "DELIVERY_STARTED": domain.StatusDeliveryStarted, "CANCELLED": domain.StatusCancelled,
	} {
		if got, err := domain.ParseOrderStatus(name); err != nil || got != s || s.String() != name {
			t.Errorf("order status %s: %v, %v", name, got, err)
		}
	}
	for name, s := range map[string]domain.DeliveryStatus{
		"": domain.DeliveryStatusNone, "STARTED": domain.DeliveryStatusStarted, "CANCELLED": domain.DeliveryStatusCancelled,
	} {
		if got, err := domain.ParseDeliveryStatus(name); err != nil || got != s || s.String() != name {
			t.Errorf("delivery status %q: %v, %v", name, got, err)
		}
	}
	if domain.DeliveryStatusNone != (domain.DeliveryStatus{}) {
		t.Error("no delivery is not the zero delivery status")
	}
	for _, bad := range []string{"", "orderPlaced", "PLACED"} {
		if _, err := domain.ParseFact(bad); !errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("fact %q: %v", bad, err)
		}
	}
	if _, err := domain.ParseOrderStatus(""); !errors.Is(err, domain.ErrInvalidInput) {
		t.Errorf("order status \"\": %v", err)
	}
	if _, err := domain.ParseDeliveryStatus("DELIVERY_STARTED"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Errorf("delivery status DELIVERY_STARTED: %v", err)
	}
}

func TestValuesLogAsTheirText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v    slog.LogValuer
		want slog.Value
	}{
		{value.Must(domain.ParseCustomerID("alice")), slog.StringValue("alice")},
		{value.Must(domain.ParseOrderID("o1")), slog.StringValue("o1")},
		{value.Must(domain.ParseProductID("apple")), slog.StringValue("apple")},
		{value.Must(domain.ParseQty(7)), slog.IntValue(7)},
		{domain.DeliveryStarted, slog.StringValue("DeliveryStarted")},
		{domain.StatusCancelled, slog.StringValue("CANCELLED")},
		{domain.DeliveryStatusStarted, slog.StringValue("STARTED")},
	} {
		if got := c.v.LogValue(); !got.Equal(c.want) {
			t.Errorf("%v logs as %v", c.v, got)
		}
	}
	if got := value.Must(domain.ParseQty(7)).String(); got != "7" {
		t.Errorf("qty 7 reads %q", got)
	}
}
