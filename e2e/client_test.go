package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/daprtest"
)

var (
	specsOnce sync.Once
	specs     map[string]routers.Router
	specsErr  error
)

// loadSpecs reads each app's OpenAPI file; every response the tests get is checked against it.
func loadSpecs(t testing.TB) map[string]routers.Router {
	t.Helper()
	specsOnce.Do(func() {
		specs = map[string]routers.Router{}
		for _, app := range appNames {
			doc, err := openapi3.NewLoader().LoadFromFile(specPath(t, app))
			if err != nil {
				specsErr = fmt.Errorf("%s spec: %w", app, err)
				return
			}
			if err := doc.Validate(context.Background()); err != nil {
				specsErr = fmt.Errorf("%s spec is invalid: %w", app, err)
				return
			}
			doc.Servers = nil
			r, err := gorillamux.NewRouter(doc)
			if err != nil {
				specsErr = err
				return
			}
			specs[app] = r
		}
	})
	if specsErr != nil {
		t.Fatal(specsErr)
	}
	return specs
}

// Response is an answer from an app, already checked against the app's OpenAPI file.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// Call sends a request to an app's REST API and checks the answer against its OpenAPI file
// (status documented, body and headers as described, problem+json for errors). Requests the
// spec forbids are sent unchecked, so tests can send bad input on purpose.
func (s *Shop) Call(method, app, path string, body any, headers ...string) Response {
	s.t.Helper()
	req, raw, err := s.newRequest(method, app, path, body, headers...)
	if err != nil {
		s.t.Fatal(err)
	}
	resp := s.mustSend(req)
	// On a cluster the ingress may answer a read with 502 while it catches up with pods that
	// went away (Call is what the audit reads through): a read is asked again, and said.
	for tries := 0; s.host != "" && method == http.MethodGet && resp.Status == http.StatusBadGateway && tries < 10; tries++ {
		s.t.Logf("GET %s: 502 from the ingress, asking again", path)
		time.Sleep(300 * time.Millisecond)
		if req, raw, err = s.newRequest(method, app, path, body, headers...); err != nil {
			s.t.Fatal(err)
		}
		resp = s.mustSend(req)
	}
	s.checkAgainstSpec(app, req, raw, resp)
	return resp
}

// send does a request and reads the whole answer.
func send(req *http.Request) (Response, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: out}, err
}

// mustSend is send for requests whose failure to get an answer fails the test.
func (s *Shop) mustSend(req *http.Request) Response {
	s.t.Helper()
	r, err := send(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// toSidecar is a request to an app's sidecar API, with the app's Dapr API token.
func (s *Shop) toSidecar(app, method, path string, body []byte) *http.Request {
	s.t.Helper()
	req, err := http.NewRequest(method, s.Apps[app].DaprHTTP+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.DaprTokenHeader, s.Apps[app].DaprToken)
	return req
}

// newRequest builds a request to an app's REST API (through the gateway with ThroughGateway,
// for the paths it routes). body is sent as it is when it is a string
// or bytes, as JSON otherwise; headers come in name, value pairs. Without an Authorization
// header the request goes as the admin (see As); an empty one sends none.
func (s *Shop) newRequest(method, app, path string, body any, headers ...string) (*http.Request, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	base := s.Apps[app].URL
	if s.gateway != nil && routedApp(s.routes, path) == s.Apps[app].AppID {
		base = s.gateway.URL
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if s.host != "" {
		req.Host = s.host
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if _, named := req.Header["Authorization"]; !named {
		as := s.As(Admin, "admin")
		req.Header.Set(as[0], as[1])
	} else if req.Header.Get("Authorization") == "" {
		req.Header.Del("Authorization")
	}
	return req, raw, nil
}

func (s *Shop) checkAgainstSpec(app string, req *http.Request, reqBody []byte, resp Response) {
	s.t.Helper()
	router := loadSpecs(s.t)[s.Apps[app].AppID]
	specReq := req.Clone(context.Background())
	specReq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(specReq)
	if err != nil {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			return // a path or method the API does not have
		}
		s.t.Fatalf("%s %s answered %d but the OpenAPI file of %s has no such route: %v", req.Method, req.URL.Path, resp.Status, app, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: specReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if resp.Status/100 != 2 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			s.t.Fatalf("%s %s answered %d with %q, want application/problem+json", req.Method, req.URL.Path, resp.Status, ct)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		s.t.Fatalf("%s %s: the answer breaks the OpenAPI file of %s: %v\nbody: %s", req.Method, req.URL.Path, app, err, resp.Body)
	}
}

// Invoke calls a method of app `to` through the sidecar of app `from`, by Dapr service
// invocation, as `from` would; the sidecars' access control decides whether it gets through.
func (s *Shop) Invoke(from, to, method, path string, body any) Response {
	s.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			s.t.Fatal(err)
		}
	}
	return s.mustSend(s.toSidecar(from, method, "/v1.0/invoke/"+to+"/method/"+path, raw))
}

// specPath is where an app's OpenAPI file is.
func specPath(t testing.TB, app string) string {
	return filepath.Join(daprtest.RepoRoot(t), app, "api", "openapi.yaml")
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// try sends a request without failing the test on a transport error: during a crash a lost
// connection is an expected answer.
func (s *Shop) try(method, app, path string, body any, headers ...string) (int, []byte, error) {
	req, _, err := s.newRequest(method, app, path, body, headers...)
	if err != nil {
		return 0, nil, err
	}
	r, err := send(req)
	return r.Status, r.Body, err
}

// orderRequest is a customer's POST /orders.
type orderRequest struct {
	customer, product string
	qty               int
	key               string // the Idempotency-Key; none when empty
}

// attempt is one answer a client got to POST /orders.
type attempt struct {
	status int
	kind   string // the problem type's last segment, for refusals
	order  order
}

func (a attempt) String() string { return fmt.Sprintf("%d %s", a.status, a.kind) }

// definite reports whether the answer settles the order: placed, or refused (out of stock;
// invalid, for an unknown product or with a key used for another order). Any other answer,
// or none, leaves the outcome open.
func (a attempt) definite() bool {
	return a.status == http.StatusCreated || a.status == http.StatusConflict || a.status == http.StatusUnprocessableEntity
}

// orderAttempt sends one order request to app (order, or a replica of it) and reads the answer
// without failing on a transport error (a cut connection is an answer too: the outcome is open).
func (s *Shop) orderAttempt(app string, r orderRequest) attempt {
	s.t.Helper()
	headers := s.As(r.customer)
	if r.key != "" {
		headers = append(headers, "Idempotency-Key", r.key)
	}
	status, body, err := s.try(http.MethodPost, app, "/orders", map[string]any{"customerId": r.customer, "productId": r.product, "qty": r.qty}, headers...)
	if err != nil {
		return attempt{kind: "no-answer"}
	}
	a := attempt{status: status}
	if status == http.StatusCreated {
		if err := json.Unmarshal(body, &a.order); err != nil {
			s.t.Fatalf("201 without an order: %s", body)
		}
		return a
	}
	var problem struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &problem)
	a.kind = problem.Type[strings.LastIndex(problem.Type, "/")+1:]
	return a
}

// retryingClient is a client that does what the API asks when an answer leaves the outcome
// open: it sends the same request again, an order with the same Idempotency-Key, until the
// answer is definite. It records in the ledger what the shop accepted, and what is still open
// when it gives up.
type retryingClient struct {
	shop   *Shop
	ledger *Ledger
	counts *clientCounts
	pause  time.Duration // between attempts
	// to is the app the n-th attempt goes to: a replica of order; order itself when nil.
	to func(n int) string
}

// clientCounts is what retrying clients did, summed over them.
type clientCounts struct{ placed, refused, cancelled, adjusted, retried atomic.Int64 }

func (c retryingClient) app(n int) string {
	if c.to == nil {
		return "order"
	}
	return c.to(n)
}

// placeOrder asks until the answer is definite, or ctx ends with the outcome still open; it
// returns every answer and whether the last is definite.
func (c retryingClient) placeOrder(ctx context.Context, r orderRequest) ([]attempt, bool) {
	c.shop.t.Helper()
	if r.key == "" {
		c.shop.t.Fatal("an order sent again without an Idempotency-Key may be placed twice")
	}
	var answers []attempt
	for n := 0; ; n++ {
		a := c.shop.orderAttempt(c.app(n), r)
		answers = append(answers, a)
		switch {
		case a.status == http.StatusCreated:
			c.ledger.recordAccepted(a.order)
			c.counts.placed.Add(1)
			return answers, true
		case a.definite():
			c.counts.refused.Add(1)
			return answers, true
		}
		c.counts.retried.Add(1)
		select {
		case <-ctx.Done():
			c.ledger.recordOpen(r.customer, r.key)
			return answers, false
		case <-time.After(c.pause):
		}
	}
}

// adjustStock asks, as an admin, with the adjustment's Idempotency-Key, until the warehouse
// answers 200, or ctx ends with the outcome still open; it reports whether the adjustment was
// made. The apps it asks are the warehouse's (to).
func (c retryingClient) adjustStock(ctx context.Context, product, key string, delta int) bool {
	for n := 0; ; n++ {
		status, body, err := c.shop.try(http.MethodPost, c.app(n), "/products/"+product+"/stock-adjustments",
			map[string]any{"delta": delta, "reason": "retried until answered"}, "Idempotency-Key", key)
		switch {
		case err == nil && status == http.StatusOK:
			c.ledger.recordStock(product, delta)
			c.counts.adjusted.Add(1)
			return true
		case err == nil && status < http.StatusInternalServerError:
			c.shop.t.Errorf("adjustment %s of %s: %d %s", key, product, status, body)
			return false
		}
		c.counts.retried.Add(1)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(c.pause):
		}
	}
}

// cancelOrder asks, as the order's customer, until the order is cancelled, or ctx ends with
// the outcome still open; it reports whether the order was cancelled.
func (c retryingClient) cancelOrder(ctx context.Context, customer, id string) bool {
	for n := 0; ; n++ {
		status, _, err := c.shop.try(http.MethodPost, c.app(n), "/orders/"+id+"/cancel", nil, c.shop.As(customer)...)
		if err == nil && status == http.StatusOK {
			c.ledger.recordCancelled(id)
			c.counts.cancelled.Add(1)
			return true
		}
		c.counts.retried.Add(1)
		select {
		case <-ctx.Done():
			c.ledger.recordMaybeCancelled(id)
			return false
		case <-time.After(c.pause):
		}
	}
}
