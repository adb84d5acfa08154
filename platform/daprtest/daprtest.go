// Package daprtest starts real infrastructure for integration tests: a private redis-server
// and a daprd sidecar (without an app) loading the project's component files. Nothing here is
// a mock: adapters under test talk to a real sidecar and real stores.
package daprtest

import (
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

	dapr "github.com/dapr/go-sdk/client"
)

// RepoRoot finds the checkout (the folder holding go.work) from the test's folder.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test folder")
		}
		dir = parent
	}
}

var (
	daprdOnce sync.Once
	daprdPath string
	daprdErr  error
)

// Daprd returns the pinned daprd, building it (once per machine) when there is none.
func Daprd(t testing.TB) string {
	t.Helper()
	daprdOnce.Do(func() {
		out, err := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "dapr-tools.sh")).Output()
		if err != nil {
			daprdErr = fmt.Errorf("dapr tools: %w", err)
			return
		}
		daprdPath = filepath.Join(strings.TrimSpace(string(out)), ".dapr", "bin", "daprd")
	})
	if daprdErr != nil {
		t.Fatal(daprdErr)
	}
	return daprdPath
}

var (
	portsMu sync.Mutex
	handed  = map[int]bool{}
)

// FreePort returns a port nobody listens on, and never the same one twice in a test binary:
// a port handed out but not yet bound by its (slow-starting) process would otherwise look
// free to the next caller.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port //nolint:errcheck // a TCP listener's address is a *net.TCPAddr
		_ = l.Close()
		if !handed[port] {
			handed[port] = true
			return port
		}
	}
	t.Fatal("no fresh free port")
	return 0
}

// Run starts a process for the length of the test, its output in dir/name.log.
func Run(t testing.TB, dir, name string, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = f.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if raw, err := os.ReadFile(filepath.Join(dir, name+".log")); err == nil {
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				if len(lines) > 30 {
					lines = lines[len(lines)-30:]
				}
				t.Logf("--- last lines of %s ---\n%s", name, strings.Join(lines, "\n"))
			}
		}
	})
	return cmd
}

// Redis starts a private redis-server and returns its address.
func Redis(t testing.TB, dir string) string {
	t.Helper()
	port := FreePort(t)
	Run(t, dir, "redis", nil, "redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	Eventually(t, 20*time.Second, "redis to listen", func() error {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", addr)
		if err != nil {
			return fmt.Errorf("dial redis: %w", err)
		}
		return c.Close()
	})
	return addr
}

// LocalProfile starts a sidecar with the project's local profile (SQLite state stores in a
// temporary folder, Redis Streams on a private Redis) for appID, and returns a client of it.
func LocalProfile(t testing.TB, appID string) dapr.Client {
	t.Helper()
	dir := t.TempDir()
	env := []string{"SKMALL_REDIS_HOST=" + Redis(t, dir)}
	for _, app := range []string{"order", "warehouse", "delivery", "mypage"} {
		env = append(env, fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), SQLiteFile(filepath.Join(dir, app+".db"))))
	}
	root := RepoRoot(t)
	return Sidecar(t, dir, appID, env,
		filepath.Join(root, "components", "common"), filepath.Join(root, "components", "local"))
}

// Sidecar starts daprd for appID, without an app, loading the given resource folders.
func Sidecar(t testing.TB, dir, appID string, env []string, resources ...string) dapr.Client {
	t.Helper()
	httpPort, grpcPort := FreePort(t), FreePort(t)
	// The name resolver in a file of dir, not Dapr's default mDNS, which multicasts.
	config := filepath.Join(dir, "daprd-config.yaml")
	spec := NameResolution(filepath.Join(dir, NameResolutionFile))
	if err := os.WriteFile(config, []byte("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: sidecar\nspec:\n"+spec), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", config,
		"--app-id", appID, "--dapr-http-port", strconv.Itoa(httpPort), "--dapr-grpc-port", strconv.Itoa(grpcPort),
		"--dapr-internal-grpc-port", strconv.Itoa(FreePort(t)), "--metrics-port", strconv.Itoa(FreePort(t)),
		"--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--placement-host-address", "", "--scheduler-host-address", "", "--log-level", "warn",
	}
	for _, r := range resources {
		args = append(args, "--resources-path", r)
	}
	Run(t, dir, "daprd-"+appID, append(env, "DAPR_HOST_IP=127.0.0.1"), Daprd(t), args...)
	Eventually(t, 60*time.Second, "daprd to be healthy", func() error {
		return Healthy(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", httpPort))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dapr.NewClientWithAddressContext(ctx, "127.0.0.1:"+strconv.Itoa(grpcPort))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// SQLiteFile is the connection string of a SQLite state store in the file at path, as
// scripts/run.sh gives it to the local profile (components/local/statestores.yaml says why).
func SQLiteFile(path string) string {
	return "file:" + path + "?_pragma=synchronous(NORMAL)"
}

// NameResolutionFile is the name resolution file's name in the folder its sidecars run in
// (components/config.yaml names it too).
const NameResolutionFile = "nameresolution.db"

// NameResolution is the part of a sidecar Configuration's spec that has it find other
// sidecars in the SQLite file at path, as components/config.yaml has it (which says why).
func NameResolution(path string) string {
	return "  nameResolution:\n    component: sqlite\n    version: v1\n    configuration:\n" +
		"      connectionString: \"" + SQLiteFile(path) + "\"\n      busyTimeout: 3s\n" +
		"      updateInterval: 10s\n      timeout: 4s\n      cleanupInterval: \"0\"\n"
}

// Healthy returns nil when url answers a GET with a 2xx status, and what went wrong if not.
func Healthy(url string) error {
	resp, err := http.Get(url) //nolint:noctx // a probe of a local process, bounded by the client's default transport
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// Eventually polls cond until it holds or within has passed.
func Eventually(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited %s for %s: %v", within, what, err)
}
