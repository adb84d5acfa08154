// Package adapters connects orders to the outside: the Dapr state store (orders and the watch
// list of their events), pub/sub, the warehouse through Dapr service invocation, and in-memory
// twins of them for tests.
package adapters

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
)

// orderRecord is what is stored under an order id: the order, or, before it is stored, the
// reservations of abandoned attempts at placing it (and no status).
type orderRecord struct {
	OrderID       string `json:"orderId"`
	CustomerID    string `json:"customerId,omitempty"`
	ProductID     string `json:"productId,omitempty"`
	Qty           int    `json:"qty,omitempty"`
	ReservationID string `json:"reservationId,omitempty"`
	Status        string `json:"status,omitempty"`
	// DeliveryCancelled: the delivery service confirmed the cancellation.
	DeliveryCancelled bool      `json:"deliveryCancelled,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	Abandoned         []string  `json:"abandoned,omitempty"`
}

// maxAbandoned bounds the abandoned reservations remembered under one order id; the oldest
// go first, long after any request that held them ended.
const maxAbandoned = 16

func toRecord(o domain.Order) orderRecord {
	return orderRecord{
		OrderID: o.ID().String(), CustomerID: o.Customer().String(), ProductID: o.Product().String(),
		Qty: o.Qty().Int(), ReservationID: o.Reservation().String(), Status: o.Status().String(),
		DeliveryCancelled: o.DeliveryCancelled(), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
}

// unreadable reports a stored value that does not parse. That is the store failing, not the
// caller's invalid input: it is app.ErrUnavailable, with the parse error as its cause.
func unreadable(what string, err error) error {
	return fmt.Errorf("%w: stored %s does not parse: %w", app.ErrUnavailable, what, err)
}

// stored reports whether the record holds an order (not only abandoned attempts).
func (r orderRecord) stored() bool { return r.Status != "" }

func (r orderRecord) order() (domain.Order, error) {
	what := fmt.Sprintf("order %q", r.OrderID)
	id, err := domain.ParseOrderID(r.OrderID)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	customer, err := domain.ParseCustomerID(r.CustomerID)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	product, err := domain.ParseProductID(r.ProductID)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	qty, err := domain.ParseQty(r.Qty)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	reservation, err := domain.ParseReservationID(r.ReservationID)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	st, err := domain.ParseStatus(r.Status)
	if err != nil {
		return domain.Order{}, unreadable(what, err)
	}
	return domain.Restore(id, customer, product, qty, reservation, st, r.DeliveryCancelled, r.CreatedAt, r.UpdatedAt), nil
}

func (r orderRecord) placement() (app.Placement, error) {
	if !r.stored() {
		p := app.Placement{}
		for _, a := range r.Abandoned {
			id, err := domain.ParseReservationID(a)
			if err != nil {
				return app.Placement{}, unreadable(fmt.Sprintf("abandoned attempt of order %q", r.OrderID), err)
			}
			p.Abandoned = append(p.Abandoned, id)
		}
		return p, nil
	}
	o, err := r.order()
	return app.Placement{Order: o, Stored: true}, err
}

// add decides how an order is stored over what the id holds: not over another order, nor on
// an abandoned reservation. write is false when the very same order is already stored.
func (r *orderRecord) add(o orderRecord) (write bool, err error) {
	switch {
	case r == nil:
		return true, nil
	case r.stored() && r.same(o):
		return false, nil
	case r.stored():
		return false, fmt.Errorf("%w: %s", domain.ErrOrderExists, o.OrderID)
	case slices.Contains(r.Abandoned, o.ReservationID):
		return false, fmt.Errorf("%w: order %s, reservation %s", domain.ErrReservationAbandoned, o.OrderID, o.ReservationID)
	}
	return true, nil
}

// changed decides the record of the stored order id after change (nil: change left it as it
// is); domain.ErrUnknownOrder if no order is stored under id.
func (r *orderRecord) changed(id domain.OrderID, change func(*domain.Order) (bool, error)) (*orderRecord, error) {
	if r == nil || !r.stored() {
		return nil, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	o, err := r.order()
	if err != nil {
		return nil, err
	}
	changed, err := change(&o)
	if err != nil || !changed {
		return nil, err
	}
	next := toRecord(o)
	return &next, nil
}

// abandon decides the record that remembers reservation as abandoned; nil when there is
// nothing to write (the order is stored, or the reservation is remembered already).
func (r *orderRecord) abandon(id domain.OrderID, reservation domain.ReservationID) *orderRecord {
	next := orderRecord{OrderID: id.String()}
	if r != nil {
		if r.stored() || slices.Contains(r.Abandoned, reservation.String()) {
			return nil
		}
		next.Abandoned = slices.Clone(r.Abandoned)
	}
	next.Abandoned = append(next.Abandoned, reservation.String())
	if over := len(next.Abandoned) - maxAbandoned; over > 0 {
		next.Abandoned = next.Abandoned[over:]
	}
	return &next
}

func (r orderRecord) same(o orderRecord) bool {
	return r.OrderID == o.OrderID && r.CustomerID == o.CustomerID && r.ProductID == o.ProductID && r.Qty == o.Qty &&
		r.ReservationID == o.ReservationID && r.Status == o.Status && r.DeliveryCancelled == o.DeliveryCancelled &&
		r.CreatedAt.Equal(o.CreatedAt) && r.UpdatedAt.Equal(o.UpdatedAt)
}

// eventTypes names each fact the app announces by the contract's event type, in the events
// published and in the watch list's records: the one place the two meet.
var eventTypes = map[app.Fact]contracts.EventType{
	app.OrderPlaced:    contracts.OrderPlaced,
	app.OrderCancelled: contracts.OrderCancelled,
}

func eventType(f app.Fact) (contracts.EventType, error) {
	if t, ok := eventTypes[f]; ok {
		return t, nil
	}
	return "", fmt.Errorf("no event announces the fact %q", f)
}

func factOf(t contracts.EventType) (app.Fact, error) {
	for f, ft := range eventTypes {
		if ft == t {
			return f, nil
		}
	}
	return app.Fact{}, fmt.Errorf("no order fact is announced as %q", t)
}

// orderEvent is the event that announces fact f of order o. Its id is derived from the event
// type and the order, so an event published again keeps its id; it occurred when the order
// last changed.
func orderEvent(f app.Fact, o domain.Order) (contracts.Event, error) {
	t, err := eventType(f)
	if err != nil {
		return contracts.Event{}, err
	}
	return contracts.Event{
		EventID: contracts.EventID(t, o.ID().String()), EventType: t, OccurredAt: o.UpdatedAt(),
		OrderID: o.ID().String(), CustomerID: o.Customer().String(), ProductID: o.Product().String(), Qty: o.Qty().Int(),
	}, nil
}

// The watch list keeps each watched event in a small document of the watches that fall due in
// the same second (spread over shards), so that a watch costs the same whatever else is
// watched: a delivery outage makes the list longer, never a single write bigger. An index
// names the seconds that hold watches, so the republisher finds them without a query.

// watchEntry is one watched event in a bucket.
type watchEntry struct {
	// Event is the type of the event that announced the fact.
	Event    contracts.EventType `json:"event"`
	Attempts int                 `json:"attempts,omitempty"`
}

// watchBucket holds the watches of one second and shard, by order id.
type watchBucket struct {
	Watches map[string]watchEntry `json:"watches"`
}

// with is the bucket with entries added (b may be nil: no bucket yet).
func (b *watchBucket) with(entries map[string]watchEntry) *watchBucket {
	next := watchBucket{Watches: map[string]watchEntry{}}
	if b != nil && b.Watches != nil {
		next.Watches = b.Watches // decoded afresh on every read: free to change
	}
	maps.Copy(next.Watches, entries)
	return &next
}

// watchIndex lists the buckets that may hold watches, by the unix second they start.
type watchIndex struct {
	Starts []int64 `json:"starts"`
}

// watchLease names the replica that republishes, until when.
type watchLease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

func toWatchEntry(w app.Watch) (watchEntry, error) {
	t, err := eventType(w.Fact)
	if err != nil {
		return watchEntry{}, fmt.Errorf("watch order %s: %w", w.Order, err)
	}
	return watchEntry{Event: t, Attempts: w.Attempts}, nil
}

// watch restores the watch of an order from its bucket entry; it falls due when its bucket
// does.
func (e watchEntry) watch(order string, due time.Time) (app.Watch, error) {
	id, err := domain.ParseOrderID(order)
	if err != nil {
		return app.Watch{}, unreadable("watch", err)
	}
	f, err := factOf(e.Event)
	if err != nil {
		return app.Watch{}, unreadable(fmt.Sprintf("watch of order %s", id), err)
	}
	return app.Watch{Order: id, Fact: f, Attempts: e.Attempts, Due: due}, nil
}
