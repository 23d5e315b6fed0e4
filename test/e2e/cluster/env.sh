# Sourced by hack/cluster-up.sh, hack/cluster-down.sh and the e2e suites' shell helpers:
# where the single-node e2e cluster lives. Override any of these in the environment.
E2E_ROOT=${E2E_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
E2E=${E2E:-$E2E_ROOT/build/e2e}             # build output, pki, logs, pids (gitignored)
E2E_BIN=$E2E/bin
E2E_PKI=$E2E/pki
E2E_LOGS=$E2E/logs
E2E_RUN=$E2E/run
E2E_IMAGES=$E2E/images
E2E_STATE=${E2E_STATE:-/var/lib/wattlet-e2e}  # etcd, containerd and kubelet state
E2E_RSTATE=${E2E_RSTATE:-/run/wattlet-e2e}     # containerd runtime state and socket
E2E_NODE=${E2E_NODE:-wattlet-e2e-node}
# Pod network: a bridge that exists only on this machine; its gateway address is also the
# node's InternalIP, so kubelet, apiserver and pods talk over it and nothing leaves the host.
E2E_BRIDGE=${E2E_BRIDGE:-wattlet-br0}
E2E_POD_CIDR=${E2E_POD_CIDR:-10.244.0.0/24}
E2E_NODE_IP=${E2E_NODE_IP:-10.244.0.1}
E2E_SVC_CIDR=${E2E_SVC_CIDR:-10.96.0.0/24}
E2E_SVC_IP=${E2E_SVC_IP:-10.96.0.1}
E2E_API_PORT=${E2E_API_PORT:-6443}
E2E_ETCD=${E2E_ETCD:-http://127.0.0.1:23790}
E2E_CONTAINERD_SOCK=$E2E_RSTATE/containerd/containerd.sock
E2E_K8S_VERSION=${E2E_K8S_VERSION:-v1.34.4}
E2E_HELM_VERSION=${E2E_HELM_VERSION:-v3.16.4}
KUBECONFIG_E2E=$E2E_PKI/admin.kubeconfig
