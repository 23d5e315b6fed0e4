#!/usr/bin/env bash
# Short-lived cgroups keep their energy: a cgroup created, run (~300 ms of CPU) and
# removed between two ticks of the real agent (tick 2 s) gets a workload row of its
# own with >= 95 % of the CPU time its own counter (cpuacct.usage / cpu.stat) shows,
# and energy > 0, instead of both going to "system". Two shapes: a Job-like cgroup
# under a live parent, and a pod-like pair (pod/ctr) removed together, whose path is
# named through its removed parent. The rows keep their totals after removal
# (retention) in /metrics and /api/v1/workloads.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "short-lived cgroups"

start_sim "$TMP/powercap" --idle-watts 10 --watts-per-core 15 --interval-ms 100 \
	|| { fail "raplsim did not start: $(cat "$TMP/raplsim.log")"; finish; exit; }
start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 2s --checkpoint "" \
	--set model.idle_watts.package=10 --idle-policy none \
	|| { fail "agent did not become ready: $(tail -20 "$TMP/agent.log")"; finish; exit; }
ok "agent ready (tick 2 s)"

if ! "$WATTLET" probe --listen "" 2>/dev/null | grep -q '^  removed:  charged'; then
	fail "probe does not report removed cgroups as charged: $("$WATTLET" probe --listen "" 2>&1 | grep removed)"
	finish; exit
fi
ok "probe: removed cgroups are charged"

wait_tick() { # waits until the tick counter passes $1
	wait_for 10 bash -c "[ \"\$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}')\" -gt $1 ]"
}
burn() { # burn CGDIR: runs ~300 ms of CPU inside CGDIR, returns when it exited
	bash -c 'echo $$ > "$0/cgroup.procs" && exec python3 -c "
import time
while time.process_time() < 0.3: pass"' "$1"
}

root=$(cpu_root)
base="wattlet-it-sl-$$"
mkdir -p "$root/$base" && echo "$root/$base" >> "$TMP/.cgroups"

# run_short REL...: right after a tick, creates every REL (parents first; "%" in a
# name becomes the try number), burns CPU in the last, reads its counter and removes
# them all (children first). Retries (3x) when a tick came in between, which would
# let a walk see the cgroup (not the case under test). Prints the cgroup's own CPU ns.
run_short() {
	local try t0 cpu i d dirs
	for try in 1 2 3; do
		dirs=()
		for d in "$@"; do dirs+=("$root/$base/${d//%/$try}"); done
		t0=$(ticks); wait_tick "$t0" || return 1
		t0=$(ticks)
		for d in "${dirs[@]}"; do mkdir "$d" || return 1; done
		burn "${dirs[-1]}"
		cpu=$(cg_cpu_ns "${dirs[-1]}")
		for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do rmdir "${dirs[i]}" || return 1; done
		if [ "$(ticks)" = "$t0" ]; then echo "$cpu"; return 0; fi
		echo "# a tick came between mkdir and rmdir (try $try), again" >&2
	done
	return 1
}

job_cpu=$(run_short job%) || { fail "could not run the job cgroup within one tick"; finish; exit; }
ok "job cgroup ran ${job_cpu} ns and was removed within one tick"
pod_cpu=$(run_short pod% pod%/ctr%) || { fail "could not run the pod cgroups within one tick"; finish; exit; }
ok "pod/ctr cgroups ran ${pod_cpu} ns and were removed within one tick"
t=$(ticks); wait_tick "$t"; t=$(ticks); wait_tick "$t" # the removal's tick, and one more
curl -sf "$AGENT_URL/metrics" > "$TMP/m1"
curl -sf "$AGENT_URL/api/v1/workloads" > "$TMP/w1.json"

check_row() { # check_row NAME KEYREGEX CPU_NS
	python3 - "$TMP/m1" "$TMP/w1.json" "$2" "$3" "$1" <<'PY'
import json, re, sys, subprocess
mfile, wfile, keyre, cpu, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
rows = [w for w in json.load(open(wfile))['workloads'] if re.fullmatch(keyre, w['workload'])]
if len(rows) != 1:
    print(f'# {name}: {len(rows)} rows match {keyre}'); sys.exit(1)
w = rows[0]
key = w['workload']
msec = float(subprocess.run(['python3', 'test/integration/promparse.py', mfile,
    'wattlet_workload_cpu_seconds_total', f'workload={key}'], capture_output=True, text=True).stdout or 0)
mj = float(subprocess.run(['python3', 'test/integration/promparse.py', mfile,
    'wattlet_workload_joules_total', f'workload={key}', 'zone=package'],
    capture_output=True, text=True).stdout or 0)
pct = 100.0 * w['cpu_seconds'] * 1e9 / cpu
print(f'# {name}: row {key}: cpu {w["cpu_seconds"]*1e3:.3f} ms (metrics {msec*1e3:.3f} ms) vs '
      f'cgroup {cpu/1e6:.3f} ms = {pct:.2f} %; package dynamic {mj:.6f} J (json joules {w["joules"]:.6f})')
ok = pct >= 95.0 and pct <= 105.0 and abs(msec - w['cpu_seconds']) < 1e-3 and mj > 0 and w['joules'] > 0
sys.exit(0 if ok else 1)
PY
}
check "job: own row with >= 95 % of its CPU time and energy > 0" \
	check_row job "/$base/job[0-9]" "$job_cpu"
check "pod/ctr: own row (named via its removed parent) with >= 95 % of its CPU time and energy > 0" \
	check_row pod "/$base/pod[0-9]/ctr[0-9]" "$pod_cpu"

# retention: two ticks later the rows are still there with the same totals
t=$(ticks); wait_tick "$t"; t=$(ticks); wait_tick "$t"
curl -sf "$AGENT_URL/api/v1/workloads" > "$TMP/w2.json"
check "rows keep their totals after removal (retention), marked terminated" python3 - "$TMP/w1.json" "$TMP/w2.json" "$base" <<'PY'
import json, sys
a = {w['workload']: w for w in json.load(open(sys.argv[1]))['workloads'] if sys.argv[3] in w['workload']}
b = {w['workload']: w for w in json.load(open(sys.argv[2]))['workloads'] if sys.argv[3] in w['workload']}
rows = [k for k in a if k.rsplit('/', 1)[1].rstrip('0123456789') in ('job', 'ctr')]
print('# retained:', {k: (b.get(k, {}).get('cpu_seconds'), b.get(k, {}).get('terminated')) for k in rows})
sys.exit(0 if len(rows) == 2 and all(k in b and b[k]['cpu_seconds'] == a[k]['cpu_seconds']
         and b[k]['joules'] == a[k]['joules'] > 0 and b[k]['terminated'] for k in rows) else 1)
PY
finish
