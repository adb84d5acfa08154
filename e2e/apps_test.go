package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/auth/devkeys"
	"github.com/skmall/skmall/platform/daprtest"
)

// The apps, in start order.
var appNames = []string{"warehouse", "order", "delivery", "mypage"}

// servesGRPC are the apps with a gRPC API beside REST.
var servesGRPC = map[string]bool{"order": true, "mypage": true}

var (
	buildOnce sync.Once
	binDir    string
	mypageTS  string // the TypeScript mypage's entry point, with MYPAGE=ts
	daprdPath string
	buildErr  error
)

// build compiles the four apps once per test binary and finds daprd (building the pinned
// version if this machine has none). With MYPAGE=ts it also builds the TypeScript mypage
// (mypage-ts/), which then runs in place of the Go one; MYPAGE=go is the default.
func build(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		root := daprtest.RepoRoot(t)
		switch impl := os.Getenv("MYPAGE"); impl {
		case "", "go":
		case "ts":
			cmd := exec.Command("sh", "-c", "npm ci && npm run build")
			cmd.Dir = filepath.Join(root, "mypage-ts")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build mypage-ts (npm ci && npm run build): %w\n%s", err, out)
				return
			}
			mypageTS = filepath.Join(root, "mypage-ts", "dist", "main.js")
		default:
			buildErr = fmt.Errorf("MYPAGE=%q: want go (the default) or ts", impl)
			return
		}
		dir, err := os.MkdirTemp("", "skmall-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		for _, app := range appNames {
			// One build serves the whole test binary: make bench's is the build that ships,
			// as figures of race-instrumented apps would mislead; the others have the race
			// detector.
			args := []string{app, filepath.Join(dir, app)}
			if !benchmarking() {
				args = append([]string{"-race"}, args...)
			}
			cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "build-app.sh")}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %w\n%s", app, err, out)
				return
			}
		}
		// The Kafka profile's broker (kafka/), built as make run builds it.
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "kafka"), ".")
		cmd.Dir = filepath.Join(root, "kafka")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build the Kafka stand-in: %w\n%s", err, out)
			return
		}
		daprdPath = daprtest.Daprd(t)
		sidecarRuntime, buildErr = readEnvFile(filepath.Join(root, "components", "daprd.env"))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// App is one app and its sidecar.
type App struct {
	Name         string // as the harness knows it: the app id, or a replica's own name
	AppID        string
	URL          string // the app's REST API
	GRPC         string // the app's gRPC API (host:port), for the apps that serve one
	DaprHTTP     string // the sidecar's HTTP API
	port         int
	daprHTTPPort int
	daprGRPC     int
	internal     int
	metrics      int
	// DaprToken is what the app shows its sidecar (DAPR_API_TOKEN), appToken what the sidecar
	// shows the app (APP_API_TOKEN).
	DaprToken string
	appToken  string
	pprof     int // the app's profiler port, with Profiling
	daprPprof int // the sidecar's profiler port, with Profiling
	app, dapr *proc
}

// StartApp starts an app's sidecar and the app, on fresh ports.
func (s *Shop) StartApp(name string) {
	s.t.Helper()
	a := s.Apps[name]
	// Fresh ports on every start: a port freed by a stopped app may have gone to another process.
	a.port = daprtest.FreePort(s.t)
	a.daprHTTPPort, a.daprGRPC, a.internal, a.metrics = daprtest.FreePort(s.t), daprtest.FreePort(s.t), daprtest.FreePort(s.t), daprtest.FreePort(s.t)
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", a.port)
	if servesGRPC[a.AppID] {
		a.GRPC = fmt.Sprintf("127.0.0.1:%d", daprtest.FreePort(s.t))
	}
	a.DaprHTTP = fmt.Sprintf("http://127.0.0.1:%d", a.daprHTTPPort)
	a.DaprToken, a.appToken = randomToken(), randomToken()
	if s.opts.profiling {
		a.pprof, a.daprPprof = daprtest.FreePort(s.t), daprtest.FreePort(s.t)
	}
	s.startSidecar(a)
	s.startApp(a)
}

// testTimings are the timings the tests run the apps with, unless ShippedTimings: short enough
// for a test to see a lost reservation come back or an event published again, long enough to
// outlast any order request.
func (o options) testTimings() []string {
	if o.shippedTimings {
		return nil
	}
	return []string{"RESERVATION_HOLD=20s", "RESERVATION_SWEEP=1s", "REPUBLISH_AFTER=15s"}
}

func (s *Shop) startApp(a *App) {
	env := []string{
		"APP_PORT=" + strconv.Itoa(a.port), "DAPR_GRPC_PORT=" + strconv.Itoa(a.daprGRPC), "DAPR_HTTP_PORT=" + strconv.Itoa(a.daprHTTPPort),
		"LOG_LEVEL=debug",
		"DAPR_API_TOKEN=" + a.DaprToken, "APP_API_TOKEN=" + a.appToken,
		"AUTH_JWKS=" + issuerKeys.JWKSPath(), "AUTH_ISSUER=" + devkeys.Issuer,
		// Long enough for a load balancer polling readiness every 250 ms to notice.
		"SHUTDOWN_DELAY=1s",
	}
	env = append(env, s.opts.testTimings()...)
	if a.pprof != 0 {
		env = append(env, fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", a.pprof))
	}
	if a.GRPC != "" {
		env = append(env, "GRPC_PORT="+a.GRPC[strings.LastIndex(a.GRPC, ":")+1:])
	}
	// Last, so that a test's variables (AppEnv) win over the harness's.
	env = append(env, s.opts.appEnv...)
	bin, args := filepath.Join(binDir, a.AppID), []string(nil)
	if a.AppID == "mypage" && mypageTS != "" {
		bin, args = "node", []string{mypageTS}
	}
	a.app = start(s.t, a.Name, s.dir, env, bin, args...)
}

// CrashApp kills an app's process (not its sidecar) with SIGKILL and starts it again on the
// same port.
func (s *Shop) CrashApp(name string, down time.Duration) {
	s.t.Helper()
	a := s.Apps[name]
	a.app.kill()
	time.Sleep(down)
	s.startApp(a)
}

// StartReplica starts another instance (app and sidecar) of an app id, known to the harness
// as replica.
func (s *Shop) StartReplica(appID, replica string) {
	s.t.Helper()
	s.Apps[replica] = &App{Name: replica, AppID: appID}
	s.StartApp(replica)
	s.WaitReady(replica)
}

// StopApp stops an app and its sidecar, both at once, as Kubernetes stops a pod.
func (s *Shop) StopApp(name string) {
	a := s.Apps[name]
	done := make(chan struct{})
	go func() { a.dapr.stop(); close(done) }()
	a.app.stop()
	<-done
}

// Signal sends sig to an app's process (not its sidecar).
func (s *Shop) Signal(name string, sig syscall.Signal) {
	s.t.Helper()
	if err := s.Apps[name].app.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// WaitReady waits until an app answers ready and its sidecar is healthy.
//
// A sidecar that could not set up its name resolution goes on without it: no other sidecar
// finds it, and every call to its app fails with "no host found". That happens when the SQLite
// file the sidecars find each other in stays locked longer than a sidecar waits for it (a slow
// disk), so such a sidecar is started again until its name resolution starts.
func (s *Shop) WaitReady(name string) {
	s.t.Helper()
	a := s.Apps[name]
	for attempt := 1; ; attempt++ {
		daprtest.Eventually(s.t, 90*time.Second, name+" and its sidecar to be ready", func() error {
			for _, u := range []string{a.URL + "/readyz", a.DaprHTTP + "/v1.0/healthz"} {
				if err := daprtest.Healthy(u); err != nil {
					return err
				}
			}
			return nil
		})
		if a.dapr == nil || !a.dapr.logged(nameResolutionFailed...) {
			return
		}
		if attempt == 5 {
			s.t.Fatalf("%s's sidecar started %d times without name resolution: no other sidecar can reach it", name, attempt)
		}
		s.t.Logf("%s's sidecar started without name resolution, which no other sidecar can then reach; starting it again", name)
		s.CrashSidecar(name, 0)
	}
}

// nameResolutionFailed is what daprd logs when its name resolution failed to start.
var nameResolutionFailed = []string{"INIT_COMPONENT_FAILURE", "nr ("}

// AppMetric is SidecarMetric for the app's own /metrics.
func (s *Shop) AppMetric(name, metric string, labels ...string) float64 {
	s.t.Helper()
	return scrape(s.t, s.Apps[name].URL+"/metrics", metric, labels...)
}
