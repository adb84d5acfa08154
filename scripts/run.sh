#!/usr/bin/env bash
# `make run`: the whole shop, in the foreground, until Ctrl-C, SIGINT or SIGTERM (from a
# terminal, a script or a supervisor). PROFILE picks the component set (local by default;
# postgres-redis, rabbitmq or kafka), the apps do not know which. MYPAGE picks mypage's
# implementation: go (bin/mypage, the default) or ts (mypage-ts/, on Node.js). SKMALL_DATA moves
# the data folder (.data by default).
set -euo pipefail

# Started in the background by a script, a shell ignores SIGINT, and so would everything here:
# start over with the default action, so that the traps below hold.
if [ -z "${SKMALL_RUN_SIGNALS:-}" ]; then
	export SKMALL_RUN_SIGNALS=1
	exec perl -e '$SIG{INT} = $SIG{TERM} = $SIG{HUP} = "DEFAULT"; exec @ARGV or die "exec: $!"' bash "$0" "$@"
fi

cd "$(dirname "$0")/.."
profile=${PROFILE:-local}
[ -d "components/$profile" ] || { echo "no such profile: $profile (see components/)" >&2; exit 2; }
mypage=${MYPAGE:-go}
case "$mypage" in go | ts) ;; *) echo "MYPAGE=$mypage: want go (the default) or ts" >&2; exit 2 ;; esac
root=$(bash scripts/dapr-tools.sh)
data=${SKMALL_DATA:-$PWD/.data}
redis_port=${SKMALL_REDIS_PORT:-6390}
sentry_port=3590
mkdir -p "$data"

pids=()
cli_pid=""
# stop stops everything this started: the dapr CLI first, which stops every app and sidecar
# (it runs them in its own process group, which is killed too should anything linger), then
# Sentry and the Redis. Signals that come while it stops (make forwards SIGTERM to this script
# on top of the one the process group got; a supervisor may repeat it) are ignored: the stop
# finishes.
stop() {
	trap '' INT TERM HUP
	trap - EXIT
	if [ -n "$cli_pid" ] && kill -0 "$cli_pid" 2>/dev/null; then
		kill -INT "$cli_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$cli_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$cli_pid" 2>/dev/null || true
	fi
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM HUP
trap stop EXIT
# Should whatever started this (make) go away, the shop goes too.
parent=$PPID
(while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null) &
pids+=($!)

# The local profile's Redis (pub/sub) is private to the project: its own port and data folder.
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
	redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$data" \
		--appendonly yes --save "" --logfile "$data/redis.log" --pidfile "$data/redis.pid"
fi

export SKMALL_REDIS_HOST=127.0.0.1:$redis_port
for app in order warehouse delivery mypage; do
	# synchronous(NORMAL): components/local/statestores.yaml says why.
	export "SKMALL_${app^^}_STORE=file:$data/$app.db?_pragma=synchronous(NORMAL)"
done
case "$profile" in
postgres-redis)
	pg="postgres://postgres@127.0.0.1:5432"
	for app in order warehouse; do
		db=skmall_$app
		psql "$pg/postgres?sslmode=disable" -qAtc "select 1 from pg_database where datname='$db'" | grep -q 1 \
			|| psql "$pg/postgres?sslmode=disable" -qc "create database $db"
		export "SKMALL_${app^^}_STORE=host=127.0.0.1 port=5432 user=postgres dbname=$db sslmode=disable"
	done ;;
rabbitmq)
	export SKMALL_RABBITMQ_URL=${SKMALL_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/} ;;
kafka)
	# Without SKMALL_KAFKA_BROKERS, the Kafka stand-in (kafka/, a protocol-level broker, not a
	# Kafka cluster) on :19092, its topics and offsets in the data folder.
	if [ -z "${SKMALL_KAFKA_BROKERS:-}" ]; then
		(cd kafka && go build -o ../bin/kafka .)
		bin/kafka -port 19092 -partitions 16 -data "$data/kafka" >"$data/kafka.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/19092) 2>/dev/null && break; sleep 0.1; done
		export SKMALL_KAFKA_BROKERS=127.0.0.1:19092
	fi ;;
esac

# Tokens at the edge: the services check them against the local signing key's JWKS, made on
# first use (make token prints tokens signed with it).
export AUTH_JWKS
AUTH_JWKS=$(go run ./platform/cmd/token -keys "$data/auth" -keys-only)
export AUTH_ISSUER=skmall-dev

# App <-> sidecar: fresh API tokens on every run, a pair per app: what the app shows its sidecar
# (DAPR_API_TOKEN) and what the sidecar shows the app (APP_API_TOKEN). The apps get theirs in
# the run file; the sidecars through scripts/daprd.sh, which the dapr CLI runs as daprd.
tokens=$data/tokens
rm -rf "$tokens"
mkdir -p -m 700 "$tokens"
token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
runfile=$data/dapr.yaml
sed "s#components/local#components/$profile#" dapr.yaml >"$runfile.tmp"
for app in warehouse order delivery mypage; do
	token >"$tokens/$app.dapr"
	token >"$tokens/$app.app"
	awk -v app="$app" -v dt="$(cat "$tokens/$app.dapr")" -v at="$(cat "$tokens/$app.app")" '
		{ print }
		$0 ~ "command: \\[\"../bin/" app "\"\\]" {
			print "    env:"; print "      DAPR_API_TOKEN: " dt; print "      APP_API_TOKEN: " at
		}' "$runfile.tmp" >"$runfile.tmp2"
	mv "$runfile.tmp2" "$runfile.tmp"
done
mv "$runfile.tmp" "$runfile"
# The TypeScript mypage in place of the Go one (after the tokens, which follow the Go command).
if [ "$mypage" = ts ]; then
	sed -i "s#command: \\[\"\\.\\./bin/mypage\"\\]#command: [\"node\", \"$PWD/mypage-ts/dist/main.js\"]#" "$runfile"
fi
# The run file's paths are relative to its folder: point them back at the checkout.
sed -i "s#\./components/#$PWD/components/#; s#appDirPath: \./#appDirPath: $PWD/#" "$runfile"

# The sidecars find each other in one SQLite file (components/config.yaml), made here in the WAL
# journal mode they open it in: a sidecar that has to switch a file to WAL fails at once while
# another holds a lock, and would go on without name resolution, unreachable ("no host found").
sqlite3 "$data/nameresolution.db" 'PRAGMA journal_mode=WAL;' >/dev/null

# The runtime the CLI starts: the pinned daprd behind scripts/daprd.sh.
runtime=$data/runtime
mkdir -p "$runtime/.dapr/bin"
ln -sf "$PWD/scripts/daprd.sh" "$runtime/.dapr/bin/daprd"
cp -f "$root/.dapr/config.yaml" "$runtime/.dapr/config.yaml"
export SKMALL_DAPRD=$root/.dapr/bin/daprd SKMALL_TOKENS=$tokens SKMALL_SENTRY_ADDRESS=127.0.0.1:$sentry_port SKMALL_SIDECARS=$data \
	SKMALL_SIDECAR_RUNTIME=$PWD/components/daprd.env

# Sidecar <-> sidecar: mTLS with identities from Dapr Sentry. Its certificates live in
# $data/sentry; the first start makes them, and Sentry is restarted once on the finished set.
certs=$data/sentry
mkdir -p "$certs"
sentry_args=(--config components/sentry/config.yaml --issuer-credentials "$certs"
	--port "$sentry_port" --listen-address 127.0.0.1 --healthz-port 9096 --healthz-listen-address 127.0.0.1
	--metrics-port 9095 --metrics-listen-address 127.0.0.1 --log-level warn)
if [ ! -f "$certs/issuer.key" ]; then
	"$root/.dapr/bin/sentry" "${sentry_args[@]}" >"$data/sentry.log" 2>&1 &
	first=$!
	for _ in $(seq 1 100); do [ -f "$certs/issuer.key" ] && break; sleep 0.1; done
	kill "$first" 2>/dev/null; wait "$first" 2>/dev/null || true
fi
"$root/.dapr/bin/sentry" "${sentry_args[@]}" >>"$data/sentry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs localhost:9096/healthz >/dev/null 2>&1 && break; sleep 0.1; done
export DAPR_TRUST_ANCHORS NAMESPACE=default
DAPR_TRUST_ANCHORS=$(cat "$certs/ca.crt")

# The one entry point: the gateway on :8080 routes the public paths to the apps and limits each
# client's rate (scripts/gateway.sh, gateway/haproxy.cfg).
GATEWAY_TOKEN_KEY=$data/auth/public-key.pem GATEWAY_PIDFILE=$data/gateway.pid \
	bash scripts/gateway.sh >"$data/gateway.log" 2>&1 &
pids+=($!)

echo "SK MALL ($profile) is starting on http://localhost:8080 (Ctrl-C stops it)"
echo "  the services themselves, for debugging: warehouse :8081, order :8082, delivery :8083, mypage :8084"
echo "Get a token with: make token SUB=alice   (an admin's: make token SUB=ops ROLE=admin)"
DAPR_RUNTIME_PATH=$runtime "$root/.dapr/bin/dapr" run -f "$runfile" &
cli_pid=$!
wait "$cli_pid" || true
