package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
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

// TestSoak runs the shop as production does, two replicas of every service, under open-loop
// mixed load (orders retried with their keys until definite, cancellations, stock
// adjustments), and injects a fault every 15-25 seconds, drawn at random: kill -9 of any app
// or sidecar, a broker restart, a database crash, and network faults between the sidecars and
// PostgreSQL (latency, connections reset, a black hole). Then it audits every invariant.
func TestSoak(t *testing.T) {
	t.Parallel()
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

	var load clientCounts
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
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
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				soakOrder(ctx, shop, l, &load, n, products[n%len(products)])
			}()
		}
	}()
	// An admin adjusts stock now and then, each adjustment sent again with its key until it
	// is answered; one still open when the soak ends is sent again after it.
	adjust := func(ctx context.Context, i int) bool {
		c := retryingClient{shop: shop, ledger: l, counts: &load, pause: 500 * time.Millisecond,
			to: func(attempt int) string { return soakReplica("warehouse", i+attempt) }}
		return c.adjustStock(ctx, products[i%len(products)], fmt.Sprintf("soak-%d", i), soakDelta)
	}
	var open []int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(3 * time.Second):
			}
			if !adjust(ctx, i) {
				open = append(open, i)
			}
		}
	}()

	faults := map[string]int{}
	end := time.Now().Add(length)
	for time.Now().Add(15 * time.Second).Before(end) {
		time.Sleep(time.Duration(15+rand.IntN(10)) * time.Second) //nolint:gosec // G404: jitter between faults, not security
		kind := soakFault(shop)
		faults[kind]++
		t.Logf("fault: %s", kind)
	}
	time.Sleep(time.Until(end))
	stop()
	wg.Wait()
	settle, settled := context.WithTimeout(context.Background(), 2*time.Minute)
	defer settled()
	for _, i := range open {
		if !adjust(settle, i) {
			t.Fatalf("adjustment soak-%d: no answer after the soak", i)
		}
	}

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

// soakDelta is how many units each of the soak's stock adjustments adds.
const soakDelta = 10

// soakReplica picks one of an app's two replicas.
func soakReplica(app string, n int) string {
	if n%2 == 1 {
		return app + "-2"
	}
	return app
}

// soakOrder is one client: an order retried with its key until the answer is definite (or the
// soak ends while the outcome is still open: the audit then takes what the store holds), and
// one order in four cancelled; its attempts go to either replica of order in turn.
func soakOrder(ctx context.Context, shop *Shop, l *Ledger, load *clientCounts, n int, product string) {
	customer := fmt.Sprintf("soak-%02d", n%40)
	c := retryingClient{shop: shop, ledger: l, counts: load, pause: 500 * time.Millisecond,
		to: func(attempt int) string { return soakReplica("order", n+attempt) }}
	answers, _ := c.placeOrder(ctx, orderRequest{customer: customer, product: product, qty: 1 + n%3, key: fmt.Sprintf("k-%d", n)})
	if placed := answers[len(answers)-1]; placed.status == http.StatusCreated && n%4 == 1 {
		c.cancelOrder(ctx, customer, placed.order.OrderID)
	}
}

// soakFault injects one fault, drawn at random, and reports its kind.
func soakFault(shop *Shop) string {
	apps := []string{}
	for _, a := range appNames {
		apps = append(apps, a, a+"-2")
	}
	app := apps[rand.IntN(len(apps))]                                   //nolint:gosec // G404: picks a fault to inject, not security
	proxy := shop.Proxies[[]string{"order", "warehouse"}[rand.IntN(2)]] //nolint:gosec // G404: picks a fault to inject, not security
	switch rand.IntN(8) {                                               //nolint:gosec // G404: picks a fault to inject, not security
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
		if rand.IntN(2) == 0 { //nolint:gosec // G404: picks a fault to inject, not security
			proxy.ResetAll()
			return "connections reset"
		}
		proxy.Blackhole(5 * time.Second)
		return "network black hole"
	}
}
