package daprstate

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

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
}

func newFakeStore() *fakeStore {
	return &fakeStore{docs: map[string]dapr.StateItem{}, hide: map[string]bool{}}
}

func (f *fakeStore) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.docs[key]
	return &it, nil
}

func (f *fakeStore) GetBulkState(_ context.Context, _ string, keys []string, _ map[string]string, _ int32) ([]*dapr.BulkStateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
	return f.ExecuteStateTransaction(ctx, store, nil, []*dapr.StateOperation{{Item: &dapr.SetStateItem{Key: key, Value: data, Etag: &dapr.ETag{Value: etag}}}})
}

func (f *fakeStore) SaveState(ctx context.Context, store, key string, data []byte, meta map[string]string, _ ...dapr.StateOption) error {
	return f.ExecuteStateTransaction(ctx, store, nil, []*dapr.StateOperation{{Item: &dapr.SetStateItem{Key: key, Value: data}}})
}

// ExecuteStateTransaction writes every item or none: an item with an ETag must match it, one
// without is a create.
func (f *fakeStore) ExecuteStateTransaction(_ context.Context, _ string, _ map[string]string, ops []*dapr.StateOperation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		if op.Item.Metadata["outbox.projection"] == "true" {
			continue
		}
		cur, exists := f.docs[op.Item.Key]
		if op.Item.Etag == nil && exists || op.Item.Etag != nil && op.Item.Etag.Value != cur.Etag {
			return errors.New("possible etag mismatch")
		}
	}
	for _, op := range ops {
		if op.Item.Metadata["outbox.projection"] == "true" {
			continue
		}
		f.seq++
		f.docs[op.Item.Key] = dapr.StateItem{Key: op.Item.Key, Value: op.Item.Value, Etag: strconv.Itoa(f.seq)}
	}
	if f.loseN > 0 {
		f.loseN--
		return errors.New("context deadline exceeded")
	}
	return nil
}

type doc struct {
	N int `json:"n"`
}

func TestReadsDoNotTakeABrokenBulkReadForMissingDocuments(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	s := New[doc](f, "store", "doc-")
	other := New[doc](f, "store", "other-")
	for _, k := range []string{"a", "b"} {
		if err := s.Create(ctx, k, doc{N: 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Create(ctx, "x", doc{N: 5}, nil); err != nil {
		t.Fatal(err)
	}
	f.hide["doc-a"], f.hide["other-x"] = true, true

	got, err := s.GetMany(ctx, []string{"a", "b", "c"})
	if err != nil || len(got) != 2 {
		t.Fatalf("GetMany a, b and c (c missing) = %v, %v; want a and b", got, err)
	}
	err = UpdatePair(ctx, s, "a", other, "x", func(a, x *doc) (*doc, *doc, error) {
		if a == nil || x == nil {
			t.Fatalf("decided on a = %v, x = %v: both exist", a, x)
		}
		return &doc{N: a.N + x.N}, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _ := s.Get(ctx, "a"); a.N != 6 {
		t.Fatalf("a = %d after the pair update, want 6", a.N)
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	f := newFakeStore()
	s := New[doc](f, "store", "doc-")

	// The first attempt commits but its answer is lost: the retry finds its own document.
	f.loseN = 1
	if err := s.Create(ctx, "a", doc{N: 1}, []byte(`{"event":1}`)); err != nil {
		t.Fatalf("a create whose answer was lost: %v", err)
	}
	if err := s.Create(ctx, "a", doc{N: 1}, nil); err != nil {
		t.Fatalf("creating the same document again: %v", err)
	}
	if err := s.Create(ctx, "a", doc{N: 2}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("creating another document under a taken key: %v, want ErrExists", err)
	}
	if a, _, _ := s.Get(ctx, "a"); a.N != 1 {
		t.Fatalf("a = %d, want the first document", a.N)
	}
}
