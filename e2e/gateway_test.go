package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skmall/skmall/platform/daprtest"
)

// Gateway is the shop's entry point (scripts/gateway.sh) in front of a test's shop.
type Gateway struct {
	URL  string
	proc *proc
}

// publicRoutes are the public path prefixes and the app behind each, from the one file the
// chart's Ingress and the gateway route by.
func publicRoutes(t testing.TB, root string) map[string]string {
	t.Helper()
	routes := map[string]string{}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(root, "helm", "skmall", "files", "routes.yaml")), &routes); err != nil {
		t.Fatal(err)
	}
	return routes
}

// routedApp is the app the gateway sends path to, or "" for a path it does not route.
func routedApp(routes map[string]string, path string) string {
	path, _, _ = strings.Cut(path, "?")
	for prefix, app := range routes {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return app
		}
	}
	return ""
}

// StartGateway starts a gateway in front of the shop's apps, on a fresh port, with env
// (NAME=value) over its defaults; it stops when the test ends.
func (s *Shop) StartGateway(env ...string) *Gateway {
	s.t.Helper()
	port := daprtest.FreePort(s.t)
	vars := []string{fmt.Sprintf("GATEWAY_ADDR=127.0.0.1:%d", port), "GATEWAY_TOKEN_KEY=" + issuerKeys.PublicKeyPath()}
	for _, app := range appNames {
		vars = append(vars, strings.ToUpper(app)+"_ADDR="+strings.TrimPrefix(s.Apps[app].URL, "http://"))
	}
	g := &Gateway{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	g.proc = start(s.t, "gateway", s.dir, append(vars, env...), "bash", filepath.Join(s.root, "scripts", "gateway.sh"))
	s.t.Cleanup(g.proc.stop)
	daprtest.Eventually(s.t, 10*time.Second, "the gateway to listen", func() error { return dial(port) })
	return g
}

// TestGatewayRoutesThePublicPathsOnly: every public path reaches its app through the gateway,
// and nothing else does (the internal reservation API, event routes, probes, metrics).
func TestGatewayRoutesThePublicPathsOnly(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "local")
	gw := shop.StartGateway()
	shop.RegisterProduct(newLedger(), "apple", 1)
	get := func(path string, headers ...string) Response {
		req, err := http.NewRequest(http.MethodGet, gw.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return shop.mustSend(req)
	}
	admin := shop.As(Admin, "admin")
	for path, want := range map[string]int{
		"/products/apple": http.StatusOK, "/orders?customerId=alice": http.StatusOK,
		"/deliveries/no-such-order": http.StatusNotFound, "/mypage/alice/orders": http.StatusOK,
	} {
		r := get(path, admin...)
		if r.Status != want {
			t.Errorf("GET %s through the gateway: %d %s, want %d", path, r.Status, r.Body, want)
		}
	}
	// The app answers, not the gateway: its own refusal of a missing token.
	if r := get("/products/apple"); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "problems/") {
		t.Errorf("GET /products/apple without a token: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/reservations", "/internal/orders/x/settle", "/readyz", "/healthz", "/metrics",
		"/dapr/subscribe", "/events/order-placed", "/productsx", "/", "/deadletters/replay"} {
		r := get(path, admin...)
		if r.Status != http.StatusNotFound || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s through the gateway: %d %s, want a 404 problem", path, r.Status, r.Body)
		}
	}
}

// TestGatewayLimitsEachClient: a client bursting far past its limit gets 429 problems with
// Retry-After, nothing of the excess reaches the shop, and once it waits the window it gets
// through again; meanwhile a second client at a normal rate sees no 429 and keeps its latency
// (compared with its own before the burst, in the same run).
func TestGatewayLimitsEachClient(t *testing.T) {
	t.Parallel()
	const limit, window = 20, 3
	shop := StartShop(t, "local")
	gw := shop.StartGateway(fmt.Sprintf("GATEWAY_RATE_LIMIT=%d", limit), fmt.Sprintf("GATEWAY_RATE_WINDOW=%d", window))
	shop.RegisterProduct(newLedger(), "apple", 10)
	products := func(as []string) (Response, time.Duration) {
		req, err := http.NewRequest(http.MethodGet, gw.URL+"/products/apple", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(as[0], as[1])
		began := time.Now()
		r := shop.mustSend(req)
		return r, time.Since(began)
	}
	alice, bob := shop.As("alice"), shop.As("bob")
	served := func() float64 {
		return shop.AppMetric("warehouse", "http_requests_total", `route="/products/{productId}"`, `code="200"`)
	}

	// Bob at a normal rate (5 a second), before and during Alice's burst.
	bobAt := func(n int) (latencies []time.Duration, limited int) {
		for range n {
			r, took := products(bob)
			if r.Status == http.StatusTooManyRequests {
				limited++
			} else if r.Status != http.StatusOK {
				t.Errorf("bob: %d %s", r.Status, r.Body)
			}
			latencies = append(latencies, took)
			time.Sleep(200 * time.Millisecond)
		}
		return latencies, limited
	}
	before, _ := bobAt(10)

	// Alice: 400 requests from 8 connections at once, within one window.
	before200 := served()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	burstDone := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				r, _ := products(alice)
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
				if r.Status == http.StatusTooManyRequests {
					if r.Header.Get("Retry-After") != fmt.Sprint(window) || r.Header.Get("Content-Type") != "application/problem+json" ||
						!strings.Contains(string(r.Body), "problems/rate-limited") {
						t.Errorf("a 429 without Retry-After %d or problem+json: %v %s", window, r.Header, r.Body)
					}
				}
			}
		}()
	}
	var during []time.Duration
	var bobLimited int
	go func() { wg.Wait(); close(burstDone) }()
	for burst := true; burst; {
		select {
		case <-burstDone:
			burst = false
		default:
			l, limited := bobAt(1)
			during, bobLimited = append(during, l...), bobLimited+limited
		}
	}
	bobBefore, bobDuring := quantiles(before)(0.5), quantiles(during)(0.5)
	t.Logf("alice's burst: %v; bob's median before %.1f ms, during %.1f ms", statuses, bobBefore, bobDuring)
	if statuses[http.StatusOK] > limit || statuses[http.StatusTooManyRequests] < 400-limit {
		t.Errorf("alice got %v: want at most %d answers from the shop and the rest 429", statuses, limit)
	}
	if got := served() - before200 - float64(len(during)-bobLimited); got > limit {
		t.Errorf("the warehouse served alice %v requests during her burst, more than the limit %d", got, limit)
	}
	if bobLimited > 0 {
		t.Errorf("bob, at a normal rate, was refused %d times during alice's burst", bobLimited)
	}
	// Noise on this shared machine: a few milliseconds; a limit that throttled or queued bob
	// would cost him at least the window.
	if bobDuring > 3*bobBefore+50 {
		t.Errorf("bob's median latency went from %.1f ms to %.1f ms during alice's burst", bobBefore, bobDuring)
	}

	// After the window alice gets through again.
	time.Sleep(window * time.Second)
	if r, _ := products(alice); r.Status != http.StatusOK {
		t.Errorf("alice after waiting the window: %d %s", r.Status, r.Body)
	}
}
