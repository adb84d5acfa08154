package adapters

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/invoke"
)

// DaprRepository keeps orders in a Dapr state store, each order one document written guarded
// by its ETag, in the store of the watch list it puts the watches of its changes on. The store
// must keep ETags and create-only writes inside transactions: PostgreSQL and SQLite do, Dapr's
// Redis store does not (docs/architecture.md).
type DaprRepository struct {
	orders    *daprstate.Store[orderRecord]
	customers *daprstate.Log
	watches   *DaprUnconfirmed
}

// NewDaprRepository returns a repository on the named state store, which watches lives in too.
func NewDaprRepository(client daprstate.Client, store string, watches *DaprUnconfirmed) *DaprRepository {
	return &DaprRepository{
		orders:    daprstate.New[orderRecord](client, store, "order-"),
		customers: daprstate.NewLog(client, store, "customer-"),
		watches:   watches,
	}
}

// Add writes the order, its place in its customer's list and its watch in one transaction,
// after one read of the three. Placements whose watches share a bucket (the same second, and
// the same customer's shard) go to the store together. An id listed but never stored (an
// abandoned attempt) is skipped when the list is read.
func (d *DaprRepository) Add(ctx context.Context, o domain.Order, w app.Watch) error {
	id, customer, rec := o.ID().String(), o.Customer().String(), toRecord(o)
	bucket, entry, err := d.watches.bucketOf(ctx, w, customer)
	if err != nil {
		return fmt.Errorf("%w: %w", app.ErrNothingWritten, err)
	}
	err = daprstate.UpdateListed(ctx, d.watches.buckets, bucket, d.orders, id, d.customers, customer, id,
		func(b *watchBucket, cur *orderRecord) (*watchBucket, *orderRecord, error) {
			// The id may hold something: another order, abandoned attempts at placing this
			// one, or this very order (an earlier attempt's answer was lost), watched already.
			write, err := cur.add(rec)
			if err != nil || !write {
				return nil, nil, err
			}
			return b.with(map[string]watchEntry{id: entry}), &rec, nil
		})
	if errors.Is(err, daprstate.ErrNotWritten) {
		return fmt.Errorf("%w: %w", app.ErrNothingWritten, err)
	}
	return err
}

func (d *DaprRepository) Find(ctx context.Context, id domain.OrderID) (app.Placement, error) {
	rec, found, err := d.orders.Get(ctx, id.String())
	if err != nil || !found {
		return app.Placement{}, err
	}
	return rec.placement()
}

func (d *DaprRepository) Get(ctx context.Context, id domain.OrderID) (domain.Order, error) {
	p, err := d.Find(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if !p.Stored {
		return domain.Order{}, fmt.Errorf("%w: %s", domain.ErrUnknownOrder, id)
	}
	return p.Order, nil
}

// Settle writes the abandoned reservation under the order id, guarded by the ETag (or as a
// create), so a write of the order on that reservation that is still in flight fails.
func (d *DaprRepository) Settle(ctx context.Context, id domain.OrderID, reservation domain.ReservationID) (app.Placement, error) {
	rec, err := d.orders.Update(ctx, id.String(), func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		return daprstate.Change[orderRecord]{Value: cur.abandon(id, reservation)}, nil
	})
	if err != nil {
		return app.Placement{}, err
	}
	return rec.placement()
}

func (d *DaprRepository) Update(ctx context.Context, id domain.OrderID, change func(*domain.Order) (bool, error)) (domain.Order, error) {
	rec, err := d.orders.Update(ctx, id.String(), func(cur *orderRecord) (daprstate.Change[orderRecord], error) {
		next, err := cur.changed(id, change)
		return daprstate.Change[orderRecord]{Value: next}, err
	})
	if err != nil {
		return domain.Order{}, err
	}
	return rec.order()
}

// UpdateWatched writes the order and its watch in one transaction, after one read of both.
func (d *DaprRepository) UpdateWatched(ctx context.Context, id domain.OrderID, w app.Watch, change func(*domain.Order) (bool, error)) (domain.Order, error) {
	bucket, entry, err := d.watches.bucketOf(ctx, w, id.String())
	if err != nil {
		return domain.Order{}, err
	}
	// The order as this change left it: decided last on the read that was written.
	var result orderRecord
	err = daprstate.UpdatePair(ctx, d.watches.buckets, bucket, d.orders, id.String(),
		func(b *watchBucket, cur *orderRecord) (*watchBucket, *orderRecord, error) {
			next, err := cur.changed(id, change)
			switch {
			case err != nil:
				return nil, nil, err
			case next == nil:
				result = *cur
				return nil, nil, nil
			}
			result = *next
			return b.with(map[string]watchEntry{id.String(): entry}), next, nil
		})
	if err != nil {
		return domain.Order{}, err
	}
	return result.order()
}

func (d *DaprRepository) ByCustomer(ctx context.Context, customer domain.CustomerID, cursor string) ([]domain.Order, string, error) {
	ids, next, err := d.customers.Page(ctx, customer.String(), cursor)
	if errors.Is(err, daprstate.ErrBadCursor) {
		return nil, "", fmt.Errorf("%w: %w", domain.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, "", err
	}
	recs, err := d.orders.GetMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.Order, 0, len(recs))
	for _, r := range recs {
		if !r.stored() {
			continue
		}
		o, err := r.order()
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	return out, next, nil
}

func (d *DaprRepository) Orders(ctx context.Context, ids []domain.OrderID) (map[domain.OrderID]domain.Order, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = id.String()
	}
	recs, err := d.orders.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[domain.OrderID]domain.Order, len(recs))
	for _, r := range recs {
		if !r.stored() {
			continue
		}
		o, err := r.order()
		if err != nil {
			return nil, err
		}
		out[o.ID()] = o
	}
	return out, nil
}

// The watch list is kept in buckets of one second (see watchBucket), spread over shards.
const (
	watchShards = 8
	bucketWidth = time.Second
)

// DaprUnconfirmed keeps the watch list in the order store.
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

// shardOf spreads watches over the shards of a second: a new order's by its customer, so
// that one customer's orders placed at once share a bucket and are written together; others
// by their order.
func shardOf(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % watchShards)
}

func (d *DaprUnconfirmed) Watch(ctx context.Context, watches ...app.Watch) error {
	byKey := map[string]map[string]watchEntry{} // bucket key -> order id -> entry
	var starts []int64
	for _, w := range watches {
		e, err := toWatchEntry(w)
		if err != nil {
			return err
		}
		start := bucketStart(w.Due)
		k := bucketKey(start, shardOf(w.Order.String()))
		if byKey[k] == nil {
			byKey[k] = map[string]watchEntry{}
		}
		byKey[k][w.Order.String()] = e
		starts = append(starts, start)
	}
	if err := d.addToIndex(ctx, starts); err != nil {
		return err
	}
	for k, entries := range byKey {
		if _, err := d.buckets.Update(ctx, k, func(cur *watchBucket) (daprstate.Change[watchBucket], error) {
			return daprstate.Change[watchBucket]{Value: cur.with(entries)}, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// bucketOf returns the key of the bucket that keeps w, in the shard of shardKey, and w's entry
// there, once the index names the bucket.
func (d *DaprUnconfirmed) bucketOf(ctx context.Context, w app.Watch, shardKey string) (string, watchEntry, error) {
	entry, err := toWatchEntry(w)
	if err != nil {
		return "", watchEntry{}, err
	}
	start := bucketStart(w.Due)
	if err := d.addToIndex(ctx, []int64{start}); err != nil {
		return "", watchEntry{}, err
	}
	return bucketKey(start, shardOf(shardKey)), entry, nil
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
			w, err := e.watch(id, time.Unix(startOf[it.Key], 0))
			if err != nil {
				return nil, none, err
			}
			watches = append(watches, w)
		}
	}
	slices.SortFunc(watches, func(a, b app.Watch) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.Order.String(), b.Order.String())
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
		// Decided afresh after a lost race: the lease may be the winner's now.
		mine = cur == nil || cur.Owner == d.me || !cur.Until.After(now)
		if !mine {
			return daprstate.Change[watchLease]{}, nil
		}
		return daprstate.Change[watchLease]{Value: &watchLease{Owner: d.me, Until: now.Add(d.leaseOf)}}, nil
	})
	return mine && err == nil, err
}

// DaprAnnouncer publishes an order's event on the pub/sub, checked against the contract first.
type DaprAnnouncer struct {
	pub *eventsub.Publisher
}

// NewDaprAnnouncer returns an announcer on the named pub/sub component.
func NewDaprAnnouncer(client dapr.Client, pubsub string) *DaprAnnouncer {
	return &DaprAnnouncer{pub: eventsub.NewPublisher(client, pubsub)}
}

func (a *DaprAnnouncer) Announce(ctx context.Context, f app.Fact, o domain.Order) error {
	e, err := orderEvent(f, o)
	if err != nil {
		return err
	}
	return a.pub.Publish(ctx, e)
}

// DaprStockReserver asks the warehouse for stock through Dapr service invocation, so the
// call runs under the Resiliency policy (timeout, retries, circuit breaker) of the sidecar.
type DaprStockReserver struct {
	warehouse *invoke.Client
}

// NewDaprStockReserver returns a reserver that invokes the given app id.
func NewDaprStockReserver(client dapr.Client, warehouseAppID string) *DaprStockReserver {
	return &DaprStockReserver{warehouse: invoke.New(client, warehouseAppID)}
}

// refusals maps the warehouse's reasons for refusing a reservation onto the app's: the one
// place the two meet.
var refusals = map[contracts.Refusal]app.Refusal{
	contracts.RefusedOutOfStock:     app.RefusedOutOfStock,
	contracts.RefusedUnknownProduct: app.RefusedUnknownProduct,
	contracts.RefusedClash:          app.RefusedClash,
}

func (s *DaprStockReserver) ReserveStock(ctx context.Context, r app.Reservation) (domain.ReservationID, app.Refusal, error) {
	req := contracts.ReserveStock{OrderID: r.Order.String(), ProductID: r.Product.String(), Qty: r.Qty.Int(), ReservationID: r.ID.String()}
	for _, id := range r.Replaces {
		req.Replaces = append(req.Replaces, id.String())
	}
	var res contracts.Reservation
	if err := s.warehouse.Post(ctx, "reservations", req, &res); err != nil {
		return domain.ReservationID{}, app.Refusal{}, fmt.Errorf("reserve stock for order %s: %w", r.Order, err)
	}
	switch {
	case res.Reserved && res.ReservationID == "":
		return domain.ReservationID{}, app.Refusal{}, fmt.Errorf("reserve stock for order %s: the warehouse did not name the reservation", r.Order)
	case res.Reserved:
		holder, err := domain.ParseReservationID(res.ReservationID)
		if err != nil {
			return domain.ReservationID{}, app.Refusal{}, fmt.Errorf("reserve stock for order %s: the warehouse named the reservation wrongly: %w", r.Order, err)
		}
		return holder, app.Refusal{}, nil
	}
	if refusal, ok := refusals[res.Reason]; ok {
		return domain.ReservationID{}, refusal, nil
	}
	return domain.ReservationID{}, app.Refusal{}, fmt.Errorf("reserve stock for order %s: the warehouse refused for an unknown reason %q", r.Order, res.Reason)
}

func (s *DaprStockReserver) ReleaseStock(ctx context.Context, order domain.OrderID, reservation domain.ReservationID) error {
	err := s.warehouse.Post(ctx, "reservations/"+url.PathEscape(order.String())+"/release", contracts.ReleaseStock{ReservationID: reservation.String()}, nil)
	if err != nil {
		return fmt.Errorf("release stock of order %s: %w", order, err)
	}
	return nil
}
