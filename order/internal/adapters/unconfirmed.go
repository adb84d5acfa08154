package adapters

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// The watch list keeps each watched event in a small document of the watches that fall due in
// the same second (spread over shards), so that a watch costs the same whatever else is
// watched: a delivery outage makes the list longer, never a single write bigger. An index
// names the seconds that hold watches, so the republisher finds them without a query.
const (
	watchShards = 8
	bucketWidth = time.Second
)

// watchEntry is one watched event in a bucket.
type watchEntry struct {
	Event    contracts.EventType `json:"event"`
	Attempts int                 `json:"attempts,omitempty"`
}

type watchBucket struct {
	Watches map[domain.OrderID]watchEntry `json:"watches"`
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

// DaprUnconfirmed keeps the watch list in the order store. It writes with single saves only:
// every transaction on the order store is published by the outbox.
type DaprUnconfirmed struct {
	buckets *daprstate.Store[watchBucket]
	index   *daprstate.Store[watchIndex]
	lease   *daprstate.Store[watchLease]
	me      string
	leaseOf time.Duration

	mu      sync.Mutex
	indexed map[int64]bool // buckets this process has seen in the index
}

// NewDaprUnconfirmed returns the watch list on the named state store. One replica at a time
// takes the due watches, for leaseOf at a time.
func NewDaprUnconfirmed(client daprstate.Client, store string, leaseOf time.Duration) *DaprUnconfirmed {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &DaprUnconfirmed{
		buckets: daprstate.New[watchBucket](client, store, "unconfirmed-"),
		index:   daprstate.New[watchIndex](client, store, "unconfirmed-index-"),
		lease:   daprstate.New[watchLease](client, store, "unconfirmed-lease-"),
		me:      hex.EncodeToString(b), leaseOf: leaseOf, indexed: map[int64]bool{},
	}
}

func bucketStart(t time.Time) int64 { return t.Truncate(bucketWidth).Unix() }

func bucketKey(start int64, shard int) string {
	return strconv.FormatInt(start, 10) + "-" + strconv.Itoa(shard)
}

func watchShard(id domain.OrderID) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % watchShards)
}

func (d *DaprUnconfirmed) Watch(ctx context.Context, watches ...app.Watch) error {
	byKey := map[string][]app.Watch{}
	var starts []int64
	for _, w := range watches {
		start := bucketStart(w.Due)
		k := bucketKey(start, watchShard(w.Order))
		byKey[k] = append(byKey[k], w)
		starts = append(starts, start)
	}
	if err := d.addToIndex(ctx, starts); err != nil {
		return err
	}
	for k, ws := range byKey {
		if _, err := d.buckets.Update(ctx, k, func(cur *watchBucket) (daprstate.Change[watchBucket], error) {
			next := watchBucket{Watches: map[domain.OrderID]watchEntry{}}
			if cur != nil && cur.Watches != nil {
				next.Watches = cur.Watches // decoded afresh on every read: free to change
			}
			for _, w := range ws {
				next.Watches[w.Order] = watchEntry{Event: w.Event, Attempts: w.Attempts}
			}
			return daprstate.Change[watchBucket]{Value: &next}, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// addToIndex makes sure the index names the buckets; it writes only for buckets this process
// has not seen there yet, about once a second.
func (d *DaprUnconfirmed) addToIndex(ctx context.Context, starts []int64) error {
	d.mu.Lock()
	var missing []int64
	for _, s := range starts {
		if !d.indexed[s] && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	d.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	idx, err := d.index.Update(ctx, "all", func(cur *watchIndex) (daprstate.Change[watchIndex], error) {
		next := watchIndex{}
		if cur != nil {
			next.Starts = slices.Clone(cur.Starts)
		}
		changed := false
		for _, s := range missing {
			if i, found := slices.BinarySearch(next.Starts, s); !found {
				next.Starts = slices.Insert(next.Starts, i, s)
				changed = true
			}
		}
		if !changed {
			return daprstate.Change[watchIndex]{}, nil
		}
		return daprstate.Change[watchIndex]{Value: &next}, nil
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Watches fall due in the future only: what this process saw of the past can go.
	now := time.Now().Unix()
	maps.DeleteFunc(d.indexed, func(s int64, _ bool) bool { return s < now })
	for _, s := range idx.Starts {
		if s >= now {
			d.indexed[s] = true
		}
	}
	return nil
}

// maxDueBuckets bounds the buckets one Due takes, so a long backlog is worked off in passes.
const maxDueBuckets = 120

func (d *DaprUnconfirmed) Due(ctx context.Context, now time.Time) ([]app.Watch, func(context.Context) error, error) {
	none := func(context.Context) error { return nil }
	if ok, err := d.takeLease(ctx, now); err != nil || !ok {
		return nil, none, err
	}
	idx, _, err := d.index.Get(ctx, "all")
	if err != nil {
		return nil, none, err
	}
	var due []int64
	for _, s := range idx.Starts {
		if time.Unix(s, 0).Add(bucketWidth).After(now) || len(due) == maxDueBuckets {
			break
		}
		due = append(due, s)
	}
	if len(due) == 0 {
		return nil, none, nil
	}
	keys := make([]string, 0, len(due)*watchShards)
	startOf := map[string]int64{}
	for _, s := range due {
		for shard := range watchShards {
			k := bucketKey(s, shard)
			keys, startOf[k] = append(keys, k), s
		}
	}
	items, err := d.buckets.GetItems(ctx, keys)
	if err != nil {
		return nil, none, err
	}
	var watches []app.Watch
	for _, it := range items {
		for id, e := range it.Value.Watches {
			watches = append(watches, app.Watch{Order: id, Event: e.Event, Attempts: e.Attempts, Due: time.Unix(startOf[it.Key], 0)})
		}
	}
	slices.SortFunc(watches, func(a, b app.Watch) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.Order, b.Order)
	})
	done := func(ctx context.Context) error {
		if err := d.buckets.DeleteItems(ctx, items); err != nil {
			return err
		}
		_, err := d.index.Update(ctx, "all", func(cur *watchIndex) (daprstate.Change[watchIndex], error) {
			if cur == nil {
				return daprstate.Change[watchIndex]{}, nil
			}
			next := watchIndex{Starts: slices.DeleteFunc(slices.Clone(cur.Starts), func(s int64) bool {
				_, found := slices.BinarySearch(due, s)
				return found
			})}
			return daprstate.Change[watchIndex]{Value: &next}, nil
		})
		if err == nil {
			d.mu.Lock()
			for _, s := range due {
				delete(d.indexed, s)
			}
			d.mu.Unlock()
		}
		return err
	}
	return watches, done, nil
}

// takeLease makes this replica the one that republishes, unless another holds the lease.
func (d *DaprUnconfirmed) takeLease(ctx context.Context, now time.Time) (bool, error) {
	mine := false
	_, err := d.lease.Update(ctx, "all", func(cur *watchLease) (daprstate.Change[watchLease], error) {
		if cur != nil && cur.Owner != d.me && cur.Until.After(now) {
			return daprstate.Change[watchLease]{}, nil
		}
		mine = true
		return daprstate.Change[watchLease]{Value: &watchLease{Owner: d.me, Until: now.Add(d.leaseOf)}}, nil
	})
	return mine && err == nil, err
}

// MemoryUnconfirmed is the watch list in memory, for tests.
type MemoryUnconfirmed struct {
	mu      sync.Mutex
	watches map[watchedEvent]app.Watch
}

type watchedEvent struct {
	order domain.OrderID
	event contracts.EventType
}

func (m *MemoryUnconfirmed) Watch(_ context.Context, watches ...app.Watch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watches == nil {
		m.watches = map[watchedEvent]app.Watch{}
	}
	for _, w := range watches {
		m.watches[watchedEvent{w.Order, w.Event}] = w
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
	slices.SortFunc(due, func(a, b app.Watch) int { return cmp.Compare(a.Order, b.Order) })
	return due, func(context.Context) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, w := range due {
			if k := (watchedEvent{w.Order, w.Event}); m.watches[k] == w {
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
