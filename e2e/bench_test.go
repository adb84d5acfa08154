package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The benchmark (make bench) measures the shop as its users feel it, on the postgres-redis
// profile with real sidecars: POST /orders latency at fixed arrival rates, throughput at
// saturation with the backlog of what follows an order, the lag until a delivery starts and a
// customer's page shows it, and each process's memory and CPU. Baselines measured in the same
// run (a loopback HTTP call, the same call through two sidecars, a PostgreSQL transaction like
// an order's) turn absolute times on a noisy machine into ratios. It prints a Markdown table
// and writes it, with a JSON copy, under .bench/.
//
// make test runs it as a smoke test (SKMALL_BENCH unset): tiny stages, no files, no figures
// judged — only that every stage works.

type benchPlan struct {
	full       bool
	warm, dur  time.Duration // per latency stage
	rates      []int         // latency stages, orders per second
	lagRate    int           // the stage whose orders are followed to their delivery and page
	satRate    int           // offered load at saturation
	satDur     time.Duration
	baseRate   int // baselines run at this rate
	products   int
	customers  int
	lagSampleN int // follow every n-th order of the lag stage on mypage
}

// benchmarking reports whether this run is make bench (SKMALL_BENCH=full), not a test run.
func benchmarking() bool { return os.Getenv("SKMALL_BENCH") == "full" }

func benchPlanFromEnv() benchPlan {
	if benchmarking() {
		return benchPlan{full: true, warm: 3 * time.Second, dur: 15 * time.Second, rates: []int{25, 50, 100},
			lagRate: 50, satRate: 400, satDur: 30 * time.Second, baseRate: 100, products: 50, customers: 500, lagSampleN: 5}
	}
	return benchPlan{warm: 500 * time.Millisecond, dur: 2 * time.Second, rates: []int{10, 20}, lagRate: 20,
		satRate: 40, satDur: 3 * time.Second, baseRate: 20, products: 5, customers: 20, lagSampleN: 2}
}

// placed is an order the load generator saw accepted.
type placed struct {
	id, customer string
	at           time.Time // when the 201 arrived
}

type latency struct {
	Rate     int     `json:"rate"`
	Sent     int     `json:"sent"`
	Accepted int     `json:"accepted"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50Ms"`
	P95      float64 `json:"p95Ms"`
	P99      float64 `json:"p99Ms"`
	Max      float64 `json:"maxMs"`
}

type lag struct {
	To     string  `json:"to"`
	P50    float64 `json:"p50Ms"`
	P99    float64 `json:"p99Ms"`
	Max    float64 `json:"maxMs"`
	Sample int     `json:"sample"`
}

type footprint struct {
	Process      string  `json:"process"`
	RSSIdleMB    float64 `json:"rssIdleMB"`
	RSSLoadMB    float64 `json:"rssLoadMB"`
	CPUPer1000   float64 `json:"cpuSecondsPer1000Orders"`
	pid          int
	cpuAtSatFrom float64
}

// sidecarWork is what one sidecar did per accepted order over the saturation stage, from its
// own metrics.
type sidecarWork struct {
	App       string  `json:"app"`
	APICalls  float64 `json:"apiCallsPerOrder"`        // gRPC calls of its app to the Dapr API
	Invoked   float64 `json:"invocationsPerOrder"`     // service invocations from other sidecars
	StateOps  float64 `json:"stateOperationsPerOrder"` // operations on its state stores
	Published float64 `json:"publishedPerOrder"`       // events its app published (not the outbox's)
	Delivered float64 `json:"deliveredPerOrder"`       // events it delivered to its app
	counters0 [5]float64
}

// sidecarCounters are the totals behind sidecarWork, in its field order.
func (b *bench) sidecarCounters(app string) [5]float64 {
	m := func(metric string, labels ...string) float64 { return b.shop.SidecarMetric(app, metric, labels...) }
	return [5]float64{
		m("dapr_grpc_io_server_completed_rpcs", `grpc_server_method="/dapr.proto.runtime.v1.Dapr/`),
		m("dapr_runtime_service_invocation_req_recv_total"),
		m("dapr_component_state_count"),
		m("dapr_component_pubsub_egress_count"),
		m("dapr_component_pubsub_ingress_count"),
	}
}

type saturation struct {
	Offered       int       `json:"offeredPerSecond"`
	Seconds       float64   `json:"seconds"`
	Accepted      int       `json:"accepted"`
	Refused       int       `json:"refusedOrFailed"`
	AcceptedPerS  float64   `json:"acceptedPerSecond"`
	StartedPerS   float64   `json:"deliveriesStartedPerSecond"`
	ViewedPerS    float64   `json:"viewsUpdatedPerSecond"`
	BacklogSeries []float64 `json:"backlogEachSecond"`
	BacklogAtEnd  float64   `json:"backlogAtEnd"`
	DrainSeconds  float64   `json:"drainSeconds"`
	P99           float64   `json:"p99Ms"`
}

type baseline struct {
	Call  string  `json:"call"`
	P50   float64 `json:"p50Ms"`
	P99   float64 `json:"p99Ms"`
	CPUMs float64 `json:"cpuMsPerCall,omitempty"` // of the processes the call goes through
	Note  string  `json:"note,omitempty"`
}

type benchReport struct {
	When       time.Time     `json:"when"`
	Machine    string        `json:"machine"`
	Versions   string        `json:"versions"`
	Latency    []latency     `json:"latency"`
	Saturation saturation    `json:"saturation"`
	Lag        []lag         `json:"lag"`
	Footprint  []footprint   `json:"footprint"`
	Sidecars   []sidecarWork `json:"sidecarWork"`
	Baselines  []baseline    `json:"baselines"`
	PGTxPerS   float64       `json:"pgTransactionsPerSecond"`
}

type bench struct {
	t         *testing.T
	shop      *Shop
	plan      benchPlan
	customers []string
	tokens    map[string]string // the Authorization header of each customer
	seq       atomic.Uint64
	client    *http.Client
}

// attacker returns a fresh load generator (one stops for good when its attack ends).
func (b *bench) attacker() *vegeta.Attacker {
	return vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Workers(16), vegeta.MaxWorkers(512),
		vegeta.Connections(512), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
}

func TestBench(t *testing.T) {
	plan := benchPlanFromEnv()
	shop := StartShop(t, "postgres-redis")
	b := &bench{t: t, shop: shop, plan: plan, tokens: map[string]string{}, client: &http.Client{Timeout: 10 * time.Second}}
	l := newLedger()
	for p := range plan.products {
		shop.RegisterProduct(l, fmt.Sprintf("p%03d", p), 1_000_000)
	}
	for c := range plan.customers {
		id := fmt.Sprintf("c%04d", c)
		b.customers = append(b.customers, id)
		b.tokens[id] = shop.As(id)[1]
	}
	rep := benchReport{When: time.Now().UTC(), Machine: machine(), Versions: versions(t)}

	// Idle: everything started, a few orders through, nothing going on.
	b.orders(plan.rates[0], plan.warm, plan.warm, nil)
	b.waitDrained(60 * time.Second)
	procs := b.processes()
	for i := range procs {
		procs[i].RSSIdleMB = rssMB(procs[i].pid)
	}

	// Latency at fixed arrival rates; the lag stage's orders are followed downstream.
	var lags []lag
	for _, rate := range plan.rates {
		var follow *follower
		if rate == plan.lagRate {
			follow = b.newFollower()
		}
		lat, accepted := b.orders(rate, plan.warm, plan.dur, follow)
		rep.Latency = append(rep.Latency, lat)
		if follow != nil {
			lags = b.lags(accepted, follow)
		}
		b.waitDrained(120 * time.Second)
	}
	rep.Lag = lags

	// Saturation: offer more than the shop can take and see what it accepts and what keeps up.
	for i := range procs {
		procs[i].cpuAtSatFrom = cpuSeconds(procs[i].pid)
	}
	stopRSS := every(time.Second, func() { // resident memory under load: the largest reading
		for i := range procs {
			procs[i].RSSLoadMB = max(procs[i].RSSLoadMB, rssMB(procs[i].pid))
		}
	})
	work := make([]sidecarWork, len(appNames))
	for i, name := range appNames {
		work[i] = sidecarWork{App: name, counters0: b.sidecarCounters(name)}
	}
	rep.Saturation = b.saturate()
	stopRSS()
	if n := float64(rep.Saturation.Accepted); n > 0 {
		for i := range procs {
			procs[i].CPUPer1000 = (cpuSeconds(procs[i].pid) - procs[i].cpuAtSatFrom) / n * 1000
		}
		for i := range work {
			c := b.sidecarCounters(work[i].App)
			w := &work[i]
			w.APICalls, w.Invoked, w.StateOps, w.Published, w.Delivered = (c[0]-w.counters0[0])/n,
				(c[1]-w.counters0[1])/n, (c[2]-w.counters0[2])/n, (c[3]-w.counters0[3])/n, (c[4]-w.counters0[4])/n
		}
	}
	rep.Footprint, rep.Sidecars = procs, work
	if plan.full {
		b.profiles()
	}

	// Baselines, in the same run.
	rep.Baselines, rep.PGTxPerS = b.baselines()

	md := rep.markdown(plan)
	t.Log("\n" + md)
	if !plan.full {
		// The smoke run checks that every stage produced its figures, nothing more.
		if len(rep.Latency) != len(plan.rates) || rep.Saturation.Accepted == 0 || len(rep.Lag) != 2 ||
			len(rep.Baselines) != 4 || rep.Lag[0].Sample == 0 || rep.Lag[1].Sample == 0 {
			t.Fatalf("the benchmark left a stage empty: %+v", rep)
		}
		var invoked, published float64
		for _, w := range rep.Sidecars {
			if w.APICalls == 0 || w.StateOps == 0 || w.Delivered == 0 {
				t.Fatalf("a sidecar's work went uncounted: %+v", w)
			}
			invoked, published = invoked+w.Invoked, published+w.Published
		}
		if invoked == 0 || published == 0 {
			t.Fatalf("no invocation or publication counted: %+v", rep.Sidecars)
		}
		return
	}
	dir := filepath.Join(shop.root, ".bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.MarshalIndent(rep, "", "  ")
	stamp := rep.When.Format("20060102-150405")
	for name, content := range map[string][]byte{
		"latest.md": []byte(md), "latest.json": raw, stamp + ".md": []byte(md), stamp + ".json": raw,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println(md)
	fmt.Println("written to", filepath.Join(dir, "latest.md"), "and latest.json")
}

// orders offers POST /orders at rate for warm+dur (open loop: requests go out on schedule
// whether or not earlier ones have answered) and measures the last dur of it.
func (b *bench) orders(rate int, warm, dur time.Duration, follow *follower) (latency, []placed) {
	b.t.Helper()
	from := time.Now().Add(warm)
	var lats []time.Duration
	var accepted []placed
	res := latency{Rate: rate}
	for r := range b.attacker().Attack(b.orderTargeter(), vegeta.ConstantPacer{Freq: rate, Per: time.Second}, warm+dur, "orders") {
		p, ok := b.placedFrom(r)
		if ok && follow != nil && r.Timestamp.After(from) {
			follow.maybe(p)
		}
		if r.Timestamp.Before(from) {
			continue
		}
		res.Sent++
		lats = append(lats, r.Latency)
		if ok {
			res.Accepted++
			accepted = append(accepted, p)
		} else {
			res.Errors++
		}
	}
	q := quantiles(lats)
	res.P50, res.P95, res.P99, res.Max = q(0.50), q(0.95), q(0.99), q(1)
	return res, accepted
}

func (b *bench) orderTargeter() vegeta.Targeter {
	url := b.shop.Apps["order"].URL + "/orders"
	return func(tgt *vegeta.Target) error {
		i := b.seq.Add(1)
		c := b.customers[int(i)%len(b.customers)]
		p := int(i/7) % b.plan.products
		tgt.Method, tgt.URL = http.MethodPost, url
		tgt.Body = fmt.Appendf(nil, `{"customerId":%q,"productId":"p%03d","qty":1}`, c, p)
		tgt.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {b.tokens[c]}}
		return nil
	}
}

func (b *bench) placedFrom(r *vegeta.Result) (placed, bool) {
	if r.Code != http.StatusCreated {
		return placed{}, false
	}
	var o order
	if json.Unmarshal(r.Body, &o) != nil {
		return placed{}, false
	}
	return placed{id: o.OrderID, customer: o.CustomerID, at: r.Timestamp.Add(r.Latency)}, true
}

// follower watches a sample of orders on mypage until each shows its delivery started.
type follower struct {
	b      *bench
	n      atomic.Int64
	mu     sync.Mutex
	seen   []time.Duration
	wg     sync.WaitGroup
	every  int
	client *http.Client
}

func (b *bench) newFollower() *follower {
	return &follower{b: b, every: b.plan.lagSampleN, client: &http.Client{Timeout: 5 * time.Second}}
}

// maybe follows every n-th order: polling its page every 100 ms until the delivery shows.
func (f *follower) maybe(p placed) {
	if f.n.Add(1)%int64(f.every) != 0 {
		return
	}
	url := f.b.shop.Apps["mypage"].URL + "/mypage/" + p.customer + "/orders/" + p.id
	token := f.b.tokens[p.customer]
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", token)
			if resp, err := f.client.Do(req); err == nil {
				var row myRow
				_ = json.NewDecoder(resp.Body).Decode(&row)
				resp.Body.Close()
				if row.DeliveryStatus == "STARTED" {
					f.mu.Lock()
					f.seen = append(f.seen, time.Since(p.at))
					f.mu.Unlock()
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// lags measures, for the lag stage's orders, the time from the 201 to the delivery's start
// (as delivery recorded it) and to the page showing it (as the follower saw it).
func (b *bench) lags(accepted []placed, f *follower) []lag {
	b.t.Helper()
	f.wg.Wait()
	var toDelivery []time.Duration
	for _, p := range accepted {
		var d struct {
			CreatedAt time.Time `json:"createdAt"`
		}
		req, _ := http.NewRequest(http.MethodGet, b.shop.Apps["delivery"].URL+"/deliveries/"+p.id, nil)
		req.Header.Set("Authorization", b.shop.As(Admin, "admin")[1])
		for range 300 {
			resp, err := b.client.Do(req)
			if err == nil && resp.StatusCode == http.StatusOK {
				_ = json.NewDecoder(resp.Body).Decode(&d)
				resp.Body.Close()
				break
			}
			if err == nil {
				resp.Body.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !d.CreatedAt.IsZero() {
			toDelivery = append(toDelivery, d.CreatedAt.Sub(p.at))
		}
	}
	q1, q2 := quantiles(toDelivery), quantiles(f.seen)
	return []lag{
		{To: "delivery started", P50: q1(0.5), P99: q1(0.99), Max: q1(1), Sample: len(toDelivery)},
		{To: "visible on mypage (polled every 100 ms)", P50: q2(0.5), P99: q2(0.99), Max: q2(1), Sample: len(f.seen)},
	}
}

// backlog is how many accepted orders have not yet reached each place downstream.
func (b *bench) backlog() (placedN, started, viewed float64) {
	placedN = b.shop.AppMetric("order", "orders_placed_total")
	started = b.shop.AppMetric("delivery", "deliveries_started_total")
	viewed = b.shop.AppMetric("mypage", "events_handled_total", `type="DeliveryStarted"`, `outcome="success"`)
	return
}

func (b *bench) waitDrained(within time.Duration) float64 {
	b.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		p, s, v := b.backlog()
		shipped := b.shop.AppMetric("warehouse", "events_handled_total", `type="DeliveryStarted"`, `outcome="success"`)
		if s >= p && v >= p && shipped >= p {
			return time.Since(start).Seconds()
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("the shop did not catch up within %s", within)
	return 0
}

func (b *bench) saturate() saturation {
	b.t.Helper()
	p0, s0, v0 := b.backlog()
	sat := saturation{Offered: b.plan.satRate}
	stopBacklog := every(time.Second, func() {
		p, s, _ := b.backlog()
		sat.BacklogSeries = append(sat.BacklogSeries, p-s)
	})
	start := time.Now()
	var lats []time.Duration
	for r := range b.attacker().Attack(b.orderTargeter(), vegeta.ConstantPacer{Freq: b.plan.satRate, Per: time.Second}, b.plan.satDur, "saturation") {
		lats = append(lats, r.Latency)
		if r.Code == http.StatusCreated {
			sat.Accepted++
		} else {
			sat.Refused++
		}
	}
	sat.Seconds = time.Since(start).Seconds()
	stopBacklog()
	p1, s1, v1 := b.backlog()
	sat.AcceptedPerS = (p1 - p0) / sat.Seconds
	sat.StartedPerS = (s1 - s0) / sat.Seconds
	sat.ViewedPerS = (v1 - v0) / sat.Seconds
	sat.BacklogAtEnd = p1 - s1
	sat.P99 = quantiles(lats)(0.99)
	sat.DrainSeconds = b.waitDrained(5 * time.Minute)
	return sat
}

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
		for r := range b.attacker().Attack(tr, vegeta.ConstantPacer{Freq: b.plan.baseRate, Per: time.Second}, b.plan.warm+b.plan.dur, "baseline") {
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

	caller, sidecars := b.echoSidecars(echo.URL)
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
func (b *bench) echoSidecars(echoURL string) (string, []int) {
	b.t.Helper()
	dir := b.t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: bench\nspec:\n  mtls:\n    enabled: true\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
	echoPort := echoURL[strings.LastIndex(echoURL, ":")+1:]
	var callerHTTP string
	var pids []int
	for _, side := range []struct{ id, appPort string }{{"bench-echo", echoPort}, {"bench-caller", ""}} {
		httpPort := freePort(b.t)
		args := []string{"--app-id", side.id, "--dapr-http-port", httpPort, "--dapr-grpc-port", freePort(b.t),
			"--dapr-internal-grpc-port", freePort(b.t), "--metrics-port", freePort(b.t), "--config", cfg,
			"--resources-path", dir, "--placement-host-address", "", "--scheduler-host-address", "",
			"--dapr-listen-addresses", "127.0.0.1", "--enable-mtls", "--sentry-address", sentryAddr, "--log-level", "warn"}
		if side.appPort != "" {
			args = append(args, "--app-port", side.appPort, "--app-protocol", "http")
		}
		p := start(b.t, "daprd-"+side.id, b.shop.dir, []string{"DAPR_TRUST_ANCHORS=" + trustAnchors, "NAMESPACE=default"}, daprdPath, args...)
		b.t.Cleanup(p.stop)
		url := "http://127.0.0.1:" + httpPort
		waitHealthy(b.t, url+"/v1.0/healthz")
		callerHTTP = url
		pids = append(pids, p.cmd.Process.Pid)
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

// processes are the apps and sidecars whose footprint is reported.
func (b *bench) processes() []footprint {
	var out []footprint
	for _, name := range appNames {
		a := b.shop.Apps[name]
		out = append(out, footprint{Process: name, pid: a.app.cmd.Process.Pid},
			footprint{Process: name + " sidecar", pid: a.dapr.cmd.Process.Pid})
	}
	return out
}

func rssMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb float64
			_, _ = fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the user+system CPU time a process has used (clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	var utime, stime float64
	_, _ = fmt.Sscanf(fields[11], "%f", &utime)
	_, _ = fmt.Sscanf(fields[12], "%f", &stime)
	return (utime + stime) / 100
}

// quantiles returns a function giving exact quantiles (in ms) of ds; q(1) is the maximum.
func quantiles(ds []time.Duration) func(float64) float64 {
	sorted := append([]time.Duration(nil), ds...)
	sortDurations(sorted)
	return func(q float64) float64 {
		if len(sorted) == 0 {
			return 0
		}
		i := int(q*float64(len(sorted))+0.5) - 1
		i = min(max(i, 0), len(sorted)-1)
		return float64(sorted[i]) / float64(time.Millisecond)
	}
}

func machine() string {
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		_, _ = fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(raw), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
	}
	return fmt.Sprintf("%d cores%s, %s/%s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH)
}

func versions(t testing.TB) string {
	pg := "PostgreSQL ?"
	if pool, err := pgxpool.New(context.Background(), pgURL("postgres")); err == nil {
		var v string
		if pool.QueryRow(context.Background(), "SHOW server_version").Scan(&v) == nil {
			pg = "PostgreSQL " + strings.Fields(v)[0]
		}
		pool.Close()
	}
	return fmt.Sprintf("%s, daprd %s, %s, profile postgres-redis", runtime.Version(), daprVersion(t), pg)
}

// profiles offers the saturation load again, apart from the measured stages (profiling costs
// CPU and memory of its own), and saves a CPU profile of every app and sidecar over its middle,
// to see where the time goes.
func (b *bench) profiles() {
	b.t.Helper()
	d := b.plan.satDur / 2
	var wg sync.WaitGroup
	for _, name := range appNames {
		a := b.shop.Apps[name]
		for file, port := range map[string]int{name: a.pprof, name + "-sidecar": a.daprPprof} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(d / 4)
				b.profile(file, port, d/2)
			}()
		}
	}
	for range b.attacker().Attack(b.orderTargeter(), vegeta.ConstantPacer{Freq: b.plan.satRate, Per: time.Second}, d, "profiles") {
	}
	wg.Wait()
	b.waitDrained(5 * time.Minute)
}

// profile saves a CPU profile of the process whose profiler listens on port over d, and then
// its heap with the runtime's memory statistics (go tool pprof -top .bench/<name>.cpu.pprof;
// .bench/<name>.heap.txt).
func (b *bench) profile(name string, port int, d time.Duration) {
	dir := filepath.Join(b.shop.root, ".bench")
	_ = os.MkdirAll(dir, 0o755)
	client := &http.Client{Timeout: d + 30*time.Second}
	for _, p := range []struct{ file, path string }{
		{name + ".cpu.pprof", fmt.Sprintf("profile?seconds=%d", int(d.Seconds()))},
		{name + ".heap.txt", "heap?debug=1"},
	} {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", port, p.path))
		if err != nil {
			b.t.Logf("profile of %s: %v", name, err)
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = os.WriteFile(filepath.Join(dir, p.file), raw, 0o644)
	}
}
