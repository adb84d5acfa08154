package e2e

import (
	"errors"
	"fmt"
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

// TestBackgroundBuildYieldsAndEndsWithMakeTest starts the cluster's background build as make
// prebuild-cluster does (its own session, lowest priority, for a parent process). The kernel
// shares the CPUs between sessions (autogroups) equally, whatever the nice of their processes,
// so the session itself must have the lowest priority, or the build takes half the machine from
// the tests. When the parent ends, the build ends with it.
func TestBackgroundBuildYieldsAndEndsWithMakeTest(t *testing.T) {
	t.Parallel()
	script, env, bin := clusterToolsCache(t)
	// Holding the build's lock keeps the build waiting before it builds anything.
	holdLock(t, filepath.Join(bin, ".lock"))

	parent := exec.Command("sleep", "600")
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parent.Process.Kill(); _ = parent.Wait() }()
	build := exec.Command("setsid", "nice", "-n", "19", "bash", script, "--for", strconv.Itoa(parent.Process.Pid))
	build.Env = env
	if err := build.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- build.Wait() }()
	pid := build.Process.Pid
	defer func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }()

	if _, err := os.Stat("/proc/self/autogroup"); err == nil {
		daprtest.Eventually(t, 10*time.Second, "the build's session to have the lowest priority", func() error {
			group, err := os.ReadFile(fmt.Sprintf("/proc/%d/autogroup", pid))
			if err != nil {
				return err
			}
			if !strings.HasSuffix(strings.TrimSpace(string(group)), " nice 19") {
				return fmt.Errorf("autogroup %q", strings.TrimSpace(string(group)))
			}
			return nil
		})
	}

	_ = parent.Process.Kill()
	_ = parent.Wait()
	select {
	case err := <-ended:
		t.Logf("the build ended with its parent: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the build still runs 15 s after its parent ended")
	}
	daprtest.Eventually(t, 10*time.Second, "nothing of the build to be left", func() error {
		switch err := syscall.Kill(-pid, 0); {
		case err == nil:
			return errors.New("its process group is still there")
		case !errors.Is(err, syscall.ESRCH):
			return fmt.Errorf("signalling its process group: %w", err)
		}
		return nil
	})
}

// TestClusterComesUpWhileTheIngressBuilds: make cluster asks for every program but Traefik
// (--core) and starts the node while the background build is still on Traefik, the largest;
// it asks for all of them only to add the ingress controller last.
func TestClusterComesUpWhileTheIngressBuilds(t *testing.T) {
	t.Parallel()
	script, env, bin := clusterToolsCache(t)
	tools := func(args ...string) (printed *strings.Builder, done <-chan error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = env
		printed = &strings.Builder{}
		cmd.Stdout = printed
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ended := make(chan error, 1)
		go func() { ended <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return printed, ended
	}
	// The core programs are built; Traefik is being built (its lock held).
	for _, name := range []string{"kubelet", "pause", "etcd", "coredns", "metrics-server", "crictl"} {
		standIn(t, filepath.Join(bin, name))
	}
	lock := holdLock(t, filepath.Join(bin, ".ingress.lock"))

	// printsFolder waits up to 30 s for a run to end well, having printed the programs' folder.
	printsFolder := func(what string, printed *strings.Builder, done <-chan error, stillWaiting string) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil || strings.TrimSpace(printed.String()) != bin {
				t.Fatalf("%s: %v, printed %q", what, err, printed.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal(stillWaiting)
		}
	}

	printed, done := tools("--core")
	printsFolder("--core", printed, done, "--core waited for the ingress controller's build")
	if _, err := os.Stat(filepath.Join(bin, "versions.env")); err != nil {
		t.Errorf("--core left no versions.env: %v", err)
	}

	printed, done = tools()
	select {
	case err := <-done:
		t.Fatalf("every program was there before Traefik's build ended: %v, printed %q", err, printed.String())
	case <-time.After(3 * time.Second):
	}
	// Traefik built: the lock is let go.
	standIn(t, filepath.Join(bin, "traefik"))
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	printsFolder("every program", printed, done, "still waiting 30 s after Traefik's build ended")
}

// clusterToolsCache returns scripts/cluster-tools.sh, an environment that gives it an empty
// cache of the test's own, and the folder (made) it keeps the programs in there.
func clusterToolsCache(t *testing.T) (script string, env []string, bin string) {
	t.Helper()
	script = filepath.Join(daprtest.RepoRoot(t), "scripts", "cluster-tools.sh")
	env = append(os.Environ(), "SKMALL_CACHE="+t.TempDir())
	folder := exec.Command("bash", script, "--folder")
	folder.Env = env
	out, err := folder.Output()
	if err != nil {
		t.Fatal(err)
	}
	bin = strings.TrimSpace(string(out))
	if err := os.MkdirAll(bin, 0o750); err != nil {
		t.Fatal(err)
	}
	return script, env, bin
}

// holdLock takes the flock on path, as a build in progress holds it, until the test ends.
func holdLock(t *testing.T, path string) *os.File {
	t.Helper()
	lock, err := os.Create(path) //nolint:gosec // a file in the test's own folder
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return lock
}

// standIn puts a program at path that does nothing, as if it had been built.
func standIn(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o750); err != nil { //nolint:gosec // a stand-in program
		t.Fatal(err)
	}
}
