#!/bin/sh
# Renders k8s/wattlet.yaml, the plain manifests, from the Helm chart with its defaults.
# Usage: k8s/render.sh [--stdout]     (HELM=path/to/helm to pick the binary)
# Install with:  kubectl apply -f crds/ && kubectl apply -f k8s/wattlet.yaml
set -eu
cd "$(dirname "$0")/.."
helm=${HELM:-}
if [ -z "$helm" ]; then
	for h in build/e2e/bin/helm build/tools/bin/helm; do
		[ -x "$h" ] && helm=$h && break
	done
fi
[ -n "$helm" ] || helm=helm
render() {
	cat <<'HDR'
# Plain manifests for wattlet, rendered by k8s/render.sh from helm/wattlet with its
# default values (namespace wattlet-system). Do not edit: change the chart and re-render.
# The CRDs are in crds/: kubectl apply -f crds/ && kubectl apply -f k8s/wattlet.yaml
---
apiVersion: v1
kind: Namespace
metadata:
  name: wattlet-system
  labels:
    app.kubernetes.io/part-of: wattlet
    pod-security.kubernetes.io/enforce: privileged
HDR
	"$helm" template wattlet helm/wattlet --namespace wattlet-system --skip-tests --kube-version 1.31.0
}
if [ "${1:-}" = "--stdout" ]; then
	render
else
	render > k8s/wattlet.yaml.tmp
	mv k8s/wattlet.yaml.tmp k8s/wattlet.yaml
	echo "wrote k8s/wattlet.yaml"
fi
