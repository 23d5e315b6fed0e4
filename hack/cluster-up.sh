#!/usr/bin/env bash
# cluster-up.sh - starts (or finishes starting) the single-node e2e Kubernetes cluster:
# embedded etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (own
# config, state and socket), kubelet and kube-proxy, all from one multi-call binary built
# from k8s.io/kubernetes (test/e2e/cluster). Idempotent: running it again only starts what
# is not running. Logs: build/e2e/logs; pids: build/e2e/run; admin kubeconfig:
# build/e2e/pki/admin.kubeconfig. Stop and clean up with hack/cluster-down.sh.
# Options (environment): E2E_UP_TIMEOUT (s, default 180) bounds the wait for Ready.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/e2e/cluster/env.sh
t0=$(date +%s.%N)
UP_TIMEOUT=${E2E_UP_TIMEOUT:-180}

log() { printf '[cluster-up %5.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')" "$*"; }
die() {
	echo "cluster-up: FAILED: $*" >&2
	for f in "$E2E_LOGS"/*.log; do
		[ -f "$f" ] || continue
		echo "----- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "must run as root (kubelet, containerd, cgroups, netns)"

mkdir -p "$E2E_BIN" "$E2E_PKI" "$E2E_LOGS" "$E2E_RUN" "$E2E_IMAGES" "$E2E/cni/net.d" \
	"$E2E_STATE" "$E2E_RSTATE"

# --- dependencies and build -------------------------------------------------
bash hack/deps.sh
bash test/e2e/cluster/build.sh || die "build of the cluster binary or helm failed (see above)"
CL=$E2E_BIN/cluster
KC=("$CL" kubectl --kubeconfig "$KUBECONFIG_E2E")
log "binaries ready"

# --- PKI: CA, serving and client certificates, kubeconfigs ------------------
bash test/e2e/cluster/pki.sh || die "pki generation failed"
log "pki ready"

# --- process helpers --------------------------------------------------------
running() { # running NAME: its pid file names a live process
	local p
	[ -f "$E2E_RUN/$1.pid" ] || return 1
	p=$(cat "$E2E_RUN/$1.pid")
	# alive, and still our process (not a reused pid): its command line names the component
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q -- "$1 " <<<"$(tr '\0' ' ' < "/proc/$p/cmdline")"
}
start() { # start NAME CMD...: runs CMD detached, logs to logs/NAME.log, pid in run/NAME.pid
	local name=$1
	shift
	if running "$name"; then
		log "$name already running (pid $(cat "$E2E_RUN/$name.pid"))"
		return 0
	fi
	echo "=== $(date -Is) $*" >> "$E2E_LOGS/$name.log"
	(
		# The daemon inherits no descriptor but 0-2: under `flock LOCK cmd` (how the e2e
		# lock is taken) an inherited lock fd would keep the lock held for the daemon's
		# whole life, long after the caller released it.
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec setsid "$@"
	) >> "$E2E_LOGS/$name.log" 2>&1 < /dev/null &
	echo $! > "$E2E_RUN/$name.pid"
	log "$name started (pid $!)"
}
wait_for() { # wait_for WHAT SECONDS CMD...
	local what=$1 secs=$2 end
	shift 2
	end=$(( $(date +%s) + secs ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || die "$what not ready after ${secs}s"
		sleep 0.5
	done
	log "$what ready"
}
healthz() { # healthz URL: 200 with the admin client cert
	curl -fsS --max-time 3 --cacert "$E2E_PKI/ca.crt" --cert "$E2E_PKI/admin.crt" \
		--key "$E2E_PKI/admin.key" "$1"
}

# --- control plane ------------------------------------------------------------
start etcd "$CL" etcd --data-dir "$E2E_STATE/etcd" --listen-client "$E2E_ETCD"
wait_for etcd 60 curl -fsS --max-time 2 "$E2E_ETCD/health"

# The bridge exists before the apiserver starts: its address is the advertise address.
if ! ip link show "$E2E_BRIDGE" >/dev/null 2>&1; then
	ip link add "$E2E_BRIDGE" type bridge
fi
# (grep on captured output: with pipefail, `ip ... | grep -q` fails when grep exits early)
grep -q "inet $E2E_NODE_IP/" <<<"$(ip addr show dev "$E2E_BRIDGE")" ||
	ip addr add "$E2E_NODE_IP/${E2E_POD_CIDR#*/}" dev "$E2E_BRIDGE"
ip link set "$E2E_BRIDGE" up
# Service IPs live on the bridge too: kube-proxy DNATs the known ones; anything else stays
# on this local bridge instead of following the default route off the machine.
grep -q "dev $E2E_BRIDGE" <<<"$(ip route show "$E2E_SVC_CIDR")" ||
	ip route replace "$E2E_SVC_CIDR" dev "$E2E_BRIDGE"

start kube-apiserver "$CL" kube-apiserver \
	--etcd-servers="$E2E_ETCD" \
	--bind-address=0.0.0.0 --secure-port="$E2E_API_PORT" --advertise-address="$E2E_NODE_IP" \
	--tls-cert-file="$E2E_PKI/apiserver.crt" --tls-private-key-file="$E2E_PKI/apiserver.key" \
	--client-ca-file="$E2E_PKI/ca.crt" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$E2E_PKI/sa.pub" \
	--service-account-signing-key-file="$E2E_PKI/sa.key" \
	--service-cluster-ip-range="$E2E_SVC_CIDR" \
	--authorization-mode=Node,RBAC \
	--enable-admission-plugins=NodeRestriction \
	--allow-privileged=true \
	--kubelet-client-certificate="$E2E_PKI/apiserver-kubelet-client.crt" \
	--kubelet-client-key="$E2E_PKI/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority="$E2E_PKI/ca.crt" \
	--kubelet-preferred-address-types=InternalIP \
	--profiling=false --v=1
wait_for kube-apiserver 90 healthz "https://127.0.0.1:$E2E_API_PORT/readyz"

start kube-controller-manager "$CL" kube-controller-manager \
	--kubeconfig="$E2E_PKI/controller-manager.kubeconfig" \
	--authentication-kubeconfig="$E2E_PKI/controller-manager.kubeconfig" \
	--authorization-kubeconfig="$E2E_PKI/controller-manager.kubeconfig" \
	--bind-address=127.0.0.1 --leader-elect=false \
	--controllers='*' --use-service-account-credentials=true \
	--service-account-private-key-file="$E2E_PKI/sa.key" --root-ca-file="$E2E_PKI/ca.crt" \
	--cluster-signing-cert-file="$E2E_PKI/ca.crt" --cluster-signing-key-file="$E2E_PKI/ca.key" \
	--allocate-node-cidrs=false --profiling=false --v=1
start kube-scheduler "$CL" kube-scheduler \
	--kubeconfig="$E2E_PKI/scheduler.kubeconfig" \
	--authentication-kubeconfig="$E2E_PKI/scheduler.kubeconfig" \
	--authorization-kubeconfig="$E2E_PKI/scheduler.kubeconfig" \
	--bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1

# --- node: CNI, containerd, images, kubelet, kube-proxy -----------------------
cat > "$E2E/cni/net.d/10-wattlet-e2e.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "wattlet-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$E2E_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$E2E_STATE/cni-ipam",
        "ranges": [[{"subnet": "$E2E_POD_CIDR", "gateway": "$E2E_NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI

cat > "$E2E/containerd.toml" <<TOML
# containerd for the e2e node only: own root, state and socket; cgroupfs (no systemd).
version = 2
root = "$E2E_STATE/containerd"
state = "$E2E_RSTATE/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$E2E_CONTAINERD_SOCK"
[ttrpc]
  address = "$E2E_RSTATE/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/wattlet-e2e/pause:1"
  enable_selinux = false
  # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower its oom_score_adj
  # (runc fails "failed to update /proc/self/oom_score_adj: Permission denied" for the
  # sandbox's -998). Clamp to containerd's own value instead, as rootless setups do.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
        Root = "$E2E_RSTATE/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E2E/cni/net.d"
TOML
start containerd containerd --config "$E2E/containerd.toml"
CTR=(ctr --address "$E2E_CONTAINERD_SOCK" -n k8s.io)
wait_for containerd 30 "${CTR[@]}" version

# Images: built from host binaries (hack/image.sh) when missing or older than their sources.
img() { # img NAME REF SOURCES...
	local name=$1 ref=$2 tar=$E2E_IMAGES/$1.tar s stale=0
	shift 2
	[ -f "$tar" ] || stale=1
	for s in "$@"; do [ -e "$s" ] && [ "$s" -nt "$tar" ] && stale=1; done
	if [ $stale = 1 ]; then bash hack/image.sh "$name" "$tar" "${E2E_AGENT_BUILD:-build}" >/dev/null || die "image $name"; fi
	# Import only when containerd lacks this exact manifest.
	local want
	want=$(tar -xOf "$tar" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p')
	if ! grep -qx "$ref" <<<"$("${CTR[@]}" images ls -q "name==$ref" 2>/dev/null)" ||
		[ "$("${CTR[@]}" images ls "name==$ref" | awk 'NR==2{print $3}')" != "$want" ]; then
		"${CTR[@]}" images import "$tar" >/dev/null || die "import of $tar"
		log "imported $ref"
	fi
}
img pause docker.io/wattlet-e2e/pause:1 hack/pause.c hack/image.sh hack/oci-image.sh
img stress docker.io/wattlet-e2e/stress:1 hack/image.sh hack/oci-image.sh
img redis docker.io/wattlet-e2e/redis:1 hack/image.sh hack/oci-image.sh
img tools docker.io/wattlet-e2e/tools:1 hack/image.sh hack/oci-image.sh
AB=${E2E_AGENT_BUILD:-build}  # where the agent was built (make BUILD=...)
if [ -x "$AB/wattlet" ] && [ -x "$AB/raplsim" ]; then
	img wattlet docker.io/library/wattlet:dev "$AB/wattlet" "$AB/raplsim" hack/image.sh hack/oci-image.sh
else
	log "$AB/wattlet or $AB/raplsim missing (run make): wattlet:dev not imported"
fi

# kubelet changes these kernel settings at start (protectKernelDefaults=false); remember the
# host's values so cluster-down can put them back.
if [ ! -f "$E2E_RUN/sysctl.orig" ]; then
	for k in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
		kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
		v=$(sysctl -n "$k" 2>/dev/null) && echo "$k=$v"
	done > "$E2E_RUN/sysctl.orig"
fi

cat > "$E2E/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true, cacheTTL: 30s}
  x509: {clientCAFile: "$E2E_PKI/ca.crt"}
authorization:
  mode: Webhook
  webhook: {cacheAuthorizedTTL: 30s, cacheUnauthorizedTTL: 10s}
tlsCertFile: "$E2E_PKI/kubelet.crt"
tlsPrivateKeyFile: "$E2E_PKI/kubelet.key"
rotateCertificates: false
serverTLSBootstrap: false
containerRuntimeEndpoint: "unix://$E2E_CONTAINERD_SOCK"
cgroupDriver: cgroupfs
# cgroup v1 (these hosts): maintenance mode since 1.31; 1.35 refuses it unless this is false.
failCgroupV1: false
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
podCIDR: "$E2E_POD_CIDR"
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 110
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
registerNode: true
YAML
start kubelet "$CL" kubelet --config="$E2E/kubelet.yaml" \
	--kubeconfig="$E2E_PKI/kubelet.kubeconfig" \
	--hostname-override="$E2E_NODE" --node-ip="$E2E_NODE_IP" \
	--root-dir="$E2E_STATE/kubelet" --oom-score-adj=0 --v=1
start kube-proxy "$CL" kube-proxy --kubeconfig="$E2E_PKI/kube-proxy.kubeconfig" \
	--hostname-override="$E2E_NODE" --cluster-cidr="$E2E_POD_CIDR" --proxy-mode=iptables \
	--conntrack-max-per-core=0 --bind-address=127.0.0.1 --metrics-bind-address=127.0.0.1:10249 \
	--healthz-bind-address=127.0.0.1:10256 --v=1

node_ready() {
	[ "$("${KC[@]}" get node "$E2E_NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
wait_for "node $E2E_NODE Ready" "$UP_TIMEOUT" node_ready
wait_for "default service account" 60 "${KC[@]}" get serviceaccount default -n default
log "cluster up: KUBECONFIG=$KUBECONFIG_E2E  kubectl=$E2E_BIN/kubectl  helm=$E2E_BIN/helm"
