package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

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
}

func newLedger() *Ledger {
	return &Ledger{stock: map[string]int{}, accepted: map[string]order{}, cancelled: map[string]bool{}}
}

// RegisterProduct registers a product and records its stock.
func (s *Shop) RegisterProduct(l *Ledger, id string, stock int) {
	s.t.Helper()
	r := s.Call(http.MethodPost, "warehouse", "/products", map[string]any{"productId": id, "name": "Product " + id, "stock": stock})
	if r.Status != http.StatusCreated {
		s.t.Fatalf("register %s: %d %s", id, r.Status, r.Body)
	}
	l.mu.Lock()
	l.stock[id] += stock
	l.mu.Unlock()
}

// PlaceOrder places an order and records it if accepted.
func (s *Shop) PlaceOrder(l *Ledger, customer, productID string, qty int, headers ...string) (order, Response) {
	s.t.Helper()
	r := s.Call(http.MethodPost, "order", "/orders", map[string]any{"customerId": customer, "productId": productID, "qty": qty}, append(s.As(customer), headers...)...)
	var o order
	if r.Status == http.StatusCreated {
		r.JSON(s.t, &o)
		l.mu.Lock()
		l.accepted[o.OrderID] = o
		l.mu.Unlock()
	}
	return o, r
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
	l.mu.Lock()
	l.cancelled[id] = true
	l.mu.Unlock()
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
	l.mu.Lock()
	defer l.mu.Unlock()
	perCustomer := map[string][]string{}
	shipped := map[string]int{}
	for id, want := range l.accepted {
		perCustomer[want.CustomerID] = append(perCustomer[want.CustomerID], id)
		cancelled := l.cancelled[id]

		r := s.Call(http.MethodGet, "order", "/orders/"+id, nil, s.As(want.CustomerID)...)
		if r.Status != http.StatusOK {
			return fmt.Errorf("accepted order %s: %d", id, r.Status)
		}
		var o order
		r.JSON(s.t, &o)
		wantStatus := "DELIVERY_STARTED"
		if cancelled {
			wantStatus = "CANCELLED"
		}
		if o.Status != wantStatus || o.Qty != want.Qty || o.ProductID != want.ProductID || o.CustomerID != want.CustomerID {
			return fmt.Errorf("order %s is %+v, want status %s of %+v", id, o, wantStatus, want)
		}

		// Exactly one delivery per accepted order; a cancelled order's delivery ends CANCELLED.
		r = s.Call(http.MethodGet, "delivery", "/deliveries/"+id, nil, s.As(want.CustomerID)...)
		if r.Status != http.StatusOK {
			return fmt.Errorf("delivery of order %s: %d", id, r.Status)
		}
		var d delivery
		r.JSON(s.t, &d)
		wantDelivery := "STARTED"
		if cancelled {
			wantDelivery = "CANCELLED"
		}
		if d.Status != wantDelivery || d.OrderID != id {
			return fmt.Errorf("delivery of order %s is %+v, want %s", id, d, wantDelivery)
		}
		if !cancelled {
			shipped[want.ProductID] += want.Qty
		}

		// The view equals the source services' state.
		r = s.Call(http.MethodGet, "mypage", "/mypage/"+want.CustomerID+"/orders/"+id, nil, s.As(want.CustomerID)...)
		if r.Status != http.StatusOK {
			return fmt.Errorf("mypage row of order %s: %d", id, r.Status)
		}
		var row myRow
		r.JSON(s.t, &row)
		if row.OrderStatus != o.Status || row.DeliveryStatus != d.Status || row.Qty != o.Qty || row.ProductID != o.ProductID {
			return fmt.Errorf("mypage row %+v does not match order %+v and delivery %+v", row, o, d)
		}
	}

	// Stock conservation: every non-cancelled order shipped (its delivery started), nothing
	// is left reserved.
	for id, stock := range l.stock {
		p := s.Product(id)
		if want := stock - shipped[id]; p.OnHand != want || p.Reserved != 0 || p.Available != want {
			return fmt.Errorf("product %s is %+v, want onHand=available=%d (initial+adjustments %d, shipped %d) and nothing reserved",
				id, p, want, stock, shipped[id])
		}
	}

	// Each customer's lists hold exactly their orders, in the order service and in mypage.
	for customer, ids := range perCustomer {
		sort.Strings(ids)
		var list struct {
			Orders []order `json:"orders"`
		}
		s.Call(http.MethodGet, "order", "/orders?customerId="+customer, nil, s.As(customer)...).JSON(s.t, &list)
		var got []string
		for _, o := range list.Orders {
			got = append(got, o.OrderID)
		}
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			return fmt.Errorf("orders of %s: %v, want %v", customer, got, ids)
		}
		var page myPage
		s.Call(http.MethodGet, "mypage", "/mypage/"+customer+"/orders", nil, s.As(customer)...).JSON(s.t, &page)
		got = got[:0]
		for _, r := range page.Orders {
			got = append(got, r.OrderID)
		}
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			return fmt.Errorf("mypage of %s: %v, want %v", customer, got, ids)
		}
	}
	return nil
}

// WaitConverged waits until every invariant holds.
func (s *Shop) WaitConverged(l *Ledger, within time.Duration) {
	s.t.Helper()
	daprtest.Eventually(s.t, within, "the shop to converge", func() error { return s.Converged(l) })
}

func errStatus(r Response) error { return fmt.Errorf("answered %d: %s", r.Status, r.Body) }

func contains(body []byte, s string) bool { return strings.Contains(string(body), s) }
