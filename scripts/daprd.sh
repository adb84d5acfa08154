#!/usr/bin/env bash
# daprd as `make run` starts it. The dapr CLI runs <runtime>/.dapr/bin/daprd for every app and
# hands each the CLI's own environment; this stands in for it, so that each sidecar gets what
# the CLI cannot give it:
# - the API tokens of its own app (SKMALL_TOKENS/<app id>.dapr and .app), so that a token
#   taken from one app opens no other app's routes;
# - Sentry at SKMALL_SENTRY_ADDRESS: the CLI always names localhost:50001, inside the kernel's
#   ephemeral port range, where a client socket may hold the port first;
# - no scheduler and no placement: the shop uses no actors, jobs or workflows, and the CLI's
#   default addresses would have daprd log a failed connection every second.
# - one working folder for every sidecar, SKMALL_SIDECARS, where they find each other in the
#   name resolution file components/config.yaml names, at 127.0.0.1 only;
# - the Go runtime's settings of every sidecar, SKMALL_SIDECAR_RUNTIME (components/daprd.env).
set -euo pipefail
app="" mtls=""
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--app-id) app=$2; args+=("$1" "$2"); shift 2 ;;
	--sentry-address | --scheduler-host-address | --placement-host-address) shift 2 ;;
	--enable-mtls) mtls=1; args+=("$1"); shift ;;
	*) args+=("$1"); shift ;;
	esac
done
if [ -n "$app" ]; then
	DAPR_API_TOKEN=$(cat "$SKMALL_TOKENS/$app.dapr")
	APP_API_TOKEN=$(cat "$SKMALL_TOKENS/$app.app")
	export DAPR_API_TOKEN APP_API_TOKEN
	args+=(--scheduler-host-address "" --placement-host-address "")
	[ -z "$mtls" ] || args+=(--sentry-address "$SKMALL_SENTRY_ADDRESS")
	args+=(--dapr-internal-grpc-listen-address 127.0.0.1)
	export DAPR_HOST_IP=127.0.0.1
	set -a
	# shellcheck source=/dev/null
	. "$SKMALL_SIDECAR_RUNTIME"
	set +a
	cd "$SKMALL_SIDECARS"
fi
exec "$SKMALL_DAPRD" "${args[@]}"
