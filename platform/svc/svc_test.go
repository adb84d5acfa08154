package svc

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

// A service's workers use its Dapr client, which Run closes as soon as runAll returns: runAll
// must not return before every worker has stopped, however slowly.
func TestRunAllReturnsOnlyWhenEveryWorkerStopped(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stopped atomic.Int32
	slow := func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // finishing its last pass
		stopped.Add(1)
		return ctx.Err() // how a worker may end: runAll takes it as a clean stop
	}
	serve := func(ctx context.Context) error { <-ctx.Done(); return nil }
	done := make(chan error, 1)
	go func() { done <- runAll(ctx, serve, []Worker{{Name: "a", Run: slow}, {Name: "b", Run: slow}}, quiet) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runAll = %v, want nil on a clean stop", err)
	}
	if n := stopped.Load(); n != 2 {
		t.Fatalf("runAll returned with %d of 2 workers stopped", n)
	}
}

// A worker that fails stops the service (the server drains) instead of leaving it running
// without its background work.
func TestAFailingWorkerStopsTheService(t *testing.T) {
	t.Parallel()
	var served atomic.Bool
	serve := func(ctx context.Context) error { <-ctx.Done(); served.Store(true); return nil }
	boom := errors.New("boom")
	err := runAll(context.Background(), serve, []Worker{{Name: "broken", Run: func(context.Context) error { return boom }}}, quiet)
	if !errors.Is(err, boom) {
		t.Fatalf("runAll = %v, want the worker's error", err)
	}
	if !served.Load() {
		t.Fatal("runAll returned before the server stopped")
	}
}

func TestEveryRunsPassesUntilTheContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var passes atomic.Int32
	w := Every("tick", time.Millisecond, func(context.Context) error {
		if passes.Add(1) == 3 {
			cancel()
		}
		return errors.New("a failed pass is logged, not fatal")
	}, quiet)
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil when ctx ends", err)
	}
	if n := passes.Load(); n < 3 {
		t.Fatalf("%d passes, want at least 3", n)
	}
}

// A service runs on one thread at a time with a soft memory limit, unless GOMAXPROCS or
// GOMEMLIMIT say otherwise.
func TestRuntimeDefaultsGiveWayToTheEnvironment(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GOMAXPROCS(3)
	setRuntimeDefaults()
	if got := runtime.GOMAXPROCS(0); got != DefaultMaxProcs {
		t.Errorf("GOMAXPROCS unset: %d threads, want %d", got, DefaultMaxProcs)
	}
	if got := debug.SetMemoryLimit(-1); got != DefaultMemoryLimit {
		t.Errorf("GOMEMLIMIT unset: soft limit %d, want %d", got, DefaultMemoryLimit)
	}

	// The runtime read them at start; a service leaves what they set alone.
	t.Setenv("GOMAXPROCS", "3")
	t.Setenv("GOMEMLIMIT", "64MiB")
	runtime.GOMAXPROCS(3)
	debug.SetMemoryLimit(64 << 20)
	setRuntimeDefaults()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS=3: %d threads", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("GOMEMLIMIT=64MiB: soft limit %d", got)
	}
}
