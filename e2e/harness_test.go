package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skmall/skmall/platform/auth/devkeys"
	"github.com/skmall/skmall/platform/daprtest"
)

// The apps, in start order, and the port each serves its REST API on by default.
var appNames = []string{"warehouse", "order", "delivery", "mypage"}

// Profiles the suite runs against; SKMALL_E2E_PROFILES narrows it (comma-separated).
func profiles() []string {
	if p := os.Getenv("SKMALL_E2E_PROFILES"); p != "" {
		return strings.Split(p, ",")
	}
	return []string{"local", "postgres-redis", "rabbitmq"}
}

var (
	buildOnce sync.Once
	binDir    string
	daprdPath string
	buildErr  error
)

// build compiles the four apps once per test binary and finds daprd (building the pinned
// version if this machine has none).
func build(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		root := daprtest.RepoRoot(t)
		dir, err := os.MkdirTemp("", "skmall-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		for _, app := range appNames {
			args := []string{"build", "-race", "-o", filepath.Join(dir, app), "."}
			if benchmarking() {
				args = slices.Delete(args, 1, 2) // figures of race-instrumented apps would mislead
			}
			cmd := exec.Command("go", args...)
			cmd.Dir = filepath.Join(root, app)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", app, err, out)
				return
			}
		}
		daprdPath = daprtest.Daprd(t)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// proc is a process the harness started, with its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func start(t testing.TB, name, logDir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p
}

// kill ends the process at once, as a crash would.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits; a process that does not exit in time is killed.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// App is one app and its sidecar.
type App struct {
	Name         string // as the harness knows it: the app id, or a replica's own name
	AppID        string
	URL          string // the app's REST API
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
	pprof     int // the app's profiler port, when benchmarking
	daprPprof int // the sidecar's profiler port, when benchmarking
	app, dapr *proc
}

// Shop is the four apps, their sidecars and their stores, on one profile.
type Shop struct {
	t         testing.TB
	Profile   string
	Apps      map[string]*App
	dir       string
	env       []string
	redis     *proc
	redisArgs []string
	pgData    string
	pgCtl     func(action string)
	// RedisAddr is the Redis the profile's pub/sub (and, for postgres-redis, state) uses.
	RedisAddr string
	// Proxies are the fault-injecting proxies in front of stores (ProxyStore), by app.
	Proxies map[string]*FaultProxy
	appEnv  []string
	root    string
	// components is the folder the sidecars load their components from: the project's
	// components/, or a copy a test changed (EditComponents).
	components string
}

// Option changes how a shop is set up.
type Option func(*options)

type options struct {
	durableBroker   bool
	privatePostgres bool
	proxied         []string
	appEnv          []string
	editComponents  func(t testing.TB, dir string)
}

// DurableBroker makes the shop's Redis write every change to disk before answering, so that
// it can be killed and restarted without losing a message.
func DurableBroker() Option { return func(o *options) { o.durableBroker = true } }

// PrivatePostgres gives the shop a PostgreSQL server of its own, which the test may restart.
func PrivatePostgres() Option { return func(o *options) { o.privatePostgres = true } }

// ProxyStore puts a FaultProxy between an app's sidecar and its PostgreSQL database
// (postgres-redis profile); the test finds it in Shop.Proxies.
func ProxyStore(app string) Option { return func(o *options) { o.proxied = append(o.proxied, app) } }

// EditComponents gives the shop's sidecars a copy of components/ that edit changes first (for
// example a shorter retry budget in common/resiliency.yaml).
func EditComponents(edit func(t testing.TB, dir string)) Option {
	return func(o *options) { o.editComponents = edit }
}

// AppEnv sets environment variables (NAME=value) of every app, over the harness's own.
func AppEnv(vars ...string) Option { return func(o *options) { o.appEnv = append(o.appEnv, vars...) } }

// StartShop starts everything the profile needs, from a clean state, and stops it when the
// test ends.
func StartShop(t *testing.T, profile string, opts ...Option) *Shop {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	build(t)
	security(t)
	dir, err := os.MkdirTemp("", "skmall-e2e-"+profile+"-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Shop{t: t, Profile: profile, Apps: map[string]*App{}, dir: dir, root: daprtest.RepoRoot(t),
		Proxies: map[string]*FaultProxy{}, appEnv: o.appEnv}
	t.Cleanup(func() {
		s.stopAll()
		if t.Failed() {
			s.dumpLogs()
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})

	s.components = filepath.Join(s.root, "components")
	if o.editComponents != nil {
		s.components = filepath.Join(dir, "components")
		if err := os.CopyFS(s.components, os.DirFS(filepath.Join(s.root, "components"))); err != nil {
			t.Fatal(err)
		}
		o.editComponents(t, s.components)
	}

	s.redisArgs = []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(daprtest.FreePort(t)), "--save", "", "--dir", dir, "--appendonly", "no"}
	if o.durableBroker {
		s.redisArgs = append(s.redisArgs[:len(s.redisArgs)-1], "yes", "--appendfsync", "always")
	}
	s.RedisAddr = "127.0.0.1:" + s.redisArgs[3]
	s.startRedis()
	s.env = append(s.env, "SKMALL_REDIS_HOST="+s.RedisAddr)

	switch profile {
	case "local", "rabbitmq":
		for _, app := range appNames {
			s.env = append(s.env, fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), filepath.Join(dir, app+".db")))
		}
	case "postgres-redis":
		admin := pgURL("postgres")
		if o.privatePostgres {
			admin = s.startPostgres()
		}
		for _, app := range []string{"order", "warehouse"} {
			url := createDatabase(t, admin, app)
			if slices.Contains(o.proxied, app) {
				u, err := neturl.Parse(url)
				if err != nil {
					t.Fatal(err)
				}
				p := NewFaultProxy(t, u.Host)
				s.Proxies[app] = p
				url = strings.Replace(url, u.Host, p.Addr, 1)
			}
			s.env = append(s.env, fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), url))
		}
	default:
		t.Fatalf("unknown profile %q", profile)
	}
	if profile == "rabbitmq" {
		s.env = append(s.env, "SKMALL_RABBITMQ_URL="+createVhost(t))
	}

	for _, name := range appNames {
		s.Apps[name] = &App{Name: name, AppID: name}
	}
	for _, name := range appNames {
		s.StartApp(name)
	}
	for _, name := range appNames {
		s.WaitReady(name)
	}
	return s
}

// createDatabase creates a database of its own for one app and drops it when the test ends.
func createDatabase(t testing.TB, admin, app string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL is needed for the postgres-redis profile (%s): %v", admin, err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("skmall_e2e_%s_%d_%d", app, os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return strings.Replace(admin, "/postgres?", "/"+name+"?", 1)
}

func (s *Shop) startRedis() {
	s.t.Helper()
	s.redis = start(s.t, "redis", s.dir, nil, "redis-server", s.redisArgs...)
	port, _ := strconv.Atoi(s.redisArgs[3])
	daprtest.Eventually(s.t, 20*time.Second, "redis to listen", func() error { return dial(port) })
}

// CrashBroker kills the shop's Redis with SIGKILL and starts it again on the same port and data.
func (s *Shop) CrashBroker(down time.Duration) {
	s.t.Helper()
	s.redis.kill()
	time.Sleep(down)
	s.startRedis()
}

// startPostgres runs a PostgreSQL server of the shop's own (as the postgres user, which initdb
// requires) and returns its admin URL.
func (s *Shop) startPostgres() string {
	s.t.Helper()
	bin, err := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if err != nil || len(bin) == 0 {
		s.t.Fatal("PostgreSQL server binaries (initdb) are needed: apt-get install postgresql")
	}
	binDir := filepath.Dir(bin[len(bin)-1])
	s.pgData = filepath.Join(s.dir, "pg")
	port := daprtest.FreePort(s.t)
	if err := os.MkdirAll(s.pgData, 0o700); err != nil {
		s.t.Fatal(err)
	}
	asPostgres := func(args ...string) {
		s.t.Helper()
		cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			s.t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := exec.Command("chown", "-R", "postgres:postgres", s.dir).CombinedOutput(); err != nil {
		s.t.Fatalf("chown: %v %s", err, out)
	}
	asPostgres(filepath.Join(binDir, "initdb"), "-D", s.pgData, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	s.pgCtl = func(action string) {
		args := []string{filepath.Join(binDir, "pg_ctl"), "-D", s.pgData, "-w", "-l", filepath.Join(s.pgData, "server.log")}
		switch action {
		case "start":
			args = append(args, "-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, s.pgData), "start")
		case "crash":
			args = append(args, "-m", "immediate", "stop")
		case "stop":
			args = append(args, "-m", "fast", "stop")
		}
		asPostgres(args...)
	}
	s.pgCtl("start")
	s.t.Cleanup(func() { s.pgCtl("stop") })
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// CrashDatabase stops the shop's own PostgreSQL the way a crash would and starts it again.
func (s *Shop) CrashDatabase(down time.Duration) {
	s.t.Helper()
	s.pgCtl("crash")
	time.Sleep(down)
	s.pgCtl("start")
}

// createVhost creates a RabbitMQ virtual host of its own for one test and deletes it after.
func createVhost(t testing.TB) string {
	t.Helper()
	vhost := fmt.Sprintf("skmall-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	for _, args := range [][]string{
		{"add_vhost", vhost},
		{"set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"},
	} {
		if out, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("RabbitMQ is needed for the rabbitmq profile: rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "-q", "delete_vhost", vhost).Run() })
	return "amqp://guest:guest@127.0.0.1:5672/" + vhost
}

// pgURL points at a database of the PostgreSQL server the tests use (SKMALL_PG_URL, by default
// the local server with trust authentication).
func pgURL(db string) string {
	base := os.Getenv("SKMALL_PG_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	return strings.Replace(base, "/postgres?", "/"+db+"?", 1)
}

// StartApp starts an app's sidecar and the app, on fresh ports.
func (s *Shop) StartApp(name string) {
	s.t.Helper()
	a := s.Apps[name]
	// Fresh ports on every start: a port freed by a stopped app may have gone to another process.
	a.port = daprtest.FreePort(s.t)
	a.daprHTTPPort, a.daprGRPC, a.internal, a.metrics = daprtest.FreePort(s.t), daprtest.FreePort(s.t), daprtest.FreePort(s.t), daprtest.FreePort(s.t)
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", a.port)
	a.DaprHTTP = fmt.Sprintf("http://127.0.0.1:%d", a.daprHTTPPort)
	a.DaprToken, a.appToken = randomToken(), randomToken()
	if benchmarking() {
		a.pprof, a.daprPprof = daprtest.FreePort(s.t), daprtest.FreePort(s.t)
	}
	s.startSidecar(a)
	s.startApp(a)
}

func (s *Shop) startSidecar(a *App) {
	env := append([]string{
		"DAPR_API_TOKEN=" + a.DaprToken, "APP_API_TOKEN=" + a.appToken,
		"DAPR_TRUST_ANCHORS=" + trustAnchors, "NAMESPACE=default",
	}, s.env...)
	args := []string{"--enable-mtls", "--sentry-address", sentryAddr,
		"--app-id", a.AppID, "--app-port", strconv.Itoa(a.port), "--app-protocol", "http",
		"--dapr-http-port", strconv.Itoa(a.daprHTTPPort), "--dapr-grpc-port", strconv.Itoa(a.daprGRPC),
		"--dapr-internal-grpc-port", strconv.Itoa(a.internal), "--metrics-port", strconv.Itoa(a.metrics),
		"--resources-path", filepath.Join(s.components, "common"),
		"--resources-path", filepath.Join(s.components, s.Profile),
		"--config", filepath.Join(s.components, "config.yaml"),
		"--placement-host-address", "", "--scheduler-host-address", "", "--dapr-listen-addresses", "127.0.0.1", "--metrics-listen-address", "127.0.0.1",
		"--dapr-graceful-shutdown-seconds", "5", "--log-level", "info",
		// Events are delivered only while the app can process them (its store reachable).
		// On SIGTERM the sidecar keeps serving its app until the app is gone (the check stops
		// answering), so the app can finish what it started: a pod's graceful stop.
		"--enable-app-health-check", "--app-health-check-path", appHealthPath(a.AppID),
		"--app-health-probe-interval", "1", "--app-health-probe-timeout", "1000", "--app-health-threshold", "1",
		"--dapr-block-shutdown-duration", "15s"}
	if a.daprPprof != 0 {
		args = append(args, "--enable-profiling", "--profile-port", strconv.Itoa(a.daprPprof))
	}
	a.dapr = start(s.t, "daprd-"+a.Name, s.dir, env, daprdPath, args...)
}

// appHealthPath is what an app's sidecar polls, as the chart and make run have it: whether
// the app can process events now, but for order, whose sidecar would subscribe the outbox's
// channel again each time the app turned healthy (Dapr 1.18).
func appHealthPath(appID string) string {
	if appID == "order" {
		return "/healthz"
	}
	return "/readyz/events"
}

func (s *Shop) startApp(a *App) {
	env := []string{}
	if a.pprof != 0 {
		env = append(env, fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", a.pprof))
	}
	a.app = start(s.t, a.Name, s.dir, append(append(env,
		"APP_PORT="+strconv.Itoa(a.port), "DAPR_GRPC_PORT="+strconv.Itoa(a.daprGRPC), "DAPR_HTTP_PORT="+strconv.Itoa(a.daprHTTPPort),
		"LOG_LEVEL="+map[bool]string{true: "info", false: "debug"}[benchmarking()],
		"DAPR_API_TOKEN="+a.DaprToken, "APP_API_TOKEN="+a.appToken,
		"AUTH_JWKS="+issuerKeys.JWKSPath(), "AUTH_ISSUER="+devkeys.Issuer,
		// Short enough for a test to see a lost reservation come back, long enough to outlast
		// any order request.
		"RESERVATION_HOLD=20s", "RESERVATION_SWEEP=1s", "REPUBLISH_AFTER=15s",
		// Long enough for a load balancer polling readiness every 250 ms to notice.
		"SHUTDOWN_DELAY=1s",
	), s.appEnv...), filepath.Join(binDir, a.AppID))
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

// CrashSidecar kills an app's sidecar with SIGKILL and starts it again on the same ports.
func (s *Shop) CrashSidecar(name string, down time.Duration) {
	s.t.Helper()
	a := s.Apps[name]
	a.dapr.kill()
	time.Sleep(down)
	s.startSidecar(a)
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

// SidecarMetric sums the samples of a metric on an app's sidecar whose labels include every
// one of labels (each written as name="value").
func (s *Shop) SidecarMetric(name, metric string, labels ...string) float64 {
	s.t.Helper()
	return scrape(s.t, fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Apps[name].metrics), metric, labels...)
}

// AppMetric is SidecarMetric for the app's own /metrics.
func (s *Shop) AppMetric(name, metric string, labels ...string) float64 {
	s.t.Helper()
	return scrape(s.t, s.Apps[name].URL+"/metrics", metric, labels...)
}

func scrape(t testing.TB, url, metric string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// WaitReady waits until an app answers ready and its sidecar is healthy.
func (s *Shop) WaitReady(name string) {
	s.t.Helper()
	a := s.Apps[name]
	daprtest.Eventually(s.t, 90*time.Second, name+" and its sidecar to be ready", func() error {
		for _, u := range []string{a.URL + "/readyz", a.DaprHTTP + "/v1.0/healthz"} {
			if err := daprtest.Healthy(u); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Shop) stopAll() {
	var wg sync.WaitGroup
	for _, a := range s.Apps {
		if a.app != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.StopApp(a.Name) }()
		}
	}
	wg.Wait()
	if s.redis != nil {
		s.redis.stop()
	}
}

func (s *Shop) dumpLogs() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(s.dir, e.Name()))
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		s.t.Logf("--- last lines of %s ---\n%s", e.Name(), strings.Join(lines, "\n"))
	}
}

// LogContains reports whether a process's log has a line containing all of parts.
func (s *Shop) LogContains(name string, parts ...string) bool {
	f, err := os.Open(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		all := true
		for _, p := range parts {
			if !bytes.Contains(line, []byte(p)) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func dial(port int) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
