#!/usr/bin/env bash
# The gateway (gateway/haproxy.cfg) in the foreground, with the shop's defaults for whatever the
# environment leaves unset: localhost:8080, the services on their make-run ports, at most 100
# requests per client in 10 s (10 a second, as the chart's Ingress allows). GATEWAY_TOKEN_KEY
# is required; GATEWAY_PIDFILE, when set, is where HAProxy writes its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null || { echo "gateway: haproxy is missing (make run installs it)" >&2; exit 1; }
: "${GATEWAY_TOKEN_KEY:?names the PEM public key that signs the tokens}"
export GATEWAY_TOKEN_KEY
export GATEWAY_ADDR=${GATEWAY_ADDR:-127.0.0.1:8080}
export WAREHOUSE_ADDR=${WAREHOUSE_ADDR:-127.0.0.1:8081}
export ORDER_ADDR=${ORDER_ADDR:-127.0.0.1:8082}
export DELIVERY_ADDR=${DELIVERY_ADDR:-127.0.0.1:8083}
export MYPAGE_ADDR=${MYPAGE_ADDR:-127.0.0.1:8084}
export GATEWAY_RATE_LIMIT=${GATEWAY_RATE_LIMIT:-100}
export GATEWAY_RATE_WINDOW=${GATEWAY_RATE_WINDOW:-10}
exec haproxy -db -f gateway/haproxy.cfg ${GATEWAY_PIDFILE:+-p "$GATEWAY_PIDFILE"}
