package e2e

import (
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// markdown is the report as a reader sees it: figures, ratios to the same run's baselines,
// and the targets the shop is held to.
func (r benchReport) markdown(plan benchPlan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("### SK MALL benchmark, %s", r.When.Format("2006-01-02 15:04 UTC"))
	w("")
	w("%s; %s. Open-loop load on `POST /orders` (one unit of one of %d products for one of %d customers, each with a token).", r.Machine, r.Versions, plan.products, plan.customers)
	w("")
	w("**Latency of `POST /orders`** at fixed arrival rates (%s each, after %s of warm-up):", plan.dur, plan.warm)
	w("")
	w("| rate/s | sent | 201 | errors | p50 ms | p95 ms | p99 ms | max ms |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Latency {
		w("| %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f |", l.Rate, l.Sent, l.Accepted, l.Errors, l.P50, l.P95, l.P99, l.Max)
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
	w("**Footprint** (resident memory; CPU over the saturation stage):")
	w("")
	w("| process | RSS idle MB | RSS under load MB | CPU s per 1,000 orders |")
	w("|---|---:|---:|---:|")
	var apps, sidecars float64
	for _, f := range r.Footprint {
		w("| %s | %.1f | %.1f | %.2f |", f.Process, f.RSSIdleMB, f.RSSLoadMB, f.CPUPer1000)
		if strings.HasSuffix(f.Process, "sidecar") {
			sidecars += f.CPUPer1000
		} else {
			apps += f.CPUPer1000
		}
	}
	w("| **all four apps** | | | **%.2f** |", apps)
	w("| **all four sidecars** | | | **%.2f** |", sidecars)
	if apps+sidecars > 0 {
		w("")
		w("At %.1f ms of CPU per order in apps and sidecars (%.0f%% of it in the sidecars), %d cores carry at most %.0f orders/s before PostgreSQL, Redis and the load generator take their share.",
			apps+sidecars, 100*sidecars/(apps+sidecars), runtime.NumCPU(), float64(runtime.NumCPU())*1000/(apps+sidecars))
	}
	w("")
	w("**What each sidecar does per accepted order** (its own metrics, over the saturation stage):")
	w("")
	w("| sidecar | Dapr API calls from its app | of them state operations | invocations received | events published | events delivered to its app |")
	w("|---|---:|---:|---:|---:|---:|")
	for _, s := range r.Sidecars {
		w("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |", s.App, s.APICalls, s.StateOps, s.Invoked, s.Published, s.Delivered)
	}
	w("")
	w("Order's events leave through Dapr's outbox, which daprd's metrics do not count: for each event it publishes an intent, writes a marker in the order's transaction, waits a second, reads the marker, publishes the event and deletes the marker.")
	w("")
	w("**Baselines in the same run** (%d/s, open loop):", plan.baseRate)
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
			w("CPU, in units that travel between machines: one call through two sidecars costs %.2f ms of their CPU here; an order costs %.1f of those in the four sidecars and %.1f in the four apps.",
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
	w("| ≥ 200 accepted orders/s sustained, backlog not growing | %.0f/s accepted, %.0f/s delivered, backlog at end %.0f | %s |",
		s.AcceptedPerS, s.StartedPerS, s.BacklogAtEnd, check(s.AcceptedPerS >= 200 && s.StartedPerS >= 200 && !growing))
	for _, l := range r.Latency {
		if l.Rate == 100 {
			w("| `POST /orders` p99 < 50 ms at 100/s | %.1f ms | %s |", l.P99, check(l.P99 < 50 && l.Errors == 0))
		}
	}
	if len(r.Lag) == 2 {
		w("| view lag p99 < 2 s | %.0f ms | %s |", r.Lag[1].P99, check(r.Lag[1].P99 < 2000))
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

func sortDurations(ds []time.Duration) { slices.Sort(ds) }

func freePort(t testing.TB) string { return strconv.Itoa(daprtest.FreePort(t)) }

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	daprtest.Eventually(t, 60*time.Second, url, func() error { return daprtest.Healthy(url) })
}

// envValue is the value of a variable the shop gives its sidecars.
func (s *Shop) envValue(name string) string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	s.t.Fatalf("the shop sets no %s", name)
	return ""
}

func daprVersion(t testing.TB) string {
	out, err := exec.Command(daprdPath, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
