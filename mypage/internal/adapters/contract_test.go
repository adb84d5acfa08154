package adapters_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/value"
)

func TestMemoryRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(*testing.T) (app.Repository, app.Repository) {
		r := adapters.NewMemoryRepository()
		return r, r
	})
}

func TestDaprRepository(t *testing.T) {
	t.Parallel()
	var client daprstate.Client
	runContract(t, func(t *testing.T) (app.Repository, app.Repository) {
		client = daprtest.LocalProfile(t, "mypage")
		return adapters.NewDaprRepository(client, "mypage-store", 0), adapters.NewDaprRepository(client, "mypage-store", 0)
	})
	ctx := context.Background()
	repo := adapters.NewDaprRepository(client, "mypage-store", 0)

	// Rows stay stored under the names they always had.
	item, err := client.GetState(ctx, "mypage-store", "row-o-07", nil)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]json.RawMessage
	if err := json.Unmarshal(item.Value, &stored); err != nil {
		t.Fatalf("row o-07 stored as %s: %v", item.Value, err)
	}
	want := map[string]string{
		"Customer": `"alice"`, "OrderID": `"o-07"`, "ProductID": `"apple"`, "Qty": `1`,
		"Heard": `{"DeliveryStarted":true,"OrderCancelled":true,"OrderPlaced":true}`, "listed": `true`,
	}
	for field, v := range want {
		if string(stored[field]) != v {
			t.Errorf("stored %s: %s, want %s", field, stored[field], v)
		}
	}
	for _, field := range []string{"CreatedAt", "UpdatedAt"} {
		var at time.Time
		if err := json.Unmarshal(stored[field], &at); err != nil || at.IsZero() {
			t.Errorf("stored %s: %s %v", field, stored[field], err)
		}
	}
	if len(stored) != len(want)+2 {
		t.Errorf("stored row has other fields: %s", item.Value)
	}

	// A stored row that does not restore is the store's failure, not the caller's invalid input.
	corrupt := `{"Customer":"alice","OrderID":"o-99","ProductID":"apple","Qty":0,"CreatedAt":"2026-01-01T00:00:00Z","UpdatedAt":"2026-01-01T00:00:00Z","Heard":{"OrderPlaced":true},"listed":true}`
	if err := client.SaveState(ctx, "mypage-store", "row-o-99", []byte(corrupt), nil); err != nil {
		t.Fatal(err)
	}
	alice, o99 := value.Must(domain.ParseCustomerID("alice")), oid("o-99")
	if _, err := repo.Row(ctx, alice, o99); err == nil || errors.Is(err, domain.ErrInvalidInput) || errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("a corrupt row read: %v", err)
	}
	h := domain.Happening{Fact: domain.OrderCancelled, ProductID: value.Must(domain.ParseProductID("apple")), Qty: qty(1), OccurredAt: time.Now()}
	if err := repo.Update(ctx, alice, o99, func(row *domain.Row) bool { return row.Learn(h) }); err == nil || errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("a corrupt row updated: %v", err)
	}
	if _, err := repo.Row(ctx, value.Must(domain.ParseCustomerID("bob")), o99); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("bob reads alice's corrupt row: %v", err)
	}
}

// TestDaprRepositoryOnRedis runs the contract on Dapr's Redis state store, mypage's store on
// the postgres-redis profile: its transactions commit in part when a write fails, and write a
// create over whatever is there, so the repository must not lean on them. (Writing a new row
// inside a transaction loses facts here when two replicas create the same row.)
func TestDaprRepositoryOnRedis(t *testing.T) {
	t.Parallel()
	var client daprstate.Client
	runContract(t, func(t *testing.T) (app.Repository, app.Repository) {
		dir := t.TempDir()
		component := "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: mypage-store\nspec:\n  type: state.redis\n  version: v1\n" +
			"  metadata:\n    - name: redisHost\n      value: " + daprtest.Redis(t, dir) + "\n"
		resources := filepath.Join(dir, "resources")
		if err := os.MkdirAll(resources, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(resources, "statestore.yaml"), []byte(component), 0o600); err != nil {
			t.Fatal(err)
		}
		client = daprtest.Sidecar(t, dir, "mypage", nil, resources)
		return adapters.NewDaprRepository(client, "mypage-store", 20*time.Millisecond), adapters.NewDaprRepository(client, "mypage-store", 20*time.Millisecond)
	})

	// An order's two facts, placed then delivery started, cost five store calls one after the
	// other: the row and its customer's list head read together, the head written, the row
	// written; then both read again and the row written.
	ctx := context.Background()
	counted := &countingClient{Client: client}
	a := app.New(adapters.NewDaprRepository(counted, "mypage-store", 200*time.Millisecond))
	placed := app.RecordOrderFact{Fact: "OrderPlaced", OrderID: "o-calls", CustomerID: "carol", ProductID: "apple", Qty: 1, OccurredAt: time.Now()}
	started := placed
	started.Fact, started.OccurredAt = "DeliveryStarted", placed.OccurredAt.Add(time.Second)
	for _, step := range []struct {
		fact  app.RecordOrderFact
		calls int64
	}{{placed, 3}, {started, 2}} {
		before := counted.calls.Load()
		if err := a.RecordOrderFact(ctx, step.fact); err != nil {
			t.Fatal(err)
		}
		if n := counted.calls.Load() - before; n != step.calls {
			t.Errorf("%s took %d store calls, want %d", step.fact.Fact, n, step.calls)
		}
	}
	rows, _, err := a.Orders(ctx, "carol", "")
	if err != nil || len(rows) != 1 || rows[0].OrderStatus() != domain.StatusDeliveryStarted || !rows[0].CreatedAt().Equal(placed.OccurredAt) {
		t.Fatalf("carol's page: %+v %v", rows, err)
	}

	// Within the repository's window they go to the store together: three calls for both.
	placed.OrderID, started.OrderID = "o-together", "o-together"
	before := counted.calls.Load()
	var wg sync.WaitGroup
	for _, fact := range []app.RecordOrderFact{placed, started} {
		wg.Go(func() {
			if err := a.RecordOrderFact(ctx, fact); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := counted.calls.Load() - before; n != 3 {
		t.Errorf("an order's two facts at once took %d store calls, want 3", n)
	}
	row, err := a.Order(ctx, "carol", "o-together")
	if err != nil || row.OrderStatus() != domain.StatusDeliveryStarted {
		t.Fatalf("carol's order o-together: %+v %v", row, err)
	}
	if rows, _, err := a.Orders(ctx, "carol", ""); err != nil || len(rows) != 2 {
		t.Fatalf("carol's page lists %d orders (%v), want 2", len(rows), err)
	}
}

// countingClient counts the calls a repository makes to its sidecar.
type countingClient struct {
	daprstate.Client
	calls atomic.Int64
}

func (c *countingClient) GetState(ctx context.Context, store, key string, meta map[string]string) (*dapr.StateItem, error) {
	c.calls.Add(1)
	return c.Client.GetState(ctx, store, key, meta)
}

func (c *countingClient) GetBulkState(ctx context.Context, store string, keys []string, meta map[string]string, parallelism int32) ([]*dapr.BulkStateItem, error) {
	c.calls.Add(1)
	return c.Client.GetBulkState(ctx, store, keys, meta, parallelism)
}

func (c *countingClient) SaveStateWithETag(ctx context.Context, store, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error {
	c.calls.Add(1)
	return c.Client.SaveStateWithETag(ctx, store, key, data, etag, meta, so...)
}

func (c *countingClient) SaveState(ctx context.Context, store, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error {
	c.calls.Add(1)
	return c.Client.SaveState(ctx, store, key, data, meta, so...)
}

func (c *countingClient) ExecuteStateTransaction(ctx context.Context, store string, meta map[string]string, ops []*dapr.StateOperation) error {
	c.calls.Add(1)
	return c.Client.ExecuteStateTransaction(ctx, store, meta, ops)
}

func (c *countingClient) DeleteBulkStateItems(ctx context.Context, store string, items []*dapr.DeleteStateItem) error {
	c.calls.Add(1)
	return c.Client.DeleteBulkStateItems(ctx, store, items)
}

// runContract checks a Repository; a and b stand for two replicas sharing one store.
func runContract(t *testing.T, newRepos func(*testing.T) (app.Repository, app.Repository)) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	alice, bob := value.Must(domain.ParseCustomerID("alice")), value.Must(domain.ParseCustomerID("bob"))
	apple := value.Must(domain.ParseProductID("apple"))

	if rows, next, err := a.Page(ctx, alice, ""); err != nil || len(rows) != 0 || next != "" {
		t.Fatalf("empty page: %+v %q %v", rows, next, err)
	}
	if _, err := a.Row(ctx, alice, oid("o-01")); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("a row never stored: %v", err)
	}
	// A change that changes nothing stores nothing, and lists nothing.
	if err := a.Update(ctx, alice, oid("o-none"), func(*domain.Row) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Row(ctx, alice, oid("o-none")); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("a row of no change: %v", err)
	}
	// Two replicas learn many facts about one customer's orders at once, the two facts of an
	// order each on another replica: none is lost, and every order is listed once.
	var wg sync.WaitGroup
	for i := range 40 {
		r := a
		if (i+i/20)%2 == 1 {
			r = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := oid(fmt.Sprintf("o-%02d", i%20))
			fact := domain.OrderPlaced
			if i >= 20 {
				fact = domain.DeliveryStarted
			}
			h := domain.Happening{Fact: fact, ProductID: apple, Qty: qty(1), OccurredAt: now.Add(time.Duration(i%20) * time.Second)}
			if err := r.Update(ctx, alice, id, func(row *domain.Row) bool { return row.Learn(h) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rows, next, err := b.Page(ctx, alice, "")
	if err != nil || len(rows) != 20 || next != "" {
		t.Fatalf("after 40 facts of 20 orders: %d rows, %q, %v", len(rows), next, err)
	}
	seen := map[domain.OrderID]bool{}
	for _, r := range rows {
		if seen[r.OrderID()] || r.OrderStatus() != domain.StatusDeliveryStarted || r.Customer() != alice {
			t.Fatalf("row %+v (listed twice, or a fact lost)", r)
		}
		seen[r.OrderID()] = true
	}
	row, err := a.Row(ctx, alice, oid("o-07"))
	if err != nil || row.OrderStatus() != domain.StatusDeliveryStarted || row.DeliveryStatus() != domain.DeliveryStatusStarted ||
		!row.CreatedAt().Equal(now.Add(7*time.Second)) || !row.UpdatedAt().Equal(now.Add(7*time.Second)) ||
		row.Qty() != qty(1) || row.ProductID() != apple || row.OrderID() != oid("o-07") ||
		!slices.Equal(row.Heard(), []domain.Fact{domain.OrderPlaced, domain.DeliveryStarted}) {
		t.Fatalf("row read back: %+v %v", row, err)
	}
	// A fact heard before changes nothing; a new one changes the stored row.
	cancel := domain.Happening{Fact: domain.OrderCancelled, ProductID: apple, Qty: qty(1), OccurredAt: now.Add(time.Minute)}
	for range 2 {
		if err := b.Update(ctx, alice, oid("o-07"), func(row *domain.Row) bool { return row.Learn(cancel) }); err != nil {
			t.Fatal(err)
		}
	}
	if row, err := a.Row(ctx, alice, oid("o-07")); err != nil || row.OrderStatus() != domain.StatusCancelled ||
		!row.UpdatedAt().Equal(now.Add(time.Minute)) || len(row.Heard()) != 3 {
		t.Fatalf("row after OrderCancelled: %+v %v", row, err)
	}
	if rows, _, _ := a.Page(ctx, bob, ""); len(rows) != 0 {
		t.Fatalf("bob sees alice's orders: %+v", rows)
	}
	if _, err := a.Row(ctx, bob, oid("o-07")); !errors.Is(err, domain.ErrUnknownOrder) {
		t.Fatalf("bob reads alice's row: %v", err)
	}
	// An event naming another customer for a known order changes nothing.
	h := domain.Happening{Fact: domain.DeliveryCancelled, ProductID: apple, Qty: qty(1), OccurredAt: now}
	if err := b.Update(ctx, bob, oid("o-07"), func(row *domain.Row) bool { return row.Learn(h) }); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("bob's event about alice's order: %v", err)
	}
	if row, err := a.Row(ctx, alice, oid("o-07")); err != nil || row.DeliveryStatus() != domain.DeliveryStatusStarted {
		t.Fatalf("alice's row after bob's event: %+v %v", row, err)
	}
	if _, _, err := a.Page(ctx, alice, "p9"); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("a cursor never handed out: %v", err)
	}
}

func oid(s string) domain.OrderID { return value.Must(domain.ParseOrderID(s)) }

func qty(n int) domain.Qty { return value.Must(domain.ParseQty(n)) }
