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
	client := &http.Client{Timeout: 20 * time.Second}
	var failed, placed atomic.Int32
	var wg sync.WaitGroup
	var stopped time.Duration
	stoppedAt := time.Now().Add(2 * time.Second)
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Until(stoppedAt))
		start := time.Now()
		shop.StopApp("order")
		stopped = time.Since(start)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	for i := range 160 {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer := fmt.Sprintf("r%03d", i%40)
			req, _, _ := shop.newRequest(http.MethodPost, "order", "/orders",
				map[string]any{"customerId": customer, "productId": "apple", "qty": 1}, shop.As(customer)...)
			req.URL.Host = front.Addr
			sent := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				t.Errorf("order %d: %v", i, err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != http.StatusCreated {
				failed.Add(1)
				body, _ := io.ReadAll(resp.Body)
				t.Errorf("order %d, sent %s after the SIGTERM: %s %s", i,
					sent.Sub(stoppedAt).Round(10*time.Millisecond), resp.Status, body)
				return
			}
			var o order
			if err := decodeJSON(resp, &o); err == nil {
				l.recordAccepted(o)
				placed.Add(1)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	t.Logf("%d orders placed, %d failed; the stopped instance took %s to exit", placed.Load(), failed.Load(), stopped)
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during the rollout", failed.Load())
	}
	if stopped > 15*time.Second {
		t.Fatalf("the stopped instance took %s to exit", stopped)
	}
	// The new instance takes the stopped one's place; the shop converges as if nothing happened.
	shop.StartApp("order")
	shop.WaitReady("order")
	shop.WaitConverged(l, 90*time.Second)
}

func decodeJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

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
