// Package adapters connects the warehouse to the outside: its Dapr state store, and an
// in-memory store for tests.
package adapters

import (
	"time"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// productRecord is how a product is stored.
type productRecord struct {
	ProductID string                       `json:"productId"`
	Name      string                       `json:"name"`
	OnHand    int                          `json:"onHand"`
	Reserved  int                          `json:"reserved"`
	Holds     map[domain.OrderID]time.Time `json:"holds,omitempty"`
}

func toProductRecord(p domain.Product) productRecord {
	return productRecord{ProductID: string(p.ID()), Name: p.Name(), OnHand: p.OnHand(), Reserved: p.Reserved(), Holds: p.Holds()}
}

func (r productRecord) product() domain.Product {
	return domain.RestoreProduct(domain.ProductID(r.ProductID), r.Name, r.OnHand, r.Reserved, r.Holds)
}

// catalog lists the ids of all products, so that they can be visited.
type catalog struct {
	ProductIDs []domain.ProductID `json:"productIds"`
}

// reservationRecord is how a reservation is stored.
type reservationRecord struct {
	ID        string    `json:"id,omitempty"`
	OrderID   string    `json:"orderId"`
	ProductID string    `json:"productId"`
	Qty       int       `json:"qty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toReservationRecord(r domain.Reservation) reservationRecord {
	return reservationRecord{
		ID: string(r.ID()), OrderID: string(r.Order()), ProductID: string(r.Product()), Qty: int(r.Qty()),
		Status: string(r.Status()), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
}

func (r reservationRecord) reservation() (domain.Reservation, error) {
	st, err := domain.ParseReservationStatus(r.Status)
	if err != nil {
		return domain.Reservation{}, err
	}
	return domain.RestoreReservation(domain.ReservationID(r.ID), domain.OrderID(r.OrderID), domain.ProductID(r.ProductID),
		domain.Qty(r.Qty), st, r.CreatedAt, r.UpdatedAt), nil
}
