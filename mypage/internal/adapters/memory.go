package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/skmall/skmall/mypage/internal/domain"
)

// MemoryRepository keeps rows in memory, for tests; a customer's rows come in one page.
type MemoryRepository struct {
	mu    sync.Mutex
	rows  map[domain.OrderID]domain.Row
	lists map[domain.CustomerID][]domain.OrderID
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{rows: map[domain.OrderID]domain.Row{}, lists: map[domain.CustomerID][]domain.OrderID{}}
}

func (m *MemoryRepository) Row(_ context.Context, c domain.CustomerID, orderID domain.OrderID) (domain.Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[orderID]
	if !ok || r.Customer() != c {
		return domain.Row{}, domain.ErrUnknownOrder
	}
	return r, nil
}

func (m *MemoryRepository) Page(_ context.Context, c domain.CustomerID, cursor string) ([]domain.Row, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cursor != "" {
		return nil, "", fmt.Errorf("%w: cursor %q", domain.ErrInvalidInput, cursor)
	}
	var rows []domain.Row
	for _, id := range slices.Backward(m.lists[c]) {
		rows = append(rows, m.rows[id])
	}
	return rows, "", nil
}

// Update changes a copy of the row and keeps it only when change reports a change; rows are
// values (domain.Row never changes a copy it shares state with), so no reader sees it before.
func (m *MemoryRepository) Update(_ context.Context, c domain.CustomerID, orderID domain.OrderID, change func(*domain.Row) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[orderID]
	if !ok {
		r = domain.NewRow(c, orderID)
	} else if r.Customer() != c {
		return fmt.Errorf("%w: order %s belongs to %s, not %s", domain.ErrInvalidInput, orderID, r.Customer(), c)
	}
	if !change(&r) {
		return nil
	}
	m.rows[orderID] = r
	if !ok {
		m.lists[c] = append(m.lists[c], orderID)
	}
	return nil
}

// UnreachableRepository is a page store that fails every read and write with Cause, for tests
// of what mypage does while its store is out of reach.
type UnreachableRepository struct{ Cause error }

func (s UnreachableRepository) Row(context.Context, domain.CustomerID, domain.OrderID) (domain.Row, error) {
	return domain.Row{}, s.Cause
}

func (s UnreachableRepository) Page(context.Context, domain.CustomerID, string) ([]domain.Row, string, error) {
	return nil, "", s.Cause
}

func (s UnreachableRepository) Update(context.Context, domain.CustomerID, domain.OrderID, func(*domain.Row) bool) error {
	return s.Cause
}
