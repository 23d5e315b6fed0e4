#!/usr/bin/env bash
# `wattlet validate` against ground truth. The simulated RAPL meter is the meter (its
# curve, idle 10 W + 15 W per busy CPU, is the truth), real cgroups run real stress-ng,
# the agent attributes, and the validator's independent sampler reads the same counters.
#   node:      the agent's node power must match the sampler's within 1 %.
#   workload:  0 -> 1 -> 2 -> 3 instances of `stress-ng --cpu 1 --cpu-load 30` (0.9 of a
#              core in all, so the 3 steps fit in this machine's 2 cores); each step's
#              node power delta must match the dynamic power the agent gave the new
#              cgroup within 5 % -> PASS on the real attribution, and FAIL when the agent
#              runs with attribution.test_bias=0.3 (every workload's share x 1.3).
# Plus: exit 3 (refused) when noise cannot be judged, or when a background job in another
# cgroup stops halfway through the baseline (the CPU used outside the instances changed),
# SIGINT cleans up, the verdicts appear in the agent's metrics.
#
# Settings and why:
# - raplsim --interval-ms 10: real RAPL counters advance about every 1 ms. With the
#   sim's default 100 ms steps, one update landing between the agent's tick and the
#   sampler's read (a few ms apart) moves ~4 J across a window edge, ~1 % of a 12 s run
#   at 40 W; at 10 ms it is ~0.1 %.
# - model.idle_watts.package=10 (the sim's idle): this test judges how dynamic power is
#   SPLIT. A learned idle in a one-minute agent life is the low-percentile fallback,
#   which would move dynamic power between "system" and the workloads; idle learning
#   is tested by test_idle and it_attribution.
# - the simulated meter's busy CPUs come from measured idle time (raplsim --cpu-time idle,
#   its default): the tick-sampled busy fields of /proc/stat read this 30 % duty-cycle
#   load ~6 % low with ~4x the noise over 3 s windows, which no real RAPL counter would.
# - thresholds: the defaults (node 1 %, workload 5 %). What the step delta contains
#   besides the workload's 0.3 core x 15 W = 4.5 W: the agent's and the sampler's own
#   CPU (the same in every phase, so it cancels in a delta), scheduler/kernel work the
#   workload causes (counted as system, a small negative deviation, ~1 %), and other
#   activity on the host (the baseline CI measures it; too much -> refused, exit 3).
#   The injected bias is +30 %, six times the threshold: the validator fails it even
#   when the host is too noisy to pass anything (the near end of the deviation's CI is
#   still beyond 5 %), so the biased run must FAIL, never be refused.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "validate"
command -v stress-ng >/dev/null || { skip "validate: stress-ng not installed"; finish; exit; }

IDLE_W=10
W_PER_CORE=15
start_sim "$TMP/powercap" --idle-watts $IDLE_W --watts-per-core $W_PER_CORE --interval-ms 10 \
	|| { fail "raplsim did not start: $(cat "$TMP/raplsim.log")"; finish; exit; }
STATE="$TMP/state/validation.json"
AGENT_FLAGS=(--powercap-root "$TMP/powercap" --tick 1s --checkpoint "" --idle-policy none
	--set model.idle_watts.package=$IDLE_W --set validate.result_file="$STATE")
start_agent "$TMP/agent.log" "${AGENT_FLAGS[@]}" \
	|| { fail "agent did not become ready: $(tail -20 "$TMP/agent.log")"; finish; exit; }
ok "agent ready on the simulated meter"

V=("$WATTLET" validate)
VFLAGS=(--url "$AGENT_URL" --powercap-root "$TMP/powercap" --set validate.result_file="$STATE")
WL_CMD=(stress-ng --cpu 1 --cpu-load 30 --cpu-method loop --quiet)
no_leftovers() { # no validation cgroup or stress-ng of ours left behind
	# (a validation still running elsewhere on this host is not ours: its cgroup is
	# wattlet-validate-<pid of a live validator>)
	local root d p cg; root=$(cpu_root)
	for d in "$root"/wattlet-validate-*; do
		[ -d "$d" ] || continue
		kill -0 "${d##*-}" 2>/dev/null || return 1
	done
	for p in $(pgrep -f "^stress-ng .*--cpu-load 30 --cpu-method loop"); do # not validators
		cg=$(grep -m1 -o 'wattlet-validate-[0-9]*' "/proc/$p/cgroup" 2>/dev/null)
		[ -e "/proc/$p" ] || continue # exited meanwhile
		[ -n "$cg" ] && kill -0 "${cg##*-}" 2>/dev/null || return 1
	done
}
show() { sed -n '/^correctness checks/,$p' "$1" | sed 's/^/    /'; }

# --- node -------------------------------------------------------------------------
"${V[@]}" node "${VFLAGS[@]}" --samples 4 --duration 3s --json "$TMP/node.json" > "$TMP/node.out" 2>&1
rc=$?
show "$TMP/node.out"
check "validate node: PASS (exit 0; got $rc)" [ $rc -eq 0 ]
check "validate node: JSON report has the package deviation and the checks" python3 - "$TMP/node.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
z = r["node"]["zones"]["package"]
assert r["kind"] == "node" and r["verdict"] == "pass", r["verdict"]
assert abs(z["deviation_percent"]) <= 1.0 and z["sampler"]["n"] == 4
c = r["checks"]
assert c["simulated"] is True and "package" in c["zones_supported"], c
assert c["meter_sanity"]["sane"] and c["arch"] and c["cpu_model"]
PY

# --- workload, real attribution ---------------------------------------------------------
run_wl() { # run_wl NAME [extra flags]; sets rc
	local name=$1; shift
	"${V[@]}" workload "${VFLAGS[@]}" --samples 5 --duration 3s --settle 2s --steps 3 --attempts 3 \
		--json "$TMP/$name.json" "$@" -- "${WL_CMD[@]}" > "$TMP/$name.out" 2>&1
	rc=$?
	show "$TMP/$name.out"
}
run_wl wl_real
if [ $rc -eq 3 ]; then
	skip "validate workload (real attribution): this host is too noisy to judge right now (refused, exit 3): $(grep ^verdict "$TMP/wl_real.out")"
else
	check "validate workload, real attribution: PASS (exit 0; got $rc)" [ $rc -eq 0 ]
	check "validate workload: 3 steps, each within 5 %, in the JSON report" python3 - "$TMP/wl_real.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["workload"]["steps"]
assert len(s) == 3 and all(abs(x["deviation_percent"]) <= 5 for x in s), s
# each step adds ~0.3 core x 15 W
assert all(3.0 < x["sampler_delta_w"] < 6.0 for x in s), [x["sampler_delta_w"] for x in s]
PY
fi
check "validate workload: cgroups and processes cleaned up" no_leftovers

# --- workload, biased attribution ----------------------------------------------------------
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
start_agent "$TMP/agent-bias.log" "${AGENT_FLAGS[@]}" --set attribution.test_bias=0.3 \
	|| { fail "biased agent did not become ready: $(tail -20 "$TMP/agent-bias.log")"; finish; exit; }
VFLAGS=(--url "$AGENT_URL" --powercap-root "$TMP/powercap" --set validate.result_file="$STATE")
run_wl wl_bias
# No refusal for noise allowed here: a +30 % error is beyond 5 % even at the near end of
# the CI a quiet host produces, a noisy moment is measured again (--attempts 3), and a
# validator that cannot fail is worthless. The refusals that stand are about the host,
# not the noise: when other work on this shared host changed its load (the other-CPU
# rule) or saturated it in all three attempts, the node power delta is not the
# workload's and no verdict is the right answer.
if [ $rc -eq 3 ] && grep -Eq '^verdict: REFUSED.*(\(other CPU\)|saturated)' "$TMP/wl_bias.out"; then
	skip "validate workload (biased): the host's other load changed or saturated it in every attempt (refused, exit 3): $(grep ^verdict "$TMP/wl_bias.out")"
else
	check "validate workload, attribution biased +30 %: FAIL (exit 1; got $rc)" [ $rc -eq 1 ]
	check "validate workload, biased: deviations near +30 %" python3 - "$TMP/wl_bias.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = [x["deviation_percent"] for x in r["workload"]["steps"]]
print("    biased deviations:", ["%.1f" % x for x in d])
assert r["verdict"] == "fail", r["verdict"]
# the median step: one step may be disturbed by a neighbour, the bias is in all of them
assert 20 < sorted(d)[1] < 40, d
PY
fi
check "validate workload (biased): cleaned up" no_leftovers

# --- a background job in another cgroup stops halfway through the baseline ------------------
# The incident this guards against: a build that stopped during the baseline made a
# correct agent "fail" by -152 %. The validator measures the CPU used outside the
# instances in every window and refuses. The agent still runs biased: the refusal wins
# over the +30 % error too (the delta is not the workload's, so nothing can be judged).
# ~15 s: 4 x 1 s windows per phase, one step.
BG_CMD=(stress-ng --cpu 1 --cpu-load 40 --cpu-method loop --quiet)
bg_cg=$(cg_create "wattlet-it-bg-$$")
cg_run "$bg_cg" "${BG_CMD[@]}"
bg_pid=${PIDS[-1]}
bg_running() { [ -n "$(cat "$bg_cg/cgroup.procs" 2>/dev/null)" ]; }
wait_for 10 bg_running || fail "background: stress-ng did not start in $bg_cg"
"${V[@]}" workload "${VFLAGS[@]}" --samples 4 --duration 1s --settle 1s --steps 1 --no-state \
	--json "$TMP/bgstop.json" -- "${WL_CMD[@]}" > "$TMP/bgstop.out" 2>&1 &
vpid=$!
# stop the background after the baseline's second window (progress is line-buffered)
if wait_for 60 grep -q "baseline: sample 2/4" "$TMP/bgstop.out"; then
	cg_remove "$bg_cg"
	wait "$bg_pid" 2>/dev/null # reaped here: no job-control noise in the output
else
	fail "background: the baseline never reached its second window: $(tail -5 "$TMP/bgstop.out")"
fi
wait "$vpid"; rc=$?
show "$TMP/bgstop.out"
if [ $rc -eq 3 ] && grep -q '^verdict: REFUSED.*saturated' "$TMP/bgstop.out"; then
	skip "background stops: this host was saturated already (refused for that first)"
else
	check "background stops mid-baseline: refused, not judged (exit 3; got $rc)" [ $rc -eq 3 ]
	check "background stops: the reason is the CPU used outside the instances" \
		grep -q '^verdict: REFUSED: REFUSED TO JUDGE: the CPU used outside the instances (other CPU)' \
		"$TMP/bgstop.out"
	check "background stops: the table has the other-CPU column" grep -q 'other CPU (change/limit)' "$TMP/bgstop.out"
	check "background stops: JSON has the other CPU of every phase" python3 - "$TMP/bgstop.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w = r["workload"]
b, s = w["baseline_other_cpu"], w["steps"][0]["other_cpu"]
print("    other CPU: baseline %.3f cores (drift %+.3f), step 1 %.3f (change %+.3f, limit %.4f)"
      % (b["mean_cores"], b["drift_cores"], s["mean_cores"], s["change_cores"], s["limit_cores"]))
assert r["verdict"] == "refused" and "other CPU" in r["reason"], r["reason"]
assert r["thresholds"]["max_other_cpu_bias_fraction"] == 0.5
# the background's stop is beyond the limit, as a drift or a change
assert abs(b["drift_cores"]) > s["limit_cores"] or abs(s["change_cores"]) > s["limit_cores"]
PY
fi
check "background stops: cleaned up" no_leftovers

# --- metrics: the agent exports the last results ---------------------------------------------
got_metrics() {
	curl -sf "$AGENT_URL/metrics" > "$TMP/m.txt" &&
	grep -q '^wattlet_validation_passed{kind="node"} 1$' "$TMP/m.txt" &&
	grep -q '^wattlet_validation_passed{kind="workload"} ' "$TMP/m.txt" &&
	grep -q '^wattlet_validation_deviation_percent{kind="node",zone="package"} ' "$TMP/m.txt" &&
	grep -q '^wattlet_validation_timestamp_seconds{kind="workload"} ' "$TMP/m.txt"
}
check "agent exports wattlet_validation_* from validate.result_file" wait_for 10 got_metrics
# the agent re-reads the state file when it changes (once per tick): poll for the new value
biased_in_metrics() {
	curl -sf "$AGENT_URL/metrics" | grep -q '^wattlet_validation_passed{kind="workload"} 0$'
}
check "metrics: the biased (failed) workload validation shows passed 0" wait_for 10 biased_in_metrics
if command -v promtool >/dev/null; then
	check "promtool accepts /metrics with the validation series" bash -c "promtool check metrics < '$TMP/m.txt'"
fi

# --- refusal: a noise bound nobody can meet -> exit 3, saying so ------------------------------
# (the agent still runs biased: a threshold no deviation reaches keeps the confident-FAIL
# rule out of it, so only the noise rule can decide)
"${V[@]}" workload "${VFLAGS[@]}" --samples 2 --duration 1s --settle 1s --steps 1 --max-noise 0 \
	--workload-threshold 1000 \
	--no-state -- "${WL_CMD[@]}" > "$TMP/refuse.out" 2>&1
rc=$?
check "validate workload --max-noise 0: refuses to judge (exit 3; got $rc)" [ $rc -eq 3 ]
check "refusal says why" grep -q "REFUSED TO JUDGE" "$TMP/refuse.out"
check "refusal: cleaned up" no_leftovers

# --- SIGINT during a run: cgroups and processes are removed ----------------------------------
"${V[@]}" workload "${VFLAGS[@]}" --samples 2 --duration 1s --settle 60s --steps 1 --no-state \
	-- "${WL_CMD[@]}" > "$TMP/int.out" 2>&1 &
vpid=$!
root=$(cpu_root)
if wait_for 30 bash -c "ls -d $root/wattlet-validate-$vpid/step1 && [ -n \"\$(cat $root/wattlet-validate-$vpid/step1/cgroup.procs)\" ]"; then
	kill -INT "$vpid"
	wait "$vpid"; rc=$?
	check "SIGINT: validate exits 4 (could not finish; got $rc)" [ $rc -eq 4 ]
	check "SIGINT: cgroups and processes cleaned up" no_leftovers
else
	fail "SIGINT: the step-1 cgroup never appeared: $(tail -5 "$TMP/int.out")"
	kill "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null
fi
finish
