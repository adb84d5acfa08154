package adapters

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
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
//
// A watch is written before Watch returns. Confirmations are collected and written in
// batches, one save per shard (WriteConfirmations, every second while Run runs, and before
// Due reads): most orders are confirmed about a second after they are placed, and a
// confirmation that is never written only means the order is looked at once more when it is
// due, and confirmed then.
type DaprUnconfirmed struct {
	docs *daprstate.Store[watched]

	mu        sync.Mutex
	confirmed map[domain.OrderID]time.Time // not written yet: the latest confirmation of each
}

// NewDaprUnconfirmed returns the watch list on the named state store.
func NewDaprUnconfirmed(client daprstate.Client, store string) *DaprUnconfirmed {
	return &DaprUnconfirmed{docs: daprstate.New[watched](client, store, "unconfirmed-"), confirmed: map[domain.OrderID]time.Time{}}
}

func shard(id domain.OrderID) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.Itoa(int(h.Sum32() % unconfirmedShards))
}

func (d *DaprUnconfirmed) change(ctx context.Context, shard string, f func(map[domain.OrderID]time.Time) bool) error {
	_, err := d.docs.Update(ctx, shard, func(cur *watched) (daprstate.Change[watched], error) {
		next := watched{Since: map[domain.OrderID]time.Time{}}
		if cur != nil && cur.Since != nil {
			next.Since = cur.Since // decoded afresh on every read: free to change
		}
		if !f(next.Since) {
			return daprstate.Change[watched]{}, nil
		}
		return daprstate.Change[watched]{Value: &next}, nil
	})
	return err
}

func (d *DaprUnconfirmed) Watch(ctx context.Context, id domain.OrderID, now time.Time) error {
	return d.change(ctx, shard(id), func(m map[domain.OrderID]time.Time) bool { m[id] = now; return true })
}

// Confirm notes the confirmation; WriteConfirmations writes it.
func (d *DaprUnconfirmed) Confirm(_ context.Context, id domain.OrderID, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if at.After(d.confirmed[id]) {
		d.confirmed[id] = at
	}
	return nil
}

// WriteConfirmations removes the orders confirmed so far from their shards, one save per
// shard; confirmations that could not be written are kept for the next time.
func (d *DaprUnconfirmed) WriteConfirmations(ctx context.Context) error {
	d.mu.Lock()
	batch := d.confirmed
	d.confirmed = map[domain.OrderID]time.Time{}
	d.mu.Unlock()

	byShard := map[string]map[domain.OrderID]time.Time{}
	for id, at := range batch {
		s := shard(id)
		if byShard[s] == nil {
			byShard[s] = map[domain.OrderID]time.Time{}
		}
		byShard[s][id] = at
	}
	var errs []error
	for s, confirmed := range byShard {
		err := d.change(ctx, s, func(m map[domain.OrderID]time.Time) bool { return removeConfirmed(m, confirmed) })
		if err != nil {
			errs = append(errs, err)
			for id, at := range confirmed {
				_ = d.Confirm(ctx, id, at)
			}
		}
	}
	return errors.Join(errs...)
}

// Run writes the confirmations every interval until ctx ends, and once more then.
func (d *DaprUnconfirmed) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = d.WriteConfirmations(last)
			return
		case <-t.C:
		}
		if err := d.WriteConfirmations(ctx); err != nil && ctx.Err() == nil {
			log.Warn("writing confirmed order events", "err", err)
		}
	}
}

func (d *DaprUnconfirmed) Due(ctx context.Context, before time.Time) ([]domain.OrderID, error) {
	if err := d.WriteConfirmations(ctx); err != nil {
		return nil, err
	}
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

// removeConfirmed removes the orders watched no later than their confirmation (a later watch
// is a newer event, which the confirmation does not cover), and reports whether any went.
func removeConfirmed(since map[domain.OrderID]time.Time, confirmed map[domain.OrderID]time.Time) bool {
	changed := false
	for id, at := range confirmed {
		if t, ok := since[id]; ok && !t.After(at) {
			delete(since, id)
			changed = true
		}
	}
	return changed
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

func (m *MemoryUnconfirmed) Confirm(_ context.Context, id domain.OrderID, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	removeConfirmed(m.since, map[domain.OrderID]time.Time{id: at})
	return nil
}

func (m *MemoryUnconfirmed) Due(_ context.Context, before time.Time) ([]domain.OrderID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	due := dueIn(m.since, before)
	slices.Sort(due)
	return due, nil
}
