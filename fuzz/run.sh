#!/usr/bin/env bash
# Runs the libFuzzer targets built by fuzz/fuzz.mk.
#   fuzz/run.sh BUILD full SECONDS TARGET...   each target SECONDS s on $BUILD/fuzz/corpus/<t>
#                                              (the committed seeds copied in first)
#   fuzz/run.sh BUILD smoke RUNS TARGET...     each target RUNS inputs, fixed seed, on a
#                                              throwaway copy of the committed corpus
# Both modes also seed with fuzz/crashes/<target>-* (reproducers of past findings).
# No TARGET: every fuzz/fuzz_*.c.
# Prints one line per target (executions, new corpus size, crash file) and a closing
# "fuzz: N passed, N failed"; with FUZZ_COUNTS=<file> also writes "N N" there.
set -u
BUILD=$1 MODE=$2 AMOUNT=$3
shift 3
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
	set -- $(for f in fuzz/fuzz_*.c; do t=${f#fuzz/fuzz_}; echo "${t%.c}"; done)
fi
pass=0 fail=0
art="$BUILD/fuzz/artifacts"
mkdir -p "$art"
for t in "$@"; do
	bin="$BUILD/fuzz/fuzz_$t"
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: FAIL (no binary $bin)"
		fail=$((fail + 1))
		continue
	fi
	if [ "$MODE" = full ]; then
		corpus="$BUILD/fuzz/corpus/$t"
		mkdir -p "$corpus"
		limit=(-max_total_time="$AMOUNT")
	else
		corpus=$(mktemp -d)
		limit=(-runs="$AMOUNT" -seed=1 -max_total_time=60)
	fi
	if [ -d "fuzz/corpus/$t" ]; then
		cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
	fi
	# reproducers of past findings run first, as seeds
	cp -n fuzz/crashes/"$t"-* "$corpus"/ 2>/dev/null || true
	if [ "$t" = ledger_load ] && [ -x "$BUILD/fuzz/ledger_seed" ]; then
		"$BUILD/fuzz/ledger_seed" "$corpus" || echo "fuzz $t: note: ledger_seed failed"
	fi
	log="$BUILD/fuzz/$t.log"
	# -timeout: one input taking 10 s is a finding (quadratic parsers); leaks are crashes
	"$bin" "$corpus" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$art/$t-" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | grep -o 'cov: [0-9]*' || true)
	units=$(find "$corpus" -type f | wc -l)
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ok, ${execs:-?} executions, ${cov:-cov: ?}, corpus $units files"
		pass=$((pass + 1))
	else
		crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "fuzz $t: FAIL (exit $rc) after ${execs:-?} executions; input: ${crash:-none}; log: $log"
		grep -E 'ERROR: |SUMMARY: |fuzz property failed|runtime error' "$log" | head -5 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
	[ "$MODE" = full ] || rm -rf "$corpus"
done
echo "fuzz: $pass passed, $fail failed"
[ -n "${FUZZ_COUNTS:-}" ] && echo "$pass $fail" >"$FUZZ_COUNTS"
[ $fail -eq 0 ]
