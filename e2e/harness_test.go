package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// repoRoot is the checkout this test runs in.
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// build compiles the four apps once per test binary and finds daprd (building the pinned
// version if this machine has none).
func build(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		root := repoRoot(t)
		dir, err := os.MkdirTemp("", "skmall-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		for _, app := range appNames {
			cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(dir, app), ".")
			cmd.Dir = filepath.Join(root, app)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", app, err, out)
				return
			}
		}
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "dapr-tools.sh")).Output()
		if err != nil {
			buildErr = fmt.Errorf("dapr tools: %v", err)
			return
		}
		daprdPath = filepath.Join(strings.TrimSpace(string(out)), ".dapr", "bin", "daprd")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
	Name      string // as the harness knows it: the app id, or a replica's own name
	AppID     string
	URL       string // the app's REST API
	DaprHTTP  string // the sidecar's HTTP API
	port      int
	daprGRPC  int
	metrics   int
	app, dapr *proc
}

// Shop is the four apps, their sidecars and their stores, on one profile.
type Shop struct {
	t       testing.TB
	Profile string
	Apps    map[string]*App
	dir     string
	env     []string
	redis   *proc
	// RedisAddr is the Redis the profile's pub/sub (and, for postgres-redis, state) uses.
	RedisAddr string
	root      string
}

// StartShop starts everything the profile needs, from a clean state, and stops it when the
// test ends.
func StartShop(t *testing.T, profile string) *Shop {
	t.Helper()
	build(t)
	dir, err := os.MkdirTemp("", "skmall-e2e-"+profile+"-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Shop{t: t, Profile: profile, Apps: map[string]*App{}, dir: dir, root: repoRoot(t)}
	t.Cleanup(func() {
		s.stopAll()
		if t.Failed() {
			s.dumpLogs()
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})

	redisPort := freePort(t)
	s.redis = start(t, "redis", dir, nil, "redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(redisPort),
		"--save", "", "--appendonly", "no", "--dir", dir)
	waitFor(t, 20*time.Second, "redis to listen", func() error { return dial(redisPort) })
	s.RedisAddr = "127.0.0.1:" + strconv.Itoa(redisPort)
	s.env = append(s.env, "SKMALL_REDIS_HOST="+s.RedisAddr)

	switch profile {
	case "local", "rabbitmq":
		for _, app := range appNames {
			s.env = append(s.env, fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), filepath.Join(dir, app+".db")))
		}
	case "postgres-redis":
		for _, app := range []string{"order", "warehouse"} {
			s.env = append(s.env, fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), createDatabase(t, app)))
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
func createDatabase(t testing.TB, app string) string {
	t.Helper()
	admin := pgURL("postgres")
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

// StartApp starts an app's sidecar and the app.
func (s *Shop) StartApp(name string) {
	s.t.Helper()
	a := s.Apps[name]
	// Fresh ports on every start: a port freed by a stopped app may have gone to another process.
	a.port = freePort(s.t)
	daprHTTP, daprGRPC, internal, metrics := freePort(s.t), freePort(s.t), freePort(s.t), freePort(s.t)
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", a.port)
	a.DaprHTTP = fmt.Sprintf("http://127.0.0.1:%d", daprHTTP)
	a.daprGRPC, a.metrics = daprGRPC, metrics
	a.dapr = start(s.t, "daprd-"+name, s.dir, s.env, daprdPath,
		"--app-id", a.AppID, "--app-port", strconv.Itoa(a.port), "--app-protocol", "http",
		"--dapr-http-port", strconv.Itoa(daprHTTP), "--dapr-grpc-port", strconv.Itoa(daprGRPC),
		"--dapr-internal-grpc-port", strconv.Itoa(internal), "--metrics-port", strconv.Itoa(metrics),
		"--resources-path", filepath.Join(s.root, "components", "common"),
		"--resources-path", filepath.Join(s.root, "components", s.Profile),
		"--config", filepath.Join(s.root, "components", "config.yaml"),
		"--placement-host-address", "", "--scheduler-host-address", "", "--dapr-listen-addresses", "127.0.0.1", "--metrics-listen-address", "127.0.0.1",
		"--dapr-graceful-shutdown-seconds", "5", "--log-level", "info")
	a.app = start(s.t, name, s.dir, []string{
		"APP_PORT=" + strconv.Itoa(a.port), "DAPR_GRPC_PORT=" + strconv.Itoa(daprGRPC), "DAPR_HTTP_PORT=" + strconv.Itoa(daprHTTP),
		"LOG_LEVEL=debug",
		// Short enough for a test to see a lost reservation come back, long enough to outlast
		// any order request.
		"RESERVATION_HOLD=20s", "RESERVATION_SWEEP=1s",
	}, filepath.Join(binDir, a.AppID))
}

// StartReplica starts another instance (app and sidecar) of an app id, known to the harness
// as replica.
func (s *Shop) StartReplica(appID, replica string) {
	s.t.Helper()
	s.Apps[replica] = &App{Name: replica, AppID: appID}
	s.StartApp(replica)
	s.WaitReady(replica)
}

// StopApp stops an app and its sidecar.
func (s *Shop) StopApp(name string) {
	a := s.Apps[name]
	a.app.stop()
	a.dapr.stop()
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
	waitFor(s.t, 90*time.Second, name+" and its sidecar to be ready", func() error {
		for _, u := range []string{a.URL + "/readyz", a.DaprHTTP + "/v1.0/healthz"} {
			resp, err := http.Get(u)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s: %s", u, resp.Status)
			}
		}
		return nil
	})
}

func (s *Shop) stopAll() {
	for _, a := range s.Apps {
		if a.app != nil {
			s.StopApp(a.Name)
		}
	}
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

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waited %s for %s: %v", within, what, err)
}
