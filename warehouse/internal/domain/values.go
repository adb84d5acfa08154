// Package domain is the warehouse's model of stock: products, their stock on hand, and the
// reservations orders hold on it. It knows nothing of Dapr, HTTP or storage.
package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/skmall/skmall/platform/value"
)

// The domain's errors; callers tell them apart with errors.Is. Every refusal of a value
// (platform/value) is ErrInvalidInput.
var (
	ErrInvalidInput       = value.ErrInvalid
	ErrUnknownProduct     = errors.New("unknown product")
	ErrProductExists      = errors.New("product already registered")
	ErrOutOfStock         = errors.New("out of stock")
	ErrBelowReserved      = errors.New("stock would fall below what is reserved")
	ErrReservationClash   = errors.New("order already holds a different reservation")
	ErrUnknownReservation = errors.New("unknown reservation")
)

// Limits on quantities: one order line, and a product's whole stock.
const (
	MaxQty   = value.MaxQty
	MaxStock = 1_000_000_000
)

type (
	productTag     struct{}
	orderTag       struct{}
	reservationTag struct{}
)

// ProductID names a product. Only ParseProductID makes one.
type ProductID = value.ID[productTag]

// ParseProductID validates a product id.
func ParseProductID(s string) (ProductID, error) { return value.ParseID[productTag]("productId", s) }

// OrderID names the order a reservation is for. Only ParseOrderID makes one.
type OrderID = value.ID[orderTag]

// ParseOrderID validates an order id.
func ParseOrderID(s string) (OrderID, error) { return value.ParseID[orderTag]("orderId", s) }

// ReservationID names one reservation of an order. Only ParseReservationID makes one; the
// zero ReservationID is the name of reservations stored before reservations had names.
type ReservationID = value.ID[reservationTag]

// ParseReservationID validates a reservation id.
func ParseReservationID(s string) (ReservationID, error) {
	return value.ParseID[reservationTag]("reservationId", s)
}

// Qty is how many units one order reserves: 1 to MaxQty. Only ParseQty makes one.
type Qty = value.Qty

// ParseQty rejects zero, negative and absurd quantities.
func ParseQty(n int) (Qty, error) { return value.ParseQty(n) }

// ParseName accepts a product name of 1 to 200 characters.
func ParseName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return "", fmt.Errorf("%w: name must be 1-200 characters", ErrInvalidInput)
	}
	return s, nil
}
