package value_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/value"
)

type orderTag struct{}

type statusTag struct{}

var (
	placed    = value.NameOf[statusTag]("PLACED")
	cancelled = value.NameOf[statusTag]("CANCELLED")
)

func TestValuesAreMadeOnlyFromWhatParseAccepts(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"o-1", "A.b_c", strings.Repeat("x", 64)} {
		if id, err := value.ParseID[orderTag]("orderId", s); err != nil || id.String() != s {
			t.Errorf("ParseID(%q) = %v, %v", s, id, err)
		}
	}
	for _, s := range []string{"", "-o", "o 1", "o/1", strings.Repeat("x", 65)} {
		if _, err := value.ParseID[orderTag]("orderId", s); !errors.Is(err, value.ErrInvalid) || !strings.Contains(err.Error(), "orderId") {
			t.Errorf("ParseID(%q) = %v, want a refusal naming orderId", s, err)
		}
	}
	for _, n := range []int{1, value.MaxQty} {
		if q, err := value.ParseQty(n); err != nil || q.Int() != n {
			t.Errorf("ParseQty(%d) = %v, %v", n, q, err)
		}
	}
	for _, n := range []int{0, -1, value.MaxQty + 1} {
		if _, err := value.ParseQty(n); !errors.Is(err, value.ErrInvalid) {
			t.Errorf("ParseQty(%d) = %v, want a refusal", n, err)
		}
	}
	if s, err := value.ParseName("status", "CANCELLED", placed, cancelled); err != nil || s != cancelled {
		t.Errorf("ParseName = %v, %v", s, err)
	}
	if _, err := value.ParseName("status", "SHIPPED", placed, cancelled); !errors.Is(err, value.ErrInvalid) {
		t.Errorf("an unknown name: %v", err)
	}
	if !(value.ID[orderTag]{}).IsZero() || !(value.Qty{}).IsZero() || !(value.Name[statusTag]{}).IsZero() {
		t.Error("zero values must report IsZero")
	}
}

func TestValuesLogAsWhatTheyAre(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x",
		"orderId", value.Must(value.ParseID[orderTag]("orderId", "o-1")), "qty", value.Must(value.ParseQty(3)), "status", placed)
	if !strings.Contains(out.String(), `"orderId":"o-1","qty":3,"status":"PLACED"`) {
		t.Fatalf("log line: %s", out.String())
	}
}

func TestMustPanicsOnARefusal(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("Must accepted a refusal")
		}
	}()
	value.Must(value.ParseQty(0))
}
