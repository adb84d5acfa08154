package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// TestScenario walks the design's scenario, points 1 to 8, on each profile, through the
// gateway as a client of make run would, and checks the invariants at quiescence: stock
// conservation, one delivery per order, views equal source.
func TestScenario(t *testing.T) {
	t.Parallel()
	for _, profile := range profiles() {
		t.Run(profile, func(t *testing.T) {
			shop := StartShop(t, profile, ThroughGateway())
			l := newLedger()

			// 1. An admin registers products with their initial stock.
			shop.RegisterProduct(l, "apple", 10)
			shop.RegisterProduct(l, "pear", 5)
			if r := shop.Call(http.MethodPost, "warehouse", "/products", map[string]any{"productId": "apple", "name": "Apple", "stock": 1}); r.Status != http.StatusConflict {
				t.Fatalf("registering apple twice: %d %s", r.Status, r.Body)
			}
			if p := shop.Product("apple"); p.OnHand != 10 || p.Reserved != 0 || p.Available != 10 {
				t.Fatalf("new apple: %+v", p)
			}

			// 2. A customer orders; the stock is reserved synchronously.
			first, r := shop.PlaceOrder(l, "alice", "apple", 3, "Idempotency-Key", "alice-1")
			if r.Status != http.StatusCreated || first.Status != "PLACED" {
				t.Fatalf("first order: %d %s", r.Status, r.Body)
			}
			if got := shop.Product("apple").Available; got != 7 {
				t.Fatalf("available after ordering 3 of 10: %d", got)
			}
			// A retried request with the same key returns the same order and reserves once.
			again, r := shop.PlaceOrder(l, "alice", "apple", 3, "Idempotency-Key", "alice-1")
			if r.Status != http.StatusCreated || again.OrderID != first.OrderID || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retried order: %d %s (first was %s)", r.Status, r.Body, first.OrderID)
			}
			if got := shop.Product("apple").Available; got != 7 {
				t.Fatalf("a retried order reserved again: available %d", got)
			}
			// The same key for a different order is refused.
			if _, r := shop.PlaceOrder(l, "alice", "apple", 4, "Idempotency-Key", "alice-1"); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("reused key: %d %s", r.Status, r.Body)
			}
			// Short or unknown: a clear refusal, nothing stored, nothing reserved.
			if _, r := shop.PlaceOrder(l, "alice", "apple", 8); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "out-of-stock") {
				t.Fatalf("ordering 8 of 7 available: %d %s", r.Status, r.Body)
			}
			if _, r := shop.PlaceOrder(l, "bob", "durian", 1); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "unknown-product") {
				t.Fatalf("ordering an unknown product: %d %s", r.Status, r.Body)
			}
			// Bob's client names the trace his order runs in.
			const bobsTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
			second, r := shop.PlaceOrder(l, "bob", "pear", 2, "traceparent", "00-"+bobsTrace+"-00f067aa0ba902b7-01")
			if r.Status != http.StatusCreated {
				t.Fatalf("bob's order: %d %s", r.Status, r.Body)
			}
			third, r := shop.PlaceOrder(l, "alice", "pear", 3)
			if r.Status != http.StatusCreated {
				t.Fatalf("alice's pears: %d %s", r.Status, r.Body)
			}
			if got := shop.Product("pear").Available; got != 0 {
				t.Fatalf("pears available after ordering all 5: %d", got)
			}
			if got := shop.Product("apple").Available; got != 7 {
				t.Fatalf("refused orders changed apple stock: available %d", got)
			}

			// 3-5. OrderPlaced reaches delivery, which starts the delivery; on
			// DeliveryStarted the order moves on and the warehouse takes the stock out.
			daprtest.Eventually(t, 30*time.Second, "the first order's delivery to start", func() error {
				var o order
				shop.Call(http.MethodGet, "order", "/orders/"+first.OrderID, nil).JSON(t, &o)
				if o.Status != "DELIVERY_STARTED" {
					return fmt.Errorf("order is %s", o.Status)
				}
				if p := shop.Product("apple"); p.OnHand != 7 || p.Reserved != 0 {
					return fmt.Errorf("apple is %+v", p)
				}
				return nil
			})
			var d delivery
			shop.Call(http.MethodGet, "delivery", "/deliveries/"+first.OrderID, nil).JSON(t, &d)
			if d.Status != "STARTED" || d.DeliveryID == "" {
				t.Fatalf("delivery of the first order: %+v", d)
			}

			// 6-7. Cancelling after the delivery started restocks; cancelling again changes nothing.
			if o := shop.CancelOrder(l, first.OrderID); o.Status != "CANCELLED" {
				t.Fatalf("cancelled order is %s", o.Status)
			}
			if o := shop.CancelOrder(l, first.OrderID); o.Status != "CANCELLED" {
				t.Fatalf("cancelled twice: %s", o.Status)
			}
			// A cancel right after placing races the order's own events; either way it converges.
			quick, r := shop.PlaceOrder(l, "carol", "apple", 2)
			if r.Status != http.StatusCreated {
				t.Fatalf("carol's order: %d %s", r.Status, r.Body)
			}
			shop.CancelOrder(l, quick.OrderID)
			shop.CancelOrder(l, third.OrderID)
			// The same over gRPC, beside REST, through the same stack.
			const davesTrace = "0af7651916cd43dd8448eb211c80319c"
			dave := shop.PlaceOrderGRPC(l, "dave", "apple", 1, "traceparent", "00-"+davesTrace+"-b7ad6b7169203331-01")
			if dave.GetStatus() != "PLACED" {
				t.Fatalf("dave's order over gRPC: %v", dave)
			}
			if !shop.LogContains("order", "order placed", dave.GetOrderId(), `"traceId":"`+davesTrace+`"`) {
				t.Errorf("order's log has no line of dave's gRPC order %s in his trace", dave.GetOrderId())
			}
			if o := shop.CancelOrderGRPC(l, dave); o.GetStatus() != "CANCELLED" {
				t.Fatalf("dave's order cancelled over gRPC: %v", o)
			}

			// An admin adjusts stock; stock promised to orders cannot be taken away.
			if r := shop.Call(http.MethodPost, "warehouse", "/products/apple/stock-adjustments", map[string]any{"delta": 5, "reason": "delivery from the farm"}); r.Status != http.StatusOK {
				t.Fatalf("adjusting stock: %d %s", r.Status, r.Body)
			}
			l.recordStock("apple", 5)
			if r := shop.Call(http.MethodPost, "warehouse", "/products/pear/stock-adjustments", map[string]any{"delta": -100}); r.Status != http.StatusConflict {
				t.Fatalf("taking more stock than there is: %d %s", r.Status, r.Body)
			}

			// 8. At quiescence every invariant holds, mypage included.
			shop.WaitConverged(l, 60*time.Second)

			var page myPage
			shop.Call(http.MethodGet, "mypage", "/mypage/bob/orders", nil).JSON(t, &page)
			if len(page.Orders) != 1 || page.Orders[0].OrderID != second.OrderID || page.Orders[0].OrderStatus != "DELIVERY_STARTED" || page.Orders[0].DeliveryStatus != "STARTED" {
				t.Fatalf("bob's page: %+v", page)
			}
			// Bob's order can be followed across the four services by its trace id: order placed
			// it, its OrderPlaced reached delivery and mypage, and the
			// DeliveryStarted that delivery published in the same trace reached the warehouse,
			// order and mypage.
			for _, app := range []struct{ name, line string }{
				{"order", "order placed"}, {"delivery", "delivery started"},
				{"warehouse", `"eventType":"DeliveryStarted"`}, {"order", `"eventType":"DeliveryStarted"`},
				{"mypage", `"eventType":"OrderPlaced"`}, {"mypage", `"eventType":"DeliveryStarted"`},
			} {
				if !shop.LogContains(app.name, app.line, second.OrderID, `"traceId":"`+bobsTrace+`"`) {
					t.Errorf("%s's log has no line %s about bob's order %s in his trace", app.name, app.line, second.OrderID)
				}
			}
			if p := shop.Product("apple"); p.OnHand != 15 {
				t.Fatalf("apple at the end: %+v, want 15 on hand (10 - 3 + 3 restocked + 5)", p)
			}
		})
	}
}

// TestBadInput sends what a careless or hostile client might and checks each gets a clear
// problem+json refusal and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)
	before := shop.Product("apple")

	cases := []struct {
		name, app, method, path string
		body                    any
		headers                 []string
		status                  int
	}{
		{"malformed JSON", "order", "POST", "/orders", `{"customerId":`, nil, 400},
		{"two JSON objects", "order", "POST", "/orders", `{"customerId":"a","productId":"apple","qty":1}{}`, nil, 400},
		{"unknown field", "order", "POST", "/orders", `{"customerId":"a","productId":"apple","qty":1,"price":0}`, nil, 422},
		{"qty zero", "order", "POST", "/orders", map[string]any{"customerId": "a", "productId": "apple", "qty": 0}, nil, 422},
		{"qty negative", "order", "POST", "/orders", map[string]any{"customerId": "a", "productId": "apple", "qty": -3}, nil, 422},
		{"qty absurd", "order", "POST", "/orders", map[string]any{"customerId": "a", "productId": "apple", "qty": 1000000}, nil, 422},
		{"qty not a number", "order", "POST", "/orders", `{"customerId":"a","productId":"apple","qty":"two"}`, nil, 422},
		{"missing customer", "order", "POST", "/orders", map[string]any{"productId": "apple", "qty": 1}, nil, 422},
		{"hostile customer id", "order", "POST", "/orders", map[string]any{"customerId": "../../etc", "productId": "apple", "qty": 1}, shop.As("../../etc"), 422},
		{"not JSON", "order", "POST", "/orders", nil, []string{"Content-Type", "text/plain"}, 415},
		{"huge body", "order", "POST", "/orders", `{"customerId":"` + strings.Repeat("a", 100000) + `"}`, nil, 413},
		{"bad idempotency key", "order", "POST", "/orders", map[string]any{"customerId": "a", "productId": "apple", "qty": 1}, []string{"Idempotency-Key", strings.Repeat("k", 200)}, 422},
		{"unknown order", "order", "GET", "/orders/no-such-order", nil, nil, 404},
		{"cancel unknown order", "order", "POST", "/orders/no-such-order/cancel", nil, nil, 404},
		{"list without customer", "order", "GET", "/orders", nil, nil, 422},
		{"unknown product", "warehouse", "GET", "/products/no-such-product", nil, nil, 404},
		{"negative stock", "warehouse", "POST", "/products", map[string]any{"productId": "x", "name": "X", "stock": -1}, nil, 422},
		{"product without stock", "warehouse", "POST", "/products", map[string]any{"productId": "x", "name": "X"}, nil, 422},
		{"zero adjustment", "warehouse", "POST", "/products/apple/stock-adjustments", map[string]any{"delta": 0}, nil, 422},
		{"unknown delivery", "delivery", "GET", "/deliveries/no-such-order", nil, nil, 404},
		{"bad customer on mypage", "mypage", "GET", "/mypage/bad%20id/orders", nil, nil, 422},
		{"unknown order on mypage", "mypage", "GET", "/mypage/alice/orders/nope", nil, nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if body == nil && c.method == "POST" {
				body = ""
			}
			headers := c.headers
			if c.path == "/orders" && c.method == "POST" && (len(headers) == 0 || headers[0] != "Authorization") {
				headers = append(shop.As("a"), headers...) // orders are placed by their customer
			}
			r := shop.Call(c.method, c.app, c.path, body, headers...)
			if r.Status != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.status)
			}
		})
	}
	// The reservation API, reached the only way it can be: by order, through its sidecar.
	if r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations", map[string]any{"orderId": "o1", "productId": "apple", "qty": 5000, "reservationId": "r1"}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reservation of an absurd quantity: %d %s", r.Status, r.Body)
	}
	if after := shop.Product("apple"); after != before {
		t.Fatalf("bad input changed stock: %+v, was %+v", after, before)
	}
	var list struct {
		Orders []order `json:"orders"`
	}
	shop.Call(http.MethodGet, "order", "/orders?customerId=a", nil, shop.As("a")...).JSON(t, &list)
	if len(list.Orders) != 0 {
		t.Fatalf("bad input stored orders: %+v", list.Orders)
	}
}
