package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// balancer routes requests round-robin to the instances whose /readyz answers 2xx, checking
// every 250 ms: what a Kubernetes Service does with its endpoints.
type balancer struct {
	mu      sync.Mutex
	ready   []*url.URL
	next    atomic.Uint64
	proxies map[string]*httputil.ReverseProxy
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	b := &balancer{proxies: map[string]*httputil.ReverseProxy{}}
	var all []*url.URL
	for _, raw := range backends {
		u, _ := url.Parse(raw)
		all = append(all, u)
		b.proxies[u.Host] = httputil.NewSingleHostReverseProxy(u)
	}
	probe := func() {
		var ready []*url.URL
		for _, u := range all {
			resp, err := (&http.Client{Timeout: time.Second}).Get(u.String() + "/readyz")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ready = append(ready, u)
				}
			}
		}
		b.mu.Lock()
		b.ready = ready
		b.mu.Unlock()
	}
	probe()
	t.Cleanup(every(250*time.Millisecond, probe))
	return b
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	ready := b.ready
	b.mu.Unlock()
	if len(ready) == 0 {
		http.Error(w, "no ready instance", http.StatusBadGateway)
		return
	}
	u := ready[b.next.Add(1)%uint64(len(ready))]
	b.proxies[u.Host].ServeHTTP(w, r)
}

// TestGracefulRollout is a rolling update, locally: two order instances behind a balancer
// that follows readiness, steady orders, and one instance (app and sidecar) sent SIGTERM. It
// fails readiness at once, finishes what it has, and exits in time; not one request fails, and
// every accepted order goes all the way through.
func TestGracefulRollout(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100000)
	shop.StartReplica("order", "order-2")
	lb := newBalancer(t, shop.Apps["order"].URL, shop.Apps["order-2"].URL)
	front := &http.Server{Addr: "127.0.0.1:" + freePort(t), Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = front.ListenAndServe() }()
	t.Cleanup(func() { _ = front.Close() })
	waitHealthy(t, "http://"+front.Addr+"/healthz")

	// 20 orders a second for 8 seconds, through the balancer; SIGTERM after 2 seconds.
	var stopped time.Duration
	stoppedAt := time.Now().Add(2 * time.Second)
	stopDone := make(chan struct{})
	go func() {
		defer close(stopDone)
		time.Sleep(time.Until(stoppedAt))
		start := time.Now()
		shop.StopApp("order")
		stopped = time.Since(start)
	}()
	placed, failed := shop.steadyOrders(l, front.Addr, 160, 50*time.Millisecond, "r", 40)
	<-stopDone
	for _, f := range failed {
		t.Errorf("order %d, sent %s after the SIGTERM: %s", f.i, f.sent.Sub(stoppedAt).Round(10*time.Millisecond), f.what)
	}
	t.Logf("%d orders placed, %d failed; the stopped instance took %s to exit", placed, len(failed), stopped)
	if len(failed) != 0 {
		t.Fatalf("%d requests failed during the rollout", len(failed))
	}
	if stopped > 15*time.Second {
		t.Fatalf("the stopped instance took %s to exit", stopped)
	}
	// The new instance takes the stopped one's place; the shop converges as if nothing happened.
	shop.StartApp("order")
	shop.WaitReady("order")
	shop.WaitConverged(l, 90*time.Second)
}

// failedOrder is an order steadyOrders did not see accepted: when it was sent, what came back,
// and how long that took.
type failedOrder struct {
	i    int
	sent time.Time
	what string
	took time.Duration
}

// steadyOrders sends n orders of one apple, one every interval whatever the answers (open
// loop), from customers prefix000 to prefix<customers-1> in turn, to host (the order app's when
// ""). It records the accepted ones in l and returns how many there were, and the rest.
func (s *Shop) steadyOrders(l *Ledger, host string, n int, interval time.Duration, prefix string, customers int) (placed int, failed []failedOrder) {
	client := &http.Client{Timeout: 20 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer := fmt.Sprintf("%s%03d", prefix, i%customers)
			sent := time.Now()
			what := ""
			var o order
			var resp *http.Response
			req, _, err := s.newRequest(http.MethodPost, "order", "/orders",
				map[string]any{"customerId": customer, "productId": "apple", "qty": 1}, s.As(customer)...)
			if err == nil {
				if host != "" {
					req.URL.Host = host
				}
				resp, err = client.Do(req)
			}
			switch {
			case err != nil:
				what = err.Error()
			case resp.StatusCode != http.StatusCreated:
				body, _ := io.ReadAll(resp.Body)
				what = resp.Status + " " + string(body)
			default:
				if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
					what = "an answer that is not an order: " + err.Error()
				}
			}
			if resp != nil {
				_ = resp.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if what != "" {
				failed = append(failed, failedOrder{i: i, sent: sent, what: what, took: time.Since(sent)})
				return
			}
			l.recordAccepted(o)
			placed++
		}()
	}
	wg.Wait()
	return placed, failed
}

// TestProbes: /healthz says the process is alive; /readyz says it can serve — its sidecar up
// and its store reachable — and turns 503 the moment the app is told to stop.
func TestProbes(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	a := shop.Apps["warehouse"]
	status := func(path string) int {
		resp, err := http.Get(a.URL + path)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if status("/healthz") != 200 || status("/readyz") != 200 {
		t.Fatalf("a running warehouse: healthz %d, readyz %d", status("/healthz"), status("/readyz"))
	}
	a.dapr.kill()
	if status("/readyz") != http.StatusServiceUnavailable || status("/healthz") != 200 {
		t.Fatalf("sidecar gone: readyz %d (want 503), healthz %d (want 200)", status("/readyz"), status("/healthz"))
	}
	shop.startSidecar(a)
	shop.WaitReady("warehouse")

	_ = a.app.cmd.Process.Signal(syscall.SIGTERM)
	// Within the shutdown delay (1 s here) the app still answers, and says it is not ready.
	got := 0
	for deadline := time.Now().Add(800 * time.Millisecond); got != http.StatusServiceUnavailable && time.Now().Before(deadline); {
		got = status("/readyz")
	}
	if got != http.StatusServiceUnavailable {
		t.Fatalf("readyz after SIGTERM: %d, want 503", got)
	}
	if got := status("/healthz"); got != 200 {
		t.Fatalf("healthz while draining: %d, want 200 (still alive)", got)
	}
	select {
	case <-a.app.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the app did not exit after SIGTERM")
	}
}

// every runs f every interval until the returned stop is called; stop waits for f's last run.
func every(interval time.Duration, f func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				f()
			}
		}
	}()
	return func() { close(quit); <-done }
}
