#!/usr/bin/env bash
# Smoke of the hardware kit (hack/hw-check.sh, `make hw-check`; docs/hardware/README.md):
#   1. HW_CHECK_SIM=1 HW_CHECK_QUICK=1 on the simulated RAPL meter: finishes within 90 s, writes
#      the report, which names the machine, is labelled SIMULATED, and has a line with a
#      verdict for every check; validate node passes (sampler and agent read the same
#      counters); validate workload reaches a verdict; the PMU and GPU checks say PASS or
#      why they were SKIPPED; nothing is left running and no cgroup is left behind.
#   2. interrupted (SIGTERM to its process group while a check runs; a background job here
#      cannot be sent SIGINT: it starts with SIGINT ignored): exit 130, the report is
#      still written, says INTERRUPTED, and every unfinished check is SKIPPED "interrupted".
# The kit uses the already built $BUILD (HW_CHECK_BUILD) so no rebuild is timed here.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "hw-check"
command -v stress-ng >/dev/null || { skip "hw-check: stress-ng not installed"; finish; exit; }

CHECK_NAMES=(deps build probe agent validate-node validate-workload pmu-cgroup gpu-nvml)
OUT=$TMP/hw
HW_ENV=(HW_CHECK_SIM=1 HW_CHECK_QUICK=1 HW_CHECK_BUILD="$BUILD" HW_CHECK_OUT="$OUT" HW_CHECK_NO_SUDO=1)
root=$(cpu_root)
# (the validator's own cleanup of its wattlet-validate-* cgroups is it_validate's; other
# sessions may run validations at the same time, so those are not counted here)
no_leftovers() { # no agent or simulator of the kit's run, no PMU-check cgroup or its workload
	! pgrep -f "$OUT/" >/dev/null && ! ls -d "$root"/wattlet-hwcheck-* >/dev/null 2>&1
}
verdict_of() { sed -n "s/^| $1 | \([A-Z]*\) |.*/\1/p" "$2"; }

# Without a real NVIDIA GPU, the GPU check reads a stub NVML library (one "STUB GPU (test)",
# 75 W, an energy counter advancing at 75 W), so its NVML code runs here too.
REAL_GPU=0
{ command -v nvidia-smi || ldconfig -p | grep -q libnvidia-ml.so.1; } >/dev/null 2>&1 && REAL_GPU=1
NVML_ENV=()
if [ "$REAL_GPU" = 0 ]; then
	cat > "$TMP/nvml-stub.c" <<'C'
#include <string.h>
#include <time.h>
struct util { unsigned gpu, memory; };
static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
int nvmlSystemGetDriverVersion(char *b, unsigned n) { strncpy(b, "0.0-stub", n); return 0; }
int nvmlDeviceGetCount_v2(unsigned *c) { *c = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h) { *h = (void *)(long)(i + 1); return 0; }
int nvmlDeviceGetName(void *h, char *b, unsigned n) { (void)h; strncpy(b, "STUB GPU (test)", n); return 0; }
int nvmlDeviceGetPowerUsage(void *h, unsigned *mw) { (void)h; *mw = 75000; return 0; }
int nvmlDeviceGetTotalEnergyConsumption(void *h, unsigned long long *mj)
{
	(void)h;
	*mj = (unsigned long long)(now_s() * 75000.0);
	return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned *mw) { (void)h; *mw = 700000; return 0; }
int nvmlDeviceGetUtilizationRates(void *h, struct util *u) { (void)h; u->gpu = 3; u->memory = 1; return 0; }
C
	cc -shared -fPIC -o "$TMP/libnvml-stub.so" "$TMP/nvml-stub.c" && NVML_ENV=(HW_CHECK_NVML_LIB="$TMP/libnvml-stub.so")
fi

# --- 1. a whole quick run on the simulated meter -------------------------------------------
t0=$(date +%s)
env "${HW_ENV[@]}" "${NVML_ENV[@]}" timeout 150 bash hack/hw-check.sh > "$TMP/hw.log" 2>&1
rc=$?
secs=$(( $(date +%s) - t0 ))
sed 's/^/    /' "$TMP/hw.log"
check "hw-check quick+sim finished within 90 s (took $secs s)" [ "$secs" -le 90 ]
check "hw-check exit status 0 or 1 (some check failed), not 2 or a timeout (got $rc)" [ "$rc" -le 1 ]
report=$(cat "$OUT/last-report" 2>/dev/null)
check "report written: ${report:-none}" [ -s "$report" ]
check "report file name: report-<host>-<date>-SIMULATED.md" \
	bash -c "[[ '$(basename "${report:-x}")' =~ ^report-.+-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z-SIMULATED\.md$ ]]"
model=$(LC_ALL=C lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
check "report names the machine (CPU model '$model', kernel, sockets, virtualization)" bash -c "
	grep -qF '| CPU model | $model |' '$report' && grep -qF '| kernel | $(uname -r) |' '$report' &&
	grep -q '^| sockets | [0-9]' '$report' && grep -q '^| virtualization | ' '$report'"
check "report is labelled SIMULATED at the top" grep -q '^> \*\*SIMULATED\.\*\*' "$report"
for c in "${CHECK_NAMES[@]}"; do
	v=$(verdict_of "$c" "$report")
	check "report has a verdict line for $c (${v:-none})" bash -c "[[ '$v' =~ ^(PASS|FAIL|REFUSED|SKIPPED)$ ]]"
done
check "every verdict line gives a reason" bash -c "! grep -E '^\| [a-z-]+ \| (PASS|FAIL|REFUSED|SKIPPED) \|.*\|  \|$' '$report'"
check "the meter-based checks are labelled SIMULATED" bash -c "
	grep -qE '^\| validate-node \| [A-Z]+ \| SIMULATED \|' '$report' &&
	grep -qE '^\| validate-workload \| [A-Z]+ \| SIMULATED \|' '$report'"
check "build, probe, agent PASS" bash -c "[ '$(verdict_of build "$report")$(verdict_of probe "$report")$(verdict_of agent "$report")' = PASSPASSPASS ]"
check "validate node PASS on the simulated meter, its table in the report" bash -c "
	[ '$(verdict_of validate-node "$report")' = PASS ] &&
	grep -q '^node power: agent vs independent sampler' '$report' && grep -qE '^  package .* pass$' '$report'"
wv=$(verdict_of validate-workload "$report")
check "validate workload reached a verdict ($wv) and its table is in the report" bash -c "
	[[ '$wv' =~ ^(PASS|FAIL|REFUSED)$ ]] && grep -q '^workload power, zone package' '$report'"
pv=$(verdict_of pmu-cgroup "$report")
if "$WATTLET" probe --listen "" 2>/dev/null | grep -q '^  pmu: *available'; then
	check "pmu-cgroup PASS where this host has a PMU ($pv)" [ "$pv" = PASS ]
else
	check "pmu-cgroup SKIPPED without a PMU, with the reason and the CPU-time cross-check ($pv)" \
		grep -qE '^\| pmu-cgroup \| SKIPPED \|.*no PMU.*per-cgroup CPU time checked: agent [0-9.]+ s vs cgroup [0-9.]+ s' "$report"
fi
if [ ${#NVML_ENV[@]} -gt 0 ]; then
	check "gpu-nvml PASS on the stub NVML: name, 75 W draw, energy counter rate ~75 W" bash -c "
		grep -qE '^\| gpu-nvml \| PASS \|.*STUB GPU \(test\) 75\.0 W, energy counter 7[0-9]\.[0-9] W' '$report' &&
		grep -qE '^\| 0 \| STUB GPU \(test\) \| 75\.0 W \| 700 W \| [0-9.]+ kJ \| 7[0-9]\.[0-9] W over' '$report'"
fi
check "timings table with the total" grep -qE '^\| total \| [0-9]+ \|$' "$report"
check "nothing left running, no cgroup left" wait_for 5 no_leftovers

# --- 2. interrupted: the report is still written ----------------------------------------------
OUT2=$TMP/hw-int
setsid env "${HW_ENV[@]}" HW_CHECK_OUT="$OUT2" bash hack/hw-check.sh > "$TMP/hw-int.log" 2>&1 &
hpid=$!
PIDS+=($hpid)
if wait_for 40 grep -q 'validate-node: \.\.\.' "$TMP/hw-int.log"; then
	kill -TERM -- "-$hpid"
	wait "$hpid"; rc=$?
	report2=$(cat "$OUT2/last-report" 2>/dev/null)
	check "interrupted: exit 130 (got $rc)" [ "$rc" -eq 130 ]
	check "interrupted: report written and says INTERRUPTED" grep -q '^| total time | .*INTERRUPTED' "${report2:-/nonexistent}"
	check "interrupted: validate-node SKIPPED (interrupted), agent PASS before it" bash -c "
		grep -qE '^\| validate-node \| SKIPPED \|.*\| interrupted \|$' '$report2' &&
		[ '$(verdict_of agent "${report2:-/nonexistent}")' = PASS ]"
	n=0; for c in "${CHECK_NAMES[@]}"; do [ -n "$(verdict_of "$c" "${report2:-/nonexistent}")" ] && n=$((n + 1)); done
	check "interrupted: still a verdict line for all ${#CHECK_NAMES[@]} checks ($n)" [ "$n" -eq ${#CHECK_NAMES[@]} ]
	OUT=$OUT2
	check "interrupted: nothing left running, no cgroup left" wait_for 5 no_leftovers
else
	fail "interrupted: the run never reached validate-node: $(tail -5 "$TMP/hw-int.log")"
	kill -- "-$hpid" 2>/dev/null
fi
finish
