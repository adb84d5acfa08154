// Package domain is the warehouse's model of stock: products, their stock on hand, and the
// reservations orders hold on it. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// The domain's errors; callers tell them apart with errors.Is.
var (
	ErrInvalidInput       = errors.New("invalid input")
	ErrUnknownProduct     = errors.New("unknown product")
	ErrProductExists      = errors.New("product already registered")
	ErrOutOfStock         = errors.New("out of stock")
	ErrBelowReserved      = errors.New("stock would fall below what is reserved")
	ErrReservationClash   = errors.New("order already holds a different reservation")
	ErrUnknownReservation = errors.New("unknown reservation")
)

// Limits on quantities: one order line, and a product's whole stock.
const (
	MaxQty   = 1000
	MaxStock = 1_000_000_000
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// parseID is the one rule every id of the warehouse follows: 1 to 64 letters, digits, '.', '_'
// or '-', starting with a letter or digit. field names the id in the error.
func parseID(field, s string) (string, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: %s must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, field, s)
	}
	return s, nil
}

// mustParse is a Parse function for values known to be valid: it panics on anything parse
// refuses.
func mustParse[T any, In any](parse func(In) (T, error), in In) T {
	v, err := parse(in)
	if err != nil {
		panic(err)
	}
	return v
}

// ProductID names a product. Only ParseProductID makes one.
type ProductID struct{ s string }

// ParseProductID accepts 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.
func ParseProductID(s string) (ProductID, error) {
	s, err := parseID("productId", s)
	return ProductID{s}, err
}

// MustParseProductID is ParseProductID for values known to be valid (tests, constants); it
// panics on anything ParseProductID refuses.
func MustParseProductID(s string) ProductID { return mustParse(ParseProductID, s) }

func (id ProductID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ProductID) LogValue() slog.Value { return slog.StringValue(id.s) }

// OrderID names the order a reservation is for. Only ParseOrderID makes one.
type OrderID struct{ s string }

// ParseOrderID accepts the same shape as a product id.
func ParseOrderID(s string) (OrderID, error) {
	s, err := parseID("orderId", s)
	return OrderID{s}, err
}

// MustParseOrderID is ParseOrderID for values known to be valid (tests, constants); it panics
// on anything ParseOrderID refuses.
func MustParseOrderID(s string) OrderID { return mustParse(ParseOrderID, s) }

func (id OrderID) String() string { return id.s }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id OrderID) LogValue() slog.Value { return slog.StringValue(id.s) }

// ReservationID names one reservation of an order. Only ParseReservationID makes one; the
// zero ReservationID is the name of reservations stored before reservations had names.
type ReservationID struct{ s string }

// ParseReservationID accepts the same shape as a product id.
func ParseReservationID(s string) (ReservationID, error) {
	s, err := parseID("reservationId", s)
	return ReservationID{s}, err
}

// MustParseReservationID is ParseReservationID for values known to be valid (tests,
// constants); it panics on anything ParseReservationID refuses.
func MustParseReservationID(s string) ReservationID { return mustParse(ParseReservationID, s) }

func (id ReservationID) String() string { return id.s }

// IsZero reports whether this is the empty name of a reservation stored before reservations
// had names.
func (id ReservationID) IsZero() bool { return id == ReservationID{} }

// LogValue logs the id as its string (slog would otherwise log an empty struct).
func (id ReservationID) LogValue() slog.Value { return slog.StringValue(id.s) }

// Qty is how many units one order reserves: 1 to MaxQty. Only ParseQty makes one.
type Qty struct{ n int }

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return Qty{}, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalidInput, MaxQty, n)
	}
	return Qty{n}, nil
}

// MustParseQty is ParseQty for values known to be valid (tests, constants); it panics on
// anything ParseQty refuses.
func MustParseQty(n int) Qty { return mustParse(ParseQty, n) }

// Int is the number of units.
func (q Qty) Int() int { return q.n }

func (q Qty) String() string { return strconv.Itoa(q.n) }

// LogValue logs the quantity as its number (slog would otherwise log an empty struct).
func (q Qty) LogValue() slog.Value { return slog.IntValue(q.n) }

// ParseName accepts a product name of 1 to 200 characters.
func ParseName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return "", fmt.Errorf("%w: name must be 1-200 characters", ErrInvalidInput)
	}
	return s, nil
}
