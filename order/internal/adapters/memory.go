package adapters

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/eventsub"
)

// MemoryRepository keeps orders in memory, for tests.
type MemoryRepository struct {
	mu        sync.Mutex
	orders    map[domain.OrderID]orderRecord
	customers map[domain.CustomerID][]domain.OrderID
	watches   *MemoryUnconfirmed
	// FailAdds makes Add fail without writing anything, as a store that is down would.
	FailAdds bool
	// LoseAddReplies makes Add store the order and still report a failure, as a reply lost
	// after the commit would.
	LoseAddReplies bool
	// FailSettles makes Settle fail, as a store that is down would.
	FailSettles bool
	// BeforeAdd, when set, runs before each Add stores anything, as other requests would.
	BeforeAdd func()
	// AfterUpdate, when set, runs once right after the next Update, as another request would.
	AfterUpdate func()
}

// NewMemoryRepository returns an empty in-memory repository that puts the watches of the
// orders it adds on watches.
func NewMemoryRepository(watches *MemoryUnconfirmed) *MemoryRepository {
	return &MemoryRepository{orders: map[domain.OrderID]orderRecord{}, customers: map[domain.CustomerID][]domain.OrderID{}, watches: watches}
}

func (m *MemoryRepository) Add(ctx context.Context, o domain.Order, w app.Watch) error {
	if m.BeforeAdd != nil {
		m.BeforeAdd()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailAdds {
		return fmt.Errorf("%w: memory store: down", app.ErrNothingWritten)
	}
	rec := toRecord(o)
	var cur *orderRecord
	if c, ok := m.orders[o.ID()]; ok {
		cur = &c
	}
	if write, err := cur.add(rec); err != nil || !write {
		return err
	}
	if err := m.watches.Watch(ctx, w); err != nil {
		return err
	}
	m.orders[o.ID()] = rec
	if !slices.Contains(m.customers[o.Customer()], o.ID()) {
		m.customers[o.Customer()] = append(m.customers[o.Customer()], o.ID())
	}
	if m.LoseAddReplies {
		return fmt.Errorf("memory store: connection reset after commit")
	}
	return nil
}

func (m *MemoryRepository) Find(_ context.Context, id domain.OrderID) (app.Placement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.orders[id]
	if !ok {
		return app.Placement{}, nil
	}
	return rec.placement()
}

func (m *MemoryRepository) Get(ctx context.Context, id domain.OrderID) (domain.Order, error) {
	p, err := m.Find(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if !p.Stored {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	return p.Order, nil
}

func (m *MemoryRepository) Settle(_ context.Context, id domain.OrderID, reservation domain.ReservationID) (app.Placement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailSettles {
		return app.Placement{}, fmt.Errorf("memory store: down")
	}
	var cur *orderRecord
	if c, ok := m.orders[id]; ok {
		cur = &c
	}
	if next := cur.abandon(id, reservation); next != nil {
		m.orders[id] = *next
		cur = next
	}
	return cur.placement()
}

func (m *MemoryRepository) Update(_ context.Context, id domain.OrderID, change func(*domain.Order) (bool, error)) (domain.Order, error) {
	return m.update(id, change, nil)
}

func (m *MemoryRepository) UpdateWatched(ctx context.Context, id domain.OrderID, w app.Watch, change func(*domain.Order) (bool, error)) (domain.Order, error) {
	return m.update(id, change, func() error { return m.watches.Watch(ctx, w) })
}

// update changes the order under id; watch, when set, runs before a change is kept, and
// failing, keeps it from being kept.
func (m *MemoryRepository) update(id domain.OrderID, change func(*domain.Order) (bool, error), watch func() error) (domain.Order, error) {
	if f := m.AfterUpdate; f != nil {
		m.AfterUpdate = nil
		defer f()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.orders[id]
	if !ok || !rec.stored() {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	o, err := rec.order()
	if err != nil {
		return o, err
	}
	changed, err := change(&o)
	if err != nil {
		return domain.Order{}, err
	}
	if !changed {
		return rec.order()
	}
	if watch != nil {
		if err := watch(); err != nil {
			return domain.Order{}, err
		}
	}
	m.orders[id] = toRecord(o)
	return o, nil
}

// ByCustomer returns all a customer's orders in one page, newest first.
func (m *MemoryRepository) ByCustomer(_ context.Context, customer domain.CustomerID, cursor string) ([]domain.Order, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cursor != "" {
		return nil, "", fmt.Errorf("%w: cursor %q", domain.ErrInvalidInput, cursor)
	}
	var out []domain.Order
	for _, id := range slices.Backward(m.customers[customer]) {
		rec := m.orders[id]
		if !rec.stored() {
			continue
		}
		o, err := rec.order()
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	return out, "", nil
}

func (m *MemoryRepository) Orders(_ context.Context, ids []domain.OrderID) (map[domain.OrderID]domain.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[domain.OrderID]domain.Order{}
	for _, id := range ids {
		if rec, ok := m.orders[id]; ok && rec.stored() {
			o, err := rec.order()
			if err != nil {
				return nil, err
			}
			out[id] = o
		}
	}
	return out, nil
}

// MemoryUnconfirmed is the watch list in memory, for tests.
type MemoryUnconfirmed struct {
	mu      sync.Mutex
	watches map[watchedFact]app.Watch
}

type watchedFact struct {
	order domain.OrderID
	fact  app.Fact
}

func (m *MemoryUnconfirmed) Watch(_ context.Context, watches ...app.Watch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watches == nil {
		m.watches = map[watchedFact]app.Watch{}
	}
	for _, w := range watches {
		if _, err := toWatchEntry(w); err != nil { // as the stored list would
			return err
		}
		m.watches[watchedFact{w.Order, w.Fact}] = w
	}
	return nil
}

func (m *MemoryUnconfirmed) Due(_ context.Context, now time.Time) ([]app.Watch, func(context.Context) error, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []app.Watch
	for _, w := range m.watches {
		if w.Due.Before(now) {
			due = append(due, w)
		}
	}
	slices.SortFunc(due, func(a, b app.Watch) int { return cmp.Compare(a.Order.String(), b.Order.String()) })
	return due, func(context.Context) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, w := range due {
			if k := (watchedFact{w.Order, w.Fact}); m.watches[k] == w {
				delete(m.watches, k)
			}
		}
		return nil
	}, nil
}

// Len returns how many events are watched.
func (m *MemoryUnconfirmed) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.watches)
}

// MemoryAnnouncer records the events it would publish (after the same contract check as the
// real one), for tests.
type MemoryAnnouncer struct {
	pub       eventsub.MemoryPublisher
	forgotten atomic.Int64
	// Down makes every publication fail, as an unreachable broker would.
	Down bool
}

func (a *MemoryAnnouncer) Announce(ctx context.Context, f app.Fact, o domain.Order) error {
	if a.Down {
		return fmt.Errorf("memory broker: down")
	}
	e, err := orderEvent(f, o)
	if err != nil {
		return err
	}
	return a.pub.Publish(ctx, e)
}

// Events returns the events published since the last Forget.
func (a *MemoryAnnouncer) Events() []contracts.Event { return a.pub.Events()[a.forgotten.Load():] }

// Forget leaves the events published so far out of Events.
func (a *MemoryAnnouncer) Forget() { a.forgotten.Store(int64(len(a.pub.Events()))) }

// MemoryStock is a warehouse stand-in that holds stock per product, for tests.
type MemoryStock struct {
	mu           sync.Mutex
	available    map[domain.ProductID]int
	reservations map[domain.OrderID]memoryReservation
	// Down makes every call fail, as an unreachable warehouse would.
	Down bool
}

type memoryReservation struct {
	id       domain.ReservationID
	product  domain.ProductID
	qty      domain.Qty
	released bool
}

// NewMemoryStock returns a warehouse stand-in with the given available stock.
func NewMemoryStock(available map[domain.ProductID]int) *MemoryStock {
	return &MemoryStock{available: available, reservations: map[domain.OrderID]memoryReservation{}}
}

func (s *MemoryStock) ReserveStock(_ context.Context, r app.Reservation) (domain.ReservationID, app.Refusal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Down {
		return domain.ReservationID{}, app.Refusal{}, fmt.Errorf("warehouse unreachable")
	}
	cur, held := s.reservations[r.Order]
	if held && !cur.released {
		if !slices.Contains(r.Replaces, cur.id) {
			if cur.product != r.Product || cur.qty != r.Qty {
				return domain.ReservationID{}, app.RefusedClash, nil
			}
			return cur.id, app.Refusal{}, nil
		}
		s.available[cur.product] += cur.qty.Int()
	}
	avail, ok := s.available[r.Product]
	switch {
	case !ok:
		return domain.ReservationID{}, app.RefusedUnknownProduct, nil
	case avail < r.Qty.Int():
		return domain.ReservationID{}, app.RefusedOutOfStock, nil
	}
	s.available[r.Product] = avail - r.Qty.Int()
	s.reservations[r.Order] = memoryReservation{id: r.ID, product: r.Product, qty: r.Qty}
	return r.ID, app.Refusal{}, nil
}

func (s *MemoryStock) ReleaseStock(_ context.Context, order domain.OrderID, reservation domain.ReservationID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Down {
		return fmt.Errorf("warehouse unreachable")
	}
	if r, ok := s.reservations[order]; ok && r.id == reservation && !r.released {
		r.released = true
		s.reservations[order] = r
		s.available[r.product] += r.qty.Int()
	}
	return nil
}

// Reserved returns how many units orders hold.
func (s *MemoryStock) Reserved() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reservations {
		if !r.released {
			n += r.qty.Int()
		}
	}
	return n
}

// Holders returns the reservations orders hold.
func (s *MemoryStock) Holders() []domain.ReservationID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.ReservationID
	for _, r := range s.reservations {
		if !r.released {
			out = append(out, r.id)
		}
	}
	return out
}

// DiscardMetrics is app.Metrics that counts nothing.
type DiscardMetrics struct{}

func (DiscardMetrics) OrderPlaced(int)                {}
func (DiscardMetrics) OrderRefused(string)            {}
func (DiscardMetrics) OrderCancelled()                {}
func (DiscardMetrics) Unconfirmed(int, time.Duration) {}
