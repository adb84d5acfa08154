#!/usr/bin/env bash
# `make run`: the whole shop, in the foreground, until Ctrl-C. PROFILE picks the component set
# (local by default; postgres-redis or rabbitmq), the apps do not know which.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-local}
[ -d "components/$profile" ] || { echo "no such profile: $profile (see components/)" >&2; exit 2; }
root=$(bash scripts/dapr-tools.sh)
data=$PWD/.data
redis_port=${SKMALL_REDIS_PORT:-6390}
mkdir -p "$data"

# The local profile's Redis (pub/sub) is private to the project: its own port and data folder.
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
	redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$data" \
		--appendonly yes --save "" --logfile "$data/redis.log" --pidfile "$data/redis.pid"
fi
stop_redis() { redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true; }
trap stop_redis EXIT

export SKMALL_REDIS_HOST=127.0.0.1:$redis_port
for app in order warehouse delivery mypage; do
	export "SKMALL_${app^^}_STORE=$data/$app.db"
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
esac

# Tokens at the edge: the services check them against the local signing key's JWKS, made on
# first use (make token prints tokens signed with it).
export AUTH_JWKS
AUTH_JWKS=$(go run ./platform/cmd/token -keys "$data/auth" -keys-only)
export AUTH_ISSUER=skmall-dev

# App <-> sidecar: fresh API tokens on every run (the dapr CLI hands the same environment to
# every app and sidecar it starts).
export DAPR_API_TOKEN APP_API_TOKEN
DAPR_API_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
APP_API_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

# Sidecar <-> sidecar: mTLS with identities from Dapr Sentry, on localhost:50001 where the
# dapr CLI looks for it (components/config.yaml enables mTLS). Its certificates live in
# .data/sentry; the first start makes them, and Sentry is restarted once on the finished set.
certs=$data/sentry
mkdir -p "$certs"
sentry_args=(--config components/sentry/config.yaml --issuer-credentials "$certs"
	--port 50001 --listen-address 127.0.0.1 --healthz-port 9096 --healthz-listen-address 127.0.0.1
	--metrics-port 9095 --metrics-listen-address 127.0.0.1 --log-level warn)
if [ ! -f "$certs/issuer.key" ]; then
	"$root/.dapr/bin/sentry" "${sentry_args[@]}" >"$data/sentry.log" 2>&1 &
	for _ in $(seq 1 100); do [ -f "$certs/issuer.key" ] && break; sleep 0.1; done
	kill "$!" 2>/dev/null; wait "$!" 2>/dev/null || true
fi
"$root/.dapr/bin/sentry" "${sentry_args[@]}" >>"$data/sentry.log" 2>&1 &
sentry_pid=$!
stop_all() { kill "$sentry_pid" 2>/dev/null || true; stop_redis; }
trap stop_all EXIT
for _ in $(seq 1 100); do curl -fs localhost:9096/healthz >/dev/null 2>&1 && break; sleep 0.1; done
export DAPR_TRUST_ANCHORS NAMESPACE=default
DAPR_TRUST_ANCHORS=$(cat "$certs/ca.crt")

export DAPR_RUNTIME_PATH=$root
echo "SK MALL ($profile) is starting: warehouse :8081, order :8082, delivery :8083, mypage :8084 (Ctrl-C stops it)"
echo "Get a token with: make token SUB=alice   (an admin's: make token SUB=ops ROLE=admin)"
# The dapr CLI puts itself in a process group of its own, where Ctrl-C does not reach it: pass
# the signal on, then wait until it has stopped every app and sidecar.
sed "s#components/local#components/$profile#" dapr.yaml | "$root/.dapr/bin/dapr" run -f - &
dapr_pid=$!
trap 'kill -INT "$dapr_pid" 2>/dev/null || true' INT TERM
while kill -0 "$dapr_pid" 2>/dev/null; do wait "$dapr_pid" || true; done
