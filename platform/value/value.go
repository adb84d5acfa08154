// Package value holds the value types each service's domain builds its own from: ids in the
// shop's id format and order-line quantities, as the contracts define them
// (contracts/schemas), and closed sets of names such as statuses. Each is a struct with an
// unexported field, made only by its Parse, so every value a domain is handed has been
// checked; a cast or a bare constant does not compile.
//
// The type parameter K is a tag only the domain can name (value.ID[orderTag]): it keeps a
// domain's kinds of id apart (an order id is not a customer id), and lets nobody outside the
// domain make one of its names.
package value

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
)

// ErrInvalid is what every refusal here wraps. Domains use it as their ErrInvalidInput, so
// one rule at the edge answers all of them alike.
var ErrInvalid = errors.New("invalid input")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ID names something in the shop: 1-64 letters, digits, '.', '_' or '-', starting with a
// letter or digit. The zero ID is none.
type ID[K any] struct{ s string }

// ParseID checks s against the id format; field names it in the refusal.
func ParseID[K any](field, s string) (ID[K], error) {
	if !idPattern.MatchString(s) {
		return ID[K]{}, fmt.Errorf("%w: %s must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", ErrInvalid, field, s)
	}
	return ID[K]{s}, nil
}

func (id ID[K]) String() string { return id.s }

// IsZero reports whether id is the zero ID (none).
func (id ID[K]) IsZero() bool { return id.s == "" }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ID[K]) LogValue() slog.Value { return slog.StringValue(id.s) }

// MaxQty is the most units of one product an order line may carry.
const MaxQty = 1000

// Qty is how many units of a product an order line carries: 1 to MaxQty. The zero Qty is
// none.
type Qty struct{ n int }

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return Qty{}, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalid, MaxQty, n)
	}
	return Qty{n}, nil
}

// Int is the quantity as a number.
func (q Qty) Int() int { return q.n }

func (q Qty) String() string { return strconv.Itoa(q.n) }

// IsZero reports whether q is the zero Qty (none).
func (q Qty) IsZero() bool { return q.n == 0 }

// LogValue logs the quantity as a number.
func (q Qty) LogValue() slog.Value { return slog.IntValue(q.n) }

// Name is one of a closed set of names, such as a status. The domain declares the set with
// NameOf and reads names with ParseName against it. The zero Name is none.
type Name[K any] struct{ s string }

// NameOf declares a name of the set tagged K; only the domain that owns K can call it.
func NameOf[K any](s string) Name[K] { return Name[K]{s} }

// ParseName returns the name s if it is one of set; field names it in the refusal.
func ParseName[K any](field, s string, set ...Name[K]) (Name[K], error) {
	if i := slices.IndexFunc(set, func(n Name[K]) bool { return n.s == s }); i >= 0 {
		return set[i], nil
	}
	return Name[K]{}, fmt.Errorf("%w: unknown %s %q", ErrInvalid, field, s)
}

func (n Name[K]) String() string { return n.s }

// IsZero reports whether n is the zero Name (none).
func (n Name[K]) IsZero() bool { return n.s == "" }

// LogValue logs the name as its string.
func (n Name[K]) LogValue() slog.Value { return slog.StringValue(n.s) }

// Must is a Parse for values known to be valid (tests, constants): it panics on a refusal.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
