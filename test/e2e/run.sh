#!/usr/bin/env bash
# run.sh - `make e2e`: cluster up, every e2e suite (go test ./... in test/e2e, JSON report in
# build/e2e/reports/e2e.json, readable output on the console), cluster down (always, unless
# E2E_KEEP=1; E2E_TESTS=REGEX picks suites). Bounded: cluster-up waits at most E2E_UP_TIMEOUT (180 s) for Ready after the
# build, the suites at most E2E_TEST_TIMEOUT (30m). Exit status: the suites' (or cluster-up's).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/e2e/cluster/env.sh
mkdir -p "$E2E/reports"
report=$E2E/reports/e2e.json

down() {
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: E2E_KEEP=1: cluster left running (make e2e-down stops it)"
	else
		bash hack/cluster-down.sh
	fi
}
trap down EXIT

t0=$(date +%s)
# A clean slate: whatever an interrupted run left (processes, mounts, etcd) goes first.
[ "${E2E_KEEP:-0}" = 1 ] || bash hack/cluster-down.sh >/dev/null 2>&1 || true
if ! bash hack/cluster-up.sh; then
	echo "e2e: FAILED: cluster-up (logs in $E2E_LOGS)" >&2
	exit 1
fi
echo "e2e: cluster up in $(( $(date +%s) - t0 ))s; running suites"

export KUBECONFIG=$KUBECONFIG_E2E KUBECTL=$E2E_BIN/kubectl HELM=$E2E_BIN/helm E2E_REQUIRE_CLUSTER=1
t1=$(date +%s)
(cd test/e2e && go test -count=1 -timeout "${E2E_TEST_TIMEOUT:-30m}" -json ${E2E_TESTS:+-run "$E2E_TESTS"} ./...) > "$report"
rc=$?
# The JSON report's output lines, as `go test -v` would have printed them.
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        ev = json.loads(line)
    except ValueError:
        sys.stdout.write(line)  # build errors are not JSON
        continue
    if ev.get("Action") == "output":
        sys.stdout.write(ev.get("Output", ""))
' "$report"
echo "e2e: suites took $(( $(date +%s) - t1 ))s, exit $rc; report: $report"
[ $rc -eq 0 ] || echo "e2e: FAILED (cluster logs: $E2E_LOGS)" >&2
exit $rc
