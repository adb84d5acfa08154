package domain

import (
	"time"

	"github.com/skmall/skmall/platform/value"
)

type reservationStatusTag struct{}

// ReservationStatus is where a reservation stands: one of Reserved, Shipped, Released and
// Restocked. Only ParseReservationStatus makes one.
type ReservationStatus = value.Name[reservationStatusTag]

// The values of ReservationStatus.
var (
	Reserved  = value.NameOf[reservationStatusTag]("RESERVED")  // units set aside for an order
	Shipped   = value.NameOf[reservationStatusTag]("SHIPPED")   // the delivery started: the units left the stock
	Released  = value.NameOf[reservationStatusTag]("RELEASED")  // the order was cancelled (or never stored) before delivery
	Restocked = value.NameOf[reservationStatusTag]("RESTOCKED") // the order was cancelled after its delivery started
)

// ParseReservationStatus accepts the closed set of statuses.
func ParseReservationStatus(s string) (ReservationStatus, error) {
	return value.ParseName("reservation status", s, Reserved, Shipped, Released, Restocked)
}

// Reservation is the stock one order holds on one product. Each placement attempt of an order
// names the reservation it makes, so that a reservation given up for one attempt is never
// mistaken for another attempt's.
type Reservation struct {
	id        ReservationID
	order     OrderID
	product   ProductID
	qty       Qty
	status    ReservationStatus
	createdAt time.Time
	updatedAt time.Time
}

// RestoreReservation rebuilds a reservation from storage.
func RestoreReservation(id ReservationID, order OrderID, product ProductID, qty Qty, status ReservationStatus, createdAt, updatedAt time.Time) Reservation {
	return Reservation{id: id, order: order, product: product, qty: qty, status: status, createdAt: createdAt, updatedAt: updatedAt}
}

func (r Reservation) ID() ReservationID { return r.id }

func (r Reservation) Order() OrderID            { return r.order }
func (r Reservation) Product() ProductID        { return r.product }
func (r Reservation) Qty() Qty                  { return r.qty }
func (r Reservation) Status() ReservationStatus { return r.status }
func (r Reservation) CreatedAt() time.Time      { return r.createdAt }
func (r Reservation) UpdatedAt() time.Time      { return r.updatedAt }

// Is reports whether this is the reservation named id. A reservation stored before reservations
// had names answers to the empty name.
func (r Reservation) Is(id ReservationID) bool { return r.id == id }

// Matches reports whether a repeated reservation request asks for what this one holds.
func (r Reservation) Matches(product ProductID, qty Qty) bool {
	return r.product == product && r.qty == qty
}
