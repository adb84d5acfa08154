package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakLength is how long the soak loads the shop: SKMALL_SOAK (make soak: SOAK=10m), or the
// short version make test runs.
func soakLength(t testing.TB) time.Duration {
	if s := os.Getenv("SKMALL_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SKMALL_SOAK=%q: %v", s, err)
		}
		return d
	}
	return 90 * time.Second
}

// soakLoad is what the soak's clients did.
type soakLoad struct {
	placed, refused, retried, cancelled, adjusted atomic.Int64
}

// TestSoak runs the shop as production does, two replicas of every service, under open-loop
// mixed load (orders retried with their keys until definite, cancellations, stock
// adjustments), and injects a fault every 15-25 seconds, drawn at random: kill -9 of any app
// or sidecar, a broker restart, a database crash, and network faults between the sidecars and
// PostgreSQL (latency, connections reset, a black hole). Then it audits every invariant.
func TestSoak(t *testing.T) {
	length := soakLength(t)
	shop := StartShop(t, "postgres-redis", DurableBroker(), PrivatePostgres(), ProxyStore("order"), ProxyStore("warehouse"))
	for _, app := range appNames {
		shop.StartReplica(app, app+"-2")
	}
	l := newLedger()
	products := []string{"apple", "pear", "plum"}
	for _, p := range products {
		shop.RegisterProduct(l, p, 100000)
	}

	var load soakLoad
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Orders arrive at 8 a second, whatever the answers (open loop); each is a client that
	// retries with its key until the answer is definite, and cancels one order in four.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(125 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				soakOrder(shop, l, &load, n, products[n%len(products)], stop)
			}()
		}
	}()
	// An admin adjusts stock now and then.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Second):
			}
			p := products[i%len(products)]
			status, _, err := shop.try(http.MethodPost, soakReplica("warehouse", i), "/products/"+p+"/stock-adjustments", map[string]any{"delta": 10, "reason": "soak"})
			if err == nil && status == http.StatusOK {
				l.mu.Lock()
				l.stock[p] += 10
				l.mu.Unlock()
				load.adjusted.Add(1)
			}
		}
	}()

	faults := map[string]int{}
	end := time.Now().Add(length)
	for time.Now().Add(15 * time.Second).Before(end) {
		time.Sleep(time.Duration(15+rand.IntN(10)) * time.Second)
		kind := soakFault(shop)
		faults[kind]++
		t.Logf("fault: %s", kind)
	}
	time.Sleep(time.Until(end))
	close(stop)
	wg.Wait()

	quiet := time.Now()
	var violations []error
	for time.Since(quiet) < 4*time.Minute {
		if violations = shop.Audit(l); len(violations) == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	var kinds []string
	for k, n := range faults {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	report := fmt.Sprintf("soak of %s: %d orders accepted, %d refused, %d cancelled, %d stock adjustments, %d requests retried; "+
		"faults injected: %s; invariant violations: %d; converged %.1f s after the load stopped",
		length, load.placed.Load(), load.refused.Load(), load.cancelled.Load(), load.adjusted.Load(), load.retried.Load(),
		strings.Join(kinds, ", "), len(violations), time.Since(quiet).Seconds())
	t.Log(report)
	fmt.Println(report)
	if load.placed.Load() < int64(length.Seconds()) {
		t.Errorf("only %d orders were accepted: the load did not run", load.placed.Load())
	}
	for i, v := range violations {
		if i == 20 {
			t.Errorf("... and %d more", len(violations)-i)
			break
		}
		t.Error(v)
	}
}

// soakReplica picks one of an app's two replicas.
func soakReplica(app string, n int) string {
	if n%2 == 1 {
		return app + "-2"
	}
	return app
}

// soakOrder is one client: an order retried with its key until the answer is definite (or the
// soak ends while the outcome is still open: the audit then takes what the store holds), and
// one order in four cancelled.
func soakOrder(shop *Shop, l *Ledger, load *soakLoad, n int, product string, stop <-chan struct{}) {
	customer := fmt.Sprintf("soak-%02d", n%40)
	key := fmt.Sprintf("k-%d", n)
	body := map[string]any{"customerId": customer, "productId": product, "qty": 1 + n%3}
	var placed order
	for attempt := 0; ; attempt++ {
		status, raw, err := shop.try(http.MethodPost, soakReplica("order", n+attempt), "/orders", body, append(shop.As(customer), "Idempotency-Key", key)...)
		if err == nil && status == http.StatusCreated && jsonInto(raw, &placed) == nil {
			l.mu.Lock()
			l.accepted[placed.OrderID] = placed
			l.mu.Unlock()
			load.placed.Add(1)
			break
		}
		if err == nil && (status == http.StatusConflict || status == http.StatusUnprocessableEntity) {
			load.refused.Add(1)
			return
		}
		load.retried.Add(1)
		select {
		case <-stop:
			// The outcome is open: whatever the store holds under the key is the truth the
			// audit checks (a client would look at its orders).
			l.mu.Lock()
			l.open = append(l.open, openOrder{customer: customer, key: key})
			l.mu.Unlock()
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	if n%4 != 1 {
		return
	}
	for attempt := 0; ; attempt++ {
		status, _, err := shop.try(http.MethodPost, soakReplica("order", n+attempt), "/orders/"+placed.OrderID+"/cancel", nil, shop.As(customer)...)
		if err == nil && status == http.StatusOK {
			l.mu.Lock()
			l.cancelled[placed.OrderID] = true
			l.mu.Unlock()
			load.cancelled.Add(1)
			return
		}
		load.retried.Add(1)
		select {
		case <-stop:
			l.mu.Lock()
			l.maybeCancelled[placed.OrderID] = true
			l.mu.Unlock()
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// soakFault injects one fault, drawn at random, and reports its kind.
func soakFault(shop *Shop) string {
	apps := []string{}
	for _, a := range appNames {
		apps = append(apps, a, a+"-2")
	}
	app := apps[rand.IntN(len(apps))]
	proxy := shop.Proxies[[]string{"order", "warehouse"}[rand.IntN(2)]]
	switch rand.IntN(8) {
	case 0, 1:
		shop.CrashApp(app, time.Second)
		shop.WaitReady(app)
		return "kill -9 app"
	case 2, 3:
		shop.CrashSidecar(app, time.Second)
		shop.WaitReady(app)
		return "kill -9 sidecar"
	case 4:
		shop.CrashBroker(time.Second)
		return "broker restart"
	case 5:
		shop.CrashDatabase(time.Second)
		return "database crash"
	case 6:
		proxy.Latency(200 * time.Millisecond)
		time.Sleep(5 * time.Second)
		proxy.Latency(0)
		return "network latency"
	default:
		if rand.IntN(2) == 0 {
			proxy.ResetAll()
			return "connections reset"
		}
		proxy.Blackhole(5 * time.Second)
		return "network black hole"
	}
}
