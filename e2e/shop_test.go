package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// Shop is the four apps, their sidecars and their stores, on one profile.
type Shop struct {
	t       testing.TB
	Profile string
	Apps    map[string]*App
	// RedisAddr is the Redis the profile's pub/sub (and, for postgres-redis, state) uses.
	RedisAddr string
	// Proxies are the fault-injecting proxies in front of stores (ProxyStore), by app.
	Proxies map[string]*FaultProxy
	// BrokerProxies are the fault-injecting proxies between sidecars and the broker
	// (ProxyBroker), by app.
	BrokerProxies map[string]*FaultProxy

	opts options
	root string // the repository
	dir  string // the shop's logs and data
	// components is the folder the sidecars load their components from: the project's
	// components/, or a copy a test changed (EditComponents).
	components string
	env        []string            // what the sidecars are given: the stores' connection strings
	appDaprEnv map[string][]string // and what one app's sidecars are given over that, by app id
	gateway    *Gateway            // with ThroughGateway: where Call sends the public paths
	host       string              // on a cluster: the Host the ingress routes by
	routes     map[string]string
	redis      *redisServer    // every profile's
	kafka      *proc           // the kafka profile's broker
	kafkaPort  int             // where it listens
	kafkaArgs  []string        // and how it is started
	postgres   *postgresServer // with PrivatePostgres
	// lastAudit is what the last audit found, repeated after the logs of a failed test: CI
	// shows the end of a failed test's output.
	lastAudit atomic.Pointer[[]error]
}

// Option changes how a shop is set up.
type Option func(*options)

type options struct {
	durableBroker   bool
	privatePostgres bool
	proxied         []string
	brokerProxied   []string
	appEnv          []string
	editComponents  func(t testing.TB, dir string)
	profiling       bool
	shippedTimings  bool
	throughGateway  bool
	flushDelay      time.Duration
}

// DurableBroker makes the shop's Redis (or Kafka stand-in) write every change to disk before
// answering, so that it can be killed and restarted without losing a message.
func DurableBroker() Option { return func(o *options) { o.durableBroker = true } }

// PrivatePostgres gives the shop a PostgreSQL server of its own, which the test may restart.
func PrivatePostgres() Option { return func(o *options) { o.privatePostgres = true } }

// ProxyStore puts a FaultProxy between an app's sidecar and its PostgreSQL database
// (postgres-redis profile); the test finds it in Shop.Proxies.
func ProxyStore(app string) Option { return func(o *options) { o.proxied = append(o.proxied, app) } }

// ProxyBroker puts a FaultProxy between an app's sidecars and the broker, the shop's Redis
// (postgres-redis profile); the test finds it in Shop.BrokerProxies.
func ProxyBroker(app string) Option {
	return func(o *options) { o.brokerProxied = append(o.brokerProxied, app) }
}

// EditComponents gives the shop's sidecars a copy of components/ that edit changes first (for
// example a shorter retry budget in common/resiliency.yaml).
func EditComponents(edit func(t testing.TB, dir string)) Option {
	return func(o *options) { o.editComponents = edit }
}

// ThroughGateway puts the gateway in front of the shop, as make run does: Call sends every
// public path through it (with a rate limit no test reaches), the rest straight to the app.
func ThroughGateway() Option { return func(o *options) { o.throughGateway = true } }

// SlowDisk makes every flush to disk (fsync, fdatasync) of the shop's sidecars take delay: a
// disk busy with other writes, or one across a network. Nothing else slows down.
func SlowDisk(delay time.Duration) Option { return func(o *options) { o.flushDelay = delay } }

// ShippedTimings runs the apps with the timings they ship with (RESERVATION_HOLD,
// RESERVATION_SWEEP, REPUBLISH_AFTER) instead of the tests' short ones: a warehouse that looks
// for expired holds every second does work no shop does.
func ShippedTimings() Option { return func(o *options) { o.shippedTimings = true } }

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
	s := &Shop{t: t, Profile: profile, Apps: map[string]*App{}, Proxies: map[string]*FaultProxy{},
		BrokerProxies: map[string]*FaultProxy{}, appDaprEnv: map[string][]string{},
		opts: o, root: daprtest.RepoRoot(t), dir: dir}
	t.Cleanup(func() {
		s.stopAll()
		if t.Failed() {
			s.dumpLogs()
			t.Logf("logs kept in %s", dir)
			s.repeatLastAudit()
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
	newNameResolutionFile(t, dir)
	s.env = s.startStores(o)

	for _, name := range appNames {
		s.Apps[name] = &App{Name: name, AppID: name}
	}
	for _, name := range appNames {
		s.StartApp(name)
	}
	for _, name := range appNames {
		s.WaitReady(name)
	}
	if o.throughGateway {
		s.gateway, s.routes = s.StartGateway("GATEWAY_RATE_LIMIT=1000000"), publicRoutes(t, s.root)
	}
	return s
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
	if s.kafka != nil {
		s.kafka.stop()
	}
	if s.redis != nil && s.redis.proc != nil {
		s.redis.proc.stop()
	}
}

func (s *Shop) dumpLogs() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".log") {
			s.t.Logf("--- last lines of %s ---\n%s", e.Name(), lastLines(filepath.Join(s.dir, e.Name()), 40))
		}
	}
}

// repeatLastAudit logs the first violations the last audit found, if it found any.
func (s *Shop) repeatLastAudit() {
	found := s.lastAudit.Load()
	if found == nil || len(*found) == 0 {
		return
	}
	first := (*found)[:min(len(*found), 10)]
	s.t.Logf("the last audit found %d violations; the first %d:\n%v", len(*found), len(first), errors.Join(first...))
}

// LogContains reports whether a process's log has a line containing all of parts.
func (s *Shop) LogContains(name string, parts ...string) bool {
	return logContains(filepath.Join(s.dir, name+".log"), parts...)
}
