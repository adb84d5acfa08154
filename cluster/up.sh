#!/usr/bin/env bash
# make cluster: a single-node Kubernetes on this machine, with the Dapr control plane, an
# ingress controller (Traefik), CoreDNS, metrics-server, and the stores the shop uses, then the
# shop's images imported; it prints what to run next. Everything it starts or changes is
# recorded under .data/cluster and undone by cluster/down.sh (make cluster-down).
#
# Every program is built from the Go module proxy (scripts/cluster-tools.sh, dapr-tools.sh) and
# cached by version; containerd, runc and the CNI plugins come from Debian's packages. The
# control plane (etcd, API server, controller manager, scheduler), containerd, the kubelet and
# kube-proxy run as plain processes; the add-ons run as pods, from images built here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=cluster.env
. cluster/cluster.env
DATA=$ROOT/.data/cluster
PKI=$DATA/pki
RUN=$DATA/run
LOGS=$DATA/log

log() { echo "cluster: $*" >&2; }
fail() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "the cluster needs root (network, cgroups, mounts)"
if [ -f "$RUN/up" ]; then
	log "already up (make cluster-down first to start afresh)"
	exit 0
fi

# --- programs ---------------------------------------------------------------------------
need=()
for c in containerd:containerd runc:runc iptables:iptables conntrack:conntrack ip:iproute2 \
	/usr/lib/cni/bridge:containernetworking-plugins initdb:postgresql redis-server:redis-server; do
	cmd=${c%%:*} pkg=${c#*:}
	case $cmd in
	/*) [ -x "$cmd" ] || need+=("$pkg") ;;
	initdb) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=("$pkg") ;;
	*) command -v "$cmd" >/dev/null || need+=("$pkg") ;;
	esac
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Traefik may still be building (make test builds the cluster's programs in the background): the
# cluster comes up without it, and its ingress controller is added last.
TOOLS=$(bash scripts/cluster-tools.sh --core)
# shellcheck source=/dev/null
. "$TOOLS/versions.env"
DAPR_BIN=$(bash scripts/dapr-tools.sh control-plane)/.dapr/bin
HELM=$(bash scripts/helm-tool.sh)
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
export PATH=$TOOLS:$PATH
export KUBECONFIG=$PKI/admin.conf

mkdir -p "$DATA" "$PKI" "$RUN" "$LOGS"
touch "$RUN/starting" # down.sh undoes a half-made cluster too

# start runs a daemon in its own session, its pid in run/<name>.pid and output in log/<name>.log.
start() {
	local name=$1; shift
	setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

# wait_for retries a command for up to $1 seconds.
wait_for() {
	local seconds=$1 what=$2; shift 2
	for _ in $(seq 1 "$seconds"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	fail "$what did not come up in ${seconds}s (logs in $LOGS)"
}

# --- network: the firewall rule first, then the bridge ----------------------------------
# Nothing from or to the cluster's ranges may leave through an outer interface.
outer=$(ip -4 route show default | awk '{print $5}' | sort -u)
[ -n "$outer" ] || outer=$(ip -o link show | awk -F': ' '$2 != "lo" {print $2}' | cut -d@ -f1)
iptables -w -N "$CLUSTER_FIREWALL_CHAIN" 2>/dev/null || iptables -w -F "$CLUSTER_FIREWALL_CHAIN"
for ifc in $outer; do
	for range in "$CLUSTER_POD_CIDR" "$CLUSTER_SERVICE_CIDR"; do
		iptables -w -A "$CLUSTER_FIREWALL_CHAIN" -o "$ifc" -s "$range" -j DROP
		iptables -w -A "$CLUSTER_FIREWALL_CHAIN" -o "$ifc" -d "$range" -j DROP
	done
done
for chain in OUTPUT FORWARD; do
	iptables -w -C "$chain" -j "$CLUSTER_FIREWALL_CHAIN" 2>/dev/null || iptables -w -I "$chain" 1 -j "$CLUSTER_FIREWALL_CHAIN"
done
echo "$outer" >"$RUN/outer-interfaces"

# The kernel settings the cluster changes, kept to be put back.
: >"$RUN/sysctl"
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory kernel.panic kernel.panic_on_oops; do
	echo "$key=$(sysctl -n "$key")" >>"$RUN/sysctl"
done
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1 || ip link add "$CLUSTER_BRIDGE" type bridge
ip addr replace "$CLUSTER_NODE_IP/${CLUSTER_POD_CIDR#*/}" dev "$CLUSTER_BRIDGE"
ip link set "$CLUSTER_BRIDGE" up
# This machine reaches Services (the API server calling webhooks, tests) from the node address,
# over the bridge: no packet for the service range takes the default route.
ip route replace "$CLUSTER_SERVICE_CIDR" dev "$CLUSTER_BRIDGE" src "$CLUSTER_NODE_IP"

# --- stores: a PostgreSQL and a Redis of the cluster's own, on the node address ---------
if [ ! -d "$DATA/postgres" ]; then
	install -d -o postgres -g postgres "$DATA/postgres"
	su postgres -s /bin/sh -c "$PGBIN/initdb -D '$DATA/postgres' -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null"
	echo "host all all $CLUSTER_POD_CIDR scram-sha-256" >>"$DATA/postgres/pg_hba.conf"
fi
chmod o+x "$ROOT/.data" "$DATA"
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D '$DATA/postgres' -l '$DATA/postgres/server.log' -w -o \"-c listen_addresses=$CLUSTER_NODE_IP -p $CLUSTER_POSTGRES_PORT -k '$DATA/postgres'\" start >/dev/null"
psql_admin() { psql -h "$DATA/postgres" -p "$CLUSTER_POSTGRES_PORT" -U postgres -qAt "$@"; }
psql_admin -c "select 1 from pg_roles where rolname = 'skmall'" | grep -q 1 ||
	psql_admin -c "create role skmall login password '$CLUSTER_POSTGRES_PASSWORD'"
for db in skmall_order skmall_warehouse; do
	psql_admin -c "select 1 from pg_database where datname = '$db'" | grep -q 1 ||
		psql_admin -c "create database $db owner skmall"
done
redis-server --bind "$CLUSTER_NODE_IP" --port "$CLUSTER_REDIS_PORT" --requirepass "$CLUSTER_REDIS_PASSWORD" --save "" --appendonly no \
	--daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOGS/redis.log" --dir "$DATA"

# --- certificates and kubeconfigs ---------------------------------------------------------
if [ ! -f "$PKI/admin.conf" ]; then
	cat >"$DATA/kubeadm.yaml" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: $CLUSTER_NODE_IP, bindPort: $CLUSTER_API_PORT}
nodeRegistration: {name: $CLUSTER_NODE_NAME}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v$KUBERNETES_VERSION
clusterName: skmall
certificatesDir: $PKI
controlPlaneEndpoint: $CLUSTER_NODE_IP:$CLUSTER_API_PORT
networking: {serviceSubnet: $CLUSTER_SERVICE_CIDR, podSubnet: $CLUSTER_POD_CIDR, dnsDomain: cluster.local}
apiServer: {certSANs: [$CLUSTER_NODE_IP, 127.0.0.1]}
EOF
	kubeadm init phase certs all --config "$DATA/kubeadm.yaml" >/dev/null
	for conf in super-admin admin controller-manager scheduler kubelet; do
		kubeadm init phase kubeconfig "$conf" --config "$DATA/kubeadm.yaml" --kubeconfig-dir "$PKI" >/dev/null
	done
	kubeadm kubeconfig user --config "$DATA/kubeadm.yaml" --client-name system:kube-proxy >"$PKI/kube-proxy.conf" 2>/dev/null
fi

# --- control plane --------------------------------------------------------------------------
start etcd etcd --name skmall --data-dir "$DATA/etcd" \
	--listen-client-urls "http://127.0.0.1:$CLUSTER_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$CLUSTER_ETCD_PORT" \
	--listen-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
	--initial-cluster "skmall=http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))"
wait_for 30 etcd curl -fsS "http://127.0.0.1:$CLUSTER_ETCD_PORT/health"

start kube-apiserver kube-apiserver \
	--bind-address "$CLUSTER_NODE_IP" --advertise-address "$CLUSTER_NODE_IP" --secure-port "$CLUSTER_API_PORT" \
	--etcd-servers "http://127.0.0.1:$CLUSTER_ETCD_PORT" \
	--service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" --service-node-port-range 30000-32767 \
	--client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
	--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
	--kubelet-preferred-address-types InternalIP \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
	--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged \
	--requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
	--requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
	--requestheader-extra-headers-prefix X-Remote-Extra- \
	--proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
	--enable-aggregator-routing
wait_for 60 "the API server" kubectl get --raw /readyz

start kube-controller-manager kube-controller-manager --kubeconfig "$PKI/controller-manager.conf" \
	--authentication-kubeconfig "$PKI/controller-manager.conf" --authorization-kubeconfig "$PKI/controller-manager.conf" \
	--bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
	--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
	--root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
	--service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" \
	--horizontal-pod-autoscaler-downscale-stabilization 30s
start kube-scheduler kube-scheduler --kubeconfig "$PKI/scheduler.conf" \
	--authentication-kubeconfig "$PKI/scheduler.conf" --authorization-kubeconfig "$PKI/scheduler.conf" \
	--bind-address 127.0.0.1 --leader-elect=false
# admin.conf's user is in group kubeadm:cluster-admins, which kubeadm init would bind (with the
# super-admin's system:masters credentials, used for nothing else).
kubectl --kubeconfig "$PKI/super-admin.conf" create clusterrolebinding kubeadm:cluster-admins --clusterrole cluster-admin \
	--group kubeadm:cluster-admins --dry-run=client -o yaml | kubectl --kubeconfig "$PKI/super-admin.conf" apply -f - >/dev/null
kubectl create clusterrolebinding skmall-kube-proxy --clusterrole system:node-proxier --user system:kube-proxy \
	--dry-run=client -o yaml | kubectl apply -f - >/dev/null

# --- the node: containerd, the kubelet, kube-proxy ----------------------------------------
mkdir -p "$DATA/cni" "$DATA/containerd"
cat >"$DATA/cni/10-skmall.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "skmall",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CLUSTER_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$DATA/cni/ipam",
        "ranges": [[{"subnet": "$CLUSTER_POD_CIDR", "rangeStart": "${CLUSTER_NODE_IP%.*}.10", "gateway": "$CLUSTER_NODE_IP"}]],
        "routes": [{"dst": "$CLUSTER_SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
# Pods reach the service range through the node, and nothing else beyond their own bridge.
cat >"$DATA/containerd/config.toml" <<EOF
version = 2
root = "$DATA/containerd/root"
state = "$DATA/containerd/state"
[grpc]
  address = "$DATA/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # This machine takes CAP_SYS_RESOURCE from every process: runc cannot lower oom_score_adj.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DATA/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
EOF
start containerd containerd --config "$DATA/containerd/config.toml"
CTR=(ctr --address "$DATA/containerd/containerd.sock" --namespace k8s.io)
wait_for 30 containerd "${CTR[@]}" version

# Images: the add-ons and the Dapr control plane from the programs built above, the shop's
# from make images; containerd takes them as they are (imagePullPolicy never reaches a registry).
DAPR_VERSION=$("$DAPR_BIN/daprd" --version)
images=(
	"$TOOLS/pause=registry.k8s.io/pause:3.10"
	"$TOOLS/coredns=registry.k8s.io/coredns/coredns:v$COREDNS_VERSION"
	"$TOOLS/metrics-server=registry.k8s.io/metrics-server/metrics-server:v$METRICS_SERVER_VERSION"
)
for p in operator injector sentry daprd; do
	images+=("$DAPR_BIN/$p=ghcr.io/dapr/$p:$DAPR_VERSION")
done
# import_images makes images of programs (path=name:tag) in folder $1, and imports every image
# there into containerd.
import_images() {
	local out=$1; shift
	(cd images && go run . -out "$out" $(printf -- '-program %s ' "$@")) >/dev/null
	for tar in "$out"/*.tar; do
		"${CTR[@]}" images import --no-unpack=false "$tar" >/dev/null
	done
}
# The shop's own images go into the same folder first, so that the import below takes them too.
go run ./images -out "$DATA/images" >/dev/null
import_images "$DATA/images" "${images[@]}"

mkdir -p "$DATA/kubelet"
: >"$DATA/resolv.conf" # pods learn no name server of this machine's
cat >"$DATA/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
# This machine: cgroup v1, swap allowed, kernel settings it cannot take as given.
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
containerRuntimeEndpoint: unix://$DATA/containerd/containerd.sock
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: cluster.local
resolvConf: $DATA/resolv.conf
address: $CLUSTER_NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
serializeImagePulls: false
maxPods: 60
podLogsDir: $DATA/pods
# Disk on a shared machine: evict nothing for it.
evictionHard: {memory.available: 200Mi, nodefs.available: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
EOF
start kubelet kubelet --config "$DATA/kubelet.yaml" --kubeconfig "$PKI/kubelet.conf" \
	--root-dir "$DATA/kubelet" --cert-dir "$DATA/kubelet/pki" \
	--hostname-override "$CLUSTER_NODE_NAME" --node-ip "$CLUSTER_NODE_IP"

cat >"$DATA/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.conf}
mode: iptables
clusterCIDR: $CLUSTER_POD_CIDR
hostnameOverride: $CLUSTER_NODE_NAME
bindAddress: $CLUSTER_NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts answer on the node address only.
nodePortAddresses: [$CLUSTER_NODE_IP/32]
# Leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
start kube-proxy kube-proxy --config "$DATA/kube-proxy.yaml"
wait_for 120 "the node" kubectl wait --for condition=Ready "node/$CLUSTER_NODE_NAME" --timeout 1s

# --- add-ons --------------------------------------------------------------------------------
# addons applies add-on manifests, filled in with the cluster's addresses and versions.
addons() {
	for f in "$@"; do
		echo ---
		sed -e "s/@DNS_IP@/$CLUSTER_DNS_IP/g" -e "s/@INGRESS_PORT@/$CLUSTER_INGRESS_PORT/g" \
			-e "s/@COREDNS_VERSION@/$COREDNS_VERSION/g" -e "s/@METRICS_SERVER_VERSION@/$METRICS_SERVER_VERSION/g" \
			-e "s/@TRAEFIK_VERSION@/$TRAEFIK_VERSION/g" -e "s/@NODE_IP@/$CLUSTER_NODE_IP/g" \
			-e "s/@POSTGRES_PORT@/$CLUSTER_POSTGRES_PORT/g" -e "s/@REDIS_PORT@/$CLUSTER_REDIS_PORT/g" "$f"
	done | kubectl apply -f - >/dev/null
}
core=()
for f in cluster/addons/*.yaml; do [ "$f" = cluster/addons/traefik.yaml ] || core+=("$f"); done
addons "${core[@]}"
# The prometheus-operator's CRDs for the chart's PodMonitor and PrometheusRule (the operator
# itself is not run: the API server checks the objects against the CRDs' schemas).
PROMETHEUS_OPERATOR_VERSION=0.85.0
crds=$(cd /tmp && GOWORK=off go mod download -json "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/example/prometheus-operator-crd
kubectl apply --server-side -f "$crds/monitoring.coreos.com_podmonitors.yaml" -f "$crds/monitoring.coreos.com_prometheusrules.yaml" >/dev/null
DAPR_CHART=$(cd /tmp && GOWORK=off go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/charts/dapr
"$HELM" upgrade --install dapr "$DAPR_CHART" --namespace dapr-system --create-namespace \
	--values cluster/dapr-values.yaml --set "global.tag=$DAPR_VERSION" --wait --timeout 5m >/dev/null

# The ingress controller, once Traefik is built.
TOOLS=$(bash scripts/cluster-tools.sh)
import_images "$DATA/images/ingress" "$TOOLS/traefik=docker.io/library/traefik:v$TRAEFIK_VERSION"
addons cluster/addons/traefik.yaml
for ns in kube-system ingress-nginx dapr-system; do
	kubectl -n "$ns" wait --for condition=Available deployment --all --timeout 180s >/dev/null
done

rm -f "$RUN/starting"
touch "$RUN/up"
log "up: kubectl --kubeconfig $KUBECONFIG get pods -A"
log "the ingress answers at http://$CLUSTER_NODE_IP:$CLUSTER_INGRESS_PORT (Host: shop.example.com)"
