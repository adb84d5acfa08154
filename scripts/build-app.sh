#!/usr/bin/env bash
# Builds one Go service (its folder in this repository) into OUT as it ships: make build, the
# images (images/, the Dockerfile) and make bench all build it here.
#   scripts/build-app.sh [-race] SERVICE OUT
# - A static binary (no cgo): the images run it on an empty base.
# - Without this machine's paths, the symbol table or debug information.
# - Without gRPC's request tracing (the grpcnotrace tag): nothing here turns it on, and it links
#   html/template, with which the linker keeps every exported method of the types it links: a
#   fifth of order's binary, and the whole binary is resident once the service has run a while.
# -race: the race detector's build, for the tests: with cgo, which it needs, and with what helps
# read a race (paths, symbols).
set -euo pipefail
race=
if [ "${1:-}" = -race ]; then race=1; shift; fi
[ $# -eq 2 ] || { echo "usage: scripts/build-app.sh [-race] SERVICE OUT" >&2; exit 2; }
service=$1 out=$2
[[ $out = /* ]] || out=$PWD/$out
cd "$(dirname "$0")/../$service"
if [ -n "$race" ]; then
	export CGO_ENABLED=1
	exec go build -race -tags grpcnotrace -o "$out" .
fi
export CGO_ENABLED=0
exec go build -trimpath -ldflags "-s -w" -tags grpcnotrace -o "$out" .
