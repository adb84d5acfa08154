package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/value"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

type noMetrics struct{}

func (noMetrics) Reservation(string, int) {}
func (noMetrics) HoldReleased(int)        {}

const hold = time.Minute

func newWarehouse(t *testing.T, stock map[string]int) *app.App {
	t.Helper()
	a, _, _ := newWarehouseAt(t, stock)
	return a
}

// newWarehouseAt returns a warehouse whose clock the test moves, and the order service it asks.
func newWarehouseAt(t *testing.T, stock map[string]int) (*app.App, *adapters.MemoryOrders, *time.Time) {
	t.Helper()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	orders := &adapters.MemoryOrders{}
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := app.New(adapters.NewMemoryRepository(), orders, noMetrics{}, clock, hold)
	for id, n := range stock {
		if _, err := a.RegisterProduct(context.Background(), id, "Product "+id, n); err != nil {
			t.Fatal(err)
		}
	}
	return a, orders, &now
}

// reserve asks for stock as the order service would on an order's first attempt.
func reserve(ctx context.Context, a *app.App, order, product string, qty int) (app.Refusal, error) {
	_, refusal, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: order, ProductID: product, Qty: qty, ReservationID: "r-" + order})
	return refusal, err
}

func stockOf(t *testing.T, a *app.App, id string) (onHand, reserved int) {
	t.Helper()
	p, err := a.Product(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.OnHand(), p.Reserved()
}

func TestRegisterProductRejectsBadInput(t *testing.T) {
	t.Parallel()
	a := newWarehouse(t, map[string]int{"apple": 1})
	ctx := context.Background()
	cases := []struct {
		id, name string
		stock    int
		want     error
	}{
		{"", "x", 1, domain.ErrInvalidInput},
		{"a/b", "x", 1, domain.ErrInvalidInput},
		{"pear", "", 1, domain.ErrInvalidInput},
		{"pear", "Pear", -1, domain.ErrInvalidInput},
		{"pear", "Pear", domain.MaxStock + 1, domain.ErrInvalidInput},
		{"apple", "Apple", 1, domain.ErrProductExists},
	}
	for _, c := range cases {
		if _, err := a.RegisterProduct(ctx, c.id, c.name, c.stock); !errors.Is(err, c.want) {
			t.Errorf("RegisterProduct(%q, %q, %d) = %v, want %v", c.id, c.name, c.stock, err, c.want)
		}
	}
}

func TestReserveStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 10})

	if refusal, err := reserve(ctx, a, "o1", "apple", 4); err != nil || !refusal.IsZero() {
		t.Fatalf("reserve 4 of 10: %q, %v", refusal, err)
	}
	if onHand, reserved := stockOf(t, a, "apple"); onHand != 10 || reserved != 4 {
		t.Fatalf("after reserving 4: onHand %d reserved %d", onHand, reserved)
	}
	// Idempotent by order: the same request again reserves nothing more.
	if refusal, err := reserve(ctx, a, "o1", "apple", 4); err != nil || !refusal.IsZero() {
		t.Fatalf("repeated reservation: %q, %v", refusal, err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 4 {
		t.Fatalf("a repeated reservation reserved again: %d", reserved)
	}
	// The same order asking for something else (one idempotency key, two requests) is
	// refused; the warehouse itself did not fail.
	if refusal, err := reserve(ctx, a, "o1", "apple", 5); err != nil || refusal != app.RefusedClash {
		t.Fatalf("clashing reservation: %q %v", refusal, err)
	}
	if refusal, _ := reserve(ctx, a, "o2", "apple", 7); refusal != app.RefusedOutOfStock {
		t.Fatalf("reserving 7 of 6 available: %q", refusal)
	}
	if refusal, _ := reserve(ctx, a, "o3", "durian", 1); refusal != app.RefusedUnknownProduct {
		t.Fatalf("reserving an unknown product: %q", refusal)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 4 {
		t.Fatalf("refusals changed the stock: reserved %d", reserved)
	}
	for _, qty := range []int{0, -1, domain.MaxQty + 1} {
		if _, err := reserve(ctx, a, "o4", "apple", qty); !errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("qty %d: %v", qty, err)
		}
	}
}

func TestConcurrentReservationsNeverOversell(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 40})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for i := range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refusal, err := reserve(ctx, a, fmt.Sprintf("o%d", i), "apple", 1)
			if err != nil {
				t.Error(err)
				return
			}
			if refusal.IsZero() {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if onHand, reserved := stockOf(t, a, "apple"); accepted != 40 || reserved != 40 || onHand != 40 {
		t.Fatalf("150 orders for 40: accepted %d, reserved %d, onHand %d", accepted, reserved, onHand)
	}
}

// The stock a cancelled order gives back does not depend on whether the warehouse hears of
// the delivery start or of the cancellation first, nor on how often it hears each.
func TestGiveBackConvergesWhateverTheOrderOfEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sequences := map[string][]string{
		"start then cancel":             {"start", "cancel"},
		"cancel then start":             {"cancel", "start"},
		"duplicates everywhere":         {"start", "start", "cancel", "cancel", "start"},
		"cancel twice before a start":   {"cancel", "cancel", "start"},
		"start only (not cancelled)":    {"start", "start"},
		"release then cancel (unsaved)": {"release", "cancel"},
	}
	for name, seq := range sequences {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newWarehouse(t, map[string]int{"apple": 10})
			if refusal, err := reserve(ctx, a, "o1", "apple", 3); err != nil || !refusal.IsZero() {
				t.Fatal(refusal, err)
			}
			cancelled := false
			for _, step := range seq {
				var err error
				switch step {
				case "start":
					err = a.ShipStock(ctx, app.ShipStock{OrderID: "o1", ProductID: "apple"})
				case "cancel":
					err, cancelled = a.GiveBackStock(ctx, app.GiveBackStock{OrderID: "o1", ProductID: "apple"}), true
				case "release":
					err, cancelled = a.ReleaseReservation(ctx, "o1", "r-o1"), true
				}
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			wantOnHand := 7
			if cancelled {
				wantOnHand = 10
			}
			if onHand, reserved := stockOf(t, a, "apple"); onHand != wantOnHand || reserved != 0 {
				t.Fatalf("onHand %d reserved %d, want %d and 0", onHand, reserved, wantOnHand)
			}
		})
	}
}

func TestReleasedReservationCanBeReservedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 5})
	if _, err := reserve(ctx, a, "o1", "apple", 5); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseReservation(ctx, "o1", "r-o1"); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseReservation(ctx, "never-reserved", "r1"); err != nil {
		t.Fatalf("releasing nothing: %v", err)
	}
	if refusal, err := reserve(ctx, a, "o1", "apple", 5); err != nil || !refusal.IsZero() {
		t.Fatalf("a retried order after its release: %q %v", refusal, err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 5 {
		t.Fatalf("reserved %d", reserved)
	}
}

func TestEventsForUnknownReservationsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 5})
	if err := a.ShipStock(ctx, app.ShipStock{OrderID: "ghost", ProductID: "apple"}); !errors.Is(err, domain.ErrUnknownReservation) {
		t.Fatalf("start of an unknown order: %v", err)
	}
	if err := a.GiveBackStock(ctx, app.GiveBackStock{OrderID: "ghost", ProductID: "pear"}); !errors.Is(err, domain.ErrUnknownProduct) {
		t.Fatalf("cancel on an unknown product: %v", err)
	}
}

func TestAdjustStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 10})
	if _, err := reserve(ctx, a, "o1", "apple", 6); err != nil {
		t.Fatal(err)
	}
	if p, err := a.AdjustStock(ctx, "apple", "", 5); err != nil || p.OnHand() != 15 {
		t.Fatalf("adding 5: %v %v", p, err)
	}
	if _, err := a.AdjustStock(ctx, "apple", "", -10); !errors.Is(err, domain.ErrBelowReserved) {
		t.Fatalf("taking away reserved stock: %v", err)
	}
	if p, err := a.AdjustStock(ctx, "apple", "", -9); err != nil || p.Available() != 0 {
		t.Fatalf("taking away all that is free: %v %v", p, err)
	}
	if _, err := a.AdjustStock(ctx, "apple", "", 0); !errors.Is(err, domain.ErrInvalidInput) {
		t.Fatalf("zero: %v", err)
	}
	if _, err := a.AdjustStock(ctx, "durian", "", 1); !errors.Is(err, domain.ErrUnknownProduct) {
		t.Fatalf("unknown product: %v", err)
	}
}

// An adjustment asked for again under its key is made once; the key cannot name another one.
func TestAnAdjustmentIsMadeOncePerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 10, "pear": 10})
	for range 2 {
		if p, err := a.AdjustStock(ctx, "apple", "count-7", 5); err != nil || p.OnHand() != 15 {
			t.Fatalf("adjusting under count-7: %+v, %v; want 15 on hand", p, err)
		}
	}
	if _, err := a.AdjustStock(ctx, "apple", "count-7", 6); !errors.Is(err, domain.ErrAdjustmentKeyReused) {
		t.Fatalf("count-7 for 6 units: %v", err)
	}
	// A key belongs to one product's adjustments.
	if p, err := a.AdjustStock(ctx, "pear", "count-7", 6); err != nil || p.OnHand() != 16 {
		t.Fatalf("pear under count-7: %+v, %v", p, err)
	}
	// Without a key, each request is an adjustment of its own.
	for range 2 {
		if _, err := a.AdjustStock(ctx, "apple", "", 1); err != nil {
			t.Fatal(err)
		}
	}
	if onHand, _ := stockOf(t, a, "apple"); onHand != 17 {
		t.Fatalf("%d apples on hand, want 17", onHand)
	}
	for _, bad := range []string{"with space", strings.Repeat("k", 129), "caf\u00e9"} {
		if _, err := a.AdjustStock(ctx, "apple", bad, 1); !errors.Is(err, domain.ErrInvalidInput) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
}

// A reservation whose order was never stored (the order service crashed, or gave up waiting)
// is given back once its hold has passed; one whose order exists is kept.
func TestUnconfirmedReservationsAreReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, orders, now := newWarehouseAt(t, map[string]int{"apple": 10})
	for _, o := range []string{"stored", "lost", "shipped"} {
		if refusal, err := reserve(ctx, a, o, "apple", 2); err != nil || !refusal.IsZero() {
			t.Fatal(refusal, err)
		}
	}
	orders.Store(value.Must(domain.ParseOrderID("stored")), value.Must(domain.ParseReservationID("r-stored")))
	// A delivery that started settles its reservation: nothing left to confirm.
	if err := a.ShipStock(ctx, app.ShipStock{OrderID: "shipped", ProductID: "apple"}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.ReleaseUnconfirmed(ctx); n != 0 || err != nil {
		t.Fatalf("before the hold passed: released %d, %v", n, err)
	}
	*now = now.Add(hold + time.Second)
	orders.Down = true
	if n, err := a.ReleaseUnconfirmed(ctx); n != 0 || err == nil {
		t.Fatalf("with the order service down nothing may be released: %d, %v", n, err)
	}
	orders.Down = false
	if n, err := a.ReleaseUnconfirmed(ctx); n != 1 || err != nil {
		t.Fatalf("released %d, %v; want only the lost order's", n, err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 2 {
		t.Fatalf("reserved %d, want 2 (the stored order's)", reserved)
	}
	if n, _ := a.ReleaseUnconfirmed(ctx); n != 0 {
		t.Fatalf("a second sweep released %d more", n)
	}
	p, _ := a.Product(ctx, "apple")
	if len(p.Holds()) != 0 {
		t.Fatalf("holds left: %v", p.Holds())
	}
}

// An abandoned attempt's reservation is replaced, not handed out again, and giving it back
// later touches only it: the next attempt keeps what it reserved.
func TestAbandonedReservationIsReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 5})
	if refusal, err := reserve(ctx, a, "o1", "apple", 3); err != nil || !refusal.IsZero() {
		t.Fatal(refusal, err)
	}
	// A repeat names the reservation the order already holds.
	holder, _, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: "o1", ProductID: "apple", Qty: 3, ReservationID: "second"})
	if err != nil || holder != value.Must(domain.ParseReservationID("r-o1")) {
		t.Fatalf("repeat: held by %q, %v", holder, err)
	}
	// The attempt that made r-o1 was abandoned; the next one replaces it.
	holder, refusal, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: "o1", ProductID: "apple", Qty: 3, ReservationID: "third", Replaces: []string{"r-o1"}})
	if err != nil || !refusal.IsZero() || holder != value.Must(domain.ParseReservationID("third")) {
		t.Fatalf("replacing: held by %q, %q, %v", holder, refusal, err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 3 {
		t.Fatalf("replacing changed the reserved stock: %d", reserved)
	}
	// The late release of the abandoned reservation gives back nothing of the new one.
	if err := a.ReleaseReservation(ctx, "o1", "r-o1"); err != nil {
		t.Fatal(err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 3 {
		t.Fatalf("releasing the abandoned reservation released the new one: reserved %d", reserved)
	}
	if err := a.ReleaseReservation(ctx, "o1", "third"); err != nil {
		t.Fatal(err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 0 {
		t.Fatalf("reserved %d after releasing the holder", reserved)
	}
}

// A repeated request for a reservation is an order being placed again right now: its hold
// starts over, so the sweep does not ask about an order whose request is still running.
func TestRepeatedReservationExtendsTheHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, orders, now := newWarehouseAt(t, map[string]int{"apple": 5})
	if _, err := reserve(ctx, a, "o1", "apple", 2); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(hold - time.Second)
	if _, err := reserve(ctx, a, "o1", "apple", 2); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(2 * time.Second)
	orders.Down = true // any question to the order service would fail the sweep
	if n, err := a.ReleaseUnconfirmed(ctx); n != 0 || err != nil {
		t.Fatalf("a hold renewed a second ago was settled: %d, %v", n, err)
	}
}

// The sweep settles one reservation; should the order's next attempt replace it meanwhile,
// the sweep gives back nothing of the new one.
func TestSweepLeavesAReplacedReservationAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, orders, now := newWarehouseAt(t, map[string]int{"apple": 5})
	if _, err := reserve(ctx, a, "o1", "apple", 2); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(hold + time.Second)
	orders.OnSettle = func() {
		// While the order service settles r-o1 as abandoned, the order's retry replaces it.
		if _, refusal, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: "o1", ProductID: "apple", Qty: 2, ReservationID: "retry", Replaces: []string{"r-o1"}}); err != nil || !refusal.IsZero() {
			t.Errorf("retry: %q %v", refusal, err)
		}
	}
	if n, err := a.ReleaseUnconfirmed(ctx); n != 0 || err != nil {
		t.Fatalf("released %d, %v: the retry's reservation was given back", n, err)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 2 {
		t.Fatalf("reserved %d, want the retry's 2", reserved)
	}
}

// Two replicas sweep the same expired hold at once: only the one whose write gives the stock
// back counts it as released. The other decided to give it back too, lost the race to write,
// and found it given back on its next attempt.
func TestARaceLostWhileSweepingReleasesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	repo := &racedStock{MemoryRepository: adapters.NewMemoryRepository(), now: now.Add(hold + time.Second)}
	var released releasedUnits
	a := app.New(repo, &adapters.MemoryOrders{}, &released, func() time.Time { return now }, hold)
	if _, err := a.RegisterProduct(ctx, "apple", "Apple", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(ctx, a, "o1", "apple", 2); err != nil {
		t.Fatal(err)
	}
	now = now.Add(hold + time.Second)
	repo.race = true
	if n, err := a.ReleaseUnconfirmed(ctx); n != 0 || err != nil {
		t.Fatalf("the replica that lost the race released %d, %v", n, err)
	}
	if released != 0 {
		t.Fatalf("the replica that lost the race counted %d units given back", released)
	}
	if _, reserved := stockOf(t, a, "apple"); reserved != 0 {
		t.Fatalf("reserved %d: the hold was not given back", reserved)
	}
}

// racedStock loses the first race it is armed for: the change is decided on the stock as
// read, then another replica gives the reservation back before the write, so the write fails
// and the change is decided again on what that replica left.
type racedStock struct {
	*adapters.MemoryRepository
	now  time.Time
	race bool
}

var errLostRace = errors.New("another writer was first")

func (r *racedStock) UpdateStock(ctx context.Context, id domain.ProductID, order domain.OrderID,
	change func(*domain.Product, *domain.Reservation) (*domain.Reservation, error),
) error {
	if r.race {
		r.race = false
		_ = r.MemoryRepository.UpdateStock(ctx, id, order, func(p *domain.Product, cur *domain.Reservation) (*domain.Reservation, error) {
			if _, err := change(p, cur); err != nil {
				return nil, err
			}
			return nil, errLostRace
		})
		err := r.MemoryRepository.UpdateStock(ctx, id, order, func(p *domain.Product, cur *domain.Reservation) (*domain.Reservation, error) {
			if !p.Confirm(cur) || !p.GiveBack(cur, r.now) {
				return nil, errors.New("the rival replica found nothing to give back")
			}
			return cur, nil
		})
		if err != nil {
			return err
		}
	}
	return r.MemoryRepository.UpdateStock(ctx, id, order, change)
}

// releasedUnits counts the units the warehouse reports given back by its sweep.
type releasedUnits int

func (*releasedUnits) Reservation(string, int) {}
func (u *releasedUnits) HoldReleased(n int)    { *u += releasedUnits(n) }

// An adjustment whose write reached the store while its answer was lost (a connection reset
// after the commit) is decided again on the stock as the write left it: it is made once.
func TestAnAdjustmentWhoseAnswerWasLostIsMadeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := &lostAnswers{MemoryRepository: adapters.NewMemoryRepository()}
	a := app.New(repo, &adapters.MemoryOrders{}, noMetrics{}, time.Now, hold)
	if _, err := a.RegisterProduct(ctx, "apple", "Apple", 10); err != nil {
		t.Fatal(err)
	}
	repo.lose = true
	if p, err := a.AdjustStock(ctx, "apple", "", 5); err != nil || p.OnHand() != 15 {
		t.Fatalf("after the retry: %+v, %v; want 15 on hand", p, err)
	}
	if onHand, _ := stockOf(t, a, "apple"); onHand != 15 {
		t.Fatalf("%d on hand, want 15: the adjustment was made twice", onHand)
	}
}

// lostAnswers loses the answer to the first write it is armed for, after the write was made:
// the change is then decided again on what that write left, as a retry does.
type lostAnswers struct {
	*adapters.MemoryRepository
	lose bool
}

func (r *lostAnswers) AdjustProduct(ctx context.Context, id domain.ProductID, key domain.AdjustmentKey,
	change func(*domain.Product, *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, error) {
	if r.lose {
		r.lose = false
		if _, err := r.MemoryRepository.AdjustProduct(ctx, id, key, change); err != nil {
			return domain.Product{}, err
		}
	}
	return r.MemoryRepository.AdjustProduct(ctx, id, key, change)
}

// downStore is a repository whose store fails every call.
type downStore struct{}

var errDown = errors.New("dial tcp 127.0.0.1:3500: connection refused")

func (downStore) AddProduct(context.Context, domain.Product) error { return errDown }
func (downStore) Product(context.Context, domain.ProductID) (domain.Product, error) {
	return domain.Product{}, errDown
}
func (downStore) AdjustProduct(context.Context, domain.ProductID, domain.AdjustmentKey,
	func(*domain.Product, *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, error) {
	return domain.Product{}, errDown
}
func (downStore) ProductIDs(context.Context) ([]domain.ProductID, error) { return nil, errDown }
func (downStore) Reservation(context.Context, domain.OrderID) (domain.Reservation, error) {
	return domain.Reservation{}, errDown
}
func (downStore) UpdateStock(context.Context, domain.ProductID, domain.OrderID, func(*domain.Product, *domain.Reservation) (*domain.Reservation, error)) error {
	return errDown
}

// Whatever the store's failure, every use case reports the stock as unavailable and keeps
// the cause.
func TestStoreFailuresAreUnavailableStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := app.New(downStore{}, &adapters.MemoryOrders{}, noMetrics{}, time.Now, hold)
	calls := map[string]func() error{
		"register": func() error { _, err := a.RegisterProduct(ctx, "apple", "Apple", 1); return err },
		"product":  func() error { _, err := a.Product(ctx, "apple"); return err },
		"adjust":   func() error { _, err := a.AdjustStock(ctx, "apple", "", 1); return err },
		"reserve": func() error {
			_, refusal, err := a.ReserveStock(ctx, app.ReserveStock{OrderID: "o1", ProductID: "apple", Qty: 1, ReservationID: "r1"})
			if !refusal.IsZero() {
				t.Errorf("a store that is down refused with %s", refusal)
			}
			return err
		},
		"release":   func() error { return a.ReleaseReservation(ctx, "o1", "r1") },
		"give back": func() error { return a.GiveBackStock(ctx, app.GiveBackStock{OrderID: "o1", ProductID: "apple"}) },
		"ship":      func() error { return a.ShipStock(ctx, app.ShipStock{OrderID: "o1", ProductID: "apple"}) },
		"sweep":     func() error { _, err := a.ReleaseUnconfirmed(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, app.ErrUnavailable) || !errors.Is(err, errDown) {
			t.Errorf("%s: %v, want ErrUnavailable wrapping the store's error", name, err)
		}
	}
}

// The domain's refusals pass through as they are, never as unavailable stock.
func TestRefusalsAreNotUnavailability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newWarehouse(t, map[string]int{"apple": 10})
	if _, err := reserve(ctx, a, "o1", "apple", 6); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		err  error
		want error
	}{
		"exists":          {func() error { _, err := a.RegisterProduct(ctx, "apple", "Apple", 1); return err }(), domain.ErrProductExists},
		"unknown":         {func() error { _, err := a.Product(ctx, "durian"); return err }(), domain.ErrUnknownProduct},
		"below reserved":  {func() error { _, err := a.AdjustStock(ctx, "apple", "", -5); return err }(), domain.ErrBelowReserved},
		"above the limit": {func() error { _, err := a.AdjustStock(ctx, "apple", "", domain.MaxStock); return err }(), domain.ErrInvalidInput},
		"no reservation":  {a.ShipStock(ctx, app.ShipStock{OrderID: "o2", ProductID: "apple"}), domain.ErrUnknownReservation},
	}
	for name, c := range cases {
		if !errors.Is(c.err, c.want) || errors.Is(c.err, app.ErrUnavailable) {
			t.Errorf("%s: %v, want %v and not unavailable", name, c.err, c.want)
		}
	}
}
