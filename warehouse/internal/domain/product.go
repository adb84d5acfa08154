package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Product is a product and its stock. Available stock is what is on hand and not reserved.
type Product struct {
	id       ProductID
	name     string
	onHand   int
	reserved int
	// holds are the reservations whose order is not known to be stored yet, with the time
	// after which the warehouse asks whether the order exists and gives the stock back if not.
	holds map[OrderID]time.Time
}

// NewProduct registers a product with its initial stock.
func NewProduct(id ProductID, name string, stock int) (Product, error) {
	if stock < 0 || stock > MaxStock {
		return Product{}, fmt.Errorf("%w: stock must be between 0 and %d, got %d", ErrInvalidInput, MaxStock, stock)
	}
	return Product{id: id, name: name, onHand: stock}, nil
}

// RestoreProduct rebuilds a product from storage.
func RestoreProduct(id ProductID, name string, onHand, reserved int, holds map[OrderID]time.Time) Product {
	return Product{id: id, name: name, onHand: onHand, reserved: reserved, holds: maps.Clone(holds)}
}

func (p Product) ID() ProductID  { return p.id }
func (p Product) Name() string   { return p.name }
func (p Product) OnHand() int    { return p.onHand }
func (p Product) Reserved() int  { return p.reserved }
func (p Product) Available() int { return p.onHand - p.reserved }

// Holds returns the reservations whose order is not confirmed yet, with their deadlines.
func (p Product) Holds() map[OrderID]time.Time { return maps.Clone(p.holds) }

// ExpiredHolds returns the orders whose reservation is unconfirmed past its deadline.
func (p Product) ExpiredHolds(now time.Time) []OrderID {
	var out []OrderID
	for o, until := range p.holds {
		if now.After(until) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b OrderID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Reserve sets qty units aside for an order, if that many are available. The reservation is
// held until the order is confirmed; past hold, an unconfirmed reservation whose order was
// never stored is given back (see ExpiredHolds).
func (p *Product) Reserve(id ReservationID, order OrderID, qty Qty, now time.Time, hold time.Duration) (Reservation, error) {
	if qty.Int() > p.Available() {
		return Reservation{}, fmt.Errorf("%w: %s has %d available, order %s asks for %d", ErrOutOfStock, p.id, p.Available(), order, qty.Int())
	}
	p.reserved += qty.Int()
	if p.holds == nil {
		p.holds = map[OrderID]time.Time{}
	}
	p.holds[order] = now.Add(hold)
	return Reservation{id: id, order: order, product: p.id, qty: qty, status: Reserved, createdAt: now, updatedAt: now}, nil
}

// Replace gives back a reservation whose attempt was abandoned and reserves the same stock
// afresh under a new name, for the order's next attempt.
func (p *Product) Replace(r *Reservation, id ReservationID, qty Qty, now time.Time, hold time.Duration) (Reservation, error) {
	p.GiveBack(r, now)
	return p.Reserve(id, r.order, qty, now, hold)
}

// ExtendHold gives an unconfirmed reservation a new deadline: its order is being placed again
// right now, so it is too early to ask whether the order exists. It reports whether the
// reservation was held.
func (p *Product) ExtendHold(r *Reservation, now time.Time, hold time.Duration) bool {
	if _, held := p.holds[r.order]; !held {
		return false
	}
	p.holds[r.order] = now.Add(hold)
	return true
}

// Confirm records that the reservation's order is stored: the stock stays reserved until the
// delivery starts or the order is cancelled. It reports whether anything changed.
func (p *Product) Confirm(r *Reservation) bool {
	if _, held := p.holds[r.order]; !held {
		return false
	}
	delete(p.holds, r.order)
	return true
}

// Adjust changes the stock on hand by delta (an admin's count, a delivery from a supplier).
// Stock already promised to orders cannot be taken away.
func (p *Product) Adjust(delta int) error {
	next := p.onHand + delta
	switch {
	case next > MaxStock:
		return fmt.Errorf("%w: stock on hand may not exceed %d", ErrInvalidInput, MaxStock)
	case next < p.reserved:
		return fmt.Errorf("%w: %s has %d on hand and %d reserved; it can lose at most %d", ErrBelowReserved, p.id, p.onHand, p.reserved, p.onHand-p.reserved)
	}
	p.onHand = next
	return nil
}

// ShipReserved turns a reservation into a real stock decrease: the delivery started.
// It reports whether anything changed; a reservation already shipped, released or restocked
// stays as it is, so a repeated or late event changes nothing.
func (p *Product) ShipReserved(r *Reservation, now time.Time) bool {
	if r.status != Reserved {
		return false
	}
	p.onHand -= r.qty.Int()
	p.reserved -= r.qty.Int()
	delete(p.holds, r.order)
	r.status, r.updatedAt = Shipped, now
	return true
}

// GiveBack returns a cancelled order's quantity: the reservation is released if its delivery
// never started, the stock restocked if it did. It reports whether anything changed.
func (p *Product) GiveBack(r *Reservation, now time.Time) bool {
	switch r.status {
	case Reserved:
		p.reserved -= r.qty.Int()
		r.status = Released
	case Shipped:
		p.onHand += r.qty.Int()
		r.status = Restocked
	default:
		return false
	}
	delete(p.holds, r.order)
	r.updatedAt = now
	return true
}
