#!/usr/bin/env bash
# Prints a folder holding every program of the local Kubernetes cluster (cluster/), each of a
# pinned version, built once from the Go module proxy (the pause program with gcc) and cached by
# version like the Dapr binaries:
#   kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm
#   etcd coredns metrics-server traefik crictl pause
# The Dapr control plane (operator, injector, placement, scheduler, sentry, daprd) comes from
# scripts/dapr-tools.sh control-plane.
set -euo pipefail
KUBERNETES_VERSION=${KUBERNETES_VERSION:-1.34.2}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
COREDNS_VERSION=${COREDNS_VERSION:-1.14.5}
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-0.8.0}
TRAEFIK_VERSION=${TRAEFIK_VERSION:-3.6.12}
CRICTL_VERSION=${CRICTL_VERSION:-1.34.0}
CACHE=${SKMALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skmall}
BIN="$CACHE/cluster-k8s$KUBERNETES_VERSION-etcd$ETCD_VERSION-coredns$COREDNS_VERSION-ms$METRICS_SERVER_VERSION-traefik$TRAEFIK_VERSION-crictl$CRICTL_VERSION"
# Without DWARF: -ldflags -w leaves it out of the programs anyway, and not making it spares a
# tenth of a build's CPU (coredns from a fresh build cache: 357 CPU seconds instead of 396).
export GOWORK=off GOFLAGS="-mod=mod -gcflags=all=-dwarf=false" CGO_ENABLED=0
# --folder: only where they are (or would be), building nothing. --core: every program but the
# ingress controller's (traefik), built or waited for.
if [ "${1:-}" = --folder ]; then echo "$BIN"; exit 0; fi
# --for PID: a build in the background for process PID (make test), that ends with it. Run as
# the leader of its own process group (setsid), which it stops whole when PID is gone.
# A new session is also a new scheduling autogroup, which the kernel gives the same CPU share
# as make test's whatever the processes' nice: the group is given the lowest priority too, so
# that the build takes only what make test leaves idle.
if [ "${1:-}" = --for ]; then
	{ echo 19 >/proc/self/autogroup; } 2>/dev/null || true
	( while kill -0 "$2" 2>/dev/null; do sleep 2; done; kill -TERM -- -$$ ) &
	trap 'kill $! 2>/dev/null' EXIT
fi

log() { echo "cluster-tools: $*" >&2; }

# download prints the folder of a module version in the module cache.
download() {
	(cd /tmp && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

# wrapper makes a module that requires $1@$2 with that module's own replacements and exclusions
# (which count only in a main module). A local replacement (k8s.io/api => ./staging/src/k8s.io/api)
# becomes the module of that name at version $3: module zips leave nested modules out.
wrapper() {
	local module=$1 version=$2 staged=${3:-} dir work
	dir=$(download "$module@$version")
	[ -n "$dir" ] || { log "could not download $module@$version"; exit 1; }
	work=$(mktemp -d)
	{
		echo "module skmall.local/build"
		echo "go 1.24"
		echo "require $module $version"
		awk -v staged="$staged" '
			# The first pass notes what the module requires.
			NR == FNR && /^require \($/ { inreq = 1; next }
			NR == FNR && inreq && /^\)/ { inreq = 0; next }
			NR == FNR && inreq { required[$1] = 1; next }
			NR == FNR && /^require / { required[$2] = 1; next }
			NR == FNR { next }
			/^(replace|exclude) \($/ { block = $1; next }
			block != "" && /^\)/ { block = ""; next }
			/^(replace|exclude) / { kind = $1; sub(/^[a-z]+ /, "") }
			block != "" { kind = block }
			kind == "" || /^[ \t]*(\/\/|$)/ { kind = ""; next }
			{
				sub(/^[ \t]+/, ""); sub(/[ \t]*\/\/.*$/, "")
				if (kind == "replace" && match($0, /=> \.\.?\//)) {
					# A folder of its own repository: the same module, published (when required).
					if ($1 in required) print "replace " $1 " => " $1 " " staged
				} else { print kind " " $0 }
				kind = ""
			}' "$dir/go.mod" "$dir/go.mod"
	} >"$work/go.mod"
	echo "$work"
}

build_kubernetes() {
	local v=v$KUBERNETES_VERSION minor work
	log "building Kubernetes $v from the Go module proxy (about 10 minutes, once)"
	minor=${KUBERNETES_VERSION#*.}; minor=${minor%%.*}
	work=$(wrapper k8s.io/kubernetes "$v" "v0.${KUBERNETES_VERSION#*.}")
	local pkg=k8s.io/component-base/version
	(cd "$work" && go build -trimpath -ldflags "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
		-o "$BIN/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
		k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubeadm)
	# The pause program every pod's sandbox runs, from the same module.
	gcc -Os -static -DVERSION="$v" -o "$BIN/pause" "$(download "k8s.io/kubernetes@$v")/build/pause/linux/pause.c"
	rm -rf "$work"
}

build_etcd() {
	local v=v$ETCD_VERSION work
	log "building etcd $v (once)"
	work=$(wrapper go.etcd.io/etcd/server/v3 "$v" "$v")
	(cd "$work" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
	rm -rf "$work"
}

# Traefik's go.mod replaces and excludes modules: go install cannot build it as it is.
build_traefik() {
	local work
	log "building Traefik v$TRAEFIK_VERSION (once)"
	work=$(wrapper github.com/traefik/traefik/v3 "v$TRAEFIK_VERSION")
	(cd "$work" && go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
		-o "$BIN/traefik" github.com/traefik/traefik/v3/cmd/traefik)
	rm -rf "$work"
}

# install builds a program with go install into BIN.
install() {
	log "building $1 (once)"
	(cd /tmp && GOBIN="$BIN" go install -trimpath -ldflags "-s -w ${2:-}" "$1")
}

mkdir -p "$BIN"
# The cluster comes up without its ingress controller, whose build is the largest: make cluster
# starts the node on the other programs (--core) while Traefik is still being built. The core
# lock is held until they are built, the ingress lock (taken before the core lock is let go)
# until Traefik is.
exec 9>"$BIN/.lock"
flock 9
[ -x "$BIN/kubelet" ] && [ -x "$BIN/pause" ] || build_kubernetes
[ -x "$BIN/etcd" ] || build_etcd
[ -x "$BIN/coredns" ] || install "github.com/coredns/coredns@v$COREDNS_VERSION"
[ -x "$BIN/metrics-server" ] || install "sigs.k8s.io/metrics-server/cmd/metrics-server@v$METRICS_SERVER_VERSION" \
	"-X sigs.k8s.io/metrics-server/pkg/version.gitVersion=v$METRICS_SERVER_VERSION"
[ -x "$BIN/crictl" ] || install "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION"
# What the cluster's manifests name its images by.
cat >"$BIN/versions.env" <<EOF
KUBERNETES_VERSION=$KUBERNETES_VERSION
COREDNS_VERSION=$COREDNS_VERSION
METRICS_SERVER_VERSION=$METRICS_SERVER_VERSION
TRAEFIK_VERSION=$TRAEFIK_VERSION
EOF
if [ "${1:-}" = --core ]; then echo "$BIN"; exit 0; fi
exec 8>"$BIN/.ingress.lock"
flock 8
exec 9>&-
[ -x "$BIN/traefik" ] || build_traefik
echo "$BIN"
