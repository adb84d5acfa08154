package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// daprd is how the harness starts one sidecar. Every sidecar gets mTLS through the shared
// Sentry, no placement or scheduler, and its APIs on loopback only; the rest is here.
type daprd struct {
	appID   string
	appPort int // 0 for a sidecar without an app

	httpPort, grpcPort, internalGRPCPort, metricsPort int

	resources []string // each a --resources-path, in order
	config    string
	logLevel  string
	// pod makes it the sidecar of a pod, as the chart runs it: metrics on loopback only, a
	// graceful stop, events only while the app can process them, and its app served until it
	// is gone.
	pod         bool
	profilePort int // Go's profiler; 0 for none
	// apiToken is what the app shows its sidecar (DAPR_API_TOKEN), appToken what the sidecar
	// shows the app (APP_API_TOKEN); empty for none.
	apiToken, appToken string
	env                []string // connection strings (SKMALL_*) and the like
	// flushDelay holds each of its flushes to disk (fsync, fdatasync) that long (SlowDisk).
	flushDelay time.Duration
}

func (d daprd) args() []string {
	args := []string{"--enable-mtls", "--sentry-address", sentryAddr, "--app-id", d.appID}
	if d.appPort != 0 {
		args = append(args, "--app-port", strconv.Itoa(d.appPort), "--app-protocol", "http")
	}
	args = append(args,
		"--dapr-http-port", strconv.Itoa(d.httpPort), "--dapr-grpc-port", strconv.Itoa(d.grpcPort),
		"--dapr-internal-grpc-port", strconv.Itoa(d.internalGRPCPort), "--metrics-port", strconv.Itoa(d.metricsPort))
	for _, dir := range d.resources {
		args = append(args, "--resources-path", dir)
	}
	args = append(args, "--config", d.config,
		"--placement-host-address", "", "--scheduler-host-address", "", "--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1", "--log-level", d.logLevel)
	if d.pod {
		args = append(args, "--metrics-listen-address", "127.0.0.1", "--dapr-graceful-shutdown-seconds", "5",
			// Events are delivered only while the app can process them (its store reachable).
			// On SIGTERM the sidecar stops taking events and goes on serving invocations for 2 s
			// (the chart's blockShutdownSeconds, shortened: no DNS to wait for here), then stops;
			// its app serves until then: a pod's graceful stop.
			"--enable-app-health-check", "--app-health-check-path", appHealthPath,
			"--app-health-probe-interval", "1", "--app-health-probe-timeout", "1000", "--app-health-threshold", "1",
			"--dapr-block-shutdown-duration", "2s")
	}
	if d.profilePort != 0 {
		args = append(args, "--enable-profiling", "--profile-port", strconv.Itoa(d.profilePort))
	}
	return args
}

func (d daprd) environ() []string {
	var env []string
	if d.apiToken != "" {
		env = append(env, "DAPR_API_TOKEN="+d.apiToken)
	}
	if d.appToken != "" {
		env = append(env, "APP_API_TOKEN="+d.appToken)
	}
	// Other sidecars find this one at 127.0.0.1 (the name resolver registers this address).
	env = append(env, "DAPR_TRUST_ANCHORS="+trustAnchors, "NAMESPACE=default", "DAPR_HOST_IP=127.0.0.1")
	env = append(env, sidecarRuntime...)
	return append(env, d.env...)
}

// sidecarRuntime is the Go runtime's settings of every sidecar (components/daprd.env), as
// make run and the chart give them.
var sidecarRuntime []string

// sidecarRuntimeOf is the checkout root's components/daprd.env, which must say something.
func sidecarRuntimeOf(t testing.TB, root string) []string {
	t.Helper()
	env, err := readEnvFile(filepath.Join(root, "components", "daprd.env"))
	if err != nil || len(env) == 0 {
		t.Fatalf("components/daprd.env: %v %v", env, err)
	}
	return env
}

// readEnvFile reads a file of NAME=value lines; blank lines and lines starting with # say
// nothing.
func readEnvFile(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var env []string
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, _, ok := strings.Cut(line, "="); !ok || name == "" {
			return nil, fmt.Errorf("%s: %q is not NAME=value", path, line)
		}
		env = append(env, line)
	}
	return env, nil
}

// start runs the sidecar as process name in dir, logging to dir: a shop's sidecars share the
// folder, and so the name resolution file the configuration names (nameresolution.db).
func (d daprd) start(t testing.TB, name, dir string) *proc {
	t.Helper()
	if d.flushDelay == 0 {
		return startIn(t, dir, name, dir, d.environ(), daprdPath, d.args()...)
	}
	// strace delays those two calls only (seccomp lets every other pass untraced). It ends
	// daprd when it is stopped; setpriv ends daprd if strace itself is killed.
	wrap := []string{"-f", "--seccomp-bpf", "-qq", "-o", "/dev/null", "-e", "trace=fsync,fdatasync",
		"-e", fmt.Sprintf("inject=fsync,fdatasync:delay_enter=%d", d.flushDelay.Microseconds()),
		"setpriv", "--pdeathsig", "KILL", daprdPath}
	return startIn(t, dir, name, dir, d.environ(), "strace", append(wrap, d.args()...)...)
}

// appHealthPath is what an app's sidecar polls, as the chart and make run have it: whether
// the app can process events now.
const appHealthPath = "/readyz/events"

// sidecar is the sidecar of one of the shop's apps: a pod's, on the app's ports, with the
// components of the shop's profile.
func (s *Shop) sidecar(a *App) daprd {
	return daprd{
		appID: a.AppID, appPort: a.port,
		httpPort: a.daprHTTPPort, grpcPort: a.daprGRPC, internalGRPCPort: a.internal, metricsPort: a.metrics,
		resources: []string{filepath.Join(s.components, "common"), filepath.Join(s.components, s.Profile)},
		config:    filepath.Join(s.components, "config.yaml"),
		logLevel:  "info",
		pod:       true, profilePort: a.daprPprof,
		apiToken: a.DaprToken, appToken: a.appToken, env: append(slices.Clone(s.env), s.appDaprEnv[a.AppID]...),
		flushDelay: s.opts.flushDelay,
	}
}

func (s *Shop) startSidecar(a *App) {
	a.dapr = s.sidecar(a).start(s.t, "daprd-"+a.Name, s.dir)
}

// CrashSidecar kills an app's sidecar with SIGKILL and starts it again on the same ports.
func (s *Shop) CrashSidecar(name string, down time.Duration) {
	s.t.Helper()
	a := s.Apps[name]
	a.dapr.kill()
	time.Sleep(down)
	s.startSidecar(a)
}

// SidecarMetric sums the samples of a metric on an app's sidecar whose labels include every
// one of labels (each written as name="value").
func (s *Shop) SidecarMetric(name, metric string, labels ...string) float64 {
	s.t.Helper()
	return scrape(s.t, fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Apps[name].metrics), metric, labels...)
}

// newNameResolutionFile makes the SQLite file a shop's sidecars find each other in
// (components/config.yaml names it), in dir, before any of them starts: in the WAL journal
// mode they open it in. A sidecar that finds the file in another mode switches it, and SQLite
// fails that switch at once, without waiting busyTimeout, while any other connection holds a
// lock: sidecars starting together on a new file would leave one without name resolution.
// scripts/run.sh does the same for make run.
func newNameResolutionFile(t testing.TB, dir string) {
	t.Helper()
	out, err := exec.Command("sqlite3", filepath.Join(dir, daprtest.NameResolutionFile), "PRAGMA journal_mode=WAL;").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "wal" {
		t.Fatalf("make the name resolution file: sqlite3: %v: %s", err, out)
	}
}
