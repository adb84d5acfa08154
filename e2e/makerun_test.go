package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skmall/skmall/platform/auth/devkeys"
	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/svc"
)

// runPorts are the fixed ports `make run` listens on: the run file's, plus the gateway's, the
// gRPC APIs' (the apps' defaults), Sentry's and the local Redis (scripts/run.sh).
func runPorts(t testing.TB, root string) map[string]int {
	t.Helper()
	var run struct {
		Apps []struct {
			AppID                string `json:"appID"`
			AppPort              int    `json:"appPort"`
			DaprHTTPPort         int    `json:"daprHTTPPort"`
			DaprGRPCPort         int    `json:"daprGRPCPort"`
			DaprInternalGRPCPort int    `json:"daprInternalGRPCPort"`
			MetricsPort          int    `json:"metricsPort"`
		} `json:"apps"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(root, "dapr.yaml")), &run); err != nil {
		t.Fatal(err)
	}
	ports := map[string]int{"gateway": 8080, "order gRPC": 9082, "mypage gRPC": 9084,
		"sentry": 3590, "sentry health": 9096, "sentry metrics": 9095, "redis": 6390}
	for _, a := range run.Apps {
		for what, p := range map[string]int{"app": a.AppPort, "sidecar HTTP": a.DaprHTTPPort, "sidecar gRPC": a.DaprGRPCPort,
			"sidecar internal gRPC": a.DaprInternalGRPCPort, "sidecar metrics": a.MetricsPort} {
			if p == 0 {
				t.Fatalf("dapr.yaml leaves the %s port of %s to chance", what, a.AppID)
			}
			ports[a.AppID+" "+what] = p
		}
	}
	return ports
}

// shopProcesses lists the processes of a `make run` still alive: the CLI, the sidecars, the
// apps, the gateway (its pid file is in data), Sentry, the private Redis and the script itself.
// Each has make run's SKMALL_DATA in its environment; the tests' own shops, which run beside
// this one with the same components, do not.
func shopProcesses(data string) []string {
	var left []string
	for _, p := range processes() {
		cmd := strings.Join(p.argv, " ")
		if slices.Contains(p.env, "SKMALL_DATA="+data) {
			left = append(left, p.pid+": "+cmd)
			continue
		}
		for _, mark := range []string{data, "scripts/run.sh", "../bin/warehouse", "../bin/order",
			"../bin/delivery", "../bin/mypage", "sentry --config components/sentry", "redis-server 127.0.0.1:6390"} {
			if strings.Contains(cmd, mark) {
				left = append(left, p.pid+": "+cmd)
				break
			}
		}
	}
	return left
}

// process is a process of this machine as /proc shows it.
type process struct {
	pid       string
	argv, env []string
}

// processes lists this machine's processes that have a command line (kernel threads do not).
func processes() []process {
	var out []process
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		out = append(out, process{pid: e.Name(), argv: strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00"),
			env: strings.Split(string(bytes.TrimRight(environ, "\x00")), "\x00")})
	}
	return out
}

// sidecarsHaveTheirRuntime checks that each sidecar of the make run whose data is data runs
// with the Go runtime's settings of components/daprd.env.
func sidecarsHaveTheirRuntime(t *testing.T, root, data string) {
	t.Helper()
	want := sidecarRuntimeOf(t, root)
	sidecars := 0
	for _, p := range processes() {
		if filepath.Base(p.argv[0]) != "daprd" || !slices.Contains(p.env, "SKMALL_DATA="+data) {
			continue
		}
		sidecars++
		for _, kv := range want {
			if !slices.Contains(p.env, kv) {
				t.Errorf("the sidecar %s runs without %s", strings.Join(p.argv, " "), kv)
			}
		}
	}
	if sidecars != len(appNames) {
		t.Errorf("found %d sidecars of make run, want %d", sidecars, len(appNames))
	}
}

// appsHaveTheirRuntime checks that each app of the make run on ports runs its Go code on
// platform/svc's default number of threads, as its /metrics tells.
func appsHaveTheirRuntime(t *testing.T, ports map[string]int) {
	t.Helper()
	for _, app := range appNames {
		url := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[app+" app"])
		if n := scrape(t, url, "go_sched_gomaxprocs_threads"); n != svc.DefaultMaxProcs {
			t.Errorf("%s runs its Go code on %v threads at a time, want %d", app, n, svc.DefaultMaxProcs)
		}
	}
}

// TestMakeRunStartsAndStopsFromAScript starts `make run` ten times in a row as a script or a
// supervisor would: in the background, without a terminal (where a shell ignores SIGINT). Each
// time the whole shop comes up on its fixed ports, every app refuses another app's API token,
// and a signal to the script's process group (SIGINT; SIGTERM the last time) stops everything:
// no process is left and every port is free again. The sidecars log no errors that are not
// errors.
func TestMakeRunStartsAndStopsFromAScript(t *testing.T) {
	t.Parallel()
	root := daprtest.RepoRoot(t)
	data := t.TempDir()
	ports := runPorts(t, root)

	var lo, hi int
	if _, err := fmt.Sscan(string(readFile(t, "/proc/sys/net/ipv4/ip_local_port_range")), &lo, &hi); err != nil {
		t.Fatal(err)
	}
	for what, p := range ports {
		if p >= lo && p <= hi {
			t.Errorf("the %s port %d lies in the kernel's ephemeral range %d-%d: a client socket can take it first", what, p, lo, hi)
		}
		if dial(p) == nil {
			t.Fatalf("port %d (%s) is in use: is a shop running? (make stop)", p, what)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	started := time.Now()
	for i := range 10 {
		sig := syscall.SIGINT
		if i == 9 {
			sig = syscall.SIGTERM
		}
		log, err := os.Create(filepath.Join(data, fmt.Sprintf("make-run-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", "make run & wait")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "SKMALL_DATA="+data)
		cmd.Stdout, cmd.Stderr, cmd.Stdin = log, log, nil
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		within := 60 * time.Second
		if i == 0 {
			within = 5 * time.Minute // the first start builds the apps
		}
		deadline := time.Now().Add(within)
		var notUp error
		for time.Now().Before(deadline) {
			if notUp = shopIsUp(ports); notUp == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if notUp != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("start %d: not up within %s: %v\n%s", i+1, within, notUp, readFile(t, log.Name()))
		}
		if i == 0 {
			tokensAreTheirAppsOwn(t, data)
			gatewayServesTheShop(t, data)
			sidecarsHaveTheirRuntime(t, root, data)
			appsHaveTheirRuntime(t, ports)
		}
		if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
			t.Fatal(err)
		}
		if sig == syscall.SIGTERM {
			// A supervisor may say it twice, and make forwards SIGTERM to its recipe on its own:
			// a second one while the shop stops must not cut the stop short.
			for range 5 {
				time.Sleep(50 * time.Millisecond)
				_ = syscall.Kill(-cmd.Process.Pid, sig)
			}
		}
		select {
		case err := <-exited:
			// Its exit status after a signal proves nothing (what is left running, below, does);
			// it is logged for when the test fails.
			t.Logf("start %d: make run exited after %s: %v", i+1, sig, err)
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("start %d: %s did not stop make run within 45s\n%s", i+1, sig, readFile(t, log.Name()))
		}
		var left []string
		for range 50 {
			if left = shopProcesses(data); len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Fatalf("start %d: after %s these are still running:\n%s", i+1, sig, strings.Join(left, "\n"))
		}
		for what, p := range ports {
			if dial(p) == nil {
				t.Fatalf("start %d: after %s port %d (%s) still answers", i+1, sig, p, what)
			}
		}
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
	}

	for _, app := range appNames {
		logs, _ := filepath.Glob(filepath.Join(root, app, ".dapr", "logs", "*daprd*.log"))
		read := 0
		for _, f := range logs {
			if st, err := os.Stat(f); err != nil || st.ModTime().Before(started) {
				continue
			}
			read++
			text := string(readFile(t, f))
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, "level=error") || strings.Contains(line, "level=fatal") || strings.Contains(line, "Failed to connect") {
					t.Errorf("%s: %s", filepath.Base(f), line)
					break
				}
			}
			if !strings.Contains(text, "Scheduler disabled") {
				t.Errorf("%s: the sidecar was not started without a scheduler", filepath.Base(f))
			}
		}
		if read == 0 {
			t.Errorf("no sidecar log of %s written during the test", app)
		}
	}
}

// shopIsUp returns nil once every app is ready and every sidecar healthy.
func shopIsUp(ports map[string]int) error {
	for _, app := range appNames {
		for _, u := range []string{
			fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[app+" app"]),
			fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", ports[app+" sidecar HTTP"]),
		} {
			if err := daprtest.Healthy(u); err != nil {
				return err
			}
		}
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:3590", time.Second)
	if err != nil {
		return err
	}
	_ = c.Close()
	return nil
}

// gatewayServesTheShop: localhost:8080 routes a customer's request to the shop, with a token
// signed with the run's key, as make token signs them.
func gatewayServesTheShop(t *testing.T, data string) {
	t.Helper()
	keys, err := devkeys.Ensure(filepath.Join(data, "auth"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.Token("alice", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://localhost:8080/mypage/alice/orders", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	r, err := send(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"orders"`) {
		t.Errorf("alice's page through localhost:8080: %d %s", r.Status, r.Body)
	}
}

// tokensAreTheirAppsOwn: the token mypage's sidecar shows mypage does not open the warehouse's
// reservation API; the warehouse's own does.
func tokensAreTheirAppsOwn(t *testing.T, data string) {
	t.Helper()
	reserve := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8081/reservations",
			strings.NewReader(`{"orderId":"probe","productId":"nothing-here","qty":1,"reservationId":"r1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("dapr-api-token", token)
		r, err := send(req)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	token := func(app string) string {
		return strings.TrimSpace(string(readFile(t, filepath.Join(data, "tokens", app+".app"))))
	}
	if got := reserve(token("mypage")); got != http.StatusForbidden {
		t.Errorf("mypage's app token at the warehouse's reservation API: %d, want 403", got)
	}
	if got := reserve(token("warehouse")); got != http.StatusOK {
		t.Errorf("the warehouse's own app token at its reservation API: %d, want 200", got)
	}
}
