package domain_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/value"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

func TestIDsParse(t *testing.T) {
	t.Parallel()
	parsers := map[string]func(string) (string, error){
		"productId": func(s string) (string, error) { id, err := domain.ParseProductID(s); return id.String(), err },
		"orderId":   func(s string) (string, error) { id, err := domain.ParseOrderID(s); return id.String(), err },
		"reservationId": func(s string) (string, error) {
			id, err := domain.ParseReservationID(s)
			return id.String(), err
		},
	}
	good := []string{"a", "apple", "A-1_b.2", "0", strings.Repeat("x", 64)}
	bad := []string{"", "-a", ".a", "_a", "a/b", "a b", "äpfel", strings.Repeat("x", 65), "a\n"}
	for field, parse := range parsers {
		for _, s := range good {
			if got, err := parse(s); err != nil || got != s {
				t.Errorf("%s %q: %q, %v", field, s, got, err)
			}
		}
		for _, s := range bad {
			got, err := parse(s)
			if !errors.Is(err, domain.ErrInvalidInput) || got != "" {
				t.Errorf("%s %q: %q, %v; want invalid input and no id", field, s, got, err)
			}
			if err != nil && !strings.Contains(err.Error(), field) {
				t.Errorf("%s %q: the error %q does not name the field", field, s, err)
			}
		}
	}
}

func TestQtyParse(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, domain.MaxQty} {
		q, err := domain.ParseQty(n)
		if err != nil || q.Int() != n || q != value.Must(domain.ParseQty(n)) {
			t.Errorf("ParseQty(%d) = %v, %v", n, q, err)
		}
	}
	for _, n := range []int{0, -1, domain.MaxQty + 1} {
		if q, err := domain.ParseQty(n); !errors.Is(err, domain.ErrInvalidInput) || q != (domain.Qty{}) {
			t.Errorf("ParseQty(%d) = %v, %v; want invalid input", n, q, err)
		}
	}
	if got := value.Must(domain.ParseQty(12)).String(); got != "12" {
		t.Errorf("String: %q", got)
	}
}

func TestReservationStatusIsAClosedSet(t *testing.T) {
	t.Parallel()
	for _, st := range []domain.ReservationStatus{domain.Reserved, domain.Shipped, domain.Released, domain.Restocked} {
		if got, err := domain.ParseReservationStatus(st.String()); err != nil || got != st {
			t.Errorf("%s: %v, %v", st, got, err)
		}
	}
	for _, s := range []string{"", "reserved", "LOST"} {
		if st, err := domain.ParseReservationStatus(s); !errors.Is(err, domain.ErrInvalidInput) || st != (domain.ReservationStatus{}) {
			t.Errorf("%q: %v, %v; want invalid input", s, st, err)
		}
	}
}

// Values log as what they are, not as empty structs.
func TestValuesLogAsTheirValue(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x",
		"productId", value.Must(domain.ParseProductID("apple")), "orderId", value.Must(domain.ParseOrderID("o1")),
		"reservationId", value.Must(domain.ParseReservationID("r1")), "qty", value.Must(domain.ParseQty(3)), "status", domain.Shipped)
	want := `"productId":"apple","orderId":"o1","reservationId":"r1","qty":3,"status":"SHIPPED"`
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("logged %s, want %s", buf.String(), want)
	}
}

func TestZeroReservationID(t *testing.T) {
	t.Parallel()
	if !(domain.ReservationID{}).IsZero() || value.Must(domain.ParseReservationID("r1")).IsZero() {
		t.Fatal("IsZero")
	}
}
