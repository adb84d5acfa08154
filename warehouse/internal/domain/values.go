// Package domain is the warehouse's model of stock: products, their stock on hand, and the
// reservations orders hold on it. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

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

// ProductID names a product.
type ProductID string

// ParseProductID accepts 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.
func ParseProductID(s string) (ProductID, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: productId must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, s)
	}
	return ProductID(s), nil
}

// OrderID names the order a reservation is for.
type OrderID string

// ParseOrderID accepts the same shape as a product id.
func ParseOrderID(s string) (OrderID, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: orderId must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, s)
	}
	return OrderID(s), nil
}

// ReservationID names one reservation of an order.
type ReservationID string

// ParseReservationID accepts the same shape as a product id.
func ParseReservationID(s string) (ReservationID, error) {
	if !idPattern.MatchString(s) {
		return "", fmt.Errorf("%w: reservationId must be 1-64 letters, digits, '.', '_' or '-', got %q", ErrInvalidInput, s)
	}
	return ReservationID(s), nil
}

// Qty is how many units one order reserves: 1 to MaxQty.
type Qty int

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) {
	if n < 1 || n > MaxQty {
		return 0, fmt.Errorf("%w: qty must be between 1 and %d, got %d", ErrInvalidInput, MaxQty, n)
	}
	return Qty(n), nil
}

// ParseName accepts a product name of 1 to 200 characters.
func ParseName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return "", fmt.Errorf("%w: name must be 1-200 characters", ErrInvalidInput)
	}
	return s, nil
}
