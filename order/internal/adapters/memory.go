package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
)

// MemoryRepository keeps orders in memory and records the events it would publish, for tests.
type MemoryRepository struct {
	mu        sync.Mutex
	orders    map[domain.OrderID]orderRecord
	customers map[domain.CustomerID][]string
	published []contracts.Event
	// FailAdds makes Add fail, as a store that is down would.
	FailAdds bool
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{orders: map[domain.OrderID]orderRecord{}, customers: map[domain.CustomerID][]string{}}
}

func (m *MemoryRepository) Add(_ context.Context, o domain.Order, placed contracts.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailAdds {
		return fmt.Errorf("memory store: down")
	}
	if cur, ok := m.orders[o.ID()]; ok {
		if cur == toRecord(o) {
			return nil
		}
		return fmt.Errorf("%w: %s", domain.ErrOrderExists, o.ID())
	}
	if _, err := contracts.Encode(placed); err != nil {
		return err
	}
	m.orders[o.ID()] = toRecord(o)
	m.customers[o.Customer()] = append(m.customers[o.Customer()], string(o.ID()))
	m.published = append(m.published, placed)
	return nil
}

func (m *MemoryRepository) Get(_ context.Context, id domain.OrderID) (domain.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.orders[id]
	if !ok {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	return rec.order()
}

func (m *MemoryRepository) Update(_ context.Context, id domain.OrderID, change func(*domain.Order) (bool, *contracts.Event, error)) (domain.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.orders[id]
	if !ok {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	o, err := rec.order()
	if err != nil {
		return o, err
	}
	changed, e, err := change(&o)
	if err != nil || !changed {
		return rec.order()
	}
	if e != nil {
		if _, err := contracts.Encode(*e); err != nil {
			return domain.Order{}, err
		}
		m.published = append(m.published, *e)
	}
	m.orders[id] = toRecord(o)
	return o, nil
}

func (m *MemoryRepository) ByCustomer(_ context.Context, customer domain.CustomerID) ([]domain.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.Order
	for _, id := range m.customers[customer] {
		o, err := m.orders[domain.OrderID(id)].order()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Published returns the events published so far.
func (m *MemoryRepository) Published() []contracts.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published)
}

// MemoryStock is a warehouse stand-in that holds stock per product, for tests.
type MemoryStock struct {
	mu           sync.Mutex
	available    map[domain.ProductID]int
	reservations map[domain.OrderID]int
	// Down makes every call fail, as an unreachable warehouse would.
	Down bool
}

// NewMemoryStock returns a warehouse stand-in with the given available stock.
func NewMemoryStock(available map[domain.ProductID]int) *MemoryStock {
	return &MemoryStock{available: available, reservations: map[domain.OrderID]int{}}
}

func (s *MemoryStock) ReserveStock(_ context.Context, order domain.OrderID, product domain.ProductID, qty domain.Qty) (app.Refusal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Down {
		return "", fmt.Errorf("warehouse unreachable")
	}
	if _, ok := s.reservations[order]; ok {
		return "", nil
	}
	avail, ok := s.available[product]
	switch {
	case !ok:
		return app.RefusedUnknownProduct, nil
	case avail < int(qty):
		return app.RefusedOutOfStock, nil
	}
	s.available[product] = avail - int(qty)
	s.reservations[order] = int(qty)
	return "", nil
}

func (s *MemoryStock) ReleaseStock(_ context.Context, order domain.OrderID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reservations, order)
	return nil
}

// Reservations returns how many orders hold stock.
func (s *MemoryStock) Reservations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reservations)
}
