package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The benchmark's report: its figures, as Markdown for a reader and JSON for a program.

type latency struct {
	Rate     int     `json:"rate"`
	Sent     int     `json:"sent"`
	Accepted int     `json:"accepted"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50Ms"`
	P95      float64 `json:"p95Ms"`
	P99      float64 `json:"p99Ms"`
	Max      float64 `json:"maxMs"`
	// CPU per accepted order, from the stage's start until what followed its orders (deliveries,
	// pages) was done: the cost curve.
	AppCPUMs     float64 `json:"appCpuMsPerOrder"`
	SidecarCPUMs float64 `json:"sidecarCpuMsPerOrder"`
	// MachineBusy is the share of the machine's cores busy over the same time (0-1), whatever
	// kept them busy.
	MachineBusy float64 `json:"machineBusy"`
	all         int     // orders accepted over the whole stage, warm-up included
}

type lag struct {
	To     string  `json:"to"`
	P50    float64 `json:"p50Ms"`
	P99    float64 `json:"p99Ms"`
	Max    float64 `json:"maxMs"`
	Sample int     `json:"sample"`
}

type footprint struct {
	Process    string  `json:"process"`
	RSSIdleMB  float64 `json:"rssIdleMB"`
	RSSLoadMB  float64 `json:"rssLoadMB"`
	CPUAtRest  float64 `json:"cpuMsPerSecondAtRest"`
	CPUPer1000 float64 `json:"cpuSecondsPer1000Orders"`
	pid        int
}

// sidecarWork is what one sidecar did per accepted order over the saturation stage, from its
// own metrics.
type sidecarWork struct {
	App       string  `json:"app"`
	APICalls  float64 `json:"apiCallsPerOrder"`        // gRPC calls of its app to the Dapr API
	Invoked   float64 `json:"invocationsPerOrder"`     // service invocations from other sidecars
	StateOps  float64 `json:"stateOperationsPerOrder"` // operations on its state stores
	Published float64 `json:"publishedPerOrder"`       // events its app published
	Delivered float64 `json:"deliveredPerOrder"`       // events it delivered to its app
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
	AppCPU     []appCPU      `json:"appCpu,omitempty"` // a full run's, from the profiles
	SidecarCPU []sidecarCPU  `json:"sidecarCpu,omitempty"`
	MachineCPU machineCPU    `json:"machineCpu"`
	Baselines  []baseline    `json:"baselines"`
	PGTxPerS   float64       `json:"pgTransactionsPerSecond"`
}

// markdown is the report as a reader sees it: figures, ratios to the same run's baselines,
// and the targets the shop is held to.
func (r benchReport) markdown(plan benchPlan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("### SK MALL benchmark, %s", r.When.Format("2006-01-02 15:04 UTC"))
	w("")
	w("%s; %s. Open-loop load on `POST /orders` (one unit of one of %d products for one of %d customers, each with a token).", r.Machine, r.Versions, plan.products, plan.customers)
	w("")
	w("**Latency and cost of `POST /orders`** at fixed arrival rates (%s each, after %s of warm-up; each stage starts with nothing left of the one before, and its CPU counts until its deliveries and pages are done):", plan.dur, plan.warm)
	w("")
	w("| rate/s | sent | 201 | errors | p50 ms | p95 ms | p99 ms | max ms | CPU ms/order, apps | CPU ms/order, sidecars | machine busy |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Latency {
		w("| %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.0f%% |", l.Rate, l.Sent, l.Accepted, l.Errors, l.P50, l.P95, l.P99, l.Max, l.AppCPUMs, l.SidecarCPUMs, 100*l.MachineBusy)
	}
	s := r.Saturation
	w("")
	w("**Throughput at saturation** (%d/s offered for %.0f s):", s.Offered, s.Seconds)
	w("")
	w("| accepted/s | refused or failed | deliveries started/s | views updated/s | p99 ms | backlog at end | caught up after |")
	w("|---:|---:|---:|---:|---:|---:|---:|")
	w("| %.0f | %d | %.0f | %.0f | %.0f | %.0f | %.1f s |", s.AcceptedPerS, s.Refused, s.StartedPerS, s.ViewedPerS, s.P99, s.BacklogAtEnd, s.DrainSeconds)
	w("")
	w("Backlog (accepted, delivery not started) each second: %s.", series(s.BacklogSeries))
	w("")
	w("**Event lag** from the 201 (orders of the %d/s stage):", plan.lagRate)
	w("")
	w("| until | p50 ms | p99 ms | max ms | orders |")
	w("|---|---:|---:|---:|---:|")
	for _, l := range r.Lag {
		w("| %s | %.0f | %.0f | %.0f | %d |", l.To, l.P50, l.P99, l.Max, l.Sample)
	}
	w("")
	w("**Footprint** (resident memory; CPU at rest, over %s with nothing going on, and over the saturation stage):", plan.rest)
	w("")
	w("| process | RSS idle MB | RSS under load MB | CPU at rest, ms per second | CPU s per 1,000 orders |")
	w("|---|---:|---:|---:|---:|")
	var apps, sidecars, appsRest, sidecarsRest float64
	for _, f := range r.Footprint {
		w("| %s | %.1f | %.1f | %.1f | %.2f |", f.Process, f.RSSIdleMB, f.RSSLoadMB, f.CPUAtRest, f.CPUPer1000)
		if strings.HasSuffix(f.Process, "sidecar") {
			sidecars, sidecarsRest = sidecars+f.CPUPer1000, sidecarsRest+f.CPUAtRest
		} else {
			apps, appsRest = apps+f.CPUPer1000, appsRest+f.CPUAtRest
		}
	}
	w("| **all four apps** | | | **%.1f** | **%.2f** |", appsRest, apps)
	w("| **all four sidecars** | | | **%.1f** | **%.2f** |", sidecarsRest, sidecars)
	if s.AcceptedPerS > 0 && appsRest+sidecarsRest > 0 {
		w("")
		w("What they use at rest goes on under load: at %.0f orders/s it is %.2f ms of each order's CPU in the apps and %.2f in the sidecars.",
			s.AcceptedPerS, appsRest/s.AcceptedPerS, sidecarsRest/s.AcceptedPerS)
	}
	if apps+sidecars > 0 {
		w("")
		w("At %.1f ms of CPU per order in apps and sidecars (%.0f%% of it in the sidecars), %d cores carry at most %.0f orders/s before PostgreSQL, Redis and the load generator take their share.",
			apps+sidecars, 100*sidecars/(apps+sidecars), runtime.NumCPU(), float64(runtime.NumCPU())*1000/(apps+sidecars))
	}
	machineTable(w, r.MachineCPU)
	w("")
	w("**What each sidecar does per accepted order** (its own metrics, over the saturation stage):")
	w("")
	w("| sidecar | Dapr API calls from its app | of them state operations | invocations received | events published | events delivered to its app |")
	w("|---|---:|---:|---:|---:|---:|")
	for _, s := range r.Sidecars {
		w("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |", s.App, s.APICalls, s.StateOps, s.Invoked, s.Published, s.Delivered)
	}
	cpuTable(w, "**Where the apps' CPU goes** (their CPU profiles over the middle of a saturation stage of its own; each sample counted once, under the first of these its stack holds):",
		"| app | profiled s | garbage collection | event schema checks | calls to its sidecar (gRPC) | serving requests and deliveries (HTTP, gRPC) | the rest |",
		cpuRows(r.AppCPU))
	cpuTable(w, "**Where the sidecars' CPU goes** (daprd's CPU profiles over the same stage, sorted the same way):",
		"| sidecar | profiled s | garbage collection | handing events to its app | its app's state calls, with the store's driver | publishing, reading and acknowledging events at the broker | service invocation (both sides, mTLS) | serving the API and the transport otherwise (gRPC, HTTP, TLS) | metrics | the rest |",
		cpuRows(r.SidecarCPU))
	w("")
	w("**Baselines in the same run** (%d/s, open loop, measured like the latency stages: after the shop has caught up with everything before):", plan.baseRate)
	w("")
	w("| call | p50 ms | p99 ms | POST /orders p50 is |")
	w("|---|---:|---:|---:|")
	order := r.Baselines[len(r.Baselines)-1]
	for _, bl := range r.Baselines {
		ratio := "—"
		if bl.P50 > 0 && bl != order {
			ratio = fmt.Sprintf("%.1f×", order.P50/bl.P50)
		}
		note := ""
		if bl.Note != "" {
			note = " (" + bl.Note + ")"
		}
		w("| %s%s | %.2f | %.2f | %s |", bl.Call, note, bl.P50, bl.P99, ratio)
	}
	for _, bl := range r.Baselines {
		if bl.CPUMs > 0 && apps+sidecars > 0 {
			w("")
			w("CPU, in units that travel between machines: one call through two sidecars costs %.2f ms of their CPU here; an order costs %.2f of those in the four sidecars and %.2f in the four apps.",
				bl.CPUMs, sidecars/bl.CPUMs, apps/bl.CPUMs)
		}
	}
	w("")
	w("**Targets**:")
	w("")
	w("| target | measured | |")
	w("|---|---|---|")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	growing := len(s.BacklogSeries) > 4 && s.BacklogSeries[len(s.BacklogSeries)-1] > 2*s.BacklogSeries[len(s.BacklogSeries)/2]+float64(s.Offered)
	w("| ≥ 200 accepted orders/s sustained, backlog not growing, every view keeping up | %.0f/s accepted, %.0f/s delivered, %.0f/s shown on mypage, backlog at end %.0f | %s |",
		s.AcceptedPerS, s.StartedPerS, s.ViewedPerS, s.BacklogAtEnd,
		check(s.AcceptedPerS >= 200 && s.StartedPerS >= 200 && s.ViewedPerS >= 0.95*s.AcceptedPerS && !growing))
	for _, l := range r.Latency {
		if l.Rate == 100 {
			w("| `POST /orders` p99 < 50 ms at 100/s | %.1f ms | %s |", l.P99, check(l.P99 < 50 && l.Errors == 0))
		}
	}
	if len(r.Lag) == 2 {
		w("| order to delivery started and to mypage, p99 < 250 ms | %.0f ms, %.0f ms | %s |", r.Lag[0].P99, r.Lag[1].P99, check(r.Lag[0].P99 < 250 && r.Lag[1].P99 < 250))
	}
	for _, bl := range r.Baselines {
		if bl.CPUMs > 0 && apps+sidecars > 0 {
			w("| CPU per order ≤ 2.5 sidecar-call units in the sidecars, ≤ 1.5 in the apps | %.2f, %.2f | %s |",
				sidecars/bl.CPUMs, apps/bl.CPUMs, check(sidecars/bl.CPUMs <= 2.5 && apps/bl.CPUMs <= 1.5))
		}
	}
	maxApp := 0.0
	for _, f := range r.Footprint {
		if !strings.HasSuffix(f.Process, "sidecar") {
			maxApp = max(maxApp, f.RSSLoadMB)
		}
	}
	w("| each app < 40 MB resident under load | largest %.1f MB | %s |", maxApp, check(maxApp < 40))
	return b.String()
}

// machineTable shows where the whole machine's CPU went at saturation, and how many orders a
// second the cores could carry if the apps and the load generator cost nothing: the ceiling
// the sidecars, the stores and the rest of the machine set.
func machineTable(w func(format string, args ...any), m machineCPU) {
	if m.Busy <= 0 || m.Seconds <= 0 {
		return
	}
	w("")
	w("**Where the machine's CPU went** over the saturation stage, until the shop had caught up (/proc; %d cores for %.0f s, busy %.0f%% of that):", m.Cores, m.Seconds, 100*m.busyShare())
	w("")
	w("| part | CPU s | share of the busy time | ms per accepted order |")
	w("|---|---:|---:|---:|")
	others := m.BusyMsPerOrder
	for _, p := range m.Parts {
		w("| %s | %.1f | %.0f%% | %.2f |", p.Part, p.Seconds, 100*p.Seconds/m.Busy, p.MsPerOrder)
		if p.Part == partApps || p.Part == partBench {
			others -= p.MsPerOrder
		}
	}
	w("| **the machine, busy** | **%.1f** | 100%% | **%.2f** |", m.Busy, m.BusyMsPerOrder)
	if others > 0 {
		w("")
		w("Without the apps and the load generator the rest takes %.2f ms of CPU per order: %d cores could carry at most %.0f orders/s however little the apps did.",
			others, m.Cores, float64(m.Cores)*1000/others)
	}
}

func series(xs []float64) string {
	parts := make([]string, 0, len(xs))
	for _, x := range xs {
		parts = append(parts, strconv.FormatFloat(x, 'f', 0, 64))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// save writes the report, as Markdown (md) and JSON, to dir: as latest and under its time.
func (r benchReport) save(t testing.TB, dir, md string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.MarshalIndent(r, "", "  ")
	stamp := r.When.Format("20060102-150405")
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

// quantiles returns a function giving exact quantiles (in ms) of ds; q(1) is the maximum.
func quantiles(ds []time.Duration) func(float64) float64 {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
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

func daprVersion(t testing.TB) string {
	out, err := exec.Command(daprdPath, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// cpuRow is one process's line in a table of where CPU went: the seconds profiled and the
// share of each kind of work.
type cpuRow struct {
	name    string
	seconds float64
	shares  []float64
}

func (c appCPU) row() cpuRow     { return cpuRow{c.App, c.Seconds, values(c.shares())} }
func (c sidecarCPU) row() cpuRow { return cpuRow{c.App, c.Seconds, values(c.shares())} }

func values(shares []*float64) []float64 {
	out := make([]float64, len(shares))
	for i, f := range shares {
		out[i] = *f
	}
	return out
}

func cpuRows[T interface{ row() cpuRow }](profiled []T) []cpuRow {
	rows := make([]cpuRow, len(profiled))
	for i, p := range profiled {
		rows[i] = p.row()
	}
	return rows
}

// cpuTable writes, under its title and header, a row per process and one for all of them
// together (each share weighted by the process's seconds); nothing when no process was profiled.
func cpuTable(w func(format string, args ...any), title, header string, rows []cpuRow) {
	if len(rows) == 0 {
		return
	}
	row := func(r cpuRow) {
		line := fmt.Sprintf("| %s | %.2f |", r.name, r.seconds)
		for _, f := range r.shares {
			line += fmt.Sprintf(" %.0f%% |", 100*f)
		}
		w("%s", line)
	}
	w("")
	w("%s", title)
	w("")
	w("%s", header)
	w("|---|---:|%s", strings.Repeat("---:|", len(rows[0].shares)))
	all := cpuRow{name: "**all four**", shares: make([]float64, len(rows[0].shares))}
	for _, r := range rows {
		row(r)
		all.seconds += r.seconds
		for i, f := range r.shares {
			all.shares[i] += f * r.seconds
		}
	}
	if all.seconds > 0 {
		for i := range all.shares {
			all.shares[i] /= all.seconds
		}
		row(all)
	}
}

// A target is judged on the figure the table shows: 1.538 units is not "1.5, missed".
func TestReportShowsTheUnitsItJudges(t *testing.T) {
	r := benchReport{
		Footprint: []footprint{{Process: "order", CPUPer1000: 4.02}, {Process: "order sidecar", CPUPer1000: 5.89}},
		Baselines: []baseline{{Call: "the same call through two sidecars", CPUMs: 2.614}, {Call: "POST /orders"}},
	}
	md := r.markdown(benchPlanFromEnv())
	if !strings.Contains(md, "| 2.25, 1.54 | **missed** |") {
		t.Fatalf("the units target row does not show what it judges:\n%s", md)
	}
	if !strings.Contains(md, "an order costs 2.25 of those in the four sidecars and 1.54 in the four apps") {
		t.Fatalf("the units line does not show two decimals:\n%s", md)
	}
}

// The report shows how busy the machine was at each rate, and the ceiling it draws is what the
// cores carry when the apps and the bench cost nothing: the sidecars, the stores and the rest
// of the machine per order.
func TestReportShowsWhereTheMachinesCPUWent(t *testing.T) {
	m := machineCPU{Cores: 2, Seconds: 30, Busy: 52, BusyMsPerOrder: 13, Parts: []machineShare{
		{Part: partSidecars, Seconds: 24, MsPerOrder: 6},
		{Part: partApps, Seconds: 16, MsPerOrder: 4},
		{Part: "PostgreSQL (all of its processes)", Seconds: 4, MsPerOrder: 1},
		{Part: partBench, Seconds: 4, MsPerOrder: 1},
		{Part: restOfTheMachine, Seconds: 4, MsPerOrder: 1},
	}}
	md := benchReport{MachineCPU: m, Latency: []latency{{Rate: 100, AppCPUMs: 4, SidecarCPUMs: 6, MachineBusy: 0.874}},
		Baselines: []baseline{{Call: "POST /orders"}}}.markdown(benchPlanFromEnv())
	for _, want := range []string{
		"| 4.00 | 6.00 | 87% |",
		"2 cores for 30 s, busy 87% of that",
		"| the four sidecars | 24.0 | 46% | 6.00 |",
		"| **the machine, busy** | **52.0** | 100% | **13.00** |",
		"the rest takes 8.00 ms of CPU per order: 2 cores could carry at most 250 orders/s",
	} {
		if !strings.Contains(md, want) {
			t.Fatalf("the report lacks %q:\n%s", want, md)
		}
	}
}
