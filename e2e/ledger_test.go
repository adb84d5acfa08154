package e2e

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/skmall/skmall/platform/daprtest"
)

// The shapes the public APIs answer with.
type product struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	OnHand    int    `json:"onHand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
}

type order struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
	ProductID  string `json:"productId"`
	Qty        int    `json:"qty"`
	Status     string `json:"status"`
}

type delivery struct {
	DeliveryID string `json:"deliveryId"`
	OrderID    string `json:"orderId"`
	Status     string `json:"status"`
}

type myRow struct {
	OrderID        string `json:"orderId"`
	ProductID      string `json:"productId"`
	Qty            int    `json:"qty"`
	OrderStatus    string `json:"orderStatus"`
	DeliveryStatus string `json:"deliveryStatus"`
}

type myPage struct {
	CustomerID string  `json:"customerId"`
	Orders     []myRow `json:"orders"`
}

// Ledger is what the test did and the shop accepted: the truth the invariants are checked
// against.
type Ledger struct {
	mu        sync.Mutex
	stock     map[string]int // initial stock plus adjustments, per product
	accepted  map[string]order
	cancelled map[string]bool
	// open are orders whose outcome the client never learned, and maybeCancelled orders whose
	// cancellation's: the audit takes what the shop holds for them.
	open           []openOrder
	maybeCancelled map[string]bool
}

type openOrder struct{ customer, key string }

func newLedger() *Ledger {
	return &Ledger{stock: map[string]int{}, accepted: map[string]order{}, cancelled: map[string]bool{}, maybeCancelled: map[string]bool{}}
}

// recordStock records units of a product registered or added by an adjustment.
func (l *Ledger) recordStock(product string, units int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stock[product] += units
}

// recordAccepted records an order the shop accepted.
func (l *Ledger) recordAccepted(o order) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted[o.OrderID] = o
}

// recordCancelled records an order the shop cancelled.
func (l *Ledger) recordCancelled(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancelled[id] = true
}

// recordOpen records an order whose outcome its client never learned: the audit takes what
// the shop holds under its Idempotency-Key.
func (l *Ledger) recordOpen(customer, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open = append(l.open, openOrder{customer: customer, key: key})
}

// recordMaybeCancelled records an order whose cancellation's outcome its client never learned.
func (l *Ledger) recordMaybeCancelled(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeCancelled[id] = true
}

// resolveOpen looks up the orders whose outcome their client never learned (their id follows
// from the customer and the Idempotency-Key), as the client would, and records what the shop
// holds.
func (s *Shop) resolveOpen(l *Ledger) {
	s.t.Helper()
	l.mu.Lock()
	open, maybe := l.open, l.maybeCancelled
	l.open, l.maybeCancelled = nil, map[string]bool{}
	l.mu.Unlock()
	var still []openOrder
	for _, o := range open {
		id := uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(o.customer+"\x00"+o.key), 5).String()
		status, raw, err := s.try(http.MethodGet, "order", "/orders/"+id, nil, s.As(o.customer)...)
		var got order
		switch {
		case err == nil && status == http.StatusOK && jsonInto(raw, &got) == nil:
			l.recordAccepted(got)
			if got.Status == "CANCELLED" {
				l.recordCancelled(got.OrderID)
			}
		case err == nil && status == http.StatusNotFound:
		default:
			still = append(still, o)
		}
	}
	unresolved := map[string]bool{}
	for id := range maybe {
		status, raw, err := s.try(http.MethodGet, "order", "/orders/"+id, nil)
		var got order
		if err != nil || status != http.StatusOK || jsonInto(raw, &got) != nil {
			unresolved[id] = true
			continue
		}
		if got.Status == "CANCELLED" {
			l.recordCancelled(id)
		}
	}
	l.mu.Lock()
	l.open = append(l.open, still...)
	for id := range unresolved {
		l.maybeCancelled[id] = true
	}
	l.mu.Unlock()
}

func jsonInto(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// RegisterProduct registers a product and records its stock.
func (s *Shop) RegisterProduct(l *Ledger, id string, stock int) {
	s.t.Helper()
	r := s.Call(http.MethodPost, "warehouse", "/products", map[string]any{"productId": id, "name": "Product " + id, "stock": stock})
	if r.Status != http.StatusCreated {
		s.t.Fatalf("register %s: %d %s", id, r.Status, r.Body)
	}
	l.recordStock(id, stock)
}

// PlaceOrder places an order and records it if accepted.
func (s *Shop) PlaceOrder(l *Ledger, customer, productID string, qty int, headers ...string) (order, Response) {
	s.t.Helper()
	r := s.Call(http.MethodPost, "order", "/orders", map[string]any{"customerId": customer, "productId": productID, "qty": qty}, append(s.As(customer), headers...)...)
	var o order
	if r.Status == http.StatusCreated {
		r.JSON(s.t, &o)
		l.recordAccepted(o)
	}
	return o, r
}

// MustPlaceOrder places an order that must be accepted; what names it in the failure.
func (s *Shop) MustPlaceOrder(l *Ledger, what, customer, productID string, qty int) order {
	s.t.Helper()
	o, r := s.PlaceOrder(l, customer, productID, qty)
	if r.Status != http.StatusCreated {
		s.t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	return o
}

// CancelOrder cancels an order, as its customer, and records it.
func (s *Shop) CancelOrder(l *Ledger, id string) order {
	s.t.Helper()
	l.mu.Lock()
	customer := l.accepted[id].CustomerID
	l.mu.Unlock()
	r := s.Call(http.MethodPost, "order", "/orders/"+id+"/cancel", nil, s.As(customer)...)
	if r.Status != http.StatusOK {
		s.t.Fatalf("cancel %s: %d %s", id, r.Status, r.Body)
	}
	var o order
	r.JSON(s.t, &o)
	l.recordCancelled(id)
	return o
}

// Product reads a product's stock.
func (s *Shop) Product(id string) product {
	s.t.Helper()
	r := s.Call(http.MethodGet, "warehouse", "/products/"+id, nil)
	if r.Status != http.StatusOK {
		s.t.Fatalf("product %s: %d %s", id, r.Status, r.Body)
	}
	var p product
	r.JSON(s.t, &p)
	return p
}

// Converged checks every invariant of the design that holds at quiescence; it returns the
// first one that does not hold yet.
func (s *Shop) Converged(l *Ledger) error {
	if errs := s.audit(l, true); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Audit checks every invariant of the design that holds at quiescence and returns every
// violation.
func (s *Shop) Audit(l *Ledger) []error { return s.audit(l, false) }

// auditReaders is how many orders the audit reads at once.
const auditReaders = 8

// audit is Audit, or with firstOnly, only as far as the first violation.
func (s *Shop) audit(l *Ledger, firstOnly bool) []error {
	s.resolveOpen(l)
	l.mu.Lock()
	defer l.mu.Unlock()
	var (
		errs        []error
		mu          sync.Mutex
		wg          sync.WaitGroup
		queue       = make(chan string)
		perCustomer = map[string][]string{}
		shipped     = map[string]int{}
	)
	defer func() { s.lastAudit.Store(&errs) }()
	failed := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	for range auditReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range queue {
				if err := s.auditOrder(id, l.accepted[id], l.cancelled[id]); err != nil {
					failed(err)
				}
			}
		}()
	}
	var all []string
	for id, want := range l.accepted {
		all = append(all, id)
		perCustomer[want.CustomerID] = append(perCustomer[want.CustomerID], id)
		if !l.cancelled[id] {
			shipped[want.ProductID] += want.Qty
		}
	}
	// Fed from a goroutine of its own: a reader that fails the test (t.Fatal) ends, and
	// the audit must not wait on it.
	go func() {
		defer close(queue)
		for _, id := range all {
			mu.Lock()
			enough := firstOnly && len(errs) > 0
			mu.Unlock()
			if enough {
				return
			}
			queue <- id
		}
	}()
	wg.Wait()
	if firstOnly && len(errs) > 0 {
		return errs
	}

	// Stock conservation: every non-cancelled order shipped (its delivery started), nothing
	// is left reserved.
	for id, stock := range l.stock {
		p := s.Product(id)
		if want := stock - shipped[id]; p.OnHand != want || p.Reserved != 0 || p.Available != want {
			errs = append(errs, fmt.Errorf("product %s is %+v, want onHand=available=%d (initial+adjustments %d, shipped %d) and nothing reserved",
				id, p, want, stock, shipped[id]))
		}
	}

	// Each customer's lists hold exactly their orders, in the order service and in mypage.
	for customer, ids := range perCustomer {
		sort.Strings(ids)
		got := s.listed(customer, "order", "/orders?customerId="+customer)
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			errs = append(errs, fmt.Errorf("orders of %s: %v, want %v", customer, got, ids))
			continue
		}
		got = s.listed(customer, "mypage", "/mypage/"+customer+"/orders")
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			errs = append(errs, fmt.Errorf("mypage of %s: %v, want %v", customer, got, ids))
			continue
		}
	}
	return errs
}

// auditOrder checks one accepted order: its state in order, its one delivery, its row in mypage.
func (s *Shop) auditOrder(id string, want order, cancelled bool) error {
	var o order
	if err := s.read("order", "/orders/"+id, want.CustomerID, &o); err != nil {
		return fmt.Errorf("accepted order %s: %w", id, err)
	}
	wantStatus := "DELIVERY_STARTED"
	if cancelled {
		wantStatus = "CANCELLED"
	}
	if o.Status != wantStatus || o.Qty != want.Qty || o.ProductID != want.ProductID || o.CustomerID != want.CustomerID {
		return fmt.Errorf("order %s is %+v, want status %s of %+v", id, o, wantStatus, want)
	}

	// Exactly one delivery per accepted order; a cancelled order's delivery ends CANCELLED.
	var d delivery
	if err := s.read("delivery", "/deliveries/"+id, want.CustomerID, &d); err != nil {
		return fmt.Errorf("delivery of order %s: %w", id, err)
	}
	wantDelivery := "STARTED"
	if cancelled {
		wantDelivery = "CANCELLED"
	}
	if d.Status != wantDelivery || d.OrderID != id {
		return fmt.Errorf("delivery of order %s is %+v, want %s", id, d, wantDelivery)
	}

	// The view equals the source services' state.
	var row myRow
	if err := s.read("mypage", "/mypage/"+want.CustomerID+"/orders/"+id, want.CustomerID, &row); err != nil {
		return fmt.Errorf("mypage row of order %s: %w", id, err)
	}
	if row.OrderStatus != o.Status || row.DeliveryStatus != d.Status || row.Qty != o.Qty || row.ProductID != o.ProductID {
		return fmt.Errorf("mypage row %+v does not match order %+v and delivery %+v", row, o, d)
	}
	return nil
}

// read GETs a path of an app as a customer into v; anything but 200 with JSON is an error.
// Unlike Response.JSON it does not fail the test, so that audit readers may use it.
func (s *Shop) read(app, path, customer string, v any) error {
	r := s.Call(http.MethodGet, app, path, nil, s.As(customer)...)
	if r.Status != http.StatusOK {
		return fmt.Errorf("answered %d", r.Status)
	}
	return json.Unmarshal(r.Body, v)
}

// listed reads every page of a customer's list of orders (newest first, each page at most
// 100) and returns the order ids, sorted.
func (s *Shop) listed(customer, app, path string) []string {
	s.t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		p := path
		if cursor != "" {
			p += sep + "cursor=" + cursor
		}
		var page struct {
			Orders []struct {
				OrderID   string    `json:"orderId"`
				CreatedAt time.Time `json:"createdAt"`
			} `json:"orders"`
			NextCursor string `json:"nextCursor"`
		}
		s.Call(http.MethodGet, app, p, nil, s.As(customer)...).JSON(s.t, &page)
		if len(page.Orders) > 100 {
			s.t.Fatalf("%s %s: a page of %d orders", app, p, len(page.Orders))
		}
		for _, o := range page.Orders {
			ids = append(ids, o.OrderID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
		if pages > 1000 {
			s.t.Fatalf("%s %s: pages without end", app, path)
		}
	}
	sort.Strings(ids)
	return ids
}

// WaitConverged waits until every invariant holds, and logs how long that took and what the
// first audit found still missing.
func (s *Shop) WaitConverged(l *Ledger, within time.Duration) {
	s.t.Helper()
	start, audits := time.Now(), 0
	var first error
	daprtest.Eventually(s.t, within, "the shop to converge", func() error {
		audits++
		err := s.Converged(l)
		if first == nil {
			first = err
		}
		return err
	})
	l.mu.Lock()
	orders := len(l.accepted)
	l.mu.Unlock()
	if first == nil {
		s.t.Logf("converged: %d orders audited in %s", orders, time.Since(start).Round(100*time.Millisecond))
		return
	}
	s.t.Logf("converged: %d orders audited in %s, %d audits; the first found: %v", orders, time.Since(start).Round(100*time.Millisecond), audits, first)
}

func errStatus(r Response) error { return fmt.Errorf("answered %d: %s", r.Status, r.Body) }

func contains(body []byte, s string) bool { return strings.Contains(string(body), s) }
