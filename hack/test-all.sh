#!/usr/bin/env bash
# `make test`: unit tests, the same under ASan+UBSan, then the integration tests.
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
echo "=== integration tests"
IT_TOTALS=$c3 bash test/integration/run.sh "$BUILD" || rc=1
read -r p1 f1 < "$c1" || { p1=0; f1=1; }
read -r p2 f2 < "$c2" || { p2=0; f2=1; }
read -r p3 f3 s3 < "$c3" || { p3=0; f3=1; s3=0; }
rm -f "$c1" "$c2" "$c3"
echo "=== done in $(( $(date +%s) - t0 )) s"
echo "wattlet: $((p1 + p2 + p3)) passed, $((f1 + f2 + f3)) failed, $s3 skipped"
exit $rc
