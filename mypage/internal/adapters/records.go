// Package adapters keeps customers' pages: in a Dapr state store, or in memory for tests.
package adapters

import (
	"strconv"
	"time"

	"github.com/skmall/skmall/mypage/internal/domain"
)

// rowRecord is how a row is stored: one document per order. Its field names are the ones
// rows were first stored under (Go's own names, hence the capitals), so that stored rows stay
// readable.
type rowRecord struct {
	Customer  string    `json:"Customer"`
	OrderID   string    `json:"OrderID"`
	ProductID string    `json:"ProductID"`
	Qty       int       `json:"Qty"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
	// Heard holds the name of each fact heard, with true.
	Heard map[string]bool `json:"Heard"`
	// Listed: the order is on its customer's list.
	Listed bool `json:"listed,omitempty"`
}

// toRecord is the stored form of a row; listed says whether the order is on its customer's
// list.
func toRecord(r domain.Row, listed bool) rowRecord {
	heard := map[string]bool{}
	for _, f := range r.Heard() {
		heard[f.String()] = true
	}
	return rowRecord{
		Customer: r.Customer().String(), OrderID: r.OrderID().String(), ProductID: r.ProductID().String(),
		Qty: r.Qty().Int(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(), Heard: heard, Listed: listed,
	}
}

// row restores the stored row.
func (rec rowRecord) row() (domain.Row, error) {
	c, err := domain.ParseCustomerID(rec.Customer)
	if err != nil {
		return domain.Row{}, corruptError{rec.OrderID, err}
	}
	id, err := domain.ParseOrderID(rec.OrderID)
	if err != nil {
		return domain.Row{}, corruptError{rec.OrderID, err}
	}
	product, err := domain.ParseProductID(rec.ProductID)
	if err != nil {
		return domain.Row{}, corruptError{rec.OrderID, err}
	}
	qty, err := domain.ParseQty(rec.Qty)
	if err != nil {
		return domain.Row{}, corruptError{rec.OrderID, err}
	}
	var heard []domain.Fact
	for name, yes := range rec.Heard {
		f, err := domain.ParseFact(name)
		if err != nil {
			return domain.Row{}, corruptError{rec.OrderID, err}
		}
		if yes {
			heard = append(heard, f)
		}
	}
	return domain.RestoreRow(c, id, product, qty, rec.CreatedAt, rec.UpdatedAt, heard), nil
}

// corruptError is a stored row that does not restore: the store's fault, never the caller's
// invalid input. It tells the parse error in its text but does not unwrap to it, for its class
// (domain.ErrInvalidInput) would have the caller answered 422 and the event dead-lettered.
type corruptError struct {
	orderID string
	cause   error
}

func (e corruptError) Error() string {
	return "stored row of order " + strconv.Quote(e.orderID) + " does not restore: " + e.cause.Error()
}
