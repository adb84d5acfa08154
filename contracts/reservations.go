package contracts

// The reservation API: order asks the warehouse, through Dapr service invocation, to set stock
// aside for an order before it stores it, and to give back what an abandoned attempt set aside;
// the warehouse asks order to settle reservations that stay unconfirmed. Described for other
// languages in warehouse/api/openapi.yaml and order/api/openapi.yaml (the internal paths).
//
// Business refusals are answers (200 with a reason), never errors: Dapr's circuit breaker
// counts every non-2xx reply as a failure of the warehouse.

// ReserveStock is the body of POST /reservations on the warehouse.
type ReserveStock struct {
	OrderID   string `json:"orderId"`
	ProductID string `json:"productId"`
	Qty       int    `json:"qty"`
	// ReservationID names this attempt's reservation; each attempt at placing an order makes
	// a new one.
	ReservationID string `json:"reservationId"`
	// Replaces names the reservations of the order's abandoned attempts (the order service
	// promised never to store the order on them): the warehouse reserves afresh instead of
	// handing one of them out again.
	Replaces []string `json:"replaces,omitempty"`
}

// Refusal says why the warehouse did not reserve.
type Refusal string

// The reasons the warehouse refuses a reservation. RefusedClash: the order already holds a
// reservation of another product or quantity.
const (
	RefusedOutOfStock     Refusal = "OUT_OF_STOCK"
	RefusedUnknownProduct Refusal = "UNKNOWN_PRODUCT"
	RefusedClash          Refusal = "RESERVATION_CLASH"
)

// Reservation is the warehouse's answer to ReserveStock.
type Reservation struct {
	OrderID   string `json:"orderId"`
	ProductID string `json:"productId"`
	Qty       int    `json:"qty"`
	Reserved  bool   `json:"reserved"`
	// Reason is set when Reserved is false.
	Reason Refusal `json:"reason,omitempty"`
	// ReservationID is the reservation the order holds: this attempt's, or the one an earlier
	// attempt with the same order id made (an idempotent repeat).
	ReservationID string `json:"reservationId,omitempty"`
}

// ReleaseStock is the body of POST /reservations/{orderId}/release: it gives back the named
// reservation if it is still held, and nothing else.
type ReleaseStock struct {
	ReservationID string `json:"reservationId"`
}

// SettleOrder is the body of POST /internal/orders/{orderId}/settle on the order service.
type SettleOrder struct {
	ReservationID string `json:"reservationId"`
}

// OrderSettlement is order's answer: whether the order is stored. When it is not, order has
// made sure it never will be on that reservation, which may be given back.
type OrderSettlement struct {
	OrderID       string `json:"orderId"`
	ReservationID string `json:"reservationId"`
	Stored        bool   `json:"stored"`
}
