package adapters

import (
	"context"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// unconfirmedShards spreads the watched orders over several documents, so that concurrent
// orders rarely write the same one.
const unconfirmedShards = 16

type watched struct {
	Since map[domain.OrderID]time.Time `json:"since"`
}

// DaprUnconfirmed keeps the orders whose latest event is unconfirmed in the order store. It
// writes with single saves only: every transaction on the order store is published.
type DaprUnconfirmed struct {
	docs *daprstate.Store[watched]
}

// NewDaprUnconfirmed returns the watch list on the named state store.
func NewDaprUnconfirmed(client daprstate.Client, store string) *DaprUnconfirmed {
	return &DaprUnconfirmed{docs: daprstate.New[watched](client, store, "unconfirmed-")}
}

func shard(id domain.OrderID) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.Itoa(int(h.Sum32() % unconfirmedShards))
}

func (d *DaprUnconfirmed) change(ctx context.Context, id domain.OrderID, f func(map[domain.OrderID]time.Time) bool) error {
	_, err := d.docs.Update(ctx, shard(id), func(cur *watched) (daprstate.Change[watched], error) {
		next := watched{Since: map[domain.OrderID]time.Time{}}
		if cur != nil {
			maps.Copy(next.Since, cur.Since)
		}
		if !f(next.Since) {
			return daprstate.Change[watched]{}, nil
		}
		return daprstate.Change[watched]{Value: &next}, nil
	})
	return err
}

func (d *DaprUnconfirmed) Watch(ctx context.Context, id domain.OrderID, now time.Time) error {
	return d.change(ctx, id, func(m map[domain.OrderID]time.Time) bool { m[id] = now; return true })
}

func (d *DaprUnconfirmed) Confirm(ctx context.Context, id domain.OrderID) error {
	return d.change(ctx, id, func(m map[domain.OrderID]time.Time) bool {
		if _, ok := m[id]; !ok {
			return false
		}
		delete(m, id)
		return true
	})
}

func (d *DaprUnconfirmed) Due(ctx context.Context, before time.Time) ([]domain.OrderID, error) {
	keys := make([]string, unconfirmedShards)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	docs, err := d.docs.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	var due []domain.OrderID
	for _, doc := range docs {
		due = append(due, dueIn(doc.Since, before)...)
	}
	slices.Sort(due)
	return due, nil
}

func dueIn(since map[domain.OrderID]time.Time, before time.Time) []domain.OrderID {
	var due []domain.OrderID
	for id, t := range since {
		if t.Before(before) {
			due = append(due, id)
		}
	}
	return due
}

// MemoryUnconfirmed is the watch list in memory, for tests.
type MemoryUnconfirmed struct {
	mu    sync.Mutex
	since map[domain.OrderID]time.Time
}

func (m *MemoryUnconfirmed) Watch(_ context.Context, id domain.OrderID, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.since == nil {
		m.since = map[domain.OrderID]time.Time{}
	}
	m.since[id] = now
	return nil
}

func (m *MemoryUnconfirmed) Confirm(_ context.Context, id domain.OrderID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.since, id)
	return nil
}

func (m *MemoryUnconfirmed) Due(_ context.Context, before time.Time) ([]domain.OrderID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	due := dueIn(m.since, before)
	slices.Sort(due)
	return due, nil
}
