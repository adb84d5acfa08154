package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// MemoryRepository keeps products, reservations and stock adjustments in memory, for tests.
// It keeps them in their stored forms, as DaprRepository does, so that the contract suite
// covers those too.
type MemoryRepository struct {
	mu           sync.Mutex
	products     map[domain.ProductID]productRecord
	reservations map[domain.OrderID]reservationRecord
	adjustments  map[string]adjustmentRecord
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{
		products:     map[domain.ProductID]productRecord{},
		reservations: map[domain.OrderID]reservationRecord{},
		adjustments:  map[string]adjustmentRecord{},
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
	return rec.product()
}

func (m *MemoryRepository) AdjustProduct(_ context.Context, id domain.ProductID, key domain.AdjustmentKey,
	change func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var pr *productRecord
	if rec, ok := m.products[id]; ok {
		pr = &rec
	}
	doc := adjustmentDoc(id, key)
	var ar *adjustmentRecord
	if rec, ok := m.adjustments[doc]; ok {
		ar = &rec
	}
	p, np, na, err := applyAdjustment(id, pr, ar, change)
	if err != nil {
		return domain.Product{}, err
	}
	if np != nil {
		m.products[id] = *np
		m.adjustments[doc] = *na
	}
	return p, nil
}

func (m *MemoryRepository) ProductIDs(context.Context) ([]domain.ProductID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := slices.Collect(maps.Keys(m.products))
	slices.SortFunc(ids, func(a, b domain.ProductID) int { return strings.Compare(a.String(), b.String()) })
	return ids, nil
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

// errOrdersDown is what MemoryOrders answers while Down.
var errOrdersDown = errors.New("order service unreachable")

// MemoryOrders stands in for the order service: it knows which orders are stored on which
// reservation, and which reservations it settled as abandoned.
type MemoryOrders struct {
	mu        sync.Mutex
	stored    map[domain.OrderID]domain.ReservationID
	abandoned map[domain.ReservationID]bool
	// Down makes every question fail, as an unreachable order service would.
	Down bool
	// OnSettle, when set, runs while an order is being settled, as other requests would.
	OnSettle func()
}

// Store records that an order is stored on a reservation, unless that reservation was
// abandoned; it reports whether it stored it.
func (m *MemoryOrders) Store(order domain.OrderID, reservation domain.ReservationID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.abandoned[reservation] {
		return false
	}
	if m.stored == nil {
		m.stored = map[domain.OrderID]domain.ReservationID{}
	}
	m.stored[order] = reservation
	return true
}

func (m *MemoryOrders) Settle(_ context.Context, order domain.OrderID, reservation domain.ReservationID) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Down {
		return false, errOrdersDown
	}
	if _, ok := m.stored[order]; ok {
		return true, nil
	}
	if m.abandoned == nil {
		m.abandoned = map[domain.ReservationID]bool{}
	}
	m.abandoned[reservation] = true
	if m.OnSettle != nil {
		m.mu.Unlock()
		defer m.mu.Lock()
		m.OnSettle()
	}
	return false, nil
}

// UnreachableRepository is a stock store that fails every read and write with Cause, for tests
// of what the warehouse does while its store is out of reach.
type UnreachableRepository struct{ Cause error }

func (s UnreachableRepository) AddProduct(context.Context, domain.Product) error { return s.Cause }

func (s UnreachableRepository) Product(context.Context, domain.ProductID) (domain.Product, error) {
	return domain.Product{}, s.Cause
}

func (s UnreachableRepository) AdjustProduct(context.Context, domain.ProductID, domain.AdjustmentKey,
	func(*domain.Product, *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, error) {
	return domain.Product{}, s.Cause
}

func (s UnreachableRepository) ProductIDs(context.Context) ([]domain.ProductID, error) {
	return nil, s.Cause
}

func (s UnreachableRepository) Reservation(context.Context, domain.OrderID) (domain.Reservation, error) {
	return domain.Reservation{}, s.Cause
}

func (s UnreachableRepository) UpdateStock(context.Context, domain.ProductID, domain.OrderID,
	func(*domain.Product, *domain.Reservation) (*domain.Reservation, error),
) error {
	return s.Cause
}
