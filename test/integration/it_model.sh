#!/usr/bin/env bash
# Power models end to end (issue #4):
#  1. record: the agent runs on the simulated RAPL meter (known curve: package 10 W +
#     15 W per busy core, dram 1.5 W + 0.5 W per core) with `--record` while stress-ng
#     steps the node through 0..2 busy cores; `wattlet model fit` must recover the curve.
#  2. estimate: a second agent that sees NO meter runs on the fitted model (source:
#     estimated); the simulator stays running as hidden ground truth. Node energy MAPE
#     over 3-tick windows is printed for a steady and a bursty load and checked.
#  3. no meter and no model: the agent starts, exports usage, says "no energy source"
#     in metrics, log and probe and names what to apply; bad models and a too-short
#     recording are refused with clear errors.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "model"
command -v stress-ng >/dev/null || { skip "model: stress-ng not installed"; finish; exit; }

start_sim "$TMP/powercap" --idle-watts 10 --watts-per-core 15 --interval-ms 100 \
	|| { fail "raplsim did not start: $(cat "$TMP/raplsim.log")"; finish; exit; }

# load LEVEL SECONDS: LEVEL busy cores (0..2) for SECONDS, in the foreground
load() {
	local lv=$1 s=$2
	case $lv in
	0) stress-ng --cpu 1 --cpu-load 1 --timeout "${s}s" --quiet ;;
	0.5) stress-ng --cpu 1 --cpu-load 50 --cpu-method loop --timeout "${s}s" --quiet ;;
	1) stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout "${s}s" --quiet ;;
	1.5) stress-ng --cpu 2 --cpu-load 75 --cpu-method loop --timeout "${s}s" --quiet ;;
	2) stress-ng --cpu 2 --cpu-load 100 --cpu-method loop --timeout "${s}s" --quiet ;;
	esac
}

# ---- 1. record and fit -------------------------------------------------------------
start_agent "$TMP/rec.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--record "$TMP/rec.csv" \
	|| { fail "recording agent did not become ready: $(tail -5 "$TMP/rec.log")"; finish; exit; }
for lv in 0 1 2 0.5 1.5 0 2 1 0.5; do load $lv 5; done
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
check "recording written ($(grep -c '^N,' "$TMP/rec.csv") ticks)" [ "$(grep -c '^N,' "$TMP/rec.csv")" -ge 35 ]
if "$WATTLET" model fit "$TMP/rec.csv" -o "$TMP/model.yaml" --name it-fitted --zones package,dram \
	2> "$TMP/fit.log"; then
	ok "wattlet model fit wrote a PowerModel"
elif grep -q "does not vary" "$TMP/fit.log"; then
	ok "wattlet model fit refuses a recording whose load does not vary: $(cat "$TMP/fit.log")"
else
	fail "wattlet model fit: $(cat "$TMP/fit.log")"
fi
cat "$TMP/fit.log"
# Tolerance +-1 W intercept, +-1 W/core (~7 %): the simulator and the agent read the same
# /proc/stat, so only timing differs (100 ms simulator grid vs 1 s ticks; each of the 9
# load edges misplaces up to 0.1 s of a <= 30 W step in one tick) and the fit averages
# that over ~45 ticks; this live run is shorter than the committed fixture
# (test_fit.c, +-0.5), and other builds running on the machine add CPU noise.
# The load must actually vary: on a machine saturated by other work stress-ng cannot
# lower the node's load, and the recovery check is then skipped (with the spread seen).
spread=$(python3 - "$TMP/rec.csv" <<'PY'
import sys
c = sorted(int(l.split(',')[12]) / int(l.split(',')[2]) for l in open(sys.argv[1]) if l.startswith('N,'))
print(f"{c[int(len(c) * 0.9)] - c[int(len(c) * 0.1)]:.2f}")
PY
)
if ! python3 -c "import sys; sys.exit(0 if $spread >= 1.0 else 1)" || [ ! -s "$TMP/model.yaml" ]; then
	skip "fit recovery: node load spread only $spread busy cores (p10..p90; other work saturates this machine); estimation below uses the model fitted from the committed recording"
	"$WATTLET" model fit test/fixtures/model/sim_recording.csv -o "$TMP/model.yaml" --name it-fitted 2>/dev/null
else
check "fit recovers package idle 10 W and 15 W/core, dram 1.5 W and 0.5 W/core (load spread $spread cores)" python3 - "$TMP/model.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
assert m["apiVersion"] == "wattlet.dev/v1alpha1" and m["kind"] == "PowerModel"
a = m["metadata"]["annotations"]
z = {x["zone"]: x for x in m["spec"]["zones"]}
pk, dr = z["package"]["regression"], z["dram"]["regression"]
w = {c["feature"]: c["weight"] for c in pk["coefficients"]}
wd = {c["feature"]: c["weight"] for c in dr["coefficients"]}
print(f"  fitted package {pk['interceptWatts']:.3f} W + {w['cpu_time']:.3f} W/core, dram "
      f"{dr['interceptWatts']:.3f} + {wd['cpu_time']:.3f}; held-out R2 {a['wattlet.dev/fit-r2']} "
      f"MAPE {a['wattlet.dev/fit-mape']} %")
assert z["package"]["source"] == "estimated"
assert abs(pk["interceptWatts"] - 10) <= 1 and abs(w["cpu_time"] - 15) <= 1
assert abs(dr["interceptWatts"] - 1.5) <= 0.2 and abs(wd["cpu_time"] - 0.5) <= 0.2
PY
fi
check "wattlet model check accepts the fitted file" "$WATTLET" model check "$TMP/model.yaml"

# ---- 2. estimation with the meter hidden ---------------------------------------------
mkdir -p "$TMP/nometer"
start_agent "$TMP/est.log" --powercap-root "$TMP/nometer" --meter-order powercap --tick 1s \
	--checkpoint "" --model "$TMP/model.yaml" \
	|| { fail "estimating agent did not become ready: $(tail -5 "$TMP/est.log")"; finish; exit; }
check "metrics say energy comes from the model" bash -c \
	"curl -sf $AGENT_URL/metrics | grep -q '^wattlet_node_energy_source_info{source=\"model\",model=\"it-fitted\"} 1'"
# snap: right after a tick, the agent's node package joules and the simulator's counter
snap() {
	next_tick
	local j; j=$(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_node_joules_total\{zone="package"/{s+=$2} END{printf "%.6f", s}')
	echo "$j $(cat "$TMP/powercap/intel-rapl:0/energy_uj")"
}
measure() { # measure NAME LOADCMD... : 5 windows of 3 ticks while LOADCMD runs
	local name=$1; shift
	"$@" & local lp=$!
	PIDS+=($lp)
	snap > "$TMP/$name.snaps"; snap > "$TMP/$name.snaps"
	for _ in 1 2 3 4 5; do
		wait_ticks 2 10
		snap >> "$TMP/$name.snaps"
	done
	kill "$lp" 2>/dev/null; wait "$lp" 2>/dev/null
	python3 - "$TMP/$name.snaps" "$name" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
errs, ta, tt = [], 0, 0
for (a0, s0), (a1, s1) in zip(rows, rows[1:]):
    est, true = a1 - a0, (s1 - s0) / 1e6
    errs.append(abs(est - true) / true); ta += est; tt += true
mape = 100 * sum(errs) / len(errs)
print(f"  {sys.argv[2]}: node package energy MAPE {mape:.2f} % over {len(errs)} windows of ~3 s; "
      f"total {ta:.1f} J estimated vs {tt:.1f} J true ({100 * (ta - tt) / tt:+.2f} %)")
open(sys.argv[1] + ".mape", "w").write(f"{mape:.3f}\n")
PY
}
measure steady stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout 60s --quiet
bursty() { for lv in 2 0 1 0 2 0.5 0 1.5 0 2 1 0 2 0 1 0 2 0; do load $lv 1; done; }
measure bursty bursty
# Tolerance 10 %: window edges (our read of the counter vs the agent's tick, ~0.1 s of a
# 3 s window, ~3 % on a load edge) plus the fit's own error; a model in wrong units, or
# estimation not applied, misses by far more.
for n in steady bursty; do
	m=$(cat "$TMP/$n.snaps.mape" 2>/dev/null || echo 999)
	check "estimation ($n load): node energy MAPE $m % <= 10 %" python3 -c "import sys; sys.exit(0 if $m <= 10 else 1)"
done
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null

# ---- 3. no meter, no model; bad input ------------------------------------------------
start_agent "$TMP/none.log" --powercap-root "$TMP/nometer" --meter-order powercap --tick 1s \
	--checkpoint "" \
	|| { fail "agent without meter or model did not start: $(tail -5 "$TMP/none.log")"; finish; exit; }
ok "agent with no meter and no model starts"
check "metrics: wattlet_node_energy_source_info{source=\"none\"}" bash -c \
	"curl -sf $AGENT_URL/metrics | grep -q '^wattlet_node_energy_source_info{source=\"none\"'"
check "metrics: usage still exported" bash -c \
	"curl -sf $AGENT_URL/metrics | grep -q '^wattlet_workload_cpu_seconds_total'"
check "log tells the operator what to apply" grep -q "NO ENERGY SOURCE.*PowerModel.*--model" "$TMP/none.log"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
check "probe says: no energy source, apply a PowerModel" bash -c \
	"'$WATTLET' probe --listen '' --powercap-root '$TMP/nometer' --meter-order powercap | grep -q 'NO ENERGY SOURCE'"

sed 's/weight: \(.*\)/weight: -\1/' "$TMP/model.yaml" > "$TMP/neg.yaml"
"$WATTLET" run --listen "" --checkpoint "" --powercap-root "$TMP/nometer" --meter-order powercap \
	--model "$TMP/neg.yaml" --duration 2s > "$TMP/neg.log" 2>&1; rc=$?
check "agent refuses a model with a negative weight, naming the field (exit $rc)" bash -c \
	"[ $rc -ne 0 ] && grep -q 'coefficients\[0\].weight: -.* is negative' '$TMP/neg.log'"
head -12 "$TMP/rec.csv" > "$TMP/short.csv"
"$WATTLET" model fit "$TMP/short.csv" > /dev/null 2> "$TMP/short.log"; rc=$?
check "model fit refuses a too-short recording (exit $rc): $(cat "$TMP/short.log")" bash -c \
	"[ $rc -eq 1 ] && grep -q 'too short' '$TMP/short.log'"
finish
