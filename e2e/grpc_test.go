package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/skmall/skmall/contracts/grpc/mypagev1"
	"github.com/skmall/skmall/contracts/grpc/orderv1"
)

// grpcConn is a client connection to an app's gRPC API, closed when the test ends.
func (s *Shop) grpcConn(app string) *grpc.ClientConn {
	s.t.Helper()
	conn, err := grpc.NewClient(s.Apps[app].GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// asGRPC is a context carrying sub's bearer token (no token for ""), and more metadata pairs.
func (s *Shop) asGRPC(sub string, pairs ...string) context.Context {
	s.t.Helper()
	if sub != "" {
		pairs = append(pairs, "authorization", s.As(sub)[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s.t.Cleanup(cancel)
	return metadata.NewOutgoingContext(ctx, metadata.Pairs(pairs...))
}

// reason is a gRPC refusal's code and ErrorInfo reason (OK and "" for none).
func reason(t testing.TB, err error) (codes.Code, string) {
	t.Helper()
	if err == nil {
		return codes.OK, ""
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a gRPC status: %v", err)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetDomain() != "skmall.example" || !strings.HasSuffix(info.GetMetadata()["type"], "/problems/"+strings.ReplaceAll(strings.ToLower(info.GetReason()), "_", "-")) {
				t.Errorf("ErrorInfo %v: want domain skmall.example and the problem type of its reason", info)
			}
			return st.Code(), info.GetReason()
		}
	}
	t.Errorf("%v carries no ErrorInfo", err)
	return st.Code(), ""
}

// PlaceOrderGRPC places an order over gRPC, as its customer, with more metadata pairs, and
// records it.
func (s *Shop) PlaceOrderGRPC(l *Ledger, customer, productID string, qty int, pairs ...string) *orderv1.Order {
	s.t.Helper()
	got, err := orderv1.NewOrderServiceClient(s.grpcConn("order")).PlaceOrder(s.asGRPC(customer, pairs...),
		&orderv1.PlaceOrderRequest{CustomerId: customer, ProductId: productID, Qty: int32(qty)}) //nolint:gosec // small
	if err != nil {
		s.t.Fatalf("%s's order over gRPC: %v", customer, err)
	}
	o := got.GetOrder()
	l.recordAccepted(order{OrderID: o.GetOrderId(), CustomerID: o.GetCustomerId(), ProductID: o.GetProductId(), Qty: int(o.GetQty()), Status: o.GetStatus()})
	return o
}

// CancelOrderGRPC cancels an order over gRPC, as its customer, and records it.
func (s *Shop) CancelOrderGRPC(l *Ledger, o *orderv1.Order) *orderv1.Order {
	s.t.Helper()
	got, err := orderv1.NewOrderServiceClient(s.grpcConn("order")).CancelOrder(s.asGRPC(o.GetCustomerId()),
		&orderv1.CancelOrderRequest{OrderId: o.GetOrderId()})
	if err != nil {
		s.t.Fatalf("cancel %s over gRPC: %v", o.GetOrderId(), err)
	}
	l.recordCancelled(o.GetOrderId())
	return got.GetOrder()
}

// slugOf is the problem slug of a REST refusal ("" for a success).
func slugOf(r Response) string {
	if r.Status < 300 {
		return ""
	}
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Type[strings.LastIndex(p.Type, "/")+1:]
}

// TestRESTAndGRPCAnswerAlike runs one table of requests through both doors of order and
// mypage, with the same inputs: the outcomes match (status and problem slug for REST, code and
// ErrorInfo reason for gRPC), refusals included. Health checking and reflection answer too.
func TestRESTAndGRPCAnswerAlike(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "local")
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100)
	shop.RegisterProduct(l, "plum", 1)
	orders := orderv1.NewOrderServiceClient(shop.grpcConn("order"))
	pages := mypagev1.NewMyPageServiceClient(shop.grpcConn("mypage"))

	// One order of bob's to read and cancel through each door.
	bobsOrder := func() string {
		o, r := shop.PlaceOrder(l, "bob", "apple", 1)
		if r.Status != http.StatusCreated {
			t.Fatalf("bob's order: %d %s", r.Status, r.Body)
		}
		return o.OrderID
	}
	bearer := func(sub string) []string {
		if sub == "" {
			return []string{"Authorization", ""}
		}
		return shop.As(sub)
	}
	type call struct {
		sub, customer, product string
		qty                    int
		key                    string
	}
	place := func(c call) (Response, error) {
		headers := bearer(c.sub)
		if c.key != "" {
			headers = append(headers, "Idempotency-Key", c.key)
		}
		r := shop.Call(http.MethodPost, "order", "/orders", map[string]any{"customerId": c.customer, "productId": c.product, "qty": c.qty}, headers...)
		var pairs []string
		if c.key != "" {
			pairs = []string{"idempotency-key", c.key + "-grpc"}
		}
		_, err := orders.PlaceOrder(shop.asGRPC(c.sub, pairs...), &orderv1.PlaceOrderRequest{CustomerId: c.customer, ProductId: c.product, Qty: int32(c.qty)}) //nolint:gosec // small
		return r, err
	}
	cases := []struct {
		name   string
		status int
		code   codes.Code
		slug   string
		do     func() (Response, error)
	}{
		{"place an order", 201, codes.OK, "", func() (Response, error) {
			return place(call{sub: "alice", customer: "alice", product: "apple", qty: 1})
		}},
		{"place without a token", 401, codes.Unauthenticated, "unauthenticated", func() (Response, error) { return place(call{customer: "alice", product: "apple", qty: 1}) }},
		{"place with a forged token", 401, codes.Unauthenticated, "invalid-token", func() (Response, error) {
			r := shop.Call(http.MethodPost, "order", "/orders", map[string]any{"customerId": "alice", "productId": "apple", "qty": 1}, "Authorization", "Bearer x.y.z")
			_, err := orders.PlaceOrder(metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer x.y.z")), &orderv1.PlaceOrderRequest{CustomerId: "alice", ProductId: "apple", Qty: 1})
			return r, err
		}},
		{"place for another customer", 403, codes.PermissionDenied, "forbidden", func() (Response, error) { return place(call{sub: "alice", customer: "bob", product: "apple", qty: 1}) }},
		{"place zero", 422, codes.InvalidArgument, "invalid-input", func() (Response, error) {
			return place(call{sub: "alice", customer: "alice", product: "apple", qty: 0})
		}},
		{"place an unknown product", 422, codes.InvalidArgument, "unknown-product", func() (Response, error) {
			return place(call{sub: "alice", customer: "alice", product: "durian", qty: 1})
		}},
		{"place more than there is", 409, codes.FailedPrecondition, "out-of-stock", func() (Response, error) { return place(call{sub: "alice", customer: "alice", product: "plum", qty: 2}) }},
		{"place again with the same key", 201, codes.OK, "", func() (Response, error) {
			c := call{sub: "alice", customer: "alice", product: "apple", qty: 2, key: "alike-1"}
			if _, err := place(c); err != nil {
				return Response{}, err
			}
			r, err := place(c)
			if r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("REST replay without Idempotent-Replayed: %v", r.Header)
			}
			var header metadata.MD
			_, gerr := orders.PlaceOrder(shop.asGRPC("alice", "idempotency-key", "alike-1-grpc"), &orderv1.PlaceOrderRequest{CustomerId: "alice", ProductId: "apple", Qty: 2}, grpc.Header(&header))
			if gerr == nil && strings.Join(header.Get("idempotent-replayed"), "") != "true" {
				t.Errorf("gRPC replay without idempotent-replayed: %v", header)
			}
			return r, errors.Join(err, gerr)
		}},
		{"reuse a key for another order", 422, codes.InvalidArgument, "idempotency-key-reused", func() (Response, error) {
			return place(call{sub: "alice", customer: "alice", product: "apple", qty: 3, key: "alike-1"})
		}},
		{"read an unknown order", 404, codes.NotFound, "unknown-order", func() (Response, error) {
			r := shop.Call(http.MethodGet, "order", "/orders/no-such-order", nil, shop.As("alice")...)
			_, err := orders.GetOrder(shop.asGRPC("alice"), &orderv1.GetOrderRequest{OrderId: "no-such-order"})
			return r, err
		}},
		{"read another's order", 403, codes.PermissionDenied, "forbidden", func() (Response, error) {
			id := bobsOrder()
			r := shop.Call(http.MethodGet, "order", "/orders/"+id, nil, shop.As("alice")...)
			_, err := orders.GetOrder(shop.asGRPC("alice"), &orderv1.GetOrderRequest{OrderId: id})
			return r, err
		}},
		{"read one's own order", 200, codes.OK, "", func() (Response, error) {
			id := bobsOrder()
			r := shop.Call(http.MethodGet, "order", "/orders/"+id, nil, shop.As("bob")...)
			got, err := orders.GetOrder(shop.asGRPC("bob"), &orderv1.GetOrderRequest{OrderId: id})
			if err == nil && (got.GetOrder().GetOrderId() != id || got.GetOrder().GetCustomerId() != "bob" || got.GetOrder().GetQty() != 1) {
				t.Errorf("bob's order over gRPC: %v", got)
			}
			return r, err
		}},
		{"list without a customer", 422, codes.InvalidArgument, "invalid-input", func() (Response, error) {
			r := shop.Call(http.MethodGet, "order", "/orders", nil, shop.As("alice")...)
			_, err := orders.ListCustomerOrders(shop.asGRPC("alice"), &orderv1.ListCustomerOrdersRequest{})
			return r, err
		}},
		{"list another's orders", 403, codes.PermissionDenied, "forbidden", func() (Response, error) {
			r := shop.Call(http.MethodGet, "order", "/orders?customerId=bob", nil, shop.As("alice")...)
			_, err := orders.ListCustomerOrders(shop.asGRPC("alice"), &orderv1.ListCustomerOrdersRequest{CustomerId: "bob"})
			return r, err
		}},
		{"cancel another's order", 403, codes.PermissionDenied, "forbidden", func() (Response, error) {
			id := bobsOrder()
			r := shop.Call(http.MethodPost, "order", "/orders/"+id+"/cancel", nil, shop.As("alice")...)
			_, err := orders.CancelOrder(shop.asGRPC("alice"), &orderv1.CancelOrderRequest{OrderId: id})
			return r, err
		}},
		{"cancel one's own order", 200, codes.OK, "", func() (Response, error) {
			id := bobsOrder()
			r := shop.Call(http.MethodPost, "order", "/orders/"+id+"/cancel", nil, shop.As("bob")...)
			got, err := orders.CancelOrder(shop.asGRPC("bob"), &orderv1.CancelOrderRequest{OrderId: id})
			if err == nil && got.GetOrder().GetStatus() != "CANCELLED" {
				t.Errorf("cancelled over gRPC: %v", got)
			}
			l.recordCancelled(id)
			return r, err
		}},
		{"read one's page", 200, codes.OK, "", func() (Response, error) {
			r := shop.Call(http.MethodGet, "mypage", "/mypage/bob/orders", nil, shop.As("bob")...)
			_, err := pages.ListPageOrders(shop.asGRPC("bob"), &mypagev1.ListPageOrdersRequest{CustomerId: "bob"})
			return r, err
		}},
		{"read another's page", 403, codes.PermissionDenied, "forbidden", func() (Response, error) {
			r := shop.Call(http.MethodGet, "mypage", "/mypage/bob/orders", nil, shop.As("alice")...)
			_, err := pages.ListPageOrders(shop.asGRPC("alice"), &mypagev1.ListPageOrdersRequest{CustomerId: "bob"})
			return r, err
		}},
		{"read a page without a token", 401, codes.Unauthenticated, "unauthenticated", func() (Response, error) {
			r := shop.Call(http.MethodGet, "mypage", "/mypage/bob/orders", nil, "Authorization", "")
			_, err := pages.ListPageOrders(shop.asGRPC(""), &mypagev1.ListPageOrdersRequest{CustomerId: "bob"})
			return r, err
		}},
	}
	for _, c := range cases {
		r, err := c.do()
		if r.Status != c.status || slugOf(r) != c.slug {
			t.Errorf("%s over REST: %d %s, want %d %q", c.name, r.Status, r.Body, c.status, c.slug)
		}
		wantReason := strings.ToUpper(strings.ReplaceAll(c.slug, "-", "_"))
		if code, why := reason(t, err); code != c.code || why != wantReason {
			t.Errorf("%s over gRPC: %v (%s), want %v %s", c.name, code, err, c.code, wantReason)
		}
	}

	// The gRPC orders are orders like any: they show in the REST list.
	var listed struct {
		Orders []order `json:"orders"`
	}
	shop.Call(http.MethodGet, "order", "/orders?customerId=alice", nil, shop.As("alice")...).JSON(t, &listed)
	viaGRPC, err := orders.ListCustomerOrders(shop.asGRPC("alice"), &orderv1.ListCustomerOrdersRequest{CustomerId: "alice"})
	if err != nil || len(viaGRPC.GetOrders()) != len(listed.Orders) || len(listed.Orders) != 4 {
		t.Errorf("alice's orders: %d over REST, %d over gRPC (%v), want 4 (two placed and one keyed through each door)", len(listed.Orders), len(viaGRPC.GetOrders()), err)
	}

	// Health checking and reflection, as grpcurl uses them, without a token.
	for _, app := range []string{"order", "mypage"} {
		conn := shop.grpcConn(app)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s health: %v %v", app, h, err)
		}
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("%s reflection: %v", app, err)
		}
		var names []string
		for _, svc := range resp.GetListServicesResponse().GetService() {
			names = append(names, svc.GetName())
		}
		want := map[string]string{"order": "skmall.order.v1.OrderService", "mypage": "skmall.mypage.v1.MyPageService"}[app]
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("%s lists %v over reflection, without %s", app, names, want)
		}
		cancel()
	}

	// Counted like REST requests, by method and code.
	placed := `method="/skmall.order.v1.OrderService/PlaceOrder"`
	if ok, short := shop.AppMetric("order", "grpc_requests_total", placed, `code="OK"`), shop.AppMetric("order", "grpc_requests_total", placed, `code="FailedPrecondition"`); ok < 3 || short != 1 {
		t.Errorf("order counted %v placements OK and %v out of stock over gRPC, want at least 3 and 1", ok, short)
	}
	if n := shop.AppMetric("mypage", "grpc_requests_total", `method="/skmall.mypage.v1.MyPageService/ListPageOrders"`, `code="PermissionDenied"`); n != 1 {
		t.Errorf("mypage counted %v refused page reads over gRPC, want 1", n)
	}

	// grpcurl, as the README uses it: no proto files, reflection tells it the API.
	addr := shop.Apps["order"].GRPC
	if out := grpcurl(t, "-plaintext", addr, "list"); !strings.Contains(out, "skmall.order.v1.OrderService") {
		t.Errorf("grpcurl list: %s", out)
	}
	out := grpcurl(t, "-plaintext", "-H", "authorization: "+shop.As("carol")[1], "-H", "idempotency-key: carol-grpcurl-1",
		"-d", `{"customerId":"carol","productId":"apple","qty":1}`, addr, "skmall.order.v1.OrderService/PlaceOrder")
	if !strings.Contains(out, `"status": "PLACED"`) || !strings.Contains(out, `"customerId": "carol"`) {
		t.Errorf("an order placed with grpcurl: %s", out)
	}
}

// grpcTools is the folder of the pinned grpcurl (scripts/grpc-tools.sh), found once.
var grpcTools = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("bash", "../scripts/grpc-tools.sh").Output()
	return strings.TrimSpace(string(out)), err
})

// grpcurl runs the pinned grpcurl and returns what it printed.
func grpcurl(t testing.TB, args ...string) string {
	t.Helper()
	tools, err := grpcTools()
	if err != nil {
		t.Fatalf("grpc-tools: %v", err)
	}
	out, err := exec.Command(filepath.Join(tools, "grpcurl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
