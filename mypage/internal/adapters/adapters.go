// Package adapters keeps customers' pages: in a Dapr state store, or in memory for tests.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// record is how a row is stored: one document per order.
type record struct {
	domain.Row
	// Listed: the order is on its customer's list.
	Listed bool `json:"listed,omitempty"`
}

// DaprRepository keeps rows in a Dapr state store, one document per order, and each
// customer's list of orders in pages (daprstate.Log), so that no write grows with a
// customer's history.
//
// A new row is written first, then listed, then marked listed: should the listing fail, the
// next event of the order lists it. (A transaction would do it in one step where the store
// has them, but Dapr's Redis store does not keep a create in a transaction from overwriting a
// concurrent one.)
type DaprRepository struct {
	rows  *daprstate.Store[record]
	lists *daprstate.Log
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{rows: daprstate.New[record](client, store, "row-"), lists: daprstate.NewLog(client, store, "customer-")}
}

func (d *DaprRepository) Row(ctx context.Context, c domain.CustomerID, orderID string) (domain.Row, error) {
	rec, found, err := d.rows.Get(ctx, orderID)
	if err != nil {
		return domain.Row{}, err
	}
	if !found || rec.Customer != c {
		return domain.Row{}, domain.ErrUnknownOrder
	}
	return rec.Row, nil
}

func (d *DaprRepository) Page(ctx context.Context, c domain.CustomerID, cursor string) ([]domain.Row, string, error) {
	ids, next, err := d.lists.Page(ctx, string(c), cursor)
	if errors.Is(err, daprstate.ErrBadCursor) {
		return nil, "", fmt.Errorf("%w: %w", domain.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, "", err
	}
	recs, err := d.rows.GetMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	rows := make([]domain.Row, 0, len(recs))
	for _, r := range recs {
		if r.Customer == c {
			rows = append(rows, r.Row)
		}
	}
	return rows, next, nil
}

func (d *DaprRepository) Update(ctx context.Context, c domain.CustomerID, orderID string, change func(*domain.Row) bool) error {
	rec, err := d.rows.Update(ctx, orderID, func(cur *record) (daprstate.Change[record], error) {
		next := record{Row: domain.NewRow(c, orderID)}
		if cur != nil {
			if cur.Customer != c {
				return daprstate.Change[record]{}, fmt.Errorf("%w: order %s belongs to %s, not %s", domain.ErrInvalidInput, orderID, cur.Customer, c)
			}
			next = *cur
			next.Heard = maps.Clone(cur.Heard)
		}
		if !change(&next.Row) {
			return daprstate.Change[record]{}, nil
		}
		return daprstate.Change[record]{Value: &next}, nil
	})
	if err != nil || rec.Listed || rec.OrderID == "" {
		return err
	}
	if err := d.lists.Add(ctx, string(c), orderID); err != nil {
		return err
	}
	_, err = d.rows.Update(ctx, orderID, func(cur *record) (daprstate.Change[record], error) {
		if cur == nil || cur.Listed {
			return daprstate.Change[record]{}, nil
		}
		next := *cur
		next.Listed = true
		return daprstate.Change[record]{Value: &next}, nil
	})
	return err
}

// MemoryRepository keeps rows in memory, for tests; a customer's rows come in one page.
type MemoryRepository struct {
	mu    sync.Mutex
	rows  map[string]domain.Row
	lists map[domain.CustomerID][]string
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{rows: map[string]domain.Row{}, lists: map[domain.CustomerID][]string{}}
}

func (m *MemoryRepository) Row(_ context.Context, c domain.CustomerID, orderID string) (domain.Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[orderID]
	if !ok || r.Customer != c {
		return domain.Row{}, domain.ErrUnknownOrder
	}
	r.Heard = maps.Clone(r.Heard)
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
		r := m.rows[id]
		r.Heard = maps.Clone(r.Heard)
		rows = append(rows, r)
	}
	return rows, "", nil
}

func (m *MemoryRepository) Update(_ context.Context, c domain.CustomerID, orderID string, change func(*domain.Row) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[orderID]
	if !ok {
		r = domain.NewRow(c, orderID)
	} else if r.Customer != c {
		return fmt.Errorf("%w: order %s belongs to %s, not %s", domain.ErrInvalidInput, orderID, r.Customer, c)
	}
	r.Heard = maps.Clone(r.Heard)
	if !change(&r) {
		return nil
	}
	m.rows[orderID] = r
	if !ok {
		m.lists[c] = append(m.lists[c], orderID)
	}
	return nil
}
