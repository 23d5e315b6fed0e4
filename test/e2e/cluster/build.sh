#!/usr/bin/env bash
# Builds, when its inputs changed, the e2e cluster's multi-call binary (build/e2e/bin/cluster,
# with kubectl/kubelet/... symlinks) and helm (build/e2e/bin/helm). Go caches stay in their
# default places, so a warm rebuild is a cache hit and the stamp check skips even that.
set -euo pipefail
cd "$(dirname "$0")"
. ./env.sh
mkdir -p "$E2E_BIN" "$E2E_LOGS"

stamp=$( (go version; cat go.mod go.sum ./*.go) | sha256sum | cut -d' ' -f1)
if [ ! -x "$E2E_BIN/cluster" ] || [ "$(cat "$E2E_BIN/.cluster.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "build: cluster binary (k8s.io/kubernetes $E2E_K8S_VERSION + etcd); a cold build takes ~15 min on 2 cores"
	t=$(date +%s)
	# Version stamps as Kubernetes' own build sets them (else components say v0.0.0-master,
	# which breaks helm's kubeVersion checks and version-skew logic).
	minor=${E2E_K8S_VERSION#v1.}; minor=${minor%%.*}
	ver=""
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ver="$ver -X $p.gitVersion=$E2E_K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		ver="$ver -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	go build -trimpath -ldflags="-s -w $ver" -o "$E2E_BIN/cluster.tmp" . 2>&1 | tee "$E2E_LOGS/build-cluster.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build: go build failed (build/e2e/logs/build-cluster.log)" >&2; exit 1; }
	mv "$E2E_BIN/cluster.tmp" "$E2E_BIN/cluster"
	echo "$stamp" > "$E2E_BIN/.cluster.stamp"
	echo "build: cluster binary built in $(( $(date +%s) - t ))s"
fi
for c in kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd; do
	[ -L "$E2E_BIN/$c" ] || ln -sf cluster "$E2E_BIN/$c"
done

if [ ! -x "$E2E_BIN/helm" ] || [ "$(cat "$E2E_BIN/.helm.stamp" 2>/dev/null)" != "$E2E_HELM_VERSION" ]; then
	echo "build: helm $E2E_HELM_VERSION"
	t=$(date +%s)
	# Outside our module so helm's own go.mod (and its k8s.io versions) rule its build.
	(cd / && GOFLAGS=-trimpath GOBIN="$E2E_BIN" go install -ldflags='-s -w' \
		"helm.sh/helm/v3/cmd/helm@$E2E_HELM_VERSION") 2>&1 | tee "$E2E_LOGS/build-helm.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build: helm install failed" >&2; exit 1; }
	echo "$E2E_HELM_VERSION" > "$E2E_BIN/.helm.stamp"
	echo "build: helm built in $(( $(date +%s) - t ))s"
fi
