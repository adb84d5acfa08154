// Package adapters keeps customers' views: in a Dapr state store, or in memory for tests.
package adapters

import (
	"context"
	"maps"
	"sync"

	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// record is how a customer's view is stored: one document per customer.
type record struct {
	CustomerID string                `json:"customerId"`
	Orders     map[string]domain.Row `json:"orders"`
}

func (r *record) view(c domain.CustomerID) domain.View {
	v := domain.NewView(c)
	if r != nil {
		for id, row := range r.Orders {
			row.Heard = maps.Clone(row.Heard)
			v.Orders[id] = row
		}
	}
	return v
}

// DaprRepository keeps views in a Dapr state store.
type DaprRepository struct {
	store *daprstate.Store[record]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{store: daprstate.New[record](client, store, "view-")}
}

func (d *DaprRepository) View(ctx context.Context, c domain.CustomerID) (domain.View, error) {
	rec, found, err := d.store.Get(ctx, string(c))
	if err != nil || !found {
		return domain.NewView(c), err
	}
	return rec.view(c), nil
}

func (d *DaprRepository) Update(ctx context.Context, c domain.CustomerID, change func(*domain.View) bool) error {
	_, err := d.store.Update(ctx, string(c), func(cur *record) (daprstate.Change[record], error) {
		v := cur.view(c)
		if !change(&v) {
			return daprstate.Change[record]{}, nil
		}
		return daprstate.Change[record]{Value: &record{CustomerID: string(c), Orders: v.Orders}}, nil
	})
	return err
}

// MemoryRepository keeps views in memory, for tests.
type MemoryRepository struct {
	mu    sync.Mutex
	views map[domain.CustomerID]*record
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{views: map[domain.CustomerID]*record{}}
}

func (m *MemoryRepository) View(_ context.Context, c domain.CustomerID) (domain.View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.views[c].view(c), nil
}

func (m *MemoryRepository) Update(_ context.Context, c domain.CustomerID, change func(*domain.View) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.views[c].view(c)
	if change(&v) {
		m.views[c] = &record{CustomerID: string(c), Orders: v.Orders}
	}
	return nil
}
