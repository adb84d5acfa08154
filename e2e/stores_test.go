package e2e

import (
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skmall/skmall/platform/daprtest"
)

// A profile is where the shop keeps its state and sends its events: components/<name>, and the
// stores the harness provides for it.
type profile struct {
	name   string
	stores []store // provided in this order, after the shop's Redis, which every profile has
}

// A store provides, for one shop, something its profile keeps state or events in, and returns
// the variables the components read its connection strings from (components/common/secrets.yaml:
// SKMALL_*).
type store func(s *Shop, o options) []string

// The profiles, in the order the suite runs them.
var knownProfiles = []profile{
	{name: "local", stores: []store{sqliteFiles}},
	{name: "postgres-redis", stores: []store{postgresDatabases}},
	{name: "rabbitmq", stores: []store{sqliteFiles, rabbitmqVhost}},
	{name: "kafka", stores: []store{sqliteFiles, kafkaBroker}},
}

// The apps whose state the postgres-redis profile keeps in PostgreSQL, a database each; the
// others keep theirs in the shop's Redis.
var postgresApps = []string{"order", "warehouse"}

// Profiles the suite runs against; SKMALL_E2E_PROFILES narrows it (comma-separated).
func profiles() []string {
	if p := os.Getenv("SKMALL_E2E_PROFILES"); p != "" {
		return strings.Split(p, ",")
	}
	var names []string
	for _, p := range knownProfiles {
		names = append(names, p.name)
	}
	return names
}

// startStores starts the shop's Redis and provides the stores of its profile; it returns the
// variables the sidecars are given.
func (s *Shop) startStores(o options) []string {
	s.t.Helper()
	i := slices.IndexFunc(knownProfiles, func(p profile) bool { return p.name == s.Profile })
	if i < 0 {
		s.t.Fatalf("unknown profile %q", s.Profile)
	}
	s.redis = &redisServer{port: daprtest.FreePort(s.t), dir: s.dir, durable: o.durableBroker}
	s.RedisAddr = s.redis.addr()
	s.redis.start(s.t)
	env := []string{"SKMALL_REDIS_HOST=" + s.RedisAddr}
	for _, app := range o.brokerProxied {
		if s.Profile != "postgres-redis" {
			s.t.Fatalf("ProxyBroker needs the postgres-redis profile, whose broker is the shop's Redis")
		}
		p := NewFaultProxy(s.t, s.RedisAddr)
		s.BrokerProxies[app] = p
		s.appDaprEnv[app] = append(s.appDaprEnv[app], "SKMALL_REDIS_HOST="+p.Addr)
	}
	for _, provide := range knownProfiles[i].stores {
		env = append(env, provide(s, o)...)
	}
	return env
}

// storeVar is the variable an app's state store reads its connection string from.
func storeVar(app, connection string) string {
	return fmt.Sprintf("SKMALL_%s_STORE=%s", strings.ToUpper(app), connection)
}

// envValue is the value of a variable the shop gives its sidecars.
func (s *Shop) envValue(name string) string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	s.t.Fatalf("the shop sets no %s", name)
	return ""
}

// sqliteFiles gives every app a SQLite file of its own in the shop's folder.
func sqliteFiles(s *Shop, _ options) []string {
	var env []string
	for _, app := range appNames {
		env = append(env, storeVar(app, daprtest.SQLiteFile(filepath.Join(s.dir, app+".db"))))
	}
	return env
}

// postgresDatabases gives each of postgresApps a database of its own, on the shop's own
// PostgreSQL (PrivatePostgres) or the tests' (pgURL), behind a FaultProxy where the test
// asked for one (ProxyStore).
func postgresDatabases(s *Shop, o options) []string {
	admin := pgURL("postgres")
	if o.privatePostgres {
		s.postgres = startPostgres(s.t, s.dir)
		admin = s.postgres.adminURL()
	}
	var env []string
	for _, app := range postgresApps {
		url := createDatabase(s.t, admin, app)
		if slices.Contains(o.proxied, app) {
			url = s.proxy(app, url)
		}
		env = append(env, storeVar(app, url))
	}
	return env
}

// rabbitmqVhost gives the shop a RabbitMQ virtual host of its own.
func rabbitmqVhost(s *Shop, _ options) []string {
	return []string{"SKMALL_RABBITMQ_URL=" + createVhost(s.t)}
}

// kafkaBroker gives the shop a Kafka broker of its own: the stand-in (kafka/), its topics and
// committed offsets kept in the shop's folder (with DurableBroker, every batch written to disk
// before it is acknowledged). It has as many partitions per topic as the local one (make run),
// so that consumers of one group share them as they would there.
func kafkaBroker(s *Shop, o options) []string {
	port := daprtest.FreePort(s.t)
	s.kafkaPort = port
	s.kafkaArgs = []string{"-port", strconv.Itoa(port), "-partitions", strconv.Itoa(kafkaPartitions), "-data", filepath.Join(s.dir, "kafka")}
	if o.durableBroker {
		s.kafkaArgs = append(s.kafkaArgs, "-sync")
	}
	s.startKafka()
	return []string{"SKMALL_KAFKA_BROKERS=127.0.0.1:" + strconv.Itoa(port)}
}

// RestartKafka stops the Kafka stand-in (SIGTERM: it writes what it holds) and starts it again
// on the same port and data, as a broker's restart in a rolling update.
func (s *Shop) RestartKafka(down time.Duration) {
	s.t.Helper()
	s.kafka.stop()
	time.Sleep(down)
	s.startKafka()
}

func (s *Shop) startKafka() {
	s.t.Helper()
	s.kafka = start(s.t, "kafka", s.dir, nil, filepath.Join(binDir, "kafka"), s.kafkaArgs...)
	daprtest.Eventually(s.t, 20*time.Second, "the Kafka stand-in to listen", func() error { return dial(s.kafkaPort) })
}

// kafkaPartitions is how many partitions scripts/run.sh gives every topic.
const kafkaPartitions = 16

// proxy puts a FaultProxy, kept in Shop.Proxies under app, in front of the server url points at
// and returns the URL through the proxy.
func (s *Shop) proxy(app, url string) string {
	s.t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		s.t.Fatal(err)
	}
	p := NewFaultProxy(s.t, u.Host)
	s.Proxies[app] = p
	return strings.Replace(url, u.Host, p.Addr, 1)
}

// redisServer is a Redis of the shop's own on loopback, its files in dir.
type redisServer struct {
	port    int
	dir     string
	durable bool // every change written to disk before the answer
	proc    *proc
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisServer) args() []string {
	persistence := []string{"--appendonly", "no"}
	if r.durable {
		persistence = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	return append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port), "--save", "", "--dir", r.dir}, persistence...)
}

func (r *redisServer) start(t testing.TB) {
	t.Helper()
	r.proc = start(t, "redis", r.dir, nil, "redis-server", r.args()...)
	daprtest.Eventually(t, 20*time.Second, "redis to listen", func() error { return dial(r.port) })
}

// CrashBroker kills the shop's Redis with SIGKILL and starts it again on the same port and data.
func (s *Shop) CrashBroker(down time.Duration) {
	s.t.Helper()
	s.redis.proc.kill()
	time.Sleep(down)
	s.redis.start(s.t)
}

// postgresServer is a PostgreSQL server of the shop's own, run as the postgres user (which
// initdb requires), its data in the shop's folder.
type postgresServer struct {
	t    testing.TB
	bin  string // the folder of initdb and pg_ctl
	data string
	port int
}

// startPostgres creates a cluster under dir, starts it and stops it when the test ends.
func startPostgres(t testing.TB, dir string) *postgresServer {
	t.Helper()
	initdb, err := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if err != nil || len(initdb) == 0 {
		t.Fatal("PostgreSQL server binaries (initdb) are needed: apt-get install postgresql")
	}
	p := &postgresServer{t: t, bin: filepath.Dir(initdb[len(initdb)-1]), data: filepath.Join(dir, "pg"), port: daprtest.FreePort(t)}
	if err := os.MkdirAll(p.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	p.asPostgres(filepath.Join(p.bin, "initdb"), "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *postgresServer) adminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

func (p *postgresServer) start() {
	p.pgCtl("-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.data), "start")
}

// crash stops the server the way a crash would: no checkpoint, recovery on the next start.
func (p *postgresServer) crash() { p.pgCtl("-m", "immediate", "stop") }

func (p *postgresServer) stop() { p.pgCtl("-m", "fast", "stop") }

// pgCtl runs pg_ctl on the cluster and waits for it to finish the action.
func (p *postgresServer) pgCtl(args ...string) {
	p.t.Helper()
	p.asPostgres(append([]string{filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-w", "-l", filepath.Join(p.data, "server.log")}, args...)...)
}

func (p *postgresServer) asPostgres(args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// CrashDatabase stops the shop's own PostgreSQL (PrivatePostgres) the way a crash would and
// starts it again.
func (s *Shop) CrashDatabase(down time.Duration) {
	s.t.Helper()
	if s.postgres == nil {
		s.t.Fatal("CrashDatabase needs a shop started with PrivatePostgres()")
	}
	s.postgres.crash()
	time.Sleep(down)
	s.postgres.start()
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

// createDatabase creates a database of its own for one app and drops it when the test ends.
func createDatabase(t testing.TB, admin, app string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL is needed for the postgres-redis profile (%s): %v", admin, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	name := fmt.Sprintf("skmall_e2e_%s_%d_%d", app, os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
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
