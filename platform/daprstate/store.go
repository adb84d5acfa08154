// Package daprstate keeps JSON documents in a Dapr state store with optimistic concurrency:
// every change is read-modify-write guarded by the document's ETag, retried on conflict, and
// every create is create-only.
//
// Reads and writes carry the same metadata: none. Dapr's Redis store writes with JSON.SET
// when a save says contentType application/json and the server has JSON (Redis 8, Redis
// Stack), and then reads only with that metadata too (without, HGETALL fails with WRONGTYPE);
// inside a transaction it uses JSON for such an item even on a server without JSON, where the
// transaction fails. Documents here are opaque bytes to the store, so they go without it, the
// same way on every store and server.
package daprstate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	dapr "github.com/dapr/go-sdk/client"
	"golang.org/x/sync/errgroup"
)

var (
	// ErrUnavailable means the state store could not be read or written now.
	ErrUnavailable = errors.New("state store unavailable")
	// ErrExists means a create found another document under its key.
	ErrExists = errors.New("document exists")
	// ErrNotWritten means an update failed before it sent any write to the store: it changed
	// nothing. (Without it, a failed update may or may not have been written.)
	ErrNotWritten = errors.New("nothing was written")
	// ErrContended means a change lost the race for its document to other writers for longer
	// than it may try; the store itself answered.
	ErrContended = errors.New("document changed by others too often")
)

// metadata is what every read and write of a document carries (see the package comment).
var metadata map[string]string

// Client is the part of the Dapr client a Store uses.
type Client interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	GetBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string, parallelism int32) ([]*dapr.BulkStateItem, error)
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	ExecuteStateTransaction(ctx context.Context, storeName string, meta map[string]string, ops []*dapr.StateOperation) error
	DeleteBulkStateItems(ctx context.Context, storeName string, items []*dapr.DeleteStateItem) error
}

// Store holds documents of type T under string keys in one Dapr state store.
type Store[T any] struct {
	client Client
	name   string
	prefix string
	locks  [64]sync.Mutex

	queueMu sync.Mutex
	queues  map[string][]*combined // updates by (first) key, while that key is served
	window  time.Duration          // how long a key's first update waits for others (CombineWithin)
}

// New returns a store of T documents whose keys start with prefix (for example "order-").
func New[T any](client Client, storeName, prefix string) *Store[T] {
	return &Store[T]{client: client, name: storeName, prefix: prefix}
}

// CombineWithin has the updates of a key that arrive within d of the first go to the store
// together with it: the first waits d before its batch is read, and those that queue meanwhile
// join it (see UpdatePair). Changes that come close together (the facts of one order, say)
// then cost one read and one write instead of one each, for d more until the first is
// written. Call it before the store is used; it returns s.
func (s *Store[T]) CombineWithin(d time.Duration) *Store[T] {
	s.window = d
	return s
}

// Change is what an update decides.
type Change[T any] struct {
	// Value is the document to write; nil writes nothing.
	Value *T
}

// Get returns the document under key, and whether there is one.
func (s *Store[T]) Get(ctx context.Context, key string) (T, bool, error) {
	v, _, found, err := s.get(ctx, key)
	return v, found, err
}

func (s *Store[T]) get(ctx context.Context, key string) (T, string, bool, error) {
	var v T
	item, err := s.client.GetState(ctx, s.name, s.prefix+key, metadata)
	if err != nil {
		return v, "", false, fmt.Errorf("%w: get %s: %w", ErrUnavailable, key, err)
	}
	if item == nil || len(item.Value) == 0 {
		return v, "", false, nil
	}
	if err := json.Unmarshal(item.Value, &v); err != nil {
		return v, "", false, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, item.Etag, true, nil
}

// GetMany returns the documents found under keys, in the order of keys; missing ones are left out.
func (s *Store[T]) GetMany(ctx context.Context, keys []string) ([]T, error) {
	items, err := s.GetItems(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out, nil
}

// Item is a document as read, with its key (without the prefix) and ETag.
type Item[T any] struct {
	Key   string
	Value T
	ETag  string
}

// GetItems returns the documents found under keys with their ETags, in the order of keys;
// missing ones are left out.
func (s *Store[T]) GetItems(ctx context.Context, keys []string) ([]Item[T], error) {
	if len(keys) == 0 {
		return nil, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	raw, err := s.getRaw(ctx, full...)
	if err != nil {
		return nil, err
	}
	out := make([]Item[T], 0, len(keys))
	for i, it := range raw {
		v, etag, err := decodeItem[T](it)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, Item[T]{Key: keys[i], Value: *v, ETag: etag})
		}
	}
	return out, nil
}

// DeleteItems deletes documents as they were read: one that changed since fails the call
// (the others may be gone).
func (s *Store[T]) DeleteItems(ctx context.Context, items []Item[T]) error {
	if len(items) == 0 {
		return nil
	}
	del := make([]*dapr.DeleteStateItem, len(items))
	for i, it := range items {
		del[i] = &dapr.DeleteStateItem{Key: s.prefix + it.Key, Etag: &dapr.ETag{Value: it.ETag}, Metadata: metadata,
			Options: &dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite, Consistency: dapr.StateConsistencyStrong}}
	}
	if err := s.client.DeleteBulkStateItems(ctx, s.name, del); err != nil {
		return fmt.Errorf("%w: delete %d documents: %w", ErrUnavailable, len(items), err)
	}
	return nil
}

// Update reads the document under key (nil when there is none), lets decide choose the
// change, and writes it guarded by the ETag it read, or as a create that fails if another
// writer created the document first. On a conflict it reads again and decides again, so
// decide must be free of side effects. It returns the document as it stands afterwards.
//
// Updates of one key within this process take turns, and those that queue while one is on
// its way to the store are combined (see UpdatePair), so conflicts (and retries) only come
// from other replicas. A conflict is retried until the change goes through (within a bound no
// fair race reaches); an unreachable store for about five seconds. An update that fails before
// sending any write is ErrNotWritten: it changed nothing.
func (s *Store[T]) Update(ctx context.Context, key string, decide func(cur *T) (Change[T], error)) (T, error) {
	var result T
	c := &combined{ctx: ctx, done: make(chan error, 1)}
	c.apply = func(d *rawDoc, _ []*rawDoc) error {
		cur, err := decodeRaw[T](d)
		if err != nil {
			return err
		}
		ch, err := decide(cur)
		if err != nil || ch.Value == nil {
			return err
		}
		raw, err := json.Marshal(ch.Value)
		if err != nil {
			return fmt.Errorf("encode %s: %w", d.key, err)
		}
		d.value, d.changed = raw, true
		return nil
	}
	// The document as the batch left it: a later update combined with this one may have
	// changed it again.
	c.written = func(d *rawDoc) error {
		v, err := decodeRaw[T](d)
		if v != nil {
			result = *v
		}
		return err
	}
	if err := s.enqueue(key, c); err != nil {
		return *new(T), err
	}
	return result, nil
}

// Create stores a new document under key without reading first: the write is create-only. A retry that finds the very document it meant to
// write (the first attempt committed but its answer was lost) succeeds; another document
// under the key is ErrExists.
func (s *Store[T]) Create(ctx context.Context, key string, v T) error {
	mu := &s.locks[stripe(key)]
	mu.Lock()
	defer mu.Unlock()

	want, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	it := s.rawItem(s.prefix+key, "", want)
	return retry(ctx, func() error {
		werr := s.save(ctx, it)
		if werr == nil {
			return nil
		}
		// A create fails when the key is taken, and when the store is down: a read tells which.
		cur, _, found, err := s.get(ctx, key)
		switch {
		case err != nil:
			return classify(err)
		case !found:
			return werr // not taken: the store failed the write
		}
		if got, err := json.Marshal(cur); err == nil && bytes.Equal(got, want) {
			return nil
		}
		return backoff.Permanent(fmt.Errorf("%w: %s", ErrExists, key))
	})
}

// save writes one document. An ETag mismatch (or, for a create, an existing document)
// surfaces from Dapr as an error whose code depends on the store and on whether a transaction
// was used, so every write error is retried after a fresh read; a store that is down stays
// down and ends as ErrUnavailable.
func (s *Store[T]) save(ctx context.Context, it *dapr.SetStateItem) error {
	opts := []dapr.StateOption{dapr.WithConcurrency(it.Options.Concurrency), dapr.WithConsistency(it.Options.Consistency)}
	var err error
	if it.Etag == nil {
		err = s.client.SaveState(ctx, s.name, it.Key, it.Value, it.Metadata, opts...)
	} else {
		err = s.client.SaveStateWithETag(ctx, s.name, it.Key, it.Value, it.Etag.Value, it.Metadata, opts...)
	}
	if err != nil {
		return fmt.Errorf("%w: save %s: %w", ErrUnavailable, it.Key, err)
	}
	return nil
}

// rawItem is the write of raw under the full key, guarded by etag. First-write concurrency
// turns a write without an ETag into "create only": a concurrent creator loses instead of
// overwriting.
func (s *Store[T]) rawItem(fullKey, etag string, raw []byte) *dapr.SetStateItem {
	it := &dapr.SetStateItem{
		Key: fullKey, Value: raw, Metadata: metadata,
		Options: &dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite, Consistency: dapr.StateConsistencyStrong},
	}
	if etag != "" {
		it.Etag = &dapr.ETag{Value: etag}
	}
	return it
}

// UpdatePair is Update for two documents of one state store that change together: decide
// sees both (read together; nil where absent) and returns what to write (nil: leave it); both
// writes commit in one transaction, each guarded by its own ETag. The store must support
// transactions, and sb must be a store of the same state store as sa.
//
// Pair updates that share their first document are combined in this process: while one is on
// its way to the store, those that arrive queue, and then go to the store together, in one
// read and one transaction (at most maxCombined at a time), each deciding on what the ones
// before it decided. A hot first document (a product every order reserves) then costs two
// store calls per batch instead of two per change, and the queue on it drains as fast as
// changes arrive. A change decide refuses (an error) leaves no trace and fails only its own
// call; a change whose ctx ends before its turn is not made.
func UpdatePair[A, B any](ctx context.Context, sa *Store[A], keyA string, sb *Store[B], keyB string,
	decide func(a *A, b *B) (*A, *B, error),
) error {
	c := &combined{ctx: ctx, others: []string{sb.prefix + keyB}, done: make(chan error, 1)}
	c.apply = func(a *rawDoc, others []*rawDoc) error {
		commit, err := decidePair(a, others[0], decide)
		if err == nil {
			commit()
		}
		return err
	}
	return sa.enqueue(keyA, c)
}

// decidePair lets decide change the documents a and b, and returns how to give them what it
// decided; a refusal (an error) changes neither.
func decidePair[A, B any](a, b *rawDoc, decide func(a *A, b *B) (*A, *B, error)) (commit func(), err error) {
	pa, err := decodeRaw[A](a)
	if err != nil {
		return nil, err
	}
	pb, err := decodeRaw[B](b)
	if err != nil {
		return nil, err
	}
	na, nb, err := decide(pa, pb)
	if err != nil {
		return nil, err
	}
	va, err := encodeRaw(a, na)
	if err != nil {
		return nil, err
	}
	vb, err := encodeRaw(b, nb)
	if err != nil {
		return nil, err
	}
	return func() {
		a.set(va, na != nil)
		b.set(vb, nb != nil)
	}, nil
}

// maxCombined bounds how many updates go to the store in one transaction.
const maxCombined = 32

// combined is one update waiting for, or taking, its turn (see UpdatePair).
type combined struct {
	ctx    context.Context
	others []string // the other documents' full keys; none for an Update
	// apply decides, and changes the documents (a, then others in their order) only when it
	// accepts.
	apply func(a *rawDoc, others []*rawDoc) error
	// written, when set, sees the first document as the batch wrote it, once it did, for an
	// update that went through.
	written func(a *rawDoc) error
	// apart: the batch writes its documents each on its own, the others first and the first
	// document last, instead of in one transaction.
	apart bool
	done  chan error
}

// rawDoc is a document as read, and as the changes of a batch leave it.
type rawDoc struct {
	key     string
	etag    string // as read: the batch's write is guarded by it
	value   []byte // nil: absent
	changed bool
}

func decodeRaw[T any](d *rawDoc) (*T, error) {
	if d.value == nil {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(d.value, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", d.key, err)
	}
	return v, nil
}

// encodeRaw is the value d takes for v: v encoded, or d's value as it stands for nil.
func encodeRaw[T any](d *rawDoc, v *T) ([]byte, error) {
	if v == nil {
		return d.value, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.key, err)
	}
	return raw, nil
}

// set gives d the value a change decided; changed says whether the change wrote it.
func (d *rawDoc) set(value []byte, changed bool) {
	d.value, d.changed = value, d.changed || changed
}

// enqueue queues an update on the (first) document key, starts serving that key's queue
// unless it is already being served, and waits for the update's outcome or for its ctx to end.
func (s *Store[T]) enqueue(key string, c *combined) error {
	s.queueMu.Lock()
	if s.queues == nil {
		s.queues = map[string][]*combined{}
	}
	q, serving := s.queues[key]
	s.queues[key] = append(q, c)
	if !serving {
		go s.serve(key)
	}
	s.queueMu.Unlock()
	select {
	case err := <-c.done:
		return err
	case <-c.ctx.Done():
		return fmt.Errorf("waiting for the turn of %s: %w", key, c.ctx.Err())
	}
}

// waiting is how many updates are queued on key, not yet taken into a batch.
func (s *Store[T]) waiting(key string) int {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	return len(s.queues[key])
}

// serve takes the updates queued on key in batches until none is left, the first after the
// store's window.
func (s *Store[T]) serve(key string) {
	if s.window > 0 {
		time.Sleep(s.window)
	}
	mu := &s.locks[stripe(key)]
	for {
		s.queueMu.Lock()
		q := s.queues[key]
		if len(q) == 0 {
			delete(s.queues, key)
			s.queueMu.Unlock()
			return
		}
		n := min(len(q), maxCombined)
		s.queues[key] = q[n:]
		s.queueMu.Unlock()

		mu.Lock()
		s.runBatch(key, q[:n])
		mu.Unlock()
	}
}

// runBatch reads the first document and every other one of a batch together, applies the
// changes in turn, and writes what they changed at once (one document: a save; more: one
// transaction, or a save each for updates apart); a lost race reads and applies them all
// again.
func (s *Store[T]) runBatch(keyA string, batch []*combined) {
	var live []*combined
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.done <- err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	apart := slices.ContainsFunc(live, func(c *combined) bool { return c.apart })
	keys := []string{s.prefix + keyA}
	for _, c := range live {
		for _, k := range c.others {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	ctx := context.WithoutCancel(live[0].ctx)
	outcomes := make([]error, len(live))
	var final *rawDoc // the first document as written (or read, when nothing changed)
	checked := false  // whether to read missing documents again before deciding
	wrote := false    // whether a write was sent to the store: then a failure leaves it open
	err := retry(ctx, func() error {
		var (
			raw    []*dapr.BulkStateItem
			unsure []string
			err    error
		)
		if checked {
			raw, err = s.getRaw(ctx, keys...)
		} else {
			raw, unsure, err = s.readBatch(ctx, keys)
		}
		if err != nil {
			return classify(err)
		}
		docs := make(map[string]*rawDoc, len(raw))
		for _, it := range raw {
			d := &rawDoc{key: it.Key, etag: it.Etag}
			if len(it.Value) > 0 {
				d.value = it.Value
			}
			docs[it.Key] = d
		}
		final = docs[keys[0]]
		for i, c := range live {
			others := make([]*rawDoc, len(c.others))
			for j, k := range c.others {
				others[j] = docs[k]
			}
			outcomes[i] = c.apply(final, others)
		}
		// A document the bulk read reports missing may be there after all (see getRaw). One
		// the batch writes is written create-only, so that mistake fails the write; one it
		// leaves alone is read again on its own, and if it is there, the batch starts over
		// with every missing document checked so.
		var check []string
		for _, k := range unsure {
			if !docs[k].changed {
				check = append(check, k)
			}
		}
		if len(check) > 0 {
			again, err := s.getEach(ctx, check, nil)
			if err != nil {
				return classify(err)
			}
			for _, it := range again {
				if len(it.Value) > 0 {
					checked = true
					return writeFailed(fmt.Errorf("a bulk read reported %s missing", it.Key))
				}
			}
		}
		order := keys
		if apart {
			order = append(slices.Clone(keys[1:]), keys[0])
		}
		var ops []*dapr.StateOperation
		for _, k := range order {
			if d := docs[k]; d.changed {
				ops = append(ops, &dapr.StateOperation{Type: dapr.StateOperationTypeUpsert, Item: s.rawItem(k, d.etag, d.value)})
			}
		}
		wrote = wrote || len(ops) > 0
		if len(ops) > 1 && !apart {
			err = s.execTx(ctx, ops)
		} else {
			for _, op := range ops {
				if err = s.save(ctx, op.Item); err != nil {
					break
				}
			}
		}
		if err != nil {
			return writeFailed(err)
		}
		return nil
	})
	if err != nil && !wrote {
		err = fmt.Errorf("%w: %w", ErrNotWritten, err)
	}
	for i, c := range live {
		switch {
		case err != nil:
			c.done <- err
		case outcomes[i] == nil && c.written != nil:
			c.done <- c.written(final)
		default:
			c.done <- outcomes[i]
		}
	}
}

// getRaw reads several keys of the store (full keys, prefix included) and returns their
// items in the order of keys; a missing key has an empty value. It reads them in one call,
// then reads again, each on its own, the keys that call reports missing: PostgreSQL's bulk read
// (state.postgresql v1.18) does not check for an error after its rows, so a connection that
// breaks mid-read looks like missing keys, while a single read reports it.
func (s *Store[T]) getRaw(ctx context.Context, keys ...string) ([]*dapr.BulkStateItem, error) {
	items, unsure, err := s.readBatch(ctx, keys)
	if err != nil || len(unsure) == 0 {
		return items, err
	}
	found := make(map[string]*dapr.BulkStateItem, len(items)-len(unsure))
	for _, it := range items {
		if len(it.Value) > 0 {
			found[it.Key] = it
		}
	}
	return s.getEach(ctx, keys, found)
}

// readBatch reads keys (full keys) in one call, in their order; a missing key has an empty
// value. unsure are the keys a bulk read reports missing, which may be there after all (see
// getRaw); a single key is read on its own, and its answer is sure.
func (s *Store[T]) readBatch(ctx context.Context, keys []string) (items []*dapr.BulkStateItem, unsure []string, err error) {
	if len(keys) == 1 {
		items, err := s.getEach(ctx, keys, nil)
		return items, nil, err
	}
	got, err := s.client.GetBulkState(ctx, s.name, keys, metadata, 8)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bulk get: %w", ErrUnavailable, err)
	}
	byKey := make(map[string]*dapr.BulkStateItem, len(got))
	for _, it := range got {
		if it.Error != "" {
			return nil, nil, fmt.Errorf("%w: get %s: %s", ErrUnavailable, it.Key, it.Error)
		}
		if len(it.Value) > 0 {
			byKey[it.Key] = it
		}
	}
	items = make([]*dapr.BulkStateItem, len(keys))
	for i, k := range keys {
		if it, ok := byKey[k]; ok {
			items[i] = it
			continue
		}
		items[i] = &dapr.BulkStateItem{Key: k}
		unsure = append(unsure, k)
	}
	return items, unsure, nil
}

// getEach returns the items of keys: those in found as they are, the others each read on its
// own (in parallel).
func (s *Store[T]) getEach(ctx context.Context, keys []string, found map[string]*dapr.BulkStateItem) ([]*dapr.BulkStateItem, error) {
	out := make([]*dapr.BulkStateItem, len(keys))
	var g errgroup.Group
	g.SetLimit(8)
	for i, k := range keys {
		if it, ok := found[k]; ok {
			out[i] = it
			continue
		}
		g.Go(func() error {
			it, err := s.client.GetState(ctx, s.name, k, metadata)
			if err != nil {
				return fmt.Errorf("%w: get %s: %w", ErrUnavailable, k, err)
			}
			out[i] = &dapr.BulkStateItem{Key: k}
			if it != nil {
				out[i].Value, out[i].Etag = it.Value, it.Etag
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeItem decodes a read item: nil when there is no document, with its ETag.
func decodeItem[T any](it *dapr.BulkStateItem) (*T, string, error) {
	if len(it.Value) == 0 {
		return nil, "", nil
	}
	v := new(T)
	if err := json.Unmarshal(it.Value, v); err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", it.Key, err)
	}
	return v, it.Etag, nil
}

func (s *Store[T]) execTx(ctx context.Context, ops []*dapr.StateOperation) error {
	if err := s.client.ExecuteStateTransaction(ctx, s.name, metadata, ops); err != nil {
		return fmt.Errorf("%w: transaction on %s: %w", ErrUnavailable, ops[0].Item.Key, err)
	}
	return nil
}

// classify keeps retrying when the store is unavailable and stops on anything else.
func classify(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return backoff.Permanent(err)
}

// errWrite marks a failed write. Dapr reports an ETag mismatch (another writer was first) and
// a store that is down alike, so the next read tells: when it succeeds, the write lost a race.
type errWrite struct{ err error }

func (e errWrite) Error() string { return e.err.Error() }
func (e errWrite) Unwrap() error { return e.err }

func writeFailed(err error) error { return errWrite{err} }

// Budgets of retry: failures to reach the store end after outageAttempts attempts or
// outageTime; lost races go on for up to conflictAttempts, with short jittered pauses, for a
// change in a fair race waits only for the writers ahead of it.
const (
	outageAttempts   = 12
	outageTime       = 5 * time.Second
	conflictAttempts = 200
)

// retry runs op until it succeeds, fails permanently, or its budget is spent.
func retry(ctx context.Context, op func() error) error {
	outages := backoff.ExponentialBackOff{
		InitialInterval: 5 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2,
		MaxInterval: 250 * time.Millisecond, MaxElapsedTime: outageTime, Stop: backoff.Stop, Clock: backoff.SystemClock,
	}
	outages.Reset()
	failed, raced := 0, 0
	lastWasWrite := false
	for {
		err := op()
		var perm *backoff.PermanentError
		var write errWrite
		switch {
		case err == nil:
			return nil
		case errors.As(err, &perm):
			return perm.Err
		case errors.As(err, &write):
			// Whether it lost a race or the store is down shows in the next attempt's read.
			raced++
			lastWasWrite = true
			if raced > conflictAttempts {
				return fmt.Errorf("%w: %w", ErrContended, err)
			}
		default:
			failed++
			if lastWasWrite {
				raced-- // the last write failed with the store, not with another writer
				lastWasWrite = false
			}
		}
		var wait time.Duration
		if lastWasWrite {
			wait = time.Duration(1+rand.IntN(4*min(raced, 10))) * time.Millisecond //nolint:gosec // jitter, not a secret
		} else if wait = outages.NextBackOff(); wait == backoff.Stop || failed >= outageAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func stripe(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % 64)
}
