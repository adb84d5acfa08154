package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/skmall/skmall/platform/daprtest"
)

// baselines measures, at the baseline rate: a plain HTTP call on loopback, the same call
// through two Dapr sidecars (service invocation, mTLS), a PostgreSQL transaction shaped like
// an order's, and the order request itself for the ratio.
func (b *bench) baselines() ([]baseline, float64) {
	b.t.Helper()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer echo.Close()
	body := []byte(`{"customerId":"c0000","productId":"p000","qty":1}`)
	var sent int
	call := func(url string, header http.Header) (p50, p99 float64) {
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: header})
		var lats []time.Duration
		from := time.Now().Add(b.plan.warm)
		sent = 0
		for r := range attack(tr, b.plan.baseRate, b.plan.warm+b.plan.dur, "baseline") {
			sent++
			if r.Timestamp.After(from) {
				if r.Code/100 != 2 {
					b.t.Fatalf("baseline %s answered %d: %s %s", url, r.Code, r.Error, r.Body)
				}
				lats = append(lats, r.Latency)
			}
		}
		q := quantiles(lats)
		return q(0.5), q(0.99)
	}
	var out []baseline
	p50, p99 := call(echo.URL+"/echo", http.Header{"Content-Type": {"application/json"}})
	out = append(out, baseline{Call: "HTTP on loopback", P50: p50, P99: p99})

	echoAddr, ok := echo.Listener.Addr().(*net.TCPAddr)
	if !ok {
		b.t.Fatalf("echo server listens on %v, not TCP", echo.Listener.Addr())
	}
	caller, sidecars := b.echoSidecars(echoAddr.Port)
	cpu := func() (sum float64) {
		for _, pid := range sidecars {
			sum += cpuSeconds(pid)
		}
		return sum
	}
	cpu0 := cpu()
	p50, p99 = call(caller+"/v1.0/invoke/bench-echo/method/echo", http.Header{"Content-Type": {"application/json"}})
	out = append(out, baseline{Call: "the same call through two sidecars (mTLS)", P50: p50, P99: p99,
		CPUMs: (cpu() - cpu0) / float64(sent) * 1000})

	pgP50, pgP99, txPerS := b.pgBaseline()
	out = append(out, baseline{Call: "PostgreSQL transaction shaped like an order's", P50: pgP50, P99: pgP99,
		Note: fmt.Sprintf("%.0f tx/s with 16 connections", txPerS)})

	lat, _ := b.orders(b.plan.baseRate, b.plan.warm, b.plan.dur, nil)
	out = append(out, baseline{Call: fmt.Sprintf("POST /orders (at %d/s, same run)", b.plan.baseRate), P50: lat.P50, P99: lat.P99})
	return out, txPerS
}

// echoSidecars starts two sidecars, one beside the echo server, with mTLS through the shop's
// Sentry and no access control, and returns the caller's HTTP API and both processes' pids.
func (b *bench) echoSidecars(echoPort int) (string, []int) {
	b.t.Helper()
	dir := b.t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: bench\nspec:\n  mtls:\n    enabled: true\n"+
		daprtest.NameResolution(daprtest.NameResolutionFile)), 0o644); err != nil {
		b.t.Fatal(err)
	}
	var callerHTTP string
	var pids []int
	for _, side := range []struct {
		id      string
		appPort int
	}{{"bench-echo", echoPort}, {"bench-caller", 0}} {
		d := daprd{appID: side.id, appPort: side.appPort,
			httpPort: daprtest.FreePort(b.t), grpcPort: daprtest.FreePort(b.t), internalGRPCPort: daprtest.FreePort(b.t), metricsPort: daprtest.FreePort(b.t),
			resources: []string{dir}, config: cfg, logLevel: "warn"}
		p := d.start(b.t, "daprd-"+side.id, b.shop.dir)
		b.t.Cleanup(p.stop)
		url := fmt.Sprintf("http://127.0.0.1:%d", d.httpPort)
		waitHealthy(b.t, url+"/v1.0/healthz")
		callerHTTP = url
		pids = append(pids, p.pid())
	}
	return callerHTTP, pids
}

// pgBaseline runs, against the order service's database, a transaction like the one an order
// needs (insert the order if new, update the customer's index and the watch list), open loop
// at the baseline rate for latency, then as fast as 16 connections go for throughput.
func (b *bench) pgBaseline() (p50, p99, txPerS float64) {
	b.t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, b.shop.envValue("SKMALL_ORDER_STORE"))
	if err != nil {
		b.t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_state (key text PRIMARY KEY, value jsonb NOT NULL, etag uuid NOT NULL DEFAULT gen_random_uuid(), updated timestamptz NOT NULL DEFAULT now())`); err != nil {
		b.t.Fatal(err)
	}
	var n atomic.Int64
	tx := func() error {
		i := n.Add(1)
		t, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer t.Rollback(ctx) //nolint:errcheck
		doc := fmt.Sprintf(`{"orderId":"o%d","customerId":"c%d","productId":"p1","qty":1,"status":"PLACED"}`, i, i%500)
		if _, err := t.Exec(ctx, `INSERT INTO bench_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, fmt.Sprintf("order||o%d", i), doc); err != nil {
			return err
		}
		for _, key := range []string{fmt.Sprintf("order||customer-c%d", i%500), fmt.Sprintf("order||unconfirmed-%d", i%16)} {
			if _, err := t.Exec(ctx, `INSERT INTO bench_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = gen_random_uuid(), updated = now()`, key, doc); err != nil {
				return err
			}
		}
		return t.Commit(ctx)
	}
	// Open loop at the baseline rate.
	var lats []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(b.plan.baseRate)
	end := time.Now().Add(b.plan.dur)
	for next := time.Now(); next.Before(end); next = next.Add(interval) {
		time.Sleep(time.Until(next))
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if err := tx(); err != nil {
				b.t.Error(err)
				return
			}
			mu.Lock()
			lats = append(lats, time.Since(start))
			mu.Unlock()
		}()
	}
	wg.Wait()
	q := quantiles(lats)
	// Closed loop, 16 connections, for throughput.
	var done atomic.Int64
	stopAt := time.Now().Add(b.plan.dur / 3)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				if tx() == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	_, _ = pool.Exec(ctx, `DROP TABLE bench_state`)
	return q(0.5), q(0.99), float64(done.Load()) / (b.plan.dur / 3).Seconds()
}
