#!/usr/bin/env bash
# Makes the pinned Dapr binaries available and prints the runtime root that holds them as
# <root>/.dapr/bin/{daprd,sentry,dapr} — the layout `dapr run --runtime-path` expects.
#
# The runtime's programs are built from the Go module proxy with the shop's components (below)
# and cached by version, so the (slow) build happens once per machine; a dapr CLI of the pinned
# version on the PATH is used as it is.
#
# With the argument control-plane, the same folder also gets what of the Kubernetes control
# plane the local cluster runs beside daprd and sentry: the operator and the sidecar injector
# (the shop needs no placement or scheduler; the scheduler's go-etcd-cron is not on the proxy).
set -euo pipefail

DAPR_VERSION=${DAPR_VERSION:-1.18.1}
DAPR_CLI_VERSION=${DAPR_CLI_VERSION:-1.16.5}
CACHE=${SKMALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skmall}
ROOT="$CACHE/dapr-$DAPR_VERSION-cli-$DAPR_CLI_VERSION"
BIN="$ROOT/.dapr/bin"
# The components daprd registers, by their files in Dapr's cmd/daprd/components: those the shop's
# profiles, the chart and the tests use, and the name resolvers (SQLite: each shop on this machine
# finds its sidecars in its own file with it, where mDNS would answer across every shop and
# beyond the machine; Kubernetes in the cluster; mDNS, self-hosted's default). A component of
# another type is refused at start: DAPRD_COMPONENTS adds files, e.g.
# DAPRD_COMPONENTS="state_mongodb bindings_cron". Dapr's other stable components made daprd's
# binary a third larger (129 MB against 96), and most of a binary is resident: each sidecar
# took 30-41 MB more memory under load (README, Benchmark).
COMPONENTS="state_postgres state_redis state_sqlite pubsub_redis pubsub_rabbitmq pubsub_kafka
	secretstores_local_env secretstores_kubernetes
	nameresolution_sqlite nameresolution_kubernetes nameresolution_mdns ${DAPRD_COMPONENTS:-}"
# The version, where --version and every log line (ver) read it, as in Dapr's own builds.
LDFLAGS="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"
# Without DWARF: -s -w leaves it out of the programs anyway, and not making it spares a tenth
# of a build's CPU. The programs' code is the same, so it is not part of RUNTIME_BUILD: a
# cached daprd is not built again.
NODWARF=-gcflags=all=-dwarf=false
# What the runtime's programs are built with: programs built otherwise are built again.
RUNTIME_BUILD="$LDFLAGS; components: $(printf '%s\n' $COMPONENTS | sort -u | tr '\n' ' ')"

log() { echo "dapr-tools: $*" >&2; }

# build_runtime builds the named programs of cmd/.
build_runtime() {
	log "building $* $DAPR_VERSION from the Go module proxy (a few minutes, once)"
	local dir work
	dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { log "could not download github.com/dapr/dapr@v$DAPR_VERSION"; exit 1; }
	work=$(mktemp -d)
	cp -r "$dir/." "$work/" && chmod -R u+w "$work"
	# Each component registers itself in a file of its own, built with the allcomponents tag:
	# all of them but COMPONENTS' are removed.
	local c f keep=" $COMPONENTS "
	for c in $COMPONENTS; do
		[ -f "$work/cmd/daprd/components/$c.go" ] || { log "Dapr $DAPR_VERSION has no component file $c.go"; exit 1; }
	done
	for f in "$work"/cmd/daprd/components/*.go; do
		c=$(basename "$f" .go)
		[[ $keep = *[[:space:]]$c[[:space:]]* ]] || rm "$f"
	done
	(cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath "$NODWARF" -tags allcomponents \
		-ldflags "$LDFLAGS" \
		-o "$BIN/" $(printf './cmd/%s ' "$@"))
	rm -rf "$work"
	echo "$RUNTIME_BUILD" >"$BIN/runtime.build"
}

build_cli() {
	log "building the dapr CLI $DAPR_CLI_VERSION from the Go module proxy (once)"
	local work
	work=$(mktemp -d)
	cat >"$work/go.mod" <<MOD
module skmall.local/daprcli

go 1.24

require github.com/dapr/cli v$DAPR_CLI_VERSION

// The components-contrib version dapr/cli pins does not resolve; this one does.
replace github.com/dapr/components-contrib v1.16.3 => github.com/dapr/components-contrib v1.16.1
MOD
	printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/dapr/cli"\n' >"$work/tools.go"
	(cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
	 cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath "$NODWARF" \
		-ldflags "-s -w -X main.version=$DAPR_CLI_VERSION -X main.apiVersion=1.0" \
		-o "$BIN/dapr" github.com/dapr/cli)
	rm -rf "$work"
}

mkdir -p "$BIN" "$ROOT/.dapr/components"
# Several test binaries may ask at once: one builds, the others wait for it.
exec 9>"$ROOT/.lock"
flock 9
[ "$(cat "$BIN/runtime.build" 2>/dev/null)" = "$RUNTIME_BUILD" ] ||
	rm -f "$BIN/daprd" "$BIN/sentry" "$BIN/operator" "$BIN/injector" "$BIN/daprd.build"
if [ ! -x "$BIN/dapr" ] && command -v dapr >/dev/null && dapr version 2>/dev/null | grep -q "CLI version: $DAPR_CLI_VERSION"; then
	ln -sf "$(command -v dapr)" "$BIN/dapr"
fi
programs=(daprd sentry)
[ "${1:-}" != control-plane ] || programs+=(operator injector)
missing=()
for p in "${programs[@]}"; do [ -x "$BIN/$p" ] || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || build_runtime "${missing[@]}"
[ -x "$BIN/dapr" ] || build_cli
# `dapr run` looks for a default configuration next to the binaries.
[ -f "$ROOT/.dapr/config.yaml" ] || printf 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: daprConfig\nspec: {}\n' >"$ROOT/.dapr/config.yaml"
echo "$ROOT"
