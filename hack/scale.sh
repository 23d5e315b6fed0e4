#!/usr/bin/env bash
# scale.sh - `make scale`: K simulated nodes (sim/kubesim.c, the agent's own kube_writer) x P pods
# writing PodEnergy/NodeEnergy to the e2e cluster's real API server; prints the table of
# docs/scale.md (TestScale in test/e2e/scale_test.go). Starts the cluster if it is not up and
# stops it afterwards unless E2E_KEEP=1 (or it was already up). Knobs: E2E_SCALE_NODES
# ("10,25,50"), E2E_SCALE_PODS (100), E2E_SCALE_STEADY (Go duration, "120s"),
# E2E_SCALE_BUDGET ("off,on"). Needs $E2E_AGENT_BUILD/kubesim (make builds it).
set -uo pipefail
cd "$(dirname "$0")/.."
. test/e2e/cluster/env.sh
build=${E2E_AGENT_BUILD:-build}
[ -x "$build/kubesim" ] || { echo "scale: no $build/kubesim (make BUILD=$build $build/kubesim)" >&2; exit 1; }
was_up=0
"$E2E_BIN/kubectl" --kubeconfig "$KUBECONFIG_E2E" get --raw /readyz >/dev/null 2>&1 && was_up=1
if [ $was_up = 0 ]; then
	bash hack/cluster-up.sh || { echo "scale: FAILED: cluster-up (logs in $E2E_LOGS)" >&2; exit 1; }
fi
export KUBECONFIG=$KUBECONFIG_E2E KUBECTL=$E2E_BIN/kubectl E2E_REQUIRE_CLUSTER=1 E2E_SCALE=1 E2E_AGENT_BUILD=$build
mkdir -p "$E2E/reports"
(cd test/e2e && go test -count=1 -timeout "${E2E_TEST_TIMEOUT:-60m}" -v -run '^TestScale$' ./...) 2>&1 |
	tee "$E2E/reports/scale.txt"
rc=${PIPESTATUS[0]}
if [ $was_up = 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
	bash hack/cluster-down.sh
fi
echo "scale: exit $rc; output in $E2E/reports/scale.txt"
exit $rc
