// Package svc runs a service: configuration, logging, metrics, the Dapr client, probes and
// an HTTP server that drains on shutdown. Each service only adds its own routes.
package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/config"
	"github.com/skmall/skmall/platform/daprclient"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/httpx"
	"github.com/skmall/skmall/platform/telemetry"
)

// Base is the configuration every service has; services embed it in their own.
type Base struct {
	Port         int    `envconfig:"APP_PORT"`
	LogLevel     string `envconfig:"LOG_LEVEL" default:"info"`
	DaprHost     string `envconfig:"DAPR_HOST" default:"127.0.0.1"`
	DaprGRPCPort int    `envconfig:"DAPR_GRPC_PORT" default:"50001"`
	DaprHTTPPort int    `envconfig:"DAPR_HTTP_PORT" default:"3500"`
	// DaprAPIToken is what the app shows its sidecar; AppAPIToken what the sidecar shows the
	// app on the routes only it may call (events, service invocation).
	DaprAPIToken string        `envconfig:"DAPR_API_TOKEN" secret:"true" required:"true"`
	AppAPIToken  string        `envconfig:"APP_API_TOKEN" secret:"true" required:"true"`
	DaprWait     time.Duration `envconfig:"DAPR_WAIT" default:"60s"`
	// On SIGTERM readiness fails at once; the app keeps serving for ShutdownDelay (while load
	// balancers notice), then until its sidecar has stopped, then stops accepting and finishes
	// in-flight work: the last two within Drain.
	ShutdownDelay time.Duration `envconfig:"SHUTDOWN_DELAY" default:"5s"`
	Drain         time.Duration `envconfig:"SHUTDOWN_DRAIN" default:"10s"`
	PubSub        string        `envconfig:"PUBSUB_NAME" default:"pubsub"`
	// PprofAddr, when set (e.g. 127.0.0.1:6060), serves the Go profiler there, apart from the
	// API, for finding where time and memory go.
	PprofAddr string `envconfig:"PPROF_ADDR"`
	auth.Config
}

// DefaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets another:
// near it the garbage collector runs sooner instead of letting the heap grow to twice what is
// live, which keeps a service's memory under load close to its memory at rest. A service's
// live heap stays under 10 MiB even when overloaded (make bench); should it outgrow the
// limit, the collector spends at most about half the CPU before it lets the heap grow.
const DefaultMemoryLimit = 24 << 20

// DefaultMaxProcs is how many threads at once run a service's Go code unless GOMAXPROCS says
// otherwise. Go's default, one per core, has an idle runtime wake a second thread to look for
// work whenever a request arrives, which beside its sidecar and the other services costs most
// where requests are few and far between: make bench measured about a quarter less CPU per
// order in the apps at 25 orders/s with one (components/daprd.env does the same for the
// sidecars). A service's work per request is small and its replicas scale out.
const DefaultMaxProcs = 1

// setRuntimeDefaults gives the Go runtime the service's defaults where the environment sets
// none.
func setRuntimeDefaults() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(DefaultMaxProcs)
	}
}

// Deps is what a service's routes are built from.
type Deps struct {
	Log      *slog.Logger
	Dapr     dapr.Client
	Registry *prometheus.Registry
	Events   *eventsub.Metrics
	// Guard wraps every route but the probes and metrics: bearer tokens for the public API,
	// the app API token for what only the sidecar may call.
	Guard *auth.Guard
}

// Service describes one service to Run.
type Service struct {
	Name string
	// Config points at the service's configuration struct, which embeds Base.
	Config any
	Base   *Base
	// Build adds the service's routes to r and returns the work it does in the background.
	// Run runs the workers for as long as it serves, and stops them before it closes the Dapr
	// client they use.
	Build func(r *mux.Router, d Deps) ([]Worker, error)
	// Ready reports whether the service can serve (its store reachable through its sidecar).
	Ready func(ctx context.Context, d Deps) error
}

// Run runs s until ctx ends.
func Run(ctx context.Context, s Service) error {
	if err := config.Load(s.Config); err != nil {
		return err
	}
	log := telemetry.NewLogger(s.Name, s.Base.LogLevel)
	config.Log(log, s.Config)
	setRuntimeDefaults()
	log.InfoContext(ctx, "go runtime", "softLimitBytes", debug.SetMemoryLimit(-1), "maxProcs", runtime.GOMAXPROCS(0))

	verifier, err := auth.NewVerifier(ctx, s.Base.Config)
	if err != nil {
		return err
	}
	guard, err := auth.NewGuard(verifier, s.Base.AppAPIToken, log)
	if err != nil {
		return err
	}
	client, err := daprclient.Connect(ctx, net.JoinHostPort(s.Base.DaprHost, strconv.Itoa(s.Base.DaprGRPCPort)), s.Base.DaprAPIToken, s.Base.DaprWait, log)
	if err != nil {
		return err
	}
	defer client.Close()

	reg := telemetry.NewRegistry()
	d := Deps{Log: log, Dapr: client, Registry: reg, Events: eventsub.NewMetrics(reg), Guard: guard}
	red := httpx.NewRED(reg)

	r := mux.NewRouter()
	r.Use(httpx.Trace, red.Middleware(log))
	r.Handle("/metrics", telemetry.Handler(reg)).Methods(http.MethodGet)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	}).Methods(http.MethodGet)
	var going atomic.Bool
	ready := func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		if s.Ready != nil {
			if err := s.Ready(ctx, d); err != nil {
				httpx.WriteProblem(w, req, http.StatusServiceUnavailable, "not-ready", "Not ready", err.Error())
				return
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
	r.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		if going.Load() {
			httpx.WriteProblem(w, req, http.StatusServiceUnavailable, "shutting-down", "Shutting down",
				"This instance is stopping; send requests to another.")
			return
		}
		ready(w, req)
	}).Methods(http.MethodGet)
	// The sidecar's app health check: can events be processed now (the store reachable)?
	// While it fails, daprd stops delivering events instead of spending their retries and
	// dead-lettering them; unlike /readyz it holds while the instance drains on shutdown.
	r.HandleFunc("/readyz/events", ready).Methods(http.MethodGet)
	workers, err := s.Build(r, d)
	if err != nil {
		return fmt.Errorf("build %s: %w", s.Name, err)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		httpx.WriteProblem(w, req, http.StatusNotFound, "not-found", "Not found", "no such resource: "+req.URL.Path)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		httpx.WriteProblem(w, req, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			req.Method+" is not supported on "+req.URL.Path)
	})

	if s.Base.PprofAddr != "" {
		workers = append(workers, Worker{Name: "profiler", Run: func(ctx context.Context) error {
			return servePprof(ctx, s.Base.PprofAddr, log)
		}})
	}
	srv := httpx.NewServer(":"+strconv.Itoa(s.Base.Port), r)
	serve := func(ctx context.Context) error {
		return httpx.Serve(ctx, srv, httpx.Shutdown{
			Going: func() { going.Store(true) }, Delay: s.Base.ShutdownDelay, Drain: s.Base.Drain,
			// The sidecar forwards invocations and events here until it has stopped.
			Linger: func(ctx context.Context) { daprclient.WaitGone(ctx, s.Base.DaprHTTP(), log) },
		}, log)
	}
	return runAll(ctx, serve, workers, log)
}

// Worker is work a service does in the background for as long as it serves.
type Worker struct {
	Name string
	// Run works until ctx ends. An error it returns before that stops the whole service.
	Run func(ctx context.Context) error
}

// Every is a worker that runs pass every interval until ctx ends. A failed pass is logged
// and the next one comes on time.
func Every(name string, every time.Duration, pass func(ctx context.Context) error, log *slog.Logger) Worker {
	return Worker{Name: name, Run: func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if err := pass(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "background pass failed; trying again next time", "worker", name, "err", err)
			}
		}
	}}
}

// runAll serves and runs the workers beside until ctx ends or one of them fails, and returns
// only when the server has drained and every worker has stopped.
func runAll(ctx context.Context, serve func(context.Context) error, workers []Worker, log *slog.Logger) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(ctx) })
	for _, w := range workers {
		g.Go(func() error {
			err := w.Run(ctx)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("worker %s: %w", w.Name, err)
			}
			log.InfoContext(ctx, "worker stopped", "worker", w.Name)
			return nil
		})
	}
	return g.Wait()
}

// DaprHTTP is the base URL of the sidecar's HTTP API.
func (b Base) DaprHTTP() string {
	return "http://" + net.JoinHostPort(b.DaprHost, strconv.Itoa(b.DaprHTTPPort))
}

// StoreReady is a readiness check: the named state store answers through the sidecar.
func StoreReady(store *string) func(ctx context.Context, d Deps) error {
	return func(ctx context.Context, d Deps) error {
		if _, err := d.Dapr.GetState(ctx, *store, "readiness-probe", nil); err != nil {
			return fmt.Errorf("state store %s: %w", *store, err)
		}
		return nil
	}
}

// servePprof serves the Go profiler on addr until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	log.InfoContext(ctx, "profiler listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("profiler on %s: %w", addr, err)
	}
	return nil
}

// Main runs a service's run function until SIGINT or SIGTERM, and exits non-zero with the
// error if it fails.
func Main(name string, run func(ctx context.Context) error) {
	if err := runUntilSignalled(run); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

func runUntilSignalled(run func(ctx context.Context) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx)
}
