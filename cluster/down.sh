#!/usr/bin/env bash
# make cluster-down: stops the local cluster and removes every trace of it: pods and their
# network namespaces, containerd, the kubelet and its cgroups and mounts, the control plane,
# the stores, kube-proxy's rules, the bridge, the kernel settings it changed, and last the
# firewall rule that kept its traffic on this machine. Safe to run twice, or after a failed up.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=cluster.env
. cluster/cluster.env
DATA=$ROOT/.data/cluster
RUN=$DATA/run
SOCK=$DATA/containerd/containerd.sock

log() { echo "cluster: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root"; exit 1; }
[ -d "$DATA" ] || exit 0
TOOLS=$(bash scripts/cluster-tools.sh --folder)
[ -x "$TOOLS/crictl" ] || TOOLS=
export PATH=$TOOLS:$PATH

# stop ends a daemon started by up.sh: TERM, then KILL after $2 seconds.
stop() {
	local pidfile=$RUN/$1.pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 "${2:-10}"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$pidfile"
}

# The kubelet first, so that it restarts nothing; then every pod through the runtime, which
# tears down each pod's network (CNI) and cgroups.
stop kubelet
if [ -S "$SOCK" ] && [ -n "$TOOLS" ]; then
	crictl=(crictl --runtime-endpoint "unix://$SOCK" --timeout 30s)
	for pod in $("${crictl[@]}" pods -q 2>/dev/null); do
		"${crictl[@]}" stopp "$pod" >/dev/null 2>&1
		"${crictl[@]}" rmp -f "$pod" >/dev/null 2>&1
	done
fi
stop containerd 20
# containerd-shim processes outlive containerd; each holds a container's task.
pkill -KILL -f "containerd-shim-runc-v2 -namespace k8s.io .*-address $SOCK" 2>/dev/null
stop kube-proxy
[ -n "$TOOLS" ] && kube-proxy --cleanup >/dev/null 2>&1
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd
if [ -f "$RUN/redis.pid" ]; then kill "$(cat "$RUN/redis.pid")" 2>/dev/null; rm -f "$RUN/redis.pid"; fi
if [ -f "$DATA/postgres/postmaster.pid" ]; then
	pgctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)
	su postgres -s /bin/sh -c "$pgctl -D '$DATA/postgres' -m fast -w stop >/dev/null"
fi

# Mounts under the cluster's folder (rootfs, shm, the kubelet's root and volumes), deepest first.
for _ in 1 2 3; do
	mounts=$(awk -v d="$DATA" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r)
	[ -n "$mounts" ] || break
	for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done
# Network namespaces the runtime made for pods.
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null; done
# The kubelet's cgroups in every hierarchy, depth first.
for h in /sys/fs/cgroup/*/; do
	[ -d "$h/kubepods" ] || [ -d "$h/kubepods.slice" ] || continue
	find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null
done
rm -rf /var/lib/kubelet /var/log/containers /var/log/pods
ip link delete "$CLUSTER_BRIDGE" 2>/dev/null
# veths of pods whose namespaces are gone are gone with them; any left would name the bridge.
if [ -f "$RUN/sysctl" ]; then
	while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null; done <"$RUN/sysctl"
fi

# Last, the firewall rule.
for chain in OUTPUT FORWARD; do
	while iptables -w -C "$chain" -j "$CLUSTER_FIREWALL_CHAIN" 2>/dev/null; do
		iptables -w -D "$chain" -j "$CLUSTER_FIREWALL_CHAIN"
	done
done
iptables -w -F "$CLUSTER_FIREWALL_CHAIN" 2>/dev/null
iptables -w -X "$CLUSTER_FIREWALL_CHAIN" 2>/dev/null
rm -rf "$DATA"
log "down: nothing of the cluster is left"
