#!/usr/bin/env bash
# Runs cmocka test binaries: run-unit.sh DIR NAME... ; prints each binary's result and
# exits non-zero if any failed. Counts go to $UNIT_COUNTS (if set) as "passed failed".
set -u
dir=$1; shift
export RAPLSIM=${RAPLSIM:-$dir/../raplsim}
fail=0; npass=0; nfail=0
for t in "$@"; do
	out=$("$dir/$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	npass=$((npass + ${p:-0})); nfail=$((nfail + ${f:-0}))
	if [ $rc -ne 0 ]; then
		fail=1
		[ -z "$f" ] && nfail=$((nfail + 1))
		printf '%s\n' "$out"
		echo "FAIL $dir/$t (exit $rc)"
	else
		echo "ok   $dir/$t (${p:-0} tests)"
	fi
done
[ -n "${UNIT_COUNTS:-}" ] && echo "$npass $nfail" > "$UNIT_COUNTS"
echo "unit ($dir): $npass passed, $nfail failed"
exit $fail
