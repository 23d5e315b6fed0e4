#!/usr/bin/env bash
# `make test`: unit tests, the same under ASan+UBSan, a fuzz smoke (fuzz/run.sh), the integration tests on this host,
# then the end-to-end suites in a real single-node Kubernetes cluster (test/e2e/run.sh).
# Prints one closing line: "wattlet: N passed, N failed, N skipped".
set -u
BUILD=$1; shift
cd "$(dirname "$0")/.."
t0=$(date +%s)
rc=0
c1=$(mktemp); c2=$(mktemp); c3=$(mktemp)
echo "=== unit tests"
UNIT_COUNTS=$c1 bash hack/run-unit.sh "$BUILD/test" "$@" || rc=1
echo "=== unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	UNIT_COUNTS=$c2 bash hack/run-unit.sh "$BUILD/test-asan" "$@" || rc=1
echo "=== fuzz smoke (each fuzz/fuzz_*.c target on fixed inputs; make fuzz runs longer)"
c5=$(mktemp)
FUZZ_COUNTS=$c5 bash fuzz/run.sh "$BUILD" smoke "${FUZZ_SMOKE_RUNS:-20000}" || rc=1
echo "=== integration tests"
IT_TOTALS=$c3 bash test/integration/run.sh "$BUILD" || rc=1
echo "=== end-to-end tests in a real single-node Kubernetes cluster (make e2e)"
c4=$(mktemp)
if [ "${WATTLET_SKIP_E2E:-0}" = 1 ]; then
	echo "e2e: skipped because WATTLET_SKIP_E2E=1"
	echo "0 0 1" > "$c4"
else
	E2E_AGENT_BUILD=$BUILD bash test/e2e/run.sh || rc=1
	python3 - "$(pwd)/build/e2e/reports/e2e.json" "$c4" <<'PY'
import json, sys
counts = {"pass": 0, "fail": 0, "skip": 0}
try:
    for line in open(sys.argv[1]):
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("Test") and ev.get("Action") in counts:
            counts[ev["Action"]] += 1
except OSError:
    counts["fail"] += 1
print(f"e2e: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
open(sys.argv[2], "w").write(f"{counts['pass']} {counts['fail']} {counts['skip']}\n")
PY
fi
read -r p4 f4 s4 < "$c4" || { p4=0; f4=1; s4=0; }
rm -f "$c4"
read -r p1 f1 < "$c1" || { p1=0; f1=1; }
read -r p2 f2 < "$c2" || { p2=0; f2=1; }
read -r p3 f3 s3 < "$c3" || { p3=0; f3=1; s3=0; }
read -r p5 f5 < "$c5" || { p5=0; f5=1; }
rm -f "$c5"
rm -f "$c1" "$c2" "$c3"
echo "=== done in $(( $(date +%s) - t0 )) s"
echo "wattlet: $((p1 + p2 + p3 + p4 + p5)) passed, $((f1 + f2 + f3 + f4 + f5)) failed, $((s3 + s4)) skipped"
exit $rc
