#!/usr/bin/env bash
# The counter path in the real kernel without a PMU: the agent runs with
# model.features.package=task_clock, so the package zone's dynamic energy is shared by
# the perf software event task-clock (libpfm4 -> perf_event_open per online CPU ->
# the BPF perf event array -> bpf_perf_event_read_value at sched_switch -> per-cgroup
# deltas), the same path the hardware counters take. Checks: probe and the log say
# task_clock is open; /metrics says the package zone is shared by task_clock (core by
# cpu_time); two real cgroups at ~50 % and ~100 % of a core get dynamic watts matching
# 15 W x their own CPU time (read from the cgroups' counters) within 5 % + 0.3 W, and
# their energy ratio matches their CPU time ratio within 3 %. Per-cgroup counter
# deltas within 1 % of CPU time are checked directly in test_usage_counters.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "counters"

W_PER_CORE=15
IDLE_W=10
out=$("$WATTLET" probe --set model.features.package=task_clock 2>&1)
check "probe: the task-clock counter is in use for package" \
	bash -c 'grep -q "counters: in use: task_clock: perf::TASK-CLOCK on" <<<"$0" &&
		grep -Eq "^ +package +task_clock$" <<<"$0"' "$out"
out=$("$WATTLET" probe 2>&1)
check "probe: not opened when no zone is configured with it" \
	grep -q "counters: not used: task_clock: not opened (no zone is configured with it)" <<<"$out"

start_sim "$TMP/powercap" --idle-watts $IDLE_W --watts-per-core $W_PER_CORE --interval-ms 100 \
	|| { fail "raplsim did not start: $(cat "$TMP/raplsim.log")"; finish; exit; }
base="wattlet-itctr-$$"
cg50=$(cg_create "$base/duty50"); cg100=$(cg_create "$base/duty100")
cg_run "$cg50" stress-ng --cpu 1 --cpu-load 50 --cpu-method loop --timeout 90s --quiet
cg_run "$cg100" stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout 90s --quiet

start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--set model.idle_watts.package=$IDLE_W --idle-policy none \
	--set model.features.package=task_clock --set model.features.core=cpu_time \
	|| { fail "agent did not become ready: $(tail -20 "$TMP/agent.log")"; finish; exit; }
check "log: the task-clock counter is open" grep -q "task_clock: perf::TASK-CLOCK on" "$TMP/agent.log"

wait_ticks 2 10
sample_tick "$TMP/m1" "$cg50" "$cg100"
wait_ticks 15 40
sample_tick "$TMP/m2" "$cg50" "$cg100"

check "metrics: package is shared by task_clock" \
	grep -q '^wattlet_node_zone_feature_info{zone="package",feature="task_clock"} 1' "$TMP/m2"
check "metrics: core is shared by cpu_time" \
	grep -q '^wattlet_node_zone_feature_info{zone="core",feature="cpu_time"} 1' "$TMP/m2"

dt_ns=$(( $(cat "$TMP/m2.t") - $(cat "$TMP/m1.t") ))
args=()
for name in duty50 duty100; do
	key="/$base/$name"
	j1=$(python3 test/integration/promparse.py "$TMP/m1" wattlet_workload_joules_total workload="$key" zone=package)
	j2=$(python3 test/integration/promparse.py "$TMP/m2" wattlet_workload_joules_total workload="$key" zone=package)
	c1=$(awk -v n=$name '$1==n{print $2}' "$TMP/m1.cpu"); c2=$(awk -v n=$name '$1==n{print $2}' "$TMP/m2.cpu")
	if [ -z "$j1" ] || [ -z "$j2" ]; then fail "$name: no workload series for $key"; finish; exit; fi
	args+=("$j1" "$j2" "$c1" "$c2")
done
# 5 % + 0.3 W: the simulator's 100 ms grid against the 1 s tick over 15 s (~1.3 %) and
# /proc/stat's tick-sampled node busy time (the simulator's truth) average out below it
python3 - "$dt_ns" "$W_PER_CORE" "${args[@]}" > "$TMP/verdict" <<'PY'
import sys
dt, w = float(sys.argv[1]), float(sys.argv[2])
v = list(map(float, sys.argv[3:]))
rows = []
for i, name in enumerate(["duty50", "duty100"]):
    j1, j2, c1, c2 = v[4 * i: 4 * i + 4]
    got, want = (j2 - j1) / (dt / 1e9), w * (c2 - c1) / dt
    rows.append((name, got, want, j2 - j1, c2 - c1))
    print(f"{name} {got:.3f} {want:.3f} {'ok' if abs(got - want) <= 0.05 * want + 0.3 else 'bad'}")
er = rows[1][3] / rows[0][3] if rows[0][3] else 0
cr = rows[1][4] / rows[0][4] if rows[0][4] else 0
print(f"ratio {er:.4f} {cr:.4f} {'ok' if cr and abs(er / cr - 1) <= 0.03 else 'bad'}")
PY
while read -r name got want verdict; do
	if [ "$name" = ratio ]; then
		check "energy ratio duty100/duty50 $got vs CPU time ratio $want (within 3 %)" [ "$verdict" = ok ]
	else
		check "$name: dynamic $got W shared by task_clock vs truth $want W (15 W x its cores)" [ "$verdict" = ok ]
	fi
done < "$TMP/verdict"
check "conservation: sum(workloads incl. system) == node, exactly" \
	python3 test/integration/promparse.py --conservation "$TMP/m2"
finish
