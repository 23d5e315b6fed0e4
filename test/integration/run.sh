#!/usr/bin/env bash
# Runs every integration test (test/integration/it_*.sh); prints a summary line.
set -u
BUILD=${1:-build}
export BUILD
cd "$(dirname "$0")/../.."
tp=0; tf=0; ts=0; rc=0
for t in test/integration/it_*.sh; do
	[ -n "${IT_ONLY:-}" ] && [[ "$t" != *"$IT_ONLY"* ]] && continue
	echo "--- $t"
	counts=$(mktemp)
	IT_COUNTS=$counts timeout 600 bash "$t"; r=$?
	read -r p f s < "$counts" || { p=0; f=1; s=0; echo "FAIL - $t exited $r without a summary"; }
	rm -f "$counts"
	tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
	[ $r -ne 0 ] && rc=1
done
echo "integration: $tp passed, $tf failed, $ts skipped"
[ -n "${IT_TOTALS:-}" ] && echo "$tp $tf $ts" > "$IT_TOTALS"
exit $rc
