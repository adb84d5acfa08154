package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

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
//
// The files: bench_load_test.go offers the load and follows it downstream,
// bench_footprint_test.go measures and profiles the processes, bench_baselines_test.go
// measures the baselines, and bench_report_test.go writes the report.

type benchPlan struct {
	full       bool
	rest       time.Duration // the shop at rest, measured
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
		return benchPlan{full: true, rest: 10 * time.Second, warm: 3 * time.Second, dur: 15 * time.Second, rates: []int{25, 50, 100, 150},
			lagRate: 50, satRate: 400, satDur: 30 * time.Second, baseRate: 100, products: 50, customers: 500, lagSampleN: 5}
	}
	return benchPlan{rest: 2 * time.Second, warm: 500 * time.Millisecond, dur: 2 * time.Second, rates: []int{10, 20}, lagRate: 20,
		satRate: 40, satDur: 3 * time.Second, baseRate: 20, products: 5, customers: 20, lagSampleN: 2}
}

// shopOptions are how the plan's shop differs from a test's: a full run's apps log at info
// (debug logging would weigh on the figures), keep the timings they ship with (the tests'
// warehouse sweeps its holds every second, 50 reads a second with the bench's products) and
// serve their profiles (profiles).
func (p benchPlan) shopOptions() []Option {
	if !p.full {
		return nil
	}
	return []Option{AppEnv("LOG_LEVEL=info"), ShippedTimings(), Profiling()}
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

// attack offers one stage's load, open loop: requests go out on schedule whether or not
// earlier ones have answered. The stage has connections of its own and closes them when its
// last answer is in, so that the next stage starts with nothing left of it.
func attack(tr vegeta.Targeter, rate int, d time.Duration, name string) <-chan *vegeta.Result {
	conns := &http.Transport{MaxIdleConnsPerHost: 512}
	a := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: conns}), vegeta.KeepAlive(true),
		vegeta.Workers(16), vegeta.MaxWorkers(512), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
	out := make(chan *vegeta.Result)
	go func() {
		defer close(out)
		defer conns.CloseIdleConnections()
		for r := range a.Attack(tr, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, d, name) {
			out <- r
		}
	}()
	return out
}

func TestBench(t *testing.T) {
	plan := benchPlanFromEnv()
	shop := StartShop(t, "postgres-redis", plan.shopOptions()...)
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
	b.atRest(procs)

	// Latency and CPU per order at fixed arrival rates (the cost curve: where queueing starts);
	// the lag stage's orders are followed downstream.
	parts := b.machineParts(procs)
	for _, rate := range plan.rates {
		var follow *follower
		if rate == plan.lagRate {
			follow = b.newFollower()
		}
		before := measureMachine(parts)
		lat, accepted := b.orders(rate, plan.warm, plan.dur, follow)
		if follow != nil {
			rep.Lag = b.lags(accepted, follow)
		}
		b.waitDrained(120 * time.Second)
		m := measureMachine(parts).since(before, lat.all)
		lat.AppCPUMs, lat.SidecarCPUMs, lat.MachineBusy = m.part(partApps).MsPerOrder, m.part(partSidecars).MsPerOrder, m.busyShare()
		rep.Latency = append(rep.Latency, lat)
	}

	// Saturation: offer more than the shop can take and see what it accepts, what keeps up,
	// and what each process spends on it.
	b.saturateMeasured(&rep, procs)
	if plan.full {
		rep.AppCPU, rep.SidecarCPU = b.profiles()
	}

	// Baselines, in the same run, once the shop has caught up (as before each latency stage).
	b.waitDrained(120 * time.Second)
	rep.Baselines, rep.PGTxPerS = b.baselines()

	md := rep.markdown(plan)
	if !plan.full {
		t.Log("\n" + md)
		// The smoke run checks that every stage produced its figures, nothing more.
		if len(rep.Latency) != len(plan.rates) || rep.Saturation.Accepted == 0 || len(rep.Lag) != 2 ||
			len(rep.Baselines) != 4 || rep.Lag[0].Sample == 0 || rep.Lag[1].Sample == 0 || len(rep.MachineCPU.Parts) != 6 {
			t.Fatalf("the benchmark left a stage empty: %+v", rep)
		}
		atRest := 0.0
		for _, f := range rep.Footprint {
			if f.RSSIdleMB <= 0 {
				t.Fatalf("a process at rest went unmeasured: %+v", f)
			}
			atRest += f.CPUAtRest
		}
		if atRest <= 0 { // one process may well use less than a clock tick at rest; not all of them
			t.Fatalf("the CPU of the shop at rest went uncounted: %+v", rep.Footprint)
		}
		for _, l := range rep.Latency {
			if l.AppCPUMs <= 0 || l.SidecarCPUMs <= 0 || l.MachineBusy <= 0 {
				t.Fatalf("a latency stage's CPU went uncounted: %+v", l)
			}
		}
		for _, p := range rep.MachineCPU.Parts {
			if p.Part != restOfTheMachine && p.Seconds <= 0 {
				t.Fatalf("the machine's CPU went uncounted for %s: %+v", p.Part, rep.MachineCPU)
			}
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
	rep.save(t, filepath.Join(shop.root, ".bench"), md)
}

// A full run measures the apps with the timings they ship with: the tests' short ones are work
// no shop does (the warehouse would read every product every second).
func TestAFullBenchRunsTheAppsAsTheyShip(t *testing.T) {
	var full, smoke options
	for _, o := range (benchPlan{full: true}).shopOptions() {
		o(&full)
	}
	for _, o := range (benchPlan{}).shopOptions() {
		o(&smoke)
	}
	if got := full.testTimings(); len(got) != 0 {
		t.Fatalf("a full run's apps get the tests' timings %v", got)
	}
	if got := smoke.testTimings(); len(got) == 0 {
		t.Fatal("the smoke run's apps lost the tests' timings")
	}
}

// Each stage must start with nothing left of the one before: connections a finished stage
// keeps open idle in the server under test, which holds a goroutine and its stack for each
// (and scans them in every collection) until its idle timeout.
func TestABenchStageLeavesNoConnectionOpen(t *testing.T) {
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond) // answers overlap, so the stage opens several connections
		w.WriteHeader(http.StatusCreated)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	var answered int
	for r := range attack(vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: srv.URL}), 200, 300*time.Millisecond, "stage") {
		if r.Code == http.StatusCreated {
			answered++
		}
	}
	if answered == 0 {
		t.Fatal("the stage's requests were not answered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n > 0 {
		t.Fatalf("%d connections of a finished stage (%d requests answered) are still open, want 0", n, answered)
	}
}
