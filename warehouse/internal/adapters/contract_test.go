package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/value"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/domain"
)

// Two repositories on one store stand for two replicas of the warehouse: they share no lock
// in memory, so only the store's concurrency control keeps them honest.
type replicas func(t *testing.T) (app.Repository, app.Repository)

func TestMemoryRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(*testing.T) (app.Repository, app.Repository) {
		r := adapters.NewMemoryRepository()
		return r, r
	})
}

func TestDaprRepository(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) (app.Repository, app.Repository) {
		client := daprtest.LocalProfile(t, "warehouse")
		return adapters.NewDaprRepository(client, "warehouse-store"), adapters.NewDaprRepository(client, "warehouse-store")
	})
}

func runContract(t *testing.T, newRepos replicas) {
	a, b := newRepos(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	apple, pear, durian := value.Must(domain.ParseProductID("apple")), value.Must(domain.ParseProductID("pear")), value.Must(domain.ParseProductID("durian"))
	o1, o2 := value.Must(domain.ParseOrderID("o1")), value.Must(domain.ParseOrderID("o2"))

	t.Run("products", func(t *testing.T) {
		p, _ := domain.NewProduct(apple, "Apple", 10)
		if err := a.AddProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := b.AddProduct(ctx, p); !errors.Is(err, domain.ErrProductExists) {
			t.Fatalf("second registration: %v", err)
		}
		got, err := b.Product(ctx, apple)
		if err != nil || got.ID() != apple || got.OnHand() != 10 || got.Name() != "Apple" || got.Reserved() != 0 || len(got.Holds()) != 0 {
			t.Fatalf("read back %+v, %v", got, err)
		}
		if ids, err := b.ProductIDs(ctx); err != nil || len(ids) != 1 || ids[0] != apple {
			t.Fatalf("catalog: %v %v", ids, err)
		}
		if _, err := a.Product(ctx, durian); !errors.Is(err, domain.ErrUnknownProduct) {
			t.Fatalf("unknown product: %v", err)
		}
		k1, k2 := value.Must(domain.ParseAdjustmentKey("count/1?a=%20")), value.Must(domain.ParseAdjustmentKey("count-2"))
		add := func(key domain.AdjustmentKey, delta int) func(*domain.Product, *domain.Adjustment) (*domain.Adjustment, error) {
			return func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error) {
				if earlier != nil {
					return nil, nil
				}
				if err := p.Adjust(delta); err != nil {
					return nil, err
				}
				adj := domain.NewAdjustment(key, delta, now)
				return &adj, nil
			}
		}
		if _, err := a.AdjustProduct(ctx, durian, k1, add(k1, 1)); !errors.Is(err, domain.ErrUnknownProduct) {
			t.Fatalf("adjusting an unknown product: %v", err)
		}
		upd, err := a.AdjustProduct(ctx, apple, k1, add(k1, 5))
		if err != nil || upd.OnHand() != 15 {
			t.Fatalf("adjust: %+v %v", upd, err)
		}
		// The other replica finds the adjustment kept under its key, and the product as it left it.
		var seen *domain.Adjustment
		got, err = b.AdjustProduct(ctx, apple, k1, func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error) {
			seen = earlier
			return nil, nil
		})
		if err != nil || got.OnHand() != 15 || seen == nil || seen.Key() != k1 || seen.Delta() != 5 || !seen.At().Equal(now) {
			t.Fatalf("the adjustment under %s: %+v, %+v, %v", k1, seen, got, err)
		}
		if got, err := b.AdjustProduct(ctx, apple, k2, add(k2, -1)); err != nil || got.OnHand() != 14 {
			t.Fatalf("another key: %+v %v", got, err)
		}
		wantErr := errors.New("refused")
		if _, err := a.AdjustProduct(ctx, apple, k2, func(*domain.Product, *domain.Adjustment) (*domain.Adjustment, error) { return nil, wantErr }); !errors.Is(err, wantErr) {
			t.Fatalf("a refused change: %v", err)
		}
		if got, err := b.Product(ctx, apple); err != nil || got.OnHand() != 14 {
			t.Fatalf("read back %+v, %v", got, err)
		}
	})

	t.Run("reservations", func(t *testing.T) {
		if _, err := a.Reservation(ctx, o1); !errors.Is(err, domain.ErrUnknownReservation) {
			t.Fatalf("unknown reservation: %v", err)
		}
		err := a.UpdateStock(ctx, apple, o1, func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error) {
			if r != nil {
				t.Fatalf("o1 already holds %+v", r)
			}
			res, err := p.Reserve(value.Must(domain.ParseReservationID("r1")), o1, value.Must(domain.ParseQty(3)), now, time.Minute)
			return &res, err
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := b.Reservation(ctx, o1)
		if err != nil || r.Status() != domain.Reserved || r.Qty() != value.Must(domain.ParseQty(3)) || r.Product() != apple || r.Order() != o1 ||
			!r.Is(value.Must(domain.ParseReservationID("r1"))) || !r.CreatedAt().Equal(now) || !r.UpdatedAt().Equal(now) {
			t.Fatalf("read back %+v, %v", r, err)
		}
		if p, _ := b.Product(ctx, apple); p.Reserved() != 3 || len(p.Holds()) != 1 || !p.Holds()[o1].Equal(now.Add(time.Minute)) {
			t.Fatalf("product and reservation were not written together: %+v", p)
		}
		if err := a.UpdateStock(ctx, durian, o2, func(*domain.Product, *domain.Reservation) (*domain.Reservation, error) {
			return nil, nil
		}); !errors.Is(err, domain.ErrUnknownProduct) {
			t.Fatalf("unknown product: %v", err)
		}
	})

	t.Run("replicas never oversell", func(t *testing.T) {
		p, _ := domain.NewProduct(pear, "Pear", 10)
		if err := a.AddProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted int
		)
		for i := range 30 {
			repo := a
			if i%2 == 1 {
				repo = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := value.Must(domain.ParseOrderID(fmt.Sprintf("pear-%d", i)))
				err := repo.UpdateStock(ctx, pear, order, func(p *domain.Product, _ *domain.Reservation) (*domain.Reservation, error) {
					res, err := p.Reserve(value.Must(domain.ParseReservationID("r-"+order.String())), order, value.Must(domain.ParseQty(1)), now, time.Minute)
					return &res, err
				})
				switch {
				case err == nil:
					mu.Lock()
					accepted++
					mu.Unlock()
				case !errors.Is(err, domain.ErrOutOfStock):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if p, _ := a.Product(ctx, pear); accepted != 10 || p.Reserved() != 10 {
			t.Fatalf("30 orders for 10 pears on two replicas: %d accepted, %d reserved", accepted, p.Reserved())
		}
	})
}
