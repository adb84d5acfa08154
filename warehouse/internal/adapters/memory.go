package adapters

import (
	"context"
	"fmt"
	"sync"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// MemoryRepository keeps products and reservations in memory, for tests.
type MemoryRepository struct {
	mu           sync.Mutex
	products     map[domain.ProductID]productRecord
	reservations map[domain.OrderID]reservationRecord
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{
		products:     map[domain.ProductID]productRecord{},
		reservations: map[domain.OrderID]reservationRecord{},
	}
}

func (m *MemoryRepository) AddProduct(_ context.Context, p domain.Product) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.products[p.ID()]; ok {
		return fmt.Errorf("%w: %s", domain.ErrProductExists, p.ID())
	}
	m.products[p.ID()] = toProductRecord(p)
	return nil
}

func (m *MemoryRepository) Product(_ context.Context, id domain.ProductID) (domain.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.products[id]
	if !ok {
		return domain.Product{}, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	return rec.product(), nil
}

func (m *MemoryRepository) UpdateProduct(_ context.Context, id domain.ProductID, change func(*domain.Product) error) (domain.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.products[id]
	if !ok {
		return domain.Product{}, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	p := rec.product()
	if err := change(&p); err != nil {
		return domain.Product{}, err
	}
	m.products[id] = toProductRecord(p)
	return p, nil
}

func (m *MemoryRepository) Reservation(_ context.Context, order domain.OrderID) (domain.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.reservations[order]
	if !ok {
		return domain.Reservation{}, fmt.Errorf("%w: order %s", domain.ErrUnknownReservation, order)
	}
	return rec.reservation()
}

func (m *MemoryRepository) UpdateStock(_ context.Context, id domain.ProductID, order domain.OrderID,
	change func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error),
) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var pr *productRecord
	if rec, ok := m.products[id]; ok {
		pr = &rec
	}
	var rr *reservationRecord
	if rec, ok := m.reservations[order]; ok {
		rr = &rec
	}
	np, nr, err := applyStockChange(id, pr, rr, change)
	if err != nil || np == nil {
		return err
	}
	m.products[id] = *np
	m.reservations[order] = *nr
	return nil
}
