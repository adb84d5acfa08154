package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// proc is a process the harness started, with its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	from int64 // where this run's output begins in log
	done chan struct{}
}

// start runs bin in a process group of its own, which dies with the test binary, with env
// over the test's environment and its output appended to logDir/name.log.
func start(t testing.TB, name, logDir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	return startIn(t, "", name, logDir, env, bin, args...)
}

// startIn is start with the process's working folder dir ("" for the test's own).
func startIn(t testing.TB, dir, name, logDir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	from, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, from: from, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = f.Close(); close(p.done) }()
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// logged reports whether this run of the process has logged a line containing every one of
// parts.
func (p *proc) logged(parts ...string) bool { return logContainsFrom(p.log, p.from, parts...) }

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

// logContains reports whether a log file has a line containing all of parts.
func logContains(path string, parts ...string) bool { return logContainsFrom(path, 0, parts...) }

// logContainsFrom is logContains for the part of the file from byte offset from on.
func logContainsFrom(path string, from int64, parts ...string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return false
	}
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

// lastLines is the end of a log file, at most n lines.
func lastLines(path string, n int) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort is a port nothing listens on now, as flags and addresses take it.
func freePort(t testing.TB) string { return strconv.Itoa(daprtest.FreePort(t)) }

// dial reports whether something listens on a port of the loopback address.
func dial(port int) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	daprtest.Eventually(t, 60*time.Second, url, func() error { return daprtest.Healthy(url) })
}

// scrape sums the samples of a metric a process serves at url (Prometheus text) whose labels
// include every one of labels (each written as name="value").
func scrape(t testing.TB, url, metric string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	return sumSamples(resp.Body, metric, labels...)
}

// sumSamples sums the samples of a metric in a Prometheus text exposition whose labels include
// every one of labels.
func sumSamples(exposition io.Reader, metric string, labels ...string) float64 {
	sum := 0.0
	sc := bufio.NewScanner(exposition)
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
