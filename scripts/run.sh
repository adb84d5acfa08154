#!/usr/bin/env bash
# `make run`: the whole shop on the local profile, in the foreground, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
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
export DAPR_RUNTIME_PATH=$root
echo "SK MALL is starting: warehouse :8081, order :8082, delivery :8083, mypage :8084 (Ctrl-C stops it)"
# The dapr CLI puts itself in a process group of its own, where Ctrl-C does not reach it: pass
# the signal on, then wait until it has stopped every app and sidecar.
"$root/.dapr/bin/dapr" run -f dapr.yaml &
dapr_pid=$!
trap 'kill -INT "$dapr_pid" 2>/dev/null || true' INT TERM
while kill -0 "$dapr_pid" 2>/dev/null; do wait "$dapr_pid" || true; done
