package daprstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
)

// fakeStore is a state store in memory with ETags and create-only writes, for the parts of
// Store whose behaviour does not depend on a real store: what it does when a bulk read or a
// write's answer lies. The adapters' contract suites run Store against real sidecars.
type fakeStore struct {
	mu    sync.Mutex
	docs  map[string]dapr.StateItem
	seq   int
	hide  map[string]bool // keys a bulk read reports missing, as a broken connection does
	loseN int             // writes that commit but answer with an error
	// reads and writes record the metadata each call carried, per document written.
	reads, writes []map[string]string
	latency       time.Duration // each write takes this long, as a round trip to a store would
	txs           int           // transactions and single writes that reached the store
	gets          int           // single reads
	// gate, when set, holds every write until it is closed; each held write says so on held.
	gate chan struct{}
	held chan struct{}
	// down fails every read, as a store out of reach does; downAfterLoss turns it on once a
	// write's answer is lost (loseN).
	down, downAfterLoss bool
	// refuse fails that many writes of a key, writing nothing.
	refuse map[string]int
}

func newFakeStore() *fakeStore {
	return &fakeStore{docs: map[string]dapr.StateItem{}, hide: map[string]bool{}, refuse: map[string]int{}}
}

func (f *fakeStore) GetState(_ context.Context, _, key string, meta map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, meta)
	f.gets++
	if f.down {
		return nil, errors.New("connection refused")
	}
	it := f.docs[key]
	return &it, nil
}

func (f *fakeStore) GetBulkState(_ context.Context, _ string, keys []string, meta map[string]string, _ int32) ([]*dapr.BulkStateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, meta)
	if f.down {
		return nil, errors.New("connection refused")
	}
	var out []*dapr.BulkStateItem
	for _, k := range keys {
		it := &dapr.BulkStateItem{Key: k}
		if d, ok := f.docs[k]; ok && !f.hide[k] {
			it.Value, it.Etag = d.Value, d.Etag
		}
		out = append(out, it)
	}
	return out, nil
}

func (f *fakeStore) SaveStateWithETag(ctx context.Context, store, key string, data []byte, etag string, meta map[string]string, _ ...dapr.StateOption) error {
	return f.ExecuteStateTransaction(ctx, store, nil, []*dapr.StateOperation{{Item: &dapr.SetStateItem{Key: key, Value: data, Etag: &dapr.ETag{Value: etag}, Metadata: meta}}})
}

func (f *fakeStore) SaveState(ctx context.Context, store, key string, data []byte, meta map[string]string, _ ...dapr.StateOption) error {
	return f.ExecuteStateTransaction(ctx, store, nil, []*dapr.StateOperation{{Item: &dapr.SetStateItem{Key: key, Value: data, Metadata: meta}}})
}

func (f *fakeStore) DeleteBulkStateItems(_ context.Context, _ string, items []*dapr.DeleteStateItem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		if cur, ok := f.docs[it.Key]; ok && it.Etag != nil && it.Etag.Value != cur.Etag {
			return errors.New("possible etag mismatch")
		}
	}
	for _, it := range items {
		delete(f.docs, it.Key)
	}
	return nil
}

// ExecuteStateTransaction writes every item or none: an item with an ETag must match it, one
// without is a create.
func (f *fakeStore) ExecuteStateTransaction(_ context.Context, _ string, _ map[string]string, ops []*dapr.StateOperation) error {
	time.Sleep(f.latency)
	if f.gate != nil {
		f.held <- struct{}{}
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txs++
	for _, op := range ops {
		if f.refuse[op.Item.Key] > 0 {
			f.refuse[op.Item.Key]--
			return errors.New("write refused")
		}
		cur, exists := f.docs[op.Item.Key]
		if op.Item.Etag == nil && exists || op.Item.Etag != nil && op.Item.Etag.Value != cur.Etag {
			return errors.New("possible etag mismatch")
		}
	}
	for _, op := range ops {
		f.writes = append(f.writes, op.Item.Metadata)
		f.seq++
		f.docs[op.Item.Key] = dapr.StateItem{Key: op.Item.Key, Value: op.Item.Value, Etag: strconv.Itoa(f.seq)}
	}
	if f.loseN > 0 {
		f.loseN--
		f.down = f.downAfterLoss
		return errors.New("context deadline exceeded")
	}
	return nil
}

type doc struct {
	N int `json:"n"`
}

// increment is an update that counts: the document's N one more (1 when there is none).
func increment(cur *doc) (Change[doc], error) {
	n := 0
	if cur != nil {
		n = cur.N
	}
	return Change[doc]{Value: &doc{N: n + 1}}, nil
}

// twoStores returns two stores of documents on one fake state store, under the prefixes
// "doc-" and "other-".
func twoStores() (*fakeStore, *Store[doc], *Store[doc]) {
	f := newFakeStore()
	return f, New[doc](f, "store", "doc-"), New[doc](f, "store", "other-")
}

func TestReadsDoNotTakeABrokenBulkReadForMissingDocuments(t *testing.T) {
	ctx := context.Background()
	f, s, other := twoStores()
	for _, k := range []string{"a", "b"} {
		if err := s.Create(ctx, k, doc{N: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Create(ctx, "x", doc{N: 5}); err != nil {
		t.Fatal(err)
	}
	f.hide["doc-a"], f.hide["other-x"] = true, true

	got, err := s.GetMany(ctx, []string{"a", "b", "c"})
	if err != nil || len(got) != 2 {
		t.Fatalf("GetMany a, b and c (c missing) = %v, %v; want a and b", got, err)
	}
	// A decision may see the broken read (decisions are free of side effects), but what it
	// writes may not rest on it: a is written create-only, which fails.
	err = UpdatePair(ctx, s, "a", other, "x", func(a, x *doc) (*doc, *doc, error) {
		if x == nil {
			return nil, nil, errors.New("x is missing")
		}
		n := x.N
		if a != nil {
			n += a.N
		}
		return &doc{N: n}, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _ := s.Get(ctx, "a"); a.N != 6 {
		t.Fatalf("a = %d after the pair update, want 6", a.N)
	}
	// Nor may a refusal: x, which the refusal leaves alone, is read again on its own.
	f.hide["doc-a"], f.hide["other-x"] = false, true
	err = UpdatePair(ctx, s, "a", other, "x", func(a, x *doc) (*doc, *doc, error) {
		if x == nil {
			return nil, nil, errors.New("x is missing")
		}
		return &doc{N: a.N + x.N}, nil, nil
	})
	if err != nil {
		t.Fatalf("a pair update refused on a broken read: %v", err)
	}
	if a, _, _ := s.Get(ctx, "a"); a.N != 11 {
		t.Fatalf("a = %d after the second pair update, want 11", a.N)
	}
}

// A pair update that creates its second document reads both in one call: a bulk read that
// reports a document missing is not checked by reading it again when the batch creates it,
// because the create fails should the document be there after all.
func TestPairUpdateCreatingADocumentReadsOnce(t *testing.T) {
	ctx := context.Background()
	f, s, other := twoStores()
	if err := s.Create(ctx, "a", doc{N: 1}); err != nil {
		t.Fatal(err)
	}
	f.gets = 0
	err := UpdatePair(ctx, s, "a", other, "x", func(a, x *doc) (*doc, *doc, error) {
		return &doc{N: a.N + 1}, &doc{N: 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.gets != 0 {
		t.Fatalf("the pair update read %d documents on their own after its bulk read, want 0", f.gets)
	}
	if x, found, _ := other.Get(ctx, "x"); !found || x.N != 1 {
		t.Fatalf("x = %v (found %v), want 1", x, found)
	}
}

// Changes of one document that queue while its store is slow go to the store together: one
// read and one transaction for all of them, each change seeing the ones before it, a refused
// change leaving no trace, and a change whose caller gave up before its turn not made.
func TestPairUpdatesQueuedBehindASlowWriteAreCombined(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	products := New[doc](f, "store", "product-")
	holds := New[doc](f, "store", "hold-")
	if err := products.Create(ctx, "hot", doc{N: 0}); err != nil {
		t.Fatal(err)
	}
	reserve := func(ctx context.Context, order string, refuse bool) error {
		return UpdatePair(ctx, products, "hot", holds, order, func(p, h *doc) (*doc, *doc, error) {
			p.N++ // a change may touch its copy and still refuse
			if refuse {
				return nil, nil, errors.New("refused")
			}
			return p, &doc{N: p.N}, nil
		})
	}
	f.gate, f.held = make(chan struct{}), make(chan struct{}, 100)
	first := make(chan error)
	go func() { first <- reserve(ctx, "o00", false) }()
	<-f.held // the first change's write is on its way to the store

	gaveUp, cancel := context.WithCancel(ctx)
	abandoned := make(chan error, 1)
	go func() { abandoned <- reserve(gaveUp, "o99", false) }()
	errs := make(chan error, 10)
	for i := 1; i <= 10; i++ {
		go func() { errs <- reserve(ctx, fmt.Sprintf("o%02d", i), i == 5) }()
	}
	for products.waiting("hot") < 11 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	close(f.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Fatalf("the change whose caller gave up: %v", err)
	}
	refused := 0
	for range 10 {
		if err := <-errs; err != nil {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d of the 10 queued changes failed, want the one refused", refused)
	}
	if p, _, _ := products.Get(ctx, "hot"); p.N != 10 {
		t.Fatalf("hot = %d after 10 changes that went through, want 10", p.N)
	}
	if _, found, _ := holds.Get(ctx, "o99"); found {
		t.Fatal("the change whose caller gave up before its turn was made")
	}
	if _, found, _ := holds.Get(ctx, "o05"); found {
		t.Fatal("the refused change was made")
	}
	if f.txs != 3 { // the product's create, the first change, the nine queued behind it
		t.Fatalf("%d writes reached the store, want 3: the queued changes were not combined", f.txs)
	}
}

// Updates of one document queued behind a slow write go to the store as one write, and each
// returns the document as that write left it.
func TestUpdatesQueuedBehindASlowWriteAreCombined(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	s := New[doc](f, "store", "doc-")
	type outcome struct {
		n   int
		err error
	}
	add := func() outcome {
		got, err := s.Update(ctx, "hot", increment)
		return outcome{got.N, err}
	}
	f.gate, f.held = make(chan struct{}), make(chan struct{}, 100)
	first := make(chan outcome, 1)
	go func() { first <- add() }()
	<-f.held
	queued := make(chan outcome, 10)
	for range 10 {
		go func() { queued <- add() }()
	}
	for s.waiting("hot") < 10 {
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	if o := <-first; o.err != nil || o.n != 1 {
		t.Fatalf("the first update returned %d, %v; want 1", o.n, o.err)
	}
	for range 10 {
		if o := <-queued; o.err != nil || o.n != 11 {
			t.Fatalf("a combined update returned %d, %v; want 11, the document as written", o.n, o.err)
		}
	}
	if f.txs != 2 {
		t.Fatalf("11 updates in %d writes, want 2", f.txs)
	}
}

func TestUpdatesWithinTheWindowGoTogether(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	s := New[doc](f, "store", "doc-").CombineWithin(500 * time.Millisecond)
	got := make(chan int, 2)
	add := func() {
		d, err := s.Update(ctx, "x", increment)
		if err != nil {
			t.Error(err)
		}
		got <- d.N
	}
	go add()
	time.Sleep(50 * time.Millisecond)
	go add()
	for range 2 {
		if n := <-got; n != 2 {
			t.Fatalf("an update returned %d, want 2: both, written together", n)
		}
	}
	if len(f.reads) != 1 || f.txs != 1 {
		t.Fatalf("two updates within the window: %d reads and %d writes, want one of each", len(f.reads), f.txs)
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	s := New[doc](f, "store", "doc-")

	// The first attempt commits but its answer is lost: the retry finds its own document.
	f.loseN = 1
	if err := s.Create(ctx, "a", doc{N: 1}); err != nil {
		t.Fatalf("a create whose answer was lost: %v", err)
	}
	if err := s.Create(ctx, "a", doc{N: 1}); err != nil {
		t.Fatalf("creating the same document again: %v", err)
	}
	if err := s.Create(ctx, "a", doc{N: 2}); !errors.Is(err, ErrExists) {
		t.Fatalf("creating another document under a taken key: %v, want ErrExists", err)
	}
	if a, _, _ := s.Get(ctx, "a"); a.N != 1 {
		t.Fatalf("a = %d, want the first document", a.N)
	}
}

// Every read carries the metadata its write carried. Dapr's Redis store keeps a document
// written with contentType application/json as RedisJSON where the server has it (Redis 8,
// Redis Stack) and then fails a read without that metadata (WRONGTYPE), so a write and the
// reads of what it wrote must agree.
func TestReadsCarryTheMetadataOfWrites(t *testing.T) {
	ctx := context.Background()
	f, s, other := twoStores()
	if err := s.Create(ctx, "a", doc{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "a", func(cur *doc) (Change[doc], error) { return Change[doc]{Value: &doc{N: cur.N + 1}}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "b", func(*doc) (Change[doc], error) { return Change[doc]{Value: &doc{N: 1}}, nil }); err != nil {
		t.Fatal(err)
	}
	if err := UpdatePair(ctx, s, "a", other, "x", func(a, x *doc) (*doc, *doc, error) { return &doc{N: 9}, &doc{N: 9}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMany(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if len(f.reads) == 0 || len(f.writes) == 0 {
		t.Fatal("nothing recorded")
	}
	want := f.writes[0]
	for _, m := range append(f.writes, f.reads...) {
		if !maps.Equal(m, want) {
			t.Fatalf("calls carry different metadata: writes %v, reads %v", f.writes, f.reads)
		}
	}
}

// Replicas racing for one document (as many as the chart scales to), changes queued in each:
// every change goes through, however long the queue ahead of it, and none is lost. (Within a replica changes of
// one key take turns, so the replica whose write just won has its next one ready at once,
// while the other's waits out a pause: the loser must not run out of attempts.)
func TestRacingReplicasAllGetThrough(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	f.latency = 2 * time.Millisecond
	const perReplica = 20
	var replicas []*Store[doc]
	for range 6 {
		replicas = append(replicas, New[doc](f, "store", "doc-"))
	}
	var wg sync.WaitGroup
	for r, s := range replicas {
		for i := range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Update(ctx, "hot", increment); err != nil {
					t.Errorf("replica %d, change %d: %v", r, i, err)
				}
			}()
		}
	}
	wg.Wait()
	if got, _, _ := replicas[0].Get(ctx, "hot"); got.N != len(replicas)*perReplica {
		t.Fatalf("hot = %d after %d increments", got.N, len(replicas)*perReplica)
	}
}

// A list's ids, read page by page from the newest, are every id added, once each, whichever
// of two replicas added them.
// A listed update writes its two documents and adds to the list in one transaction, after one
// read; a refused change writes and lists nothing; a full head is kept as a page on the way.
func TestListedUpdatesWriteAndListTogether(t *testing.T) {
	ctx := context.Background()
	f, s, other := twoStores()
	log := NewLog(f, "store", "customer-")
	add := func(x string, refuse error) error {
		return UpdateListed(ctx, s, "a", other, x, log, "alice", x, func(a, b *doc) (*doc, *doc, error) {
			if refuse != nil {
				return nil, nil, refuse
			}
			n := 0
			if a != nil {
				n = a.N
			}
			return &doc{N: n + 1}, &doc{N: 1}, nil
		})
	}
	if err := add("x", nil); err != nil {
		t.Fatal(err)
	}
	if f.txs != 1 || f.gets != 0 || len(f.reads) != 1 || len(f.writes) != 3 {
		t.Fatalf("one listed update: %d reads (%d on their own) and %d writes in %d transactions, want 1 read and 3 writes in 1",
			len(f.reads), f.gets, len(f.writes), f.txs)
	}
	refused := errors.New("refused")
	if err := add("y", refused); !errors.Is(err, refused) {
		t.Fatalf("a refused change: %v", err)
	}
	if _, found, _ := other.Get(ctx, "y"); found || f.txs != 1 {
		t.Fatalf("a refused change was written (found %v, %d transactions)", found, f.txs)
	}
	// Enough to fill two pages, concurrently: the ones that find the head full turn the page.
	const n = 2*LogPageSize + 10
	inParallel(t, n, func(i int) error { return add("x"+strconv.Itoa(i), nil) })
	listed := listedOnce(t, log, "alice")
	if a, _, _ := s.Get(ctx, "a"); a.N != n+1 || len(listed) != n+1 || listed["y"] {
		t.Fatalf("a counts %d changes and the list holds %d ids (y: %v), want %d and %d without y", a.N, len(listed), listed["y"], n+1, n+1)
	}
	for i := range n {
		if _, found, _ := other.Get(ctx, "x"+strconv.Itoa(i)); !found {
			t.Fatalf("x%d was listed but not written", i)
		}
	}
}

// An update listed apart reads the document and the list's head in one call, and writes the
// head before the document, each on its own: a document is never there unlisted, a failed
// write of it leaves it listed, and a refused change lists nothing.
func TestUpdatesListedApartListBeforeTheyWrite(t *testing.T) {
	ctx := context.Background()
	f, s, _ := twoStores()
	log := NewLog(f, "store", "customer-")
	update := func(x string, refuse error) error {
		return UpdateListedApart(ctx, s, x, log, "alice", x, func(cur *doc) (*doc, bool, error) {
			if refuse != nil {
				return nil, false, refuse
			}
			if cur == nil {
				return &doc{N: 1}, true, nil
			}
			return &doc{N: cur.N + 1}, false, nil
		})
	}
	if err := update("x", nil); err != nil {
		t.Fatal(err)
	}
	if f.gets != 0 || len(f.reads) != 1 || f.txs != 2 || len(f.writes) != 2 {
		t.Fatalf("a new document: %d reads (%d on their own) and %d writes in %d calls, want 1 read and 2 writes in 2",
			len(f.reads), f.gets, len(f.writes), f.txs)
	}
	head, _ := strconv.Atoi(f.docs["customer-alice"].Etag)
	if written, _ := strconv.Atoi(f.docs["doc-x"].Etag); written < head {
		t.Fatalf("the document was written (write %d) before the list's head (write %d)", written, head)
	}
	if err := update("x", nil); err != nil {
		t.Fatal(err)
	}
	if len(f.reads) != 2 || f.txs != 3 {
		t.Fatalf("a listed document's update: %d reads and %d writes in all, want 2 and 3", len(f.reads), f.txs)
	}
	refused := errors.New("refused")
	if err := update("y", refused); !errors.Is(err, refused) {
		t.Fatalf("a refused change: %v", err)
	}
	f.refuse["doc-z"] = 1
	if err := update("z", nil); err != nil {
		t.Fatalf("an update whose first write of the document failed: %v", err)
	}
	if ids, _, err := log.Page(ctx, "alice", ""); err != nil || fmt.Sprint(ids) != "[z x]" {
		t.Fatalf("the list holds %v (%v), want z and x once each, and not y", ids, err)
	}
	// Enough to fill two pages, concurrently: the ones that find the head full turn the page.
	const n = 2*LogPageSize + 10
	inParallel(t, n, func(i int) error { return update("n"+strconv.Itoa(i), nil) })
	listed := listedOnce(t, log, "alice")
	if len(listed) != n+2 {
		t.Fatalf("the list holds %d ids, want %d", len(listed), n+2)
	}
	for i := range n {
		if d, found, _ := s.Get(ctx, "n"+strconv.Itoa(i)); !found || d.N != 1 {
			t.Fatalf("n%d was listed but not written once (%v, %d)", i, found, d.N)
		}
	}
}

// An update that fails before sending a write says nothing was written; one whose write was
// sent and then lost does not, for that write may have committed.
func TestUpdateSaysWhetherItWroteNothing(t *testing.T) {
	ctx := context.Background()
	f, s, _ := twoStores()
	f.down = true
	if _, err := s.Update(ctx, "a", increment); !errors.Is(err, ErrNotWritten) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("an update with the store out of reach: %v, want ErrNotWritten and ErrUnavailable", err)
	}
	f.down, f.loseN, f.downAfterLoss = false, 1, true
	if _, err := s.Update(ctx, "a", increment); errors.Is(err, ErrNotWritten) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("an update whose write's answer was lost: %v, want ErrUnavailable without ErrNotWritten", err)
	}
}

func TestLogKeepsPages(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	replicas := []*Log{NewLog(f, "store", "customer-"), NewLog(f, "store", "customer-")}
	docs := []*Store[doc]{New[doc](f, "store", "doc-"), New[doc](f, "store", "doc-")}
	// add lists id from replica r, as a document's update does that found it unlisted (the
	// first, or a retry after a write of it failed).
	add := func(r int, id string) error {
		return UpdateListedApart(ctx, docs[r], id, replicas[r], "alice", id, func(*doc) (*doc, bool, error) { return &doc{N: 1}, true, nil })
	}
	const n = 2*LogPageSize + 50
	inParallel(t, n, func(i int) error { return add(i%2, strconv.Itoa(i)) })
	for range 2 { // a retry soon after: the head holds it already
		if err := add(0, "extra"); err != nil {
			t.Fatal(err)
		}
	}
	// Adding again an id whose page was just kept (two writers racing to list one order across
	// a page boundary) adds nothing either.
	for i := range LogPageSize - 1 - (n+1)%LogPageSize {
		if err := add(0, "filler-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := add(1, "last-on-its-page"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"new-page", "last-on-its-page", "extra"} {
		if err := add(0, id); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	cursor, pages := "", 0
	for {
		ids, next, err := replicas[1].Page(ctx, "alice", cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > LogPageSize {
			t.Fatalf("a page of %d ids", len(ids))
		}
		for _, id := range ids {
			seen[id]++
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if want := 3*LogPageSize + 1; len(seen) != want || pages != 4 {
		t.Fatalf("%d ids in %d pages, want %d in 4", len(seen), pages, want)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("id %s listed %d times", id, c)
		}
	}
	if _, _, err := replicas[0].Page(ctx, "alice", "p7"); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("a cursor never handed out: %v", err)
	}
	if ids, next, err := replicas[0].Page(ctx, "bob", ""); err != nil || len(ids) != 0 || next != "" {
		t.Fatalf("an empty list: %v %q %v", ids, next, err)
	}
}

// listedOnce reads the list under key page by page and returns its ids, failing the test on
// an id listed twice.
func listedOnce(t *testing.T, log *Log, key string) map[string]bool {
	t.Helper()
	listed := map[string]bool{}
	for cursor := ""; ; {
		ids, next, err := log.Page(context.Background(), key, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if listed[id] {
				t.Fatalf("%s listed twice", id)
			}
			listed[id] = true
		}
		if cursor = next; cursor == "" {
			return listed
		}
	}
}

// inParallel runs do(0) to do(n-1) at once and reports their errors.
func inParallel(t *testing.T, n int, do func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
