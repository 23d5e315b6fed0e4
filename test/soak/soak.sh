#!/usr/bin/env bash
# soak.sh - `make soak`: the agent under cgroup churn for SOAK_SECONDS (default 1800), with
# its RSS and open fds sampled every SOAK_SAMPLE seconds; prints both series' least-squares
# slope after a warm-up and judges them:
#   fds: the count after the warm-up may not grow (end <= warm-up max + 2);
#   RSS: growth after the warm-up <= SOAK_RSS_BOUND_KIB (default 2048 KiB over the run).
# Churn: every round creates SOAK_WIDTH cgroups with fresh names, runs a short CPU burst in
# each, waits for it and removes the cgroup, so workloads keep appearing and terminating;
# ledger.retention is short (30s) so terminated rows are pruned during the run and the
# tables must shrink back.
# SOAK_SECONDS < 300 is a smoke (what make test runs): it checks fds return to their level
# and that the agent keeps ticking, and prints the slopes without judging them (too short).
# Real processes only: raplsim (SIMULATED meter), the agent, real cgroups. Needs root.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "soak"

SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_SAMPLE=${SOAK_SAMPLE:-10}
SOAK_WIDTH=${SOAK_WIDTH:-8}
SOAK_RSS_BOUND_KIB=${SOAK_RSS_BOUND_KIB:-2048}
SOAK_PAUSE=${SOAK_PAUSE:-0}   # seconds between churn rounds (make soak: 1, to leave CPU to others)
smoke=0; [ "$SOAK_SECONDS" -lt 300 ] && smoke=1
echo "soak: ${SOAK_SECONDS}s, sample every ${SOAK_SAMPLE}s, $SOAK_WIDTH cgroups per churn round$( [ $smoke = 1 ] && echo ' (smoke: slopes printed, not judged)')"

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 500ms \
	--checkpoint "$TMP/ledger.ckpt" --set ledger.checkpoint_interval=2s --set ledger.retention=30s ||
	{ fail "agent not ready: $(tail -3 "$TMP/agent.log")"; finish; exit; }

base=$(cg_create "wattlet-soak-$$")
ticks() { metric 'wattlet_agent_ticks_total'; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$AGENT_PID/status" 2>/dev/null; }
# cgroups on the whole host outside this soak's own: the agent tracks every cgroup, so other
# work that creates many (a test suite, a build) raises its high-water mark legitimately
cpuroot=$(dirname "$base")
others() { echo $(( $(find "$cpuroot" -type d 2>/dev/null | wc -l) - $(find "$base" -type d 2>/dev/null | wc -l) )); }
nfds() { ls "/proc/$AGENT_PID/fd" 2>/dev/null | wc -l; }

samples="$TMP/samples"   # t_s rss_kib fds other_cgroups
: > "$samples"
t0=$(date +%s)
next_sample=$t0
round=0
fds_before=$(nfds)
ticks_before=$(ticks)
while [ $(( $(date +%s) - t0 )) -lt "$SOAK_SECONDS" ]; do
	round=$((round + 1))
	kids=()
	for i in $(seq 1 "$SOAK_WIDTH"); do
		d="$base/r$round-$i"
		mkdir "$d" || { fail "mkdir $d"; break 2; }
		# a short CPU burst inside the cgroup; the shell joins it before exec
		bash -c 'echo $$ > "$0/cgroup.procs" && exec timeout 2 sh -c "i=0; while [ \$i -lt 30000 ]; do i=\$((i+1)); done"' "$d" &
		kids+=($!)
	done
	for k in "${kids[@]}"; do wait "$k" 2>/dev/null; done
	for i in $(seq 1 "$SOAK_WIDTH"); do
		d="$base/r$round-$i"
		wait_for 5 bash -c "[ -z \"\$(cat '$d/cgroup.procs' 2>/dev/null)\" ]"
		rmdir "$d" 2>/dev/null
	done
	kill -0 "$AGENT_PID" 2>/dev/null || { fail "agent died in round $round: $(tail -3 "$TMP/agent.log")"; finish; exit; }
	now=$(date +%s)
	if [ "$now" -ge "$next_sample" ]; then
		# scraped as Prometheus would, so the last sample is not the first large render
		curl -sf "$AGENT_URL/metrics" > /dev/null
		curl -sf "$AGENT_URL/api/v1/workloads" > /dev/null
		echo "$(( now - t0 )) $(rss_kib) $(nfds) $(others)" >> "$samples"
		next_sample=$(( now + SOAK_SAMPLE ))
	fi
	[ "$SOAK_PAUSE" = 0 ] || sleep "$SOAK_PAUSE"   # pacing the load, not synchronisation
done
# let the agent see the last removals and checkpoint once more
wait_for 10 bash -c "[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}') -ge \$(( $(ticks) + 4 )) ]"
echo "$(( $(date +%s) - t0 )) $(rss_kib) $(nfds) $(others)" >> "$samples"
ticks_after=$(ticks)
fds_after=$(nfds)

check "agent kept ticking through $round churn rounds ($ticks_before -> $ticks_after ticks)" \
	test "${ticks_after:-0}" -gt "${ticks_before:-0}"
check "open fds back to their level after churn ($fds_before before, $fds_after after)" \
	test "$fds_after" -le $(( fds_before + 2 ))
grep -E "(ERROR|error ) " "$TMP/agent.log" | head -3

# slopes after the warm-up (the first fifth of the run, at least one retention period)
warm=$(( SOAK_SECONDS / 5 )); [ "$warm" -lt 30 ] && warm=30
python3 - "$samples" "$warm" "$smoke" "$SOAK_RSS_BOUND_KIB" > "$TMP/verdict" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 4]
warm, smoke, bound = float(sys.argv[2]), sys.argv[3] == "1", float(sys.argv[4])
after = [r for r in rows if r[0] >= warm] or rows[-2:]
def slope(i):
    n = len(after)
    if n < 2:
        return 0.0
    mt = sum(r[0] for r in after) / n
    mv = sum(r[i] for r in after) / n
    den = sum((r[0] - mt) ** 2 for r in after)
    return sum((r[0] - mt) * (r[i] - mv) for r in after) / den if den else 0.0
rs, fs = slope(1) * 60, slope(2) * 60
growth = after[-1][1] - after[0][1]
fd_grow = after[-1][2] - max(r[2] for r in rows if r[0] <= warm) if any(r[0] <= warm for r in rows) else 0
o_warm = max((r[3] for r in rows if r[0] <= warm), default=rows[0][3])
o_max = max(r[3] for r in after)
print(f"soak: {len(rows)} samples; RSS {rows[0][1]:.0f} -> {rows[-1][1]:.0f} KiB, fds {rows[0][2]:.0f} -> {rows[-1][2]:.0f}, "
      f"other cgroups on the host {rows[0][3]:.0f} -> max {max(r[3] for r in rows):.0f}")
print(f"soak: after {warm:.0f}s warm-up: RSS slope {rs:+.2f} KiB/min (growth {growth:+.0f} KiB), fd slope {fs:+.3f}/min")
if smoke:
    print("verdict skip too short to judge slopes (smoke); make soak runs the full 30 min")
elif o_max > o_warm + 50:
    print(f"verdict skip other work created cgroups during the run (host's other cgroups {o_warm:.0f} at warm-up, "
          f"up to {o_max:.0f} after): the agent tracks every cgroup, so its high-water mark grew with them; run make soak on a quiet host")
elif growth > bound or fd_grow > 2:
    print(f"verdict fail RSS growth {growth:+.0f} KiB (bound {bound:.0f}) or fd growth {fd_grow:+.0f} (bound 2)")
else:
    print(f"verdict ok RSS growth {growth:+.0f} KiB <= {bound:.0f} KiB and fds flat ({fd_grow:+.0f})")
PY
cat "$TMP/verdict"
case $(awk '/^verdict/{print $2}' "$TMP/verdict") in
ok)   ok "RSS and fds flat over ${SOAK_SECONDS}s" ;;
fail) fail "RSS or fds grew over ${SOAK_SECONDS}s" ;;
*)    skip "slope verdict: $(sed -n 's/^verdict skip //p' "$TMP/verdict")" ;;
esac
cp "$samples" "${SOAK_SAMPLES_OUT:-/dev/null}" 2>/dev/null
finish
