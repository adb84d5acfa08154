package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pprof "github.com/google/pprof/profile"
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

// atRest measures every process in procs while nothing goes on: its resident memory, and the
// CPU it uses all the same (health checks, polling the broker, timers), which every order
// under load shares too.
func (b *bench) atRest(procs []footprint) {
	b.t.Helper()
	for i := range procs {
		procs[i].RSSIdleMB = rssMB(procs[i].pid)
	}
	parts := b.machineParts(procs)
	before := measureMachine(parts)
	time.Sleep(b.plan.rest)
	after := measureMachine(parts)
	for i := range procs {
		procs[i].CPUAtRest = (after.cpuOf(procs[i].pid) - before.cpuOf(procs[i].pid)) * 1000 / after.at.Sub(before.at).Seconds()
	}
}

// saturateMeasured runs the saturation stage (saturate) and puts in rep what it measured over
// it: the resident memory (the largest reading) and CPU of every process in procs, what each
// sidecar did, and where the whole machine's CPU went.
func (b *bench) saturateMeasured(rep *benchReport, procs []footprint) {
	b.t.Helper()
	parts := b.machineParts(procs)
	machine0 := measureMachine(parts)
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
	machine1 := measureMachine(parts)
	stopRSS()
	if n := float64(sat.Accepted); n > 0 {
		for i := range procs {
			procs[i].CPUPer1000 = (machine1.cpuOf(procs[i].pid) - machine0.cpuOf(procs[i].pid)) / n * 1000
		}
		for i := range work {
			c, c0 := b.sidecarCounters(work[i].App), counters0[i]
			w := &work[i]
			w.APICalls, w.Invoked, w.StateOps, w.Published, w.Delivered = (c[0]-c0[0])/n,
				(c[1]-c0[1])/n, (c[2]-c0[2])/n, (c[3]-c0[3])/n, (c[4]-c0[4])/n
		}
	}
	rep.Saturation, rep.Footprint, rep.Sidecars, rep.MachineCPU = sat, procs, work, machine1.since(machine0, sat.Accepted)
}

// machinePart is a kind of process whose CPU is told apart in machineCPU.
type machinePart struct {
	name string
	pids func() []int
}

// machineParts are the kinds of process on the machine while the bench runs: the shop's, its
// stores' and the bench's own.
func (b *bench) machineParts(procs []footprint) []machinePart {
	of := func(sidecars bool) func() []int {
		return func() []int {
			var pids []int
			for _, p := range procs {
				if strings.HasSuffix(p.Process, "sidecar") == sidecars {
					pids = append(pids, p.pid)
				}
			}
			return pids
		}
	}
	return []machinePart{
		{partSidecars, of(true)},
		{partApps, of(false)},
		{"PostgreSQL (all of its processes)", func() []int { return pidsNamed("postgres") }},
		{"Redis (the broker, and the sidecars' state of delivery and mypage)", func() []int { return []int{b.shop.redis.proc.pid()} }},
		{partBench, func() []int { return []int{os.Getpid()} }},
	}
}

// Parts of machineCPU the report names: the sidecars, and the two its ceiling leaves out, the
// apps (the shop's own code, which it can change) and the bench (not the shop at all).
const (
	partSidecars = "the four sidecars"
	partApps     = "the four apps"
	partBench    = "the load generator and the bench's own polling (this test)"
)

// machineReading is the machine's busy CPU time so far and each process's of each part.
type machineReading struct {
	at    time.Time
	busy  float64
	names []string
	parts []map[int]float64 // by part, CPU seconds by pid
}

// measureMachine reads the machine's busy time and the CPU of every process of parts (none: the
// busy time alone).
func measureMachine(parts []machinePart) machineReading {
	r := machineReading{at: time.Now(), busy: busySeconds()}
	for _, p := range parts {
		cpu := map[int]float64{}
		for _, pid := range p.pids() {
			cpu[pid] = cpuSeconds(pid)
		}
		r.names, r.parts = append(r.names, p.name), append(r.parts, cpu)
	}
	return r
}

// cpuOf is the CPU time of process pid as read (0 when no part holds it).
func (r machineReading) cpuOf(pid int) float64 {
	for _, cpu := range r.parts {
		if s, ok := cpu[pid]; ok {
			return s
		}
	}
	return 0
}

// since is what the machine's CPU did between two readings of the same parts, in which accepted
// orders were taken. A process that started between them counts from nothing; one that ended
// between them falls to the rest of the machine.
func (r machineReading) since(before machineReading, accepted int) machineCPU {
	m := machineCPU{Cores: runtime.NumCPU(), Seconds: r.at.Sub(before.at).Seconds(), Busy: r.busy - before.busy}
	perOrder := func(s float64) float64 {
		if accepted == 0 {
			return 0
		}
		return s * 1000 / float64(accepted)
	}
	known := 0.0
	for i, cpu := range r.parts {
		used := 0.0
		for pid, s := range cpu {
			used += s - before.parts[i][pid]
		}
		known += used
		m.Parts = append(m.Parts, machineShare{Part: r.names[i], Seconds: used, MsPerOrder: perOrder(used)})
	}
	m.Parts = append(m.Parts, machineShare{Part: restOfTheMachine, Seconds: m.Busy - known, MsPerOrder: perOrder(m.Busy - known)})
	m.BusyMsPerOrder = perOrder(m.Busy)
	return m
}

// restOfTheMachine is the busy time no part's processes account for.
const restOfTheMachine = "the rest of the machine (Sentry, the machine's other servers, the kernel)"

// machineCPU is where the whole machine's CPU went over the saturation stage: its busy time,
// all cores together (/proc/stat), and the part of it each kind of process took
// (machineParts, then the rest of the machine).
type machineCPU struct {
	Cores          int            `json:"cores"`
	Seconds        float64        `json:"seconds"`
	Busy           float64        `json:"busyCpuSeconds"`
	BusyMsPerOrder float64        `json:"busyMsPerOrder"`
	Parts          []machineShare `json:"parts"`
}

// part is what the part of that name took (nothing when there is no such part).
func (m machineCPU) part(name string) machineShare {
	for _, p := range m.Parts {
		if p.Part == name {
			return p
		}
	}
	return machineShare{Part: name}
}

// busyShare is the share of the machine's cores that were busy (0-1).
func (m machineCPU) busyShare() float64 {
	if m.Seconds <= 0 || m.Cores == 0 {
		return 0
	}
	return m.Busy / (float64(m.Cores) * m.Seconds)
}

type machineShare struct {
	Part       string  `json:"part"`
	Seconds    float64 `json:"cpuSeconds"`
	MsPerOrder float64 `json:"msPerOrder"`
}

// busySeconds is the CPU time all cores have spent not idle since boot (/proc/stat: user, nice,
// system, irq, softirq and steal; ticks of 1/100 s).
func busySeconds() float64 {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	fields := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0]) // cpu user nice system idle iowait irq softirq steal
	busy := 0.0
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		if i < len(fields) {
			v, _ := strconv.ParseFloat(fields[i], 64)
			busy += v
		}
	}
	return busy / 100
}

// pidsNamed are the processes whose command name is name.
func pidsNamed(name string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == name {
			pids = append(pids, pid)
		}
	}
	return pids
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
// to see where the time goes. It returns where each app's and each sidecar's went.
func (b *bench) profiles() ([]appCPU, []sidecarCPU) {
	b.t.Helper()
	d := b.plan.satDur / 2
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		cpu = map[string]*pprof.Profile{} // by file name: the app's, or its sidecar's
	)
	for _, name := range appNames {
		a := b.shop.Apps[name]
		for file, port := range map[string]int{name: a.pprof, name + "-sidecar": a.daprPprof} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(d / 4)
				raw := b.profile(file, port, d/2)
				if raw == nil {
					return
				}
				p, err := pprof.ParseData(raw)
				if err != nil {
					b.t.Logf("where the CPU of %s went: %v", file, err)
					return
				}
				mu.Lock()
				cpu[file] = p
				mu.Unlock()
			}()
		}
	}
	for range attack(b.orderTargeter(), b.plan.satRate, d, "profiles") {
	}
	wg.Wait()
	b.waitDrained(5 * time.Minute)
	var (
		apps     []appCPU
		sidecars []sidecarCPU
	)
	for _, name := range appNames {
		if p := cpu[name]; p != nil {
			apps = append(apps, appCPUOf(name, p))
		}
		if p := cpu[name+"-sidecar"]; p != nil {
			sidecars = append(sidecars, sidecarCPUOf(name, p))
		}
	}
	return apps, sidecars
}

// appCPU is where an app's CPU went while it was profiled: the seconds sampled, and the share
// of them (0-1) in each kind of work (appKinds), then the rest.
type appCPU struct {
	App       string  `json:"app"`
	Seconds   float64 `json:"profiledSeconds"`
	GC        float64 `json:"garbageCollection"`
	Schemas   float64 `json:"eventSchemaChecks"`
	Sidecar   float64 `json:"callsToTheSidecar"`
	Serving   float64 `json:"servingRequests"`
	Remaining float64 `json:"theRest"`
}

// shares are the kinds of work, in the order of appKinds, then the rest.
func (c *appCPU) shares() []*float64 {
	return []*float64{&c.GC, &c.Schemas, &c.Sidecar, &c.Serving, &c.Remaining}
}

// gcWork is the collector's own work, wherever it is charged (an assist interrupts whatever
// allocated).
var gcWork = regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)$`)

// appKinds tell the kinds of an app's work apart by the functions in a sample's stack, in the
// order they are tried: the collector's own work, checking events against their schemas, calls
// to the sidecar (the Dapr client and gRPC's client side), and serving requests (HTTP,
// including daprd's deliveries, and gRPC) apart from those.
var appKinds = []*regexp.Regexp{
	gcWork,
	regexp.MustCompile(`^github\.com/skmall/skmall/contracts\.(Validate|Decode|Encode)$|^github\.com/santhosh-tekuri/jsonschema/`),
	regexp.MustCompile(`^github\.com/dapr/go-sdk/client\.|^google\.golang\.org/grpc\.(invoke|newClientStream|\(\*ClientConn\))|^google\.golang\.org/grpc/internal/transport\.(\(\*http2Client\)|NewHTTP2Client)`),
	regexp.MustCompile(`^net/http\.\(\*conn\)\.serve$|^google\.golang\.org/grpc\.\(\*Server\)|^google\.golang\.org/grpc/internal/transport\.(\(\*http2Server\)|NewServerTransport)`),
}

// appCPUOf sorts the samples of an app's CPU profile into the kinds of work.
func appCPUOf(app string, p *pprof.Profile) appCPU {
	c := appCPU{App: app}
	c.Seconds = sortSamples(p, appKinds, c.shares())
	return c
}

// sidecarCPU is where a sidecar's CPU went while it was profiled, as appCPU is for an app
// (sidecarKinds).
type sidecarCPU struct {
	App        string  `json:"app"`
	Seconds    float64 `json:"profiledSeconds"`
	GC         float64 `json:"garbageCollection"`
	Deliveries float64 `json:"deliveringEventsToTheApp"`
	State      float64 `json:"stateOperations"`
	Events     float64 `json:"publishingAndReadingEvents"`
	Invocation float64 `json:"serviceInvocation"`
	Transport  float64 `json:"apiAndTransport"`
	Metrics    float64 `json:"metrics"`
	Remaining  float64 `json:"theRest"`
}

// shares are the kinds of work, in the order of sidecarKinds, then the rest.
func (c *sidecarCPU) shares() []*float64 {
	return []*float64{&c.GC, &c.Deliveries, &c.State, &c.Events, &c.Invocation, &c.Transport, &c.Metrics, &c.Remaining}
}

// sidecarKinds tell the kinds of daprd's work apart (Dapr 1.18's packages), in the order they
// are tried: the collector's own work; handing events to the app (the subscription, from the
// broker's message to the app's answer); the app's state calls, with the store's driver; the
// app's publishes and reading and acknowledging events at the broker; service invocation (the
// calling sidecar's and the called one's part, with the call into the app); serving the API and
// the transport apart from all that (decoding calls, checking the API token, gRPC and HTTP
// framing, TLS, the network); metrics.
var sidecarKinds = []*regexp.Regexp{
	gcWork,
	regexp.MustCompile(`^github\.com/dapr/dapr/pkg/runtime/subscription[./]`),
	regexp.MustCompile(`^github\.com/dapr/dapr/pkg/api/grpc\.\(\*api\)\.(GetState|GetBulkState|SaveState|DeleteState|DeleteBulkState|ExecuteStateTransaction)$|^github\.com/dapr/components-contrib/state/`),
	regexp.MustCompile(`^github\.com/dapr/dapr/pkg/api/grpc\.\(\*api\)\.PublishEvent$|^github\.com/dapr/dapr/pkg/runtime/pubsub[./]|^github\.com/dapr/components-contrib/pubsub/`),
	regexp.MustCompile(`^github\.com/dapr/dapr/pkg/messaging[./]|^github\.com/dapr/dapr/pkg/api/grpc\.\(\*api\)\.(CallLocal|CallLocalStream|InvokeService)$|^github\.com/dapr/dapr/pkg/channel/`),
	regexp.MustCompile(`^google\.golang\.org/grpc[./]|^net/http\.|^golang\.org/x/net/http2\.|^crypto/tls\.`),
	regexp.MustCompile(`^go\.opencensus\.io/|^github\.com/prometheus/|^go\.opentelemetry\.io/`),
}

// sidecarCPUOf sorts the samples of a sidecar's CPU profile into the kinds of work.
func sidecarCPUOf(app string, p *pprof.Profile) sidecarCPU {
	c := sidecarCPU{App: app}
	c.Seconds = sortSamples(p, sidecarKinds, c.shares())
	return c
}

// sortSamples adds each sample of a CPU profile to the share of the first kind its stack holds a
// function of (kinds[i] adds to shares[i]; a sample of no kind to the last share), makes the
// shares fractions of the whole and returns the seconds sampled.
func sortSamples(p *pprof.Profile, kinds []*regexp.Regexp, shares []*float64) float64 {
	last := len(p.SampleType) - 1 // cpu, in nanoseconds
	var total float64
	for _, s := range p.Sample {
		v := float64(s.Value[last])
		total += v
		share := shares[len(shares)-1]
	kinds:
		for i, k := range kinds {
			for _, loc := range s.Location {
				for _, line := range loc.Line {
					if line.Function != nil && k.MatchString(line.Function.Name) {
						share = shares[i]
						break kinds
					}
				}
			}
		}
		*share += v
	}
	if total > 0 {
		for _, f := range shares {
			*f /= total
		}
	}
	return total / 1e9
}

// profile saves a CPU profile of the process whose profiler listens on port over d, and then
// its heap with the runtime's memory statistics (go tool pprof -top .bench/<name>.cpu.pprof;
// .bench/<name>.heap.txt). It returns the CPU profile as saved; nil if it could not be taken.
func (b *bench) profile(name string, port int, d time.Duration) (cpu []byte) {
	dir := filepath.Join(b.shop.root, ".bench")
	_ = os.MkdirAll(dir, 0o750)
	client := &http.Client{Timeout: d + 30*time.Second}
	for i, p := range []struct{ file, path string }{
		{name + ".cpu.pprof", fmt.Sprintf("profile?seconds=%d", int(d.Seconds()))},
		{name + ".heap.txt", "heap?debug=1"},
	} {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", port, p.path))
		if err != nil {
			b.t.Logf("profile of %s: %v", name, err)
			return cpu
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		_ = os.WriteFile(filepath.Join(dir, p.file), raw, 0o644)
		if i == 0 {
			cpu = raw
		}
	}
	return cpu
}

// cpuProfile is an empty CPU profile and a function that adds a sample of ms milliseconds with
// the given stack (leaf first, as a profile keeps it).
func cpuProfile() (*pprof.Profile, func(ms int64, stack ...string)) {
	p := &pprof.Profile{SampleType: []*pprof.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}}
	functions := map[string]*pprof.Function{}
	return p, func(ms int64, stack ...string) {
		s := &pprof.Sample{Value: []int64{1, ms * 1e6}}
		for _, name := range stack {
			if functions[name] == nil {
				functions[name] = &pprof.Function{ID: uint64(len(functions) + 1), Name: name}
			}
			s.Location = append(s.Location, &pprof.Location{Line: []pprof.Line{{Function: functions[name]}}})
		}
		p.Sample = append(p.Sample, s)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAppCPUCountsEachSampleOnceUnderItsFirstKind(t *testing.T) {
	p, add := cpuProfile()
	add(30, "runtime.gcDrain", "runtime.gcBgMarkWorker")
	// An assist is the collector's, whatever it interrupted.
	add(10, "runtime.gcDrainN", "runtime.gcAssistAlloc", "runtime.mallocgc", "github.com/dapr/go-sdk/client.(*GRPCClient).GetState", "net/http.(*conn).serve")
	add(20, "github.com/santhosh-tekuri/jsonschema/v6.(*Schema).Validate", "github.com/skmall/skmall/contracts.Decode", "net/http.(*conn).serve")
	add(15, "syscall.write", "google.golang.org/grpc/internal/transport.(*loopyWriter).run", "google.golang.org/grpc/internal/transport.NewHTTP2Client.func6")
	add(5, "github.com/dapr/go-sdk/client.(*GRPCClient).GetState", "net/http.(*conn).serve")
	add(10, "encoding/json.Unmarshal", "net/http.(*conn).serve")
	add(5, "google.golang.org/grpc.(*Server).handleStream")
	add(5, "runtime.findRunnable", "runtime.schedule")

	got := appCPUOf("order", p)
	want := appCPU{App: "order", Seconds: 0.1, GC: 0.4, Schemas: 0.2, Sidecar: 0.2, Serving: 0.15, Remaining: 0.05}
	if got.App != want.App || !near(got.Seconds, want.Seconds) || !near(got.GC, want.GC) || !near(got.Schemas, want.Schemas) ||
		!near(got.Sidecar, want.Sidecar) || !near(got.Serving, want.Serving) || !near(got.Remaining, want.Remaining) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestSidecarCPUCountsEachSampleOnceUnderItsFirstKind(t *testing.T) {
	p, add := cpuProfile()
	add(10, "runtime.gcDrainN", "runtime.gcAssistAlloc", "runtime.mallocgc", "github.com/dapr/dapr/pkg/api/grpc.(*api).SaveState")
	// Handing an event to the app, though the broker's worker runs it.
	add(25, "net/http.(*Transport).roundTrip", "github.com/dapr/dapr/pkg/runtime/subscription/postman/http.(*http).Deliver",
		"github.com/dapr/dapr/pkg/runtime/subscription.(*Subscription).handleMessage", "github.com/dapr/components-contrib/pubsub/redis.(*redisStreams).worker")
	add(15, "github.com/jackc/pgx/v5.(*Conn).Exec", "github.com/dapr/components-contrib/state/postgresql/v2.(*PostgreSQL).Set",
		"github.com/dapr/dapr/pkg/api/grpc.(*api).SaveState", "google.golang.org/grpc.(*Server).processUnaryRPC")
	add(5, "google.golang.org/protobuf/proto.Unmarshal", "github.com/dapr/dapr/pkg/api/grpc.(*api).GetBulkState")
	add(10, "github.com/redis/go-redis/v9.(*baseClient).process", "github.com/dapr/components-contrib/pubsub/redis.(*redisStreams).pollNewMessagesLoop")
	add(5, "github.com/dapr/dapr/pkg/api/grpc.(*api).PublishEvent")
	add(10, "crypto/tls.(*Conn).Write", "github.com/dapr/dapr/pkg/messaging.(*directMessaging).invokeRemote")
	add(10, "syscall.write", "google.golang.org/grpc/internal/transport.(*loopyWriter).run")
	add(5, "go.opencensus.io/stats/view.(*worker).start")
	add(5, "runtime.findRunnable", "runtime.schedule")

	got := sidecarCPUOf("order", p)
	want := sidecarCPU{App: "order", Seconds: 0.1, GC: 0.1, Deliveries: 0.25, State: 0.2, Events: 0.15, Invocation: 0.1, Transport: 0.1, Metrics: 0.05, Remaining: 0.05}
	g, w := got.shares(), want.shares()
	for i := range g {
		if !near(*g[i], *w[i]) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if got.App != want.App || !near(got.Seconds, want.Seconds) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// The machine's busy time is split among the parts by what their processes used between the
// readings, the rest of the machine taking what none of them used.
func TestMachineCPUSplitsTheBusyTimeBetweenReadings(t *testing.T) {
	at := time.Now()
	before := machineReading{at: at, busy: 100, names: []string{"a", "b"}, parts: []map[int]float64{{1: 5, 2: 3}, {3: 1}}}
	after := machineReading{at: at.Add(5 * time.Second), busy: 110, names: []string{"a", "b"}, parts: []map[int]float64{
		{1: 8, 2: 3, 4: 0.5}, // 4 started between the readings
		{},                   // 3 ended: its second falls to the rest
	}}
	m := after.since(before, 100)
	want := []machineShare{{"a", 3.5, 35}, {"b", 0, 0}, {restOfTheMachine, 6.5, 65}}
	if len(m.Parts) != len(want) || !near(m.Busy, 10) || !near(m.BusyMsPerOrder, 100) || m.Seconds != 5 {
		t.Fatalf("got %+v, want busy 10 s (100 ms an order) in parts %+v", m, want)
	}
	for i, w := range want {
		if g := m.Parts[i]; g.Part != w.Part || !near(g.Seconds, w.Seconds) || !near(g.MsPerOrder, w.MsPerOrder) {
			t.Fatalf("part %d: got %+v, want %+v", i, g, w)
		}
	}
}

// The readings come from the machine's own /proc: a process that spins is seen using CPU, one
// that sleeps none, and the machine busy at least as long as the spinning one.
func TestMachineCPUTellsItsPartsApart(t *testing.T) {
	start := func(name string, args ...string) int {
		cmd := exec.Command(name, args...) // its output goes to /dev/null
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	spinning, asleep := start("yes"), start("sleep", "30")
	if !slices.Contains(pidsNamed("yes"), spinning) {
		t.Fatal("pidsNamed does not find the yes the test started")
	}
	parts := []machinePart{{"spinning", func() []int { return []int{spinning} }}, {"asleep", func() []int { return []int{asleep} }}}
	time.Sleep(500 * time.Millisecond) // CPU spent before the first reading is not the measured second's

	before := measureMachine(parts)
	time.Sleep(time.Second)
	m := measureMachine(parts).since(before, 10)

	if len(m.Parts) != 3 || m.Parts[0].Part != "spinning" || m.Parts[1].Part != "asleep" || m.Parts[2].Part != restOfTheMachine {
		t.Fatalf("parts %+v, want spinning, asleep and the rest", m.Parts)
	}
	spun, slept, rest := m.Parts[0], m.Parts[1], m.Parts[2]
	if spun.Seconds < 0.05 || spun.Seconds > 1.1 || slept.Seconds != 0 {
		t.Fatalf("spinning used %.2f s (one thread) and asleep %.2f s of CPU in a second, want some and none", spun.Seconds, slept.Seconds)
	}
	if m.Busy < spun.Seconds-0.02 || !near(rest.Seconds, m.Busy-spun.Seconds) {
		t.Fatalf("the machine was busy %.2f s with spinning's %.2f s in it, and the rest is %.2f s", m.Busy, spun.Seconds, rest.Seconds)
	}
	if !near(spun.MsPerOrder, spun.Seconds*100) || !near(m.BusyMsPerOrder, m.Busy*100) {
		t.Fatalf("per order (10 accepted): %+v", m)
	}
}
