package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// What the shop's processes cost: memory and CPU from /proc, each sidecar's work from its own
// metrics and, in a full run, CPU profiles from Go's profiler (Profiling).

// Profiling makes every app and sidecar of the shop serve Go's profiler, on ports of their own
// (App.pprof and App.daprPprof), for profiles.
func Profiling() Option { return func(o *options) { o.profiling = true } }

// processes are the apps and sidecars whose footprint is reported.
func (b *bench) processes() []footprint {
	var out []footprint
	for _, name := range appNames {
		a := b.shop.Apps[name]
		out = append(out, footprint{Process: name, pid: a.app.pid()},
			footprint{Process: name + " sidecar", pid: a.dapr.pid()})
	}
	return out
}

// saturateMeasured runs the saturation stage (saturate) and measures, over it, the resident
// memory (the largest reading) and CPU of every process in procs, and what each sidecar did.
func (b *bench) saturateMeasured(procs []footprint) (saturation, []footprint, []sidecarWork) {
	b.t.Helper()
	cpu0 := make([]float64, len(procs))
	for i := range procs {
		cpu0[i] = cpuSeconds(procs[i].pid)
	}
	stopRSS := every(time.Second, func() {
		for i := range procs {
			procs[i].RSSLoadMB = max(procs[i].RSSLoadMB, rssMB(procs[i].pid))
		}
	})
	work := make([]sidecarWork, len(appNames))
	counters0 := make([][5]float64, len(appNames))
	for i, name := range appNames {
		work[i], counters0[i] = sidecarWork{App: name}, b.sidecarCounters(name)
	}
	sat := b.saturate()
	stopRSS()
	if n := float64(sat.Accepted); n > 0 {
		for i := range procs {
			procs[i].CPUPer1000 = (cpuSeconds(procs[i].pid) - cpu0[i]) / n * 1000
		}
		for i := range work {
			c, c0 := b.sidecarCounters(work[i].App), counters0[i]
			w := &work[i]
			w.APICalls, w.Invoked, w.StateOps, w.Published, w.Delivered = (c[0]-c0[0])/n,
				(c[1]-c0[1])/n, (c[2]-c0[2])/n, (c[3]-c0[3])/n, (c[4]-c0[4])/n
		}
	}
	return sat, procs, work
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
	_ = os.MkdirAll(dir, 0o750)
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
		_ = resp.Body.Close()
		_ = os.WriteFile(filepath.Join(dir, p.file), raw, 0o644)
	}
}
