package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/devkeys"
)

// shopWithAlicesOrder is a shop with 10 apples on the shelf and alice's order of 2, delivered.
func shopWithAlicesOrder(t *testing.T) (*Shop, *Ledger, order) {
	t.Helper()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)
	o, r := shop.PlaceOrder(l, "alice", "apple", 2)
	if r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	shop.WaitConverged(l, 60*time.Second)
	return shop, l, o
}

// forgedTokens are bearer tokens no door may open for: each breaks one rule.
func (s *Shop) forgedTokens() map[string]string {
	s.t.Helper()
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": devkeys.Issuer, "aud": devkeys.Audience, "sub": "alice", "roles": []string{"admin"},
			"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := issuerKeys.Sign(c)
		if err != nil {
			s.t.Fatal(err)
		}
		return tok
	}
	genuine := sign(claims(nil))
	header, _, _ := strings.Cut(genuine, ".")
	kid := func() string {
		parsed, _, err := jwt.NewParser().ParseUnverified(genuine, jwt.MapClaims{})
		if err != nil {
			s.t.Fatal(err)
		}
		kid, ok := parsed.Header["kid"].(string)
		if !ok {
			s.t.Fatalf("the issuer's token has no kid: %v", parsed.Header)
		}
		return kid
	}()
	withKid := func(method jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(method, claims(nil))
		tok.Header["kid"] = kid
		out, err := tok.SignedString(key)
		if err != nil {
			s.t.Fatal(err)
		}
		return out
	}
	stranger, err := devkeys.Ensure(s.t.TempDir())
	if err != nil {
		s.t.Fatal(err)
	}
	strangers, _ := stranger.Token("alice", []string{"admin"}, time.Hour)
	jwks := readFile(s.t, issuerKeys.JWKSPath())
	return map[string]string{ //nolint:gosec // G101: forged tokens every door must refuse, made up for this test
		"garbage":                  "Bearer not.a.token",
		"expired":                  "Bearer " + sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"not yet valid":            "Bearer " + sign(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })),
		"other issuer":             "Bearer " + sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"other audience":           "Bearer " + sign(claims(func(c jwt.MapClaims) { c["aud"] = "another-shop" })),
		"a stranger's key":         "Bearer " + strangers,
		"alg none":                 "Bearer " + withKid(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
		"HS256 keyed with JWKS":    "Bearer " + withKid(jwt.SigningMethodHS256, jwks),
		"tampered payload":         "Bearer " + header + ".eyJzdWIiOiJib2IiLCJyb2xlcyI6WyJhZG1pbiJdfQ." + genuine[strings.LastIndex(genuine, ".")+1:],
		"basic auth, not a bearer": "Basic YWxpY2U6c2VjcmV0",
	}
}

// TestEveryDoorIsLocked walks every operation of every OpenAPI file and knocks without a
// token, with forged ones, and with the wrong kind of credential: each is refused (401 with a
// WWW-Authenticate challenge for the public API, 403 for what only a sidecar may call), and
// afterwards the shop holds exactly what it held before. Event routes, which no OpenAPI file
// lists, are knocked on too.
func TestEveryDoorIsLocked(t *testing.T) {
	t.Parallel()
	shop, l, o := shopWithAlicesOrder(t)
	before := shop.Product("apple")

	params := map[string]string{"orderId": o.OrderID, "productId": "apple", "customerId": "alice"}
	bodies := map[string]any{
		"/orders":   map[string]any{"customerId": "alice", "productId": "apple", "qty": 1},
		"/products": map[string]any{"productId": "intruder", "name": "Intruder", "stock": 99},
		"/products/{productId}/stock-adjustments": map[string]any{"delta": 1000},
		"/reservations": map[string]any{"orderId": "intruder", "productId": "apple", "qty": 8, "reservationId": "r1"},
	}
	forged := shop.forgedTokens()
	knocked := 0
	for app, doc := range loadDocs(t) {
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				concrete := path
				for name, v := range params {
					concrete = strings.ReplaceAll(concrete, "{"+name+"}", v)
				}
				if strings.Contains(concrete, "{") {
					t.Fatalf("%s %s: no value for a path parameter", app, path)
				}
				if method == http.MethodGet && path == "/orders" {
					concrete += "?customerId=alice"
				}
				body := bodies[path]
				if body == nil && method == http.MethodPost {
					body = ""
				}
				sidecarOnly := op.Security != nil && len(*op.Security) > 0 && (*op.Security)[0]["sidecar"] != nil
				credentials := map[string][]string{"nothing": {"Authorization", ""}}
				if sidecarOnly {
					credentials["an admin's token"] = shop.As(Admin, "admin")
					credentials["a guessed app token"] = []string{"Authorization", "", "dapr-api-token", "guess"}
				} else {
					credentials["the sidecar's app token"] = []string{"Authorization", "", "dapr-api-token", shop.Apps[app].appToken}
					for name, tok := range forged {
						credentials[name] = []string{"Authorization", tok}
					}
				}
				for name, headers := range credentials {
					knocked++
					r := shop.Call(method, app, concrete, body, headers...)
					want := http.StatusUnauthorized
					if sidecarOnly {
						want = http.StatusForbidden
					}
					if r.Status != want {
						t.Errorf("%s %s %s with %s: %d %s, want %d", app, method, concrete, name, r.Status, r.Body, want)
						continue
					}
					if want == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
						t.Errorf("%s %s %s with %s: no Bearer challenge", app, method, concrete, name)
					}
				}
			}
		}
	}
	if knocked < 150 {
		t.Fatalf("knocked only %d times: the OpenAPI files list fewer doors than the shop has", knocked)
	}

	// The routes daprd delivers events to: a forged OrderCancelled would release alice's stock.
	cancel, err := contracts.Encode(event(contracts.OrderCancelled, o))
	if err != nil {
		t.Fatal(err)
	}
	ce := fmt.Sprintf(`{"specversion":"1.0","id":"forged","source":"mallory","type":"com.dapr.event.sent","datacontenttype":"application/json","topic":"orders","pubsubname":"pubsub","data":%s}`, cancel)
	for _, door := range []struct{ app, path string }{
		{"warehouse", "/events/orders"}, {"warehouse", "/events/deliveries"}, {"delivery", "/events/orders"},
		{"mypage", "/events/orders"}, {"mypage", "/events/deliveries"}, {"order", "/events/deliveries"},
		{"order", "/events/deadletters"}, {"warehouse", "/events/deadletters"}, {"delivery", "/events/deadletters"}, {"mypage", "/events/deadletters"},
	} {
		for name, headers := range map[string][]string{
			"nothing": {"Authorization", ""}, "an admin's token": shop.As(Admin, "admin"),
			"a guessed app token": {"Authorization", "", "dapr-api-token", "guess"},
		} {
			status, body := shop.raw(http.MethodPost, door.app, door.path, ce, append(headers, "Content-Type", "application/cloudevents+json")...)
			if status != http.StatusForbidden {
				t.Errorf("%s %s with %s: %d %s, want 403", door.app, door.path, name, status, body)
			}
		}
	}

	// Nothing changed: the same stock, no intruder product, alice's one order still placed.
	if after := shop.Product("apple"); after != before {
		t.Fatalf("refused requests changed the stock: %+v, was %+v", after, before)
	}
	if r := shop.Call(http.MethodGet, "warehouse", "/products/intruder", nil); r.Status != http.StatusNotFound {
		t.Fatalf("intruder product: %d %s", r.Status, r.Body)
	}
	shop.WaitConverged(l, 30*time.Second)
}

// TestOwnership: a customer reaches only their own orders, delivery and page; the catalogue and
// the operators' tools need the admin role. Every refusal is a 403 that shows nothing of the
// other customer, and changes nothing.
func TestOwnership(t *testing.T) {
	t.Parallel()
	shop, l, o := shopWithAlicesOrder(t)
	before := shop.Product("apple")
	bob, alice := shop.As("bob"), shop.As("alice")

	for _, c := range []struct {
		app, method, path string
		body              any
		as                []string
	}{
		{"order", "GET", "/orders/" + o.OrderID, nil, bob},
		{"order", "GET", "/orders?customerId=alice", nil, bob},
		{"order", "POST", "/orders/" + o.OrderID + "/cancel", "", bob},
		{"order", "POST", "/orders", map[string]any{"customerId": "alice", "productId": "apple", "qty": 1}, bob},
		{"order", "POST", "/orders", map[string]any{"customerId": "alice", "productId": "apple", "qty": 1}, shop.As(Admin, "admin")},
		{"delivery", "GET", "/deliveries/" + o.OrderID, nil, bob},
		{"mypage", "GET", "/mypage/alice/orders", nil, bob},
		{"mypage", "GET", "/mypage/alice/orders/" + o.OrderID, nil, bob},
		{"warehouse", "POST", "/products", map[string]any{"productId": "pear", "name": "Pear", "stock": 5}, alice},
		{"warehouse", "POST", "/products/apple/stock-adjustments", map[string]any{"delta": 100}, alice},
		{"order", "GET", "/deadletters", nil, alice},
		{"warehouse", "POST", "/deadletters/replay", "", alice},
	} {
		r := shop.Call(c.method, c.app, c.path, c.body, c.as...)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s %s %s as %s: %d %s, want 403", c.app, c.method, c.path, c.as[1][:20], r.Status, r.Body)
		}
		if bytes.Contains(r.Body, []byte(o.OrderID)) && !strings.Contains(c.path, o.OrderID) {
			t.Errorf("%s %s: the refusal shows alice's order: %s", c.method, c.path, r.Body)
		}
	}
	if r := shop.Call(http.MethodGet, "order", "/orders?customerId=bob", nil, bob...); contains(r.Body, o.OrderID) {
		t.Fatalf("bob's list shows alice's order: %s", r.Body)
	}
	if after := shop.Product("apple"); after != before {
		t.Fatalf("refused requests changed the stock: %+v, was %+v", after, before)
	}
	if r := shop.Call(http.MethodGet, "warehouse", "/products/pear", nil, alice...); r.Status != http.StatusNotFound {
		t.Fatalf("a customer registered a product: %d %s", r.Status, r.Body)
	}
	shop.WaitConverged(l, 30*time.Second) // alice's order is not cancelled, and still hers alone

	// Reading stock needs a token, any customer's will do; an admin reaches any order.
	if r := shop.Call(http.MethodGet, "warehouse", "/products/apple", nil, bob...); r.Status != http.StatusOK {
		t.Fatalf("a customer reads stock: %d %s", r.Status, r.Body)
	}
	if r := shop.Call(http.MethodGet, "order", "/orders/"+o.OrderID, nil, shop.As(Admin, "admin")...); r.Status != http.StatusOK {
		t.Fatalf("an admin reads alice's order: %d %s", r.Status, r.Body)
	}
}

// TestSidecarAccessControl: sidecars talk mTLS with identities from Sentry, and the access
// control list lets only order reach the warehouse's reservation API and only the warehouse
// ask order about an order; everything else is denied by the callee's sidecar, with the
// caller's identity in the refusal. The sidecars' own APIs need the app's Dapr API token.
func TestSidecarAccessControl(t *testing.T) {
	t.Parallel()
	shop, l, o := shopWithAlicesOrder(t)
	before := shop.Product("apple")
	reserve := map[string]any{"orderId": "acl-probe", "productId": "apple", "qty": 5, "reservationId": "r1"}
	release := map[string]any{"reservationId": "r1"}

	for _, c := range []struct {
		from, to, method, path string
		body                   any
	}{
		{"delivery", "warehouse", http.MethodPost, "reservations", reserve},
		{"mypage", "warehouse", http.MethodPost, "reservations", reserve},
		{"delivery", "warehouse", http.MethodPost, "reservations/" + o.OrderID + "/release", release},
		{"order", "warehouse", http.MethodPost, "products", map[string]any{"productId": "pear", "name": "Pear", "stock": 5}},
		{"order", "warehouse", http.MethodGet, "products/apple", nil},
		{"order", "warehouse", http.MethodPost, "events/orders", nil},
		{"delivery", "order", http.MethodPost, "internal/orders/" + o.OrderID + "/settle", release},
		{"mypage", "order", http.MethodPost, "orders/" + o.OrderID + "/cancel", nil},
	} {
		r := shop.Invoke(c.from, c.to, c.method, c.path, c.body)
		if r.Status != http.StatusForbidden || !contains(r.Body, "spiffe://public/ns/default/"+c.from) {
			t.Errorf("%s invoking %s %s %s: %d %s, want 403 naming the caller's mTLS identity", c.from, c.method, c.to, c.path, r.Status, r.Body)
		}
	}
	if after := shop.Product("apple"); after != before {
		t.Fatalf("denied invocations changed the stock: %+v, was %+v", after, before)
	}
	// What the policy allows gets through, by identity: deny-by-default would refuse it too
	// if the sidecars did not know who calls.
	if r := shop.Invoke("warehouse", "order", http.MethodPost, "internal/orders/"+o.OrderID+"/settle", release); r.Status != http.StatusOK || !contains(r.Body, `"stored":true`) {
		t.Fatalf("warehouse settling with order: %d %s", r.Status, r.Body)
	}
	if r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations/never-placed/release", release); r.Status != http.StatusOK {
		t.Fatalf("order releasing a reservation: %d %s", r.Status, r.Body)
	}

	// The sidecars' APIs answer only to their app.
	for _, token := range []string{"", "guess", shop.Apps["warehouse"].DaprToken} {
		req, _ := http.NewRequest(http.MethodGet, shop.Apps["order"].DaprHTTP+"/v1.0/metadata", nil)
		if token != "" {
			req.Header.Set("dapr-api-token", token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("order's sidecar API with token %.8q: %d, want 401", token, resp.StatusCode)
		}
	}
	shop.WaitConverged(l, 30*time.Second)
}

// TestPublishScopes: only order publishes orders and only delivery deliveries. A forged
// OrderCancelled from delivery's sidecar, or a DeliveryStarted from mypage's, is refused at
// the sidecar and never reaches anyone.
func TestPublishScopes(t *testing.T) {
	t.Parallel()
	shop, l, o := shopWithAlicesOrder(t)

	cancel, _ := contracts.Encode(event(contracts.OrderCancelled, o))
	fresh := order{OrderID: "forged-order", CustomerID: "mallory", ProductID: "apple", Qty: 9}
	placed, _ := contracts.Encode(event(contracts.OrderPlaced, fresh))
	started, _ := contracts.Encode(event(contracts.DeliveryStarted, fresh))
	for _, c := range []struct{ app, topic, payload string }{
		{"delivery", "orders", string(cancel)},
		{"warehouse", "orders", string(cancel)},
		{"mypage", "orders", string(placed)},
		{"mypage", "deliveries", string(started)},
		{"order", "deliveries", string(started)},
		{"warehouse", "deadletter-delivery", string(placed)},
	} {
		if status, body := shop.publishStatus(c.app, c.topic, c.payload); status != http.StatusForbidden {
			t.Errorf("%s publishing to %s: %d %s, want 403", c.app, c.topic, status, body)
		}
	}
	// The owners still publish (what every other test relies on) and nothing forged arrived:
	// alice's order stands, and the forged order has no delivery.
	shop.WaitConverged(l, 30*time.Second)
	if r := shop.Call(http.MethodGet, "delivery", "/deliveries/forged-order", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a forged OrderPlaced started a delivery: %d %s", r.Status, r.Body)
	}
}

// TestSlowClientsAreCutOff opens connections that send their headers ever so slowly (a
// slowloris): the server hangs up on them, and serves everyone else meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	addr := strings.TrimPrefix(shop.Apps["order"].URL, "http://")
	var conns []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		if _, err := c.Write([]byte("POST /orders HTTP/1.1\r\nHost: shop\r\nX-Slow: ")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if r := shop.Call(http.MethodGet, "order", "/orders?customerId=alice", nil, shop.As("alice")...); r.Status != http.StatusOK {
		t.Fatalf("a normal client while 50 slow ones hang on: %d %s", r.Status, r.Body)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		// The server answers 408 or just closes; either way the read ends long before the deadline.
		_, err := bufio.NewReader(c).ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow connection %d is still open after 30 s", i)
		}
	}
}

// raw sends a request to an app without checking the answer against its OpenAPI file (for
// routes the files do not describe).
func (s *Shop) raw(method, app, path, body string, headers ...string) (int, string) {
	s.t.Helper()
	req, _, err := s.newRequest(method, app, path, body, headers...)
	if err != nil {
		s.t.Fatal(err)
	}
	r := s.mustSend(req)
	return r.Status, string(r.Body)
}

// loadDocs reads each app's OpenAPI document.
func loadDocs(t testing.TB) map[string]*openapi3.T {
	t.Helper()
	docs := map[string]*openapi3.T{}
	for _, app := range appNames {
		doc, err := openapi3.NewLoader().LoadFromFile(specPath(t, app))
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatal(err)
		}
		docs[app] = doc
	}
	return docs
}
