#!/usr/bin/env bash
# hack/hw-check.sh (`make hw-check`) - the hardware kit: on a Linux host with real meters
# (RAPL, a PMU, an NVIDIA GPU) it installs what it needs, builds the agent, probes, runs
# `wattlet validate node` and `wattlet validate workload` with stress-ng, checks the
# per-cgroup PMU counters, records what NVML reports and checks the agent's zone gpu against
# it (docs/gpu.md), and writes a markdown report:
#   build/hw-check/report-<host>-<UTC date-time>[-SIMULATED].md   (format: docs/hardware/README.md)
# One command, no interaction, progress on stdout, at most ~8 minutes (every step is bounded
# by timeout and by the overall budget); the report is written even when a step fails or
# the run is interrupted. Nothing assumes RAPL: a check that cannot run says SKIPPED and why.
#
# Environment:
#   HW_CHECK_SIM=1      run the same checks against the SIMULATED RAPL meter (build/raplsim);
#                       every meter-based verdict is labelled SIMULATED (exercises the kit)
#   HW_CHECK_QUICK=1    short validate runs (the test smoke; <= 90 s once built)
#   HW_CHECK_BUILD=DIR  build directory (default build/hw-check/build, the kit's own)
#   HW_CHECK_OUT=DIR    where the report and the run's logs go (default build/hw-check)
#   HW_CHECK_BUDGET_S=N overall time budget in seconds (default 480; quick 90)
#   HW_CHECK_NO_DEPS=1  do not install packages (only report what is missing)
#   HW_CHECK_NVML_LIB=F the NVML library to load (default libnvidia-ml.so.1; with HW_CHECK_SIM=1
#                       and no NVML here: the stand-in BUILD/test/libnvidia-ml.so.1, SIMULATED)
# Exit status: 0 no check FAILed, 1 some check FAILed, 2 the report could not be written,
# 130 interrupted (SIGINT/SIGTERM; the report is written, unfinished checks SKIPPED).
set -u
cd "$(dirname "$0")/.."

T0=$(date +%s)
SIM=${HW_CHECK_SIM:-0}
QUICK=${HW_CHECK_QUICK:-0}
[ "$SIM" = 1 ] || SIM=0
[ "$QUICK" = 1 ] || QUICK=0
if [ "$QUICK" = 1 ]; then BUDGET=${HW_CHECK_BUDGET_S:-90}; else BUDGET=${HW_CHECK_BUDGET_S:-480}; fi
OUT=${HW_CHECK_OUT:-build/hw-check}
OWN_BUILD=0
if [ -n "${HW_CHECK_BUILD:-}" ]; then B=$HW_CHECK_BUILD; else B=$OUT/build; OWN_BUILD=1; fi
HOST=$(hostname -s 2>/dev/null || hostname 2>/dev/null || echo unknown-host)
HOST=${HOST//[^A-Za-z0-9._-]/_}
NOW_UTC=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=""; [ "$SIM" = 1 ] && SUFFIX="-SIMULATED"
REPORT=$OUT/report-$HOST-$STAMP$SUFFIX.md
WORK=$OUT/run-$STAMP
RESERVE=8 # seconds kept for writing the report and cleaning up

mkdir -p "$WORK" || { echo "hw-check: cannot create $WORK" >&2; exit 2; }

# Re-run as root where that needs no password: RAPL's energy_uj is root-only, eBPF and
# cgroups need root, packages need root.
if [ "$(id -u)" -ne 0 ] && [ -z "${HW_CHECK_NO_SUDO:-}" ] && command -v sudo >/dev/null &&
	sudo -n true 2>/dev/null; then
	echo "hw-check: re-running as root (sudo -n)"
	exec sudo -n -E HW_CHECK_NO_SUDO=1 bash "$0" "$@"
fi
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1

# --- bookkeeping --------------------------------------------------------------------------
CHECKS=(deps build probe agent validate-node validate-workload pmu-cgroup gpu-nvml gpu-agent)
declare -A V WHY SECS METER_LABEL
for c in "${CHECKS[@]}"; do V[$c]=SKIPPED; WHY[$c]="not reached"; SECS[$c]=0; METER_LABEL[$c]="-"; done
STEP_T0=0
INTERRUPTED=0
AGENT_PID=""; SIM_PID=""; PMU_CG=""; GPU_USER_PID=""; GPU_CG=""
AGENT_URL=""; SIMDIR=""; CPU_ROOT=""
METER_IN_USE=""; MLABEL="-"; PROBE_OK=0; BUILD_OK=0; AGENT_OK=0
LABEL="hardware"; [ "$SIM" = 1 ] && LABEL="SIMULATED RAPL"

elapsed() { echo $(( $(date +%s) - T0 )); }
say() { printf '[%3ds] %s\n' "$(elapsed)" "$*"; }
left() { echo $(( T0 + BUDGET - RESERVE - $(date +%s) )); }
# cap SECONDS: the smaller of SECONDS and the budget left (may be <= 0)
cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
begin() { STEP_T0=$(date +%s); say "$1: ..."; }
verdict() { # verdict CHECK VERDICT WHY
	V[$1]=$2; WHY[$1]=$3; SECS[$1]=$(( $(date +%s) - STEP_T0 ))
	say "$1: $2 - $3"
}
skip_rest() { # marks every check still "not reached" SKIPPED with a reason
	local c
	for c in "${CHECKS[@]}"; do
		[ "${WHY[$c]}" = "not reached" ] && { V[$c]=SKIPPED; WHY[$c]=$1; }
	done
}
# run_bounded SECONDS LOG command... : runs with timeout (TERM, then KILL 5 s later), output
# to LOG; returns the command's status (124 when it ran out of time). The command runs in the
# background and the script waits for it: a trapped SIGINT/SIGTERM interrupts `wait` at once
# (a foreground child that handles SIGINT itself would make bash ignore the signal), and the
# EXIT trap then stops the command (CUR_PID) so that it cleans up as on any SIGTERM.
CUR_PID=""
run_bounded() {
	local t=$1 log=$2 rc; shift 2
	[ "$t" -ge 1 ] || return 124
	timeout -k 5 "$t" "$@" > "$log" 2>&1 < /dev/null &
	CUR_PID=$!
	wait "$CUR_PID"; rc=$?
	CUR_PID=""
	return $rc
}
md_escape() { printf '%s' "$1" | tr '\n' ' ' | sed 's/|/\\|/g'; }

# --- cleanup and the report (always, from the EXIT trap) ----------------------------------
cleanup() {
	local p
	if [ -n "$CUR_PID" ]; then # a step still running (interrupted): stop it, bounded
		kill -TERM "$CUR_PID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$CUR_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CUR_PID" 2>/dev/null
		wait "$CUR_PID" 2>/dev/null
	fi
	if [ -n "$PMU_CG" ] && [ -d "$PMU_CG" ]; then
		for p in $(cat "$PMU_CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in $(seq 1 50); do [ -z "$(cat "$PMU_CG/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
		rmdir "$PMU_CG" 2>/dev/null
	fi
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	[ -n "$GPU_USER_PID" ] && kill "$GPU_USER_PID" 2>/dev/null && wait "$GPU_USER_PID" 2>/dev/null
	[ -n "$GPU_CG" ] && [ -d "$GPU_CG" ] && rmdir "$GPU_CG" 2>/dev/null
	GPU_USER_PID=""; GPU_CG=""
	[ -n "$AGENT_PID" ] && wait "$AGENT_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && wait "$SIM_PID" 2>/dev/null
	AGENT_PID=""; SIM_PID=""
}

section_file() { # section_file TITLE FILE [MAXLINES]: a fenced block of FILE, or a note
	local max=${3:-80}
	echo
	echo "### $1"
	echo
	if [ -s "$2" ]; then
		echo '```'
		head -n "$max" "$2"
		[ "$(wc -l < "$2")" -gt "$max" ] && echo "... ($(wc -l < "$2") lines; full text in $2)"
		echo '```'
	else
		echo "(none: the step did not run or wrote nothing)"
	fi
}

write_report() {
	local c nfail=0 total
	total=$(elapsed)
	{
		echo "# wattlet hardware check: $HOST, $NOW_UTC${SUFFIX:+ (SIMULATED)}"
		echo
		if [ "$SIM" = 1 ]; then
			echo "> **SIMULATED.** HW_CHECK_SIM=1: the energy meter is build/raplsim, a simulated RAPL"
			echo "> tree driven by this machine's CPU activity through a fixed power curve. Every"
			echo "> energy number and every validate verdict below is about the kit and the agent's"
			echo "> accounting, **not a hardware measurement**."
			echo
		fi
		if [ "$SIM" = 0 ] && [ "$PROBE_OK" = 1 ] && [ -z "$METER_IN_USE" ]; then
			echo "> **No energy meter on this host** (no RAPL or other meter wattlet can read):"
			echo "> the meter-based checks are SKIPPED; see \"Meters found\" for the probe's reasons."
			echo
		fi
		echo "| | |"
		echo "|---|---|"
		echo "| date | $NOW_UTC |"
		echo "| host | $HOST |"
		echo "| machine | $(md_escape "${CPU_MODEL:-?}") |"
		echo "| wattlet | $(cat VERSION 2>/dev/null || echo ?) ($(git rev-parse --short HEAD >/dev/null 2>&1 &&
			echo "git $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ', uncommitted changes')" ||
			echo 'not a git checkout')) |"
		echo "| mode | $([ "$SIM" = 1 ] && echo "SIMULATED meter (HW_CHECK_SIM=1)" || echo "hardware")$([ "$QUICK" = 1 ] && echo ", quick (HW_CHECK_QUICK=1)") |"
		echo "| run as | $([ "$IS_ROOT" = 1 ] && echo root || echo "uid $(id -u) (not root: RAPL, eBPF, cgroups and packages need root)") |"
		echo "| total time | ${total} s (budget ${BUDGET} s)$([ "$INTERRUPTED" = 1 ] && echo ', INTERRUPTED') |"
		echo "| logs | $WORK |"
		echo
		echo "## Machine"
		echo
		echo "| | |"
		echo "|---|---|"
		echo "| CPU model | $(md_escape "${CPU_MODEL:-?}") |"
		echo "| vendor, arch | ${CPU_VENDOR:-?}, $(uname -m) |"
		echo "| sockets | ${SOCKETS:-?} |"
		echo "| cores | ${CORES_PER_SOCKET:-?} per socket, ${THREADS_PER_CORE:-?} thread(s) per core, $(nproc) CPUs online |"
		echo "| memory | ${MEM_GIB:-?} GiB |"
		echo "| kernel | $(uname -r) |"
		echo "| OS | $(md_escape "${OS_NAME:-?}") |"
		echo "| virtualization | $(md_escape "${VIRT:-?}") |"
		echo "| perf_event_paranoid | $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo ?) |"
		echo
		echo "## Meters found"
		echo
		for l in "${METERS_FOUND[@]}"; do echo "- $(md_escape "$l")"; done
		echo
		echo "## Checks"
		echo
		echo "| check | verdict | meter | time | why |"
		echo "|---|---|---|---|---|"
		for c in "${CHECKS[@]}"; do
			[ "${V[$c]}" = FAIL ] && nfail=$((nfail + 1))
			echo "| $c | ${V[$c]} | ${METER_LABEL[$c]} | ${SECS[$c]} s | $(md_escape "${WHY[$c]}") |"
		done
		echo
		echo "Verdicts: PASS, FAIL, REFUSED (the validator would not judge: too noisy), SKIPPED"
		echo "(could not run here; the reason says why). $nfail FAIL."
		echo
		echo "## validate node"
		[ -n "${NODE_PARAMS:-}" ] && { echo; echo "\`wattlet validate node $NODE_PARAMS\`"; }
		section_file "result" "$WORK/validate-node.table"
		echo
		echo "## validate workload"
		[ -n "${WL_PARAMS:-}" ] && { echo; echo "\`wattlet validate workload $WL_PARAMS\`"; }
		[ -n "${IDLE_NOTE:-}" ] && { echo; echo "$IDLE_NOTE"; }
		section_file "result" "$WORK/validate-workload.table"
		echo
		echo "## PMU: per-cgroup counters"
		echo
		if [ -s "$WORK/pmu.md" ]; then cat "$WORK/pmu.md"; else echo "(not run: ${WHY[pmu-cgroup]})"; fi
		echo
		echo "## GPU (NVML)"
		echo
		if [ "$GPU_STANDIN" = 1 ]; then
			echo "> **SIMULATED GPU.** No NVML on this host: the NVML library below is the STAND-IN"
			echo "> (test/stub/nvml_standin.c, \"STAND-IN (not a GPU)\") with a scripted 180 W GPU used by"
			echo "> one process at 60 % SM. It exercises the kit and the agent's zone gpu, **not a GPU**."
			echo
		fi
		echo "What NVML reports (an independent reading through ctypes: energy counter, power,"
		echo "processes), then the agent's zone \`gpu\` over a few ticks (docs/gpu.md)."
		echo
		if [ -s "$WORK/gpu.md" ]; then cat "$WORK/gpu.md"; else echo "(none: ${WHY[gpu-nvml]})"; fi
		echo
		if [ -s "$WORK/gpu-agent.md" ]; then cat "$WORK/gpu-agent.md"; else echo "Agent zone gpu: (not measured: ${WHY[gpu-agent]})"; fi
		section_file "nvidia-smi -q -d POWER,UTILIZATION" "$WORK/nvidia-smi.txt" 60
		echo
		echo "## Timings"
		echo
		echo "| step | seconds |"
		echo "|---|---|"
		for c in "${CHECKS[@]}"; do echo "| $c | ${SECS[$c]} |"; done
		echo "| total | $total |"
		echo
		echo "## Appendix"
		section_file "wattlet probe" "$WORK/probe.txt" 60
		if [ "${V[build]}" = FAIL ]; then section_file "build log (last lines)" "$WORK/build.tail"; fi
		if [ "${V[deps]}" = FAIL ]; then section_file "package install log" "$WORK/deps.log" 40; fi
	} > "$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT" || return 2
	echo "$REPORT" > "$OUT/last-report"
	say "report: $REPORT"
	[ "$nfail" -eq 0 ]
}

on_exit() {
	local rc
	trap - EXIT INT TERM HUP
	cleanup
	[ "$INTERRUPTED" = 1 ] && skip_rest "interrupted"
	write_report; rc=$?
	say "done: $(for c in "${CHECKS[@]}"; do printf '%s=%s ' "$c" "${V[$c]}"; done)"
	[ "$INTERRUPTED" = 1 ] && [ $rc -ne 2 ] && rc=130
	exit $rc
}
trap on_exit EXIT
trap 'INTERRUPTED=1; exit 130' INT TERM HUP

# --- machine facts --------------------------------------------------------------------------
lscpu_field() { LC_ALL=C lscpu 2>/dev/null | sed -n "s/^$1:[[:space:]]*//p" | head -1; }
CPU_MODEL=$(lscpu_field "Model name")
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
CPU_VENDOR=$(lscpu_field "Vendor ID")
SOCKETS=$(lscpu_field "Socket(s)")
CORES_PER_SOCKET=$(lscpu_field "Core(s) per socket")
THREADS_PER_CORE=$(lscpu_field "Thread(s) per core")
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
OS_NAME=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")
if command -v systemd-detect-virt >/dev/null; then
	VIRT="$(systemd-detect-virt 2>/dev/null) (systemd-detect-virt)"
	vm=$(systemd-detect-virt --vm 2>/dev/null); ct=$(systemd-detect-virt --container 2>/dev/null)
	VIRT="$VIRT; vm: ${vm:-none}, container: ${ct:-none}"
else
	VIRT="unknown (no systemd-detect-virt)"
fi
hv=$(lscpu_field "Hypervisor vendor")
[ -n "$hv" ] && VIRT="$VIRT; hypervisor vendor $hv (lscpu)"
grep -qw hypervisor /proc/cpuinfo && VIRT="$VIRT; cpuinfo flag: hypervisor"

METERS_FOUND=()
if ls /sys/class/powercap/intel-rapl:* >/dev/null 2>&1; then
	METERS_FOUND+=("RAPL (powercap): $(ls -d /sys/class/powercap/intel-rapl:* | wc -l) zones at /sys/class/powercap$( [ -r /sys/class/powercap/intel-rapl:0/energy_uj ] && cat /sys/class/powercap/intel-rapl:0/energy_uj >/dev/null 2>&1 || echo ' (energy_uj not readable by this user)')")
else
	METERS_FOUND+=("RAPL (powercap): absent (no /sys/class/powercap/intel-rapl:*)")
fi
[ -d /sys/bus/event_source/devices/power ] && METERS_FOUND+=("perf power PMU (RAPL via perf): present") ||
	METERS_FOUND+=("perf power PMU (RAPL via perf): absent")
[ "$SIM" = 1 ] && METERS_FOUND+=("SIMULATED RAPL (build/raplsim): used for every meter check in this run (HW_CHECK_SIM=1)")

say "wattlet hardware check on $HOST: $CPU_MODEL, $(nproc) CPUs; $LABEL; quick=$QUICK; budget ${BUDGET}s"
say "work dir $WORK; build dir $B"

# --- 1. deps ----------------------------------------------------------------------------------
# The build part of hack/deps.sh plus what the checks run. Not the test/e2e packages
# (containerd, prometheus, redis, valgrind ...): a borrowed machine needs none of them.
DEPS=(gcc clang llvm make pkg-config libc6-dev libyaml-dev libwebsockets-dev libjansson-dev
	libcurl4-openssl-dev libbpf-dev bpftool libelf-dev zlib1g-dev libpfm4-dev
	stress-ng curl python3 procps util-linux)
BPFTOOL_BIN=""
find_bpftool() { # a bpftool that runs: PATH, else Ubuntu's versioned linux-tools ones
	local b
	if bpftool version >/dev/null 2>&1; then BPFTOOL_BIN=bpftool; return 0; fi
	for b in $(ls -d /usr/lib/linux-tools/*/bpftool /usr/lib/linux-tools-*/bpftool 2>/dev/null | sort -rV); do
		"$b" version >/dev/null 2>&1 && { BPFTOOL_BIN=$b; return 0; }
	done
	return 1
}
apt_has() { # apt_has PKG: apt has an installation candidate for PKG
	local c
	c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
	[ -n "$c" ] && [ "$c" != "(none)" ]
}
do_deps() {
	local missing=() p want=() unavail=() t rc
	if ! command -v dpkg-query >/dev/null; then
		for p in cc clang make pkg-config stress-ng curl python3; do
			command -v "$p" >/dev/null || missing+=("$p")
		done
		find_bpftool || missing+=(bpftool)
		if [ ${#missing[@]} -eq 0 ]; then verdict deps PASS "not Debian/Ubuntu (no dpkg): the tools needed are on PATH"
		else verdict deps FAIL "not Debian/Ubuntu (no dpkg): install by hand: ${missing[*]} (plus the -dev libraries of hack/deps.sh)"; fi
		return
	fi
	for p in "${DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	# bpftool installed outside dpkg (or Ubuntu's linux-tools) is fine
	if [[ " ${missing[*]} " == *" bpftool "* ]] && find_bpftool; then
		missing=("${missing[@]/bpftool/}"); missing=($(printf '%s\n' "${missing[@]}" | grep .))
	fi
	if [ ${#missing[@]} -eq 0 ]; then
		find_bpftool
		verdict deps PASS "all ${#DEPS[@]} packages present (bpftool: ${BPFTOOL_BIN:-none})"
		return
	fi
	if [ "${HW_CHECK_NO_DEPS:-0}" = 1 ] || [ "$IS_ROOT" = 0 ]; then
		verdict deps FAIL "missing: ${missing[*]} ($([ "$IS_ROOT" = 0 ] && echo 'not root' || echo 'HW_CHECK_NO_DEPS=1'): apt-get install ${missing[*]})"
		return
	fi
	say "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	t=$(cap 120); run_bounded "$t" "$WORK/deps.log" apt-get update -qq ||
		say "deps: apt-get update failed or timed out (going on with the lists there are)"
	for p in "${missing[@]}"; do
		if apt_has "$p"; then want+=("$p")
		elif [ "$p" = bpftool ]; then
			# Ubuntu before 24.04 (and 24.04 without the 2025 SRU) has no bpftool package:
			# it is in linux-tools-<kernel>, behind linux-tools-common's wrapper
			if apt_has "linux-tools-$(uname -r)"; then want+=(linux-tools-common "linux-tools-$(uname -r)")
			elif apt_has linux-tools-generic; then want+=(linux-tools-common linux-tools-generic)
			else unavail+=(bpftool); fi
		else unavail+=("$p"); fi
	done
	if [ ${#want[@]} -gt 0 ]; then
		t=$(cap 200)
		run_bounded "$t" "$WORK/deps-install.log" apt-get install -y -qq --no-install-recommends "${want[@]}"
		rc=$?
		cat "$WORK/deps-install.log" >> "$WORK/deps.log"
		if [ $rc -ne 0 ]; then
			verdict deps FAIL "apt-get install ${want[*]} exited $rc$([ $rc -eq 124 ] && echo " (timed out after ${t}s)") (see the appendix)"
			return
		fi
	fi
	find_bpftool
	if [ ${#unavail[@]} -gt 0 ]; then
		verdict deps FAIL "installed ${want[*]:-nothing}; no candidate for: ${unavail[*]}"
	elif [ -z "$BPFTOOL_BIN" ]; then
		verdict deps FAIL "installed ${want[*]}; but no bpftool runs (Ubuntu: linux-tools for kernel $(uname -r)?)"
	else
		verdict deps PASS "installed ${want[*]} (bpftool: $BPFTOOL_BIN)"
	fi
}
begin deps
do_deps

# --- 2. build ---------------------------------------------------------------------------------
begin build
if [ "$OWN_BUILD" = 1 ] && [ ! -f "$B/.deps-ok" ]; then
	# The kit's own build dir: its packages were checked above, so make need not run the
	# full hack/deps.sh (test and e2e packages).
	mkdir -p "$B" && touch "$B/.deps-ok"
fi
t=$(cap 240)
if [ "$t" -lt 10 ]; then
	verdict build SKIPPED "time budget spent"
else
	mk=(make -j"$(nproc)" BUILD="$B" "$B/wattlet" "$B/raplsim")
	[ -n "$BPFTOOL_BIN" ] && [ "$BPFTOOL_BIN" != bpftool ] && { export BPFTOOL=$BPFTOOL_BIN; mk+=(BPFTOOL="$BPFTOOL_BIN"); }
	run_bounded "$t" "$WORK/build.log" "${mk[@]}"; rc=$?
	tail -n 30 "$WORK/build.log" > "$WORK/build.tail"
	if [ $rc -eq 0 ] && [ -x "$B/wattlet" ]; then
		BUILD_OK=1
		verdict build PASS "$B/wattlet $("$B/wattlet" version 2>/dev/null | head -1)"
	elif [ $rc -eq 124 ]; then verdict build FAIL "make timed out after ${t}s"
	else verdict build FAIL "make exited $rc: $(grep -m1 -iE 'error|no rule' "$WORK/build.log" | cut -c1-200)"; fi
fi
[ "$BUILD_OK" = 1 ] || skip_rest "no agent: the build did not succeed"
WATTLET=$B/wattlet
: > "$WORK/config.yaml" # an empty configuration: nothing from /etc/wattlet on a borrowed host
CFG=(-c "$WORK/config.yaml")

# --- 3. probe (with the simulated meter first where asked) -----------------------------------
if [ "$BUILD_OK" = 1 ] && [ "$SIM" = 1 ]; then
	SIMDIR=$WORK/powercap
	mkdir -p "$SIMDIR"
	# idle 10 W + 15 W per busy CPU, 10 ms updates: as test/integration/it_validate.sh
	"$B/raplsim" --dir "$SIMDIR" --idle-watts 10 --watts-per-core 15 --interval-ms 10 \
		> "$WORK/raplsim.log" 2>&1 &
	SIM_PID=$!
	for _ in $(seq 1 100); do [ -s "$SIMDIR/intel-rapl:0/energy_uj" ] && break; sleep 0.1; done
	[ -s "$SIMDIR/intel-rapl:0/energy_uj" ] || { say "raplsim did not start: $(tail -3 "$WORK/raplsim.log")"; SIMDIR=""; }
fi
MOPTS=()
[ -n "$SIMDIR" ] && MOPTS=(--powercap-root "$SIMDIR")
# The NVML library the agent and the GPU checks load. HW_CHECK_SIM=1 on a host without NVML
# (and without HW_CHECK_NVML_LIB) uses the STAND-IN (test/stub/nvml_standin.c, "STAND-IN (not
# a GPU)") with one scripted GPU and a real process as its user; labelled SIMULATED.
NVML_LIB=${HW_CHECK_NVML_LIB:-libnvidia-ml.so.1}; GPU_STANDIN=0
if [ "$BUILD_OK" = 1 ] && [ "$SIM" = 1 ] && [ -z "${HW_CHECK_NVML_LIB:-}" ] &&
	! python3 -c 'import ctypes; ctypes.CDLL("libnvidia-ml.so.1")' 2>/dev/null &&
	run_bounded "$(cap 60)" "$WORK/standin-build.log" make BUILD="$B" "$B/test/libnvidia-ml.so.1"; then
	sleep 3600 & GPU_USER_PID=$!
	printf 'gpu power_mw=180000 util=60\nproc gpu=0 pid=%s sm=60\n' "$GPU_USER_PID" > "$WORK/nvml-standin.script"
	export WATTLET_NVML_STANDIN=$WORK/nvml-standin.script
	NVML_LIB=$(realpath "$B/test/libnvidia-ml.so.1"); GPU_STANDIN=1
	METERS_FOUND+=("NVML: the STAND-IN library (not a GPU) for the GPU checks (HW_CHECK_SIM=1, no NVML here)")
fi
GOPTS=(--set gpu.library="$NVML_LIB") # probe and agent
if [ "$BUILD_OK" = 1 ]; then
	begin probe
	run_bounded "$(cap 30)" "$WORK/probe.txt" "$WATTLET" probe "${CFG[@]}" --listen "" "${MOPTS[@]}" "${GOPTS[@]}"; rc=$?
	CPU_ROOT=$(sed -n 's/^  cpu time: \([^ ]*\) .*/\1/p' "$WORK/probe.txt")
	METER_IN_USE=$(awk '$2 == "IN" && $3 == "USE" {print $1; exit}' "$WORK/probe.txt")
	PMU_LINE=$(sed -n 's/^  pmu: *//p' "$WORK/probe.txt")
	EBPF_LINE=$(sed -n 's/^  ebpf: *//p' "$WORK/probe.txt")
	USAGE_IN_USE=$(sed -n '/^usage/,$ s/^  in use: *//p' "$WORK/probe.txt" | head -1)
	plabel="probe"; [ -n "$SIMDIR" ] && plabel="probe (powercap = the SIMULATED tree)"
	while IFS= read -r l; do METERS_FOUND+=("$plabel: $l"); done \
		< <(sed -n '/^meters/,/^model/ { /^  [a-z]* *\(IN USE\|usable\|absent\)/p; /^  zones:/p }' "$WORK/probe.txt" | sed 's/^ *//; s/  */ /g')
	METERS_FOUND+=("PMU (hardware counters): ${PMU_LINE:-unknown}")
	METERS_FOUND+=("eBPF usage: ${EBPF_LINE:-unknown}")
	# HW_CHECK_SIM=1 never falls back to a real meter: without the simulator, no meter
	[ "$SIM" = 1 ] && [ -z "$SIMDIR" ] && METER_IN_USE=""
	if [ -n "$SIMDIR" ] && [ -n "$METER_IN_USE" ]; then MLABEL="SIMULATED"
	elif [ -n "$METER_IN_USE" ]; then MLABEL="hardware: $METER_IN_USE"
	else MLABEL="none"; fi
	if [ $rc -ne 0 ]; then
		verdict probe FAIL "wattlet probe exited $rc: $(tail -2 "$WORK/probe.txt" | tr '\n' ' ')"
	elif [ -z "$CPU_ROOT" ]; then
		verdict probe FAIL "probe named no CPU-time cgroup hierarchy"
	else
		PROBE_OK=1
		verdict probe PASS "meter in use: ${METER_IN_USE:-none}$([ "$SIM" = 1 ] && echo ' (SIMULATED)'); usage: ${USAGE_IN_USE:-?}; PMU: ${PMU_LINE%%:*}; cgroups: $CPU_ROOT"
	fi
	METER_LABEL[probe]=$MLABEL
	# the stand-in GPU's user process in a cgroup of its own: a workload with a known share
	if [ -n "$GPU_USER_PID" ] && [ -n "$CPU_ROOT" ] && [ "$IS_ROOT" = 1 ]; then
		GPU_CG=$CPU_ROOT/wattlet-hwcheck-gpu-$$
		mkdir -p "$GPU_CG" && echo "$GPU_USER_PID" > "$GPU_CG/cgroup.procs" || GPU_CG=""
	fi
fi
NO_METER_WHY=""
if [ -z "$METER_IN_USE" ]; then
	if [ "$SIM" = 1 ]; then NO_METER_WHY="the simulated meter did not start (see $WORK/raplsim.log)"
	else
		NO_METER_WHY="no energy meter on this host: $(sed -n 's/^  powercap *absent *//p' "$WORK/probe.txt" 2>/dev/null | head -1)"
		[ "$NO_METER_WHY" = "no energy meter on this host: " ] && NO_METER_WHY="no energy meter on this host (wattlet probe)"
		NO_METER_WHY="$NO_METER_WHY; HW_CHECK_SIM=1 runs these checks on the simulated meter"
	fi
fi

# --- 4. agent ---------------------------------------------------------------------------------
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $(( 20000 + RANDOM % 20000 ))
}
REC=$WORK/record.csv
if [ "$PROBE_OK" = 1 ]; then
	begin agent
	port=$(free_port)
	AGENT_URL="http://127.0.0.1:$port"
	AFLAGS=("${CFG[@]}" --listen "127.0.0.1:$port" --tick 1s --checkpoint "" --node-name "hw-check-$HOST"
		--set validate.result_file="" --set model.features.package=instructions --record "$REC" "${MOPTS[@]}" "${GOPTS[@]}")
	# on the simulated meter the truth is known: fixed idle as in it_validate.sh; on hardware
	# the agent learns idle power as it would in production (noted in the report)
	[ "$SIM" = 1 ] && AFLAGS+=(--idle-policy none --set model.idle_watts.package=10)
	# the stand-in GPU: 180 W of which 30 W idle, its one process takes the other 150 W
	[ "$GPU_STANDIN" = 1 ] && AFLAGS+=(--set model.idle_watts.gpu=30)
	"$WATTLET" run "${AFLAGS[@]}" > "$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	ready=0
	deadline=$(( $(date +%s) + $(cap 25) ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		curl -sf "$AGENT_URL/readyz" >/dev/null 2>&1 && { ready=1; break; }
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$ready" = 1 ]; then
		AGENT_OK=1
		am=$(curl -sf "$AGENT_URL/api/v1/workloads" | python3 -c 'import json,sys; a=json.load(sys.stdin)["agent"]; print(a["meter"], a["usage_source"])' 2>/dev/null)
		verdict agent PASS "ready in $(( $(date +%s) - STEP_T0 )) s; meter ${am% *}, usage ${am#* }"
		METER_LABEL[agent]=$MLABEL
	else
		verdict agent FAIL "not ready within the time allowed: $(tail -3 "$WORK/agent.log" | tr '\n' ' ' | cut -c1-300)"
		skip_rest "the agent did not start"
	fi
fi

# agent_alive: false (and the agent check FAILs, the rest SKIPPED) once the agent has exited
agent_alive() {
	[ "$AGENT_OK" = 1 ] || return 1
	kill -0 "$AGENT_PID" 2>/dev/null && return 0
	AGENT_OK=0
	V[agent]=FAIL; WHY[agent]="the agent exited during the run: $(tail -2 "$WORK/agent.log" | tr '\n' ' ' | cut -c1-300)"
	say "agent: FAIL - ${WHY[agent]}"
	skip_rest "the agent exited during the run"
	return 1
}

# --- 5./6. validate ---------------------------------------------------------------------------
VFLAGS=(--url "$AGENT_URL" "${CFG[@]}" "${MOPTS[@]}" --no-state)
if [ "$QUICK" = 1 ]; then
	N_SAMPLES=4; DUR=2; STEPS=2; SETTLE=1; ATTEMPTS=1
else
	N_SAMPLES=5; DUR=3; STEPS=3; SETTLE=2; ATTEMPTS=2
fi
# each instance: one stress-ng CPU worker; a whole core on a big host (a step well above
# the noise), 30 % of one on small ones (K steps must fit without saturating the node)
if [ "$SIM" = 0 ] && [ "$(nproc)" -ge 8 ]; then LOADPCT=${HW_CHECK_LOAD:-100}; else LOADPCT=${HW_CHECK_LOAD:-30}; fi
WL_CMD=(stress-ng --cpu 1 --cpu-load "$LOADPCT" --cpu-method loop --quiet)
validate_verdict() { # validate_verdict CHECK RC OUTFILE TIMEOUT
	local line
	line=$(grep -m1 '^verdict' "$3" | cut -c1-500)
	case $2 in
	0) verdict "$1" PASS "${line:-exit 0}" ;;
	1) verdict "$1" FAIL "${line:-exit 1}" ;;
	3) verdict "$1" REFUSED "${line:-exit 3: too noisy to judge}" ;;
	124|137) verdict "$1" FAIL "timed out after ${4}s: $(tail -1 "$3")" ;;
	*) verdict "$1" FAIL "exit $2 (could not run): $(grep -v '^  ' "$3" | tail -2 | tr '\n' ' ' | cut -c1-300)" ;;
	esac
	METER_LABEL[$1]=$MLABEL
	sed -n '/^correctness checks/,$p' "$3" > "${3%.out}.table"
}
if agent_alive && [ -z "$METER_IN_USE" ]; then
	for c in validate-node validate-workload; do V[$c]=SKIPPED; WHY[$c]=$NO_METER_WHY; done
	say "validate: SKIPPED - $NO_METER_WHY"
elif [ "$AGENT_OK" = 1 ]; then
	begin validate-node
	NODE_PARAMS="--samples $N_SAMPLES --duration ${DUR}s"
	need=$(( N_SAMPLES * DUR + 15 ))
	t=$(cap "$need")
	if [ "$t" -lt $(( N_SAMPLES * DUR + 3 )) ]; then verdict validate-node SKIPPED "time budget spent (${t}s left, needs ~${need}s)"
	else
		run_bounded "$t" "$WORK/validate-node.out" "$WATTLET" validate node "${VFLAGS[@]}" \
			--samples "$N_SAMPLES" --duration "${DUR}s" --json "$WORK/validate-node.json"
		validate_verdict validate-node $? "$WORK/validate-node.out" "$t"
	fi

	begin validate-workload
	if ! agent_alive; then :
	elif ! command -v stress-ng >/dev/null; then verdict validate-workload SKIPPED "stress-ng not installed"
	else
		per=$(( N_SAMPLES * DUR * (STEPS + 1) + STEPS * SETTLE + 8 ))
		t=$(cap $(( per * ATTEMPTS + 15 )))
		while [ "$ATTEMPTS" -gt 1 ] && [ "$t" -lt $(( per * ATTEMPTS + 5 )) ]; do ATTEMPTS=$((ATTEMPTS - 1)); done
		ZONE=$(python3 -c '
import json, sys
z = json.load(open(sys.argv[1]))["checks"]["zones_supported"]
print("package" if "package" in z or not z else z[0])' "$WORK/validate-node.json" 2>/dev/null)
		ZONE=${ZONE:-package}
		WL_PARAMS="--zone $ZONE --samples $N_SAMPLES --duration ${DUR}s --steps $STEPS --settle ${SETTLE}s --attempts $ATTEMPTS -- ${WL_CMD[*]}"
		if [ "$t" -lt "$per" ]; then verdict validate-workload SKIPPED "time budget spent (${t}s left, needs ~${per}s)"
		else
			run_bounded "$t" "$WORK/validate-workload.out" "$WATTLET" validate workload "${VFLAGS[@]}" \
				--zone "$ZONE" --samples "$N_SAMPLES" --duration "${DUR}s" --steps "$STEPS" --settle "${SETTLE}s" \
				--attempts "$ATTEMPTS" --json "$WORK/validate-workload.json" -- "${WL_CMD[@]}"
			validate_verdict validate-workload $? "$WORK/validate-workload.out" "$t"
			IDLE_NOTE=$(curl -sf "$AGENT_URL/api/v1/workloads" | python3 -c '
import json, sys
z = json.load(sys.stdin)["node"].get("zones", {}).get(sys.argv[1], {})
if z:
    src = z.get("idle_source", "?")
    note = "" if src == "configured" else (
        " An agent only minutes old has not learned idle power as a long-running one would "
        "(docs/config.md model.idle_*): a wrong idle moves power between the workloads and system.")
    print("Agent idle power for %s at the end: %.2f W (%s); dynamic power is node power "
          "minus idle.%s" % (sys.argv[1], z.get("idle_watts") or 0, src, note))
' "$ZONE" 2>/dev/null)
		fi
	fi
fi

# --- 7. PMU: per-cgroup counters of a known workload --------------------------------------------
# Runs whenever the agent runs (the CPU-time half applies to any host); the verdict is about
# the PMU half: SKIPPED where the host has no PMU or the usage source cannot use it.
pmu_check() {
	local cg rc cpu0 cpu1 ticks1 secs=4 out
	if ! command -v stress-ng >/dev/null; then verdict pmu-cgroup SKIPPED "stress-ng not installed"; return; fi
	if [ "$(cap 25)" -lt 12 ]; then verdict pmu-cgroup SKIPPED "time budget spent"; return; fi
	cg=$CPU_ROOT/wattlet-hwcheck-$$
	mkdir -p "$cg" 2>/dev/null || { verdict pmu-cgroup FAIL "cannot create cgroup $cg"; return; }
	PMU_CG=$cg
	cg_ns() { if [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"
		else echo $(( $(sed -n 's/^usage_usec //p' "$1/cpu.stat") * 1000 )); fi; }
	cpu0=$(cg_ns "$cg")
	run_bounded $((secs + 6)) "$WORK/pmu-stress.log" bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" \
		stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout "${secs}s" --quiet
	rc=$?
	cpu1=$(cg_ns "$cg")
	# two more agent ticks, so the recording holds all of the workload's usage
	ticks1=$(grep -c '^N,' "$REC" 2>/dev/null)
	for _ in $(seq 1 50); do
		[ "$(grep -c '^N,' "$REC" 2>/dev/null)" -ge $(( ticks1 + 2 )) ] && break
		sleep 0.1
	done
	rmdir "$cg" 2>/dev/null && PMU_CG=""
	out=$(python3 - "$REC" "/wattlet-hwcheck-$$" "$cpu0" "$cpu1" "$rc" "${PMU_LINE:-}" "${USAGE_IN_USE:-}" "$WORK/pmu.md" <<'PY'
import sys
rec, suffix, cpu0, cpu1, rc, pmu_line, usage, md = sys.argv[1:9]
own_s = (int(cpu1) - int(cpu0)) / 1e9
tot = [0, 0, 0, 0]
fmask = 0
rows = 0
for line in open(rec, encoding="utf-8", errors="replace"):  # cgroup names may be any bytes
    if line.startswith("N,"):
        fmask |= int(line.split(",")[11])
    elif line.startswith("W,"):
        f = line.rstrip("\n").split(",", 6)
        if f[6].endswith(suffix):
            rows += 1
            for i in range(4):
                tot[i] += int(f[2 + i])
cpu_s, ins, cyc, llc = tot[0] / 1e9, tot[1], tot[2], tot[3]
have_pmu = bool(fmask & 2)
lines = ["| quantity | value |", "|---|---|",
         "| workload | `stress-ng --cpu 1 --cpu-load 100` for 4 s in its own cgroup (exit %s) |" % rc,
         "| cgroup CPU time (cgroup's own counter) | %.3f s |" % own_s,
         "| cgroup CPU time (agent recording, %d rows) | %.3f s |" % (rows, cpu_s),
         "| features the agent measured | %s |" % ", ".join(
             n for b, n in ((1, "cpu_time"), (2, "instructions"), (4, "cycles"), (8, "cache_misses")) if fmask & b)]
problems = []
if own_s < 0.2:  # 4 s at 100 %: only a node saturated by others gives it less
    problems.append("the workload used only %.2f s of CPU" % own_s)
elif abs(cpu_s - own_s) > 0.10 * own_s:
    problems.append("agent CPU time %.3f s vs cgroup's %.3f s (more than 10 %% apart)" % (cpu_s, own_s))
if have_pmu:
    ips = ins / cpu_s if cpu_s > 0 else 0
    cps = cyc / cpu_s if cpu_s > 0 else 0
    ipc = ins / cyc if cyc > 0 else 0
    lines += ["| instructions | %d (%.2f G per CPU-second) |" % (ins, ips / 1e9),
              "| cycles | %d (%.2f GHz effective) |" % (cyc, cps / 1e9),
              "| instructions per cycle | %.2f |" % ipc,
              "| cache misses | %d |" % llc]
    if ins <= 0:
        problems.append("instructions delta is zero")
    elif not 1e8 <= ips <= 5e10:
        problems.append("%.2f G instructions per CPU-second is implausible (0.1..50)" % (ips / 1e9))
    if cyc <= 0:
        problems.append("cycles delta is zero")
    elif not 2e8 <= cps <= 7e9:
        problems.append("%.2f GHz effective clock is implausible (0.2..7)" % (cps / 1e9))
    elif not 0.05 <= ipc <= 10:
        problems.append("IPC %.2f is implausible (0.05..10)" % ipc)
open(md, "w").write("\n".join(lines) + "\n")
if problems:
    print("FAIL " + "; ".join(problems))
elif have_pmu:
    print("PASS instructions %.2f G/CPU-s, %.2f GHz, IPC %.2f over %.2f CPU-s (agent %.2f s)" %
          (ips / 1e9, cps / 1e9, ipc, own_s, cpu_s))
else:
    why = "no PMU: " + pmu_line if pmu_line.startswith("absent") else \
          "the agent measured no hardware counters (usage source %s; probe pmu: %s)" % (usage, pmu_line)
    print("SKIPPED %s (per-cgroup CPU time checked: agent %.3f s vs cgroup %.3f s)" % (why, cpu_s, own_s))
PY
2> "$WORK/pmu.err")
	[ -n "$out" ] || out="FAIL could not read the agent's recording $REC: $(tail -1 "$WORK/pmu.err")"
	verdict pmu-cgroup "${out%% *}" "${out#* }"
}
if agent_alive; then
	begin pmu-cgroup; pmu_check
	agent_alive || V[pmu-cgroup]=SKIPPED WHY[pmu-cgroup]="the agent exited during the check"
fi

# --- 8. GPU: what NVML reports ------------------------------------------------------------------
gpu_check() {
	local have_smi=0 lib=$NVML_LIB out
	[ "$GPU_STANDIN" = 1 ] && METER_LABEL[gpu-nvml]="SIMULATED (stand-in NVML)"
	command -v nvidia-smi >/dev/null && have_smi=1
	if [ "$have_smi" = 1 ]; then
		run_bounded "$(cap 15)" "$WORK/nvidia-smi.txt" nvidia-smi -q -d POWER,UTILIZATION
	fi
	out=$(timeout -k 2 "$(cap 15)" python3 - "$lib" "$WORK/gpu.md" <<'PY' 2>&1
import ctypes, sys, time
libname, md = sys.argv[1:3]
try:
    nv = ctypes.CDLL(libname)
except OSError as e:
    print("NOLIB %s" % e); sys.exit(0)
def ok(r): return r == 0
if not ok(nv.nvmlInit_v2()):
    print("FAIL nvmlInit failed"); sys.exit(0)
drv = ctypes.create_string_buffer(96)
nv.nvmlSystemGetDriverVersion(drv, 96)
n = ctypes.c_uint(0)
nv.nvmlDeviceGetCount_v2(ctypes.byref(n))
class Util(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]
rows, problems, summary, total_w = [], [], [], [0.0]
for i in range(n.value):
    h = ctypes.c_void_p()
    if not ok(nv.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(h))):
        problems.append("gpu %d: no handle" % i); continue
    name = ctypes.create_string_buffer(96)
    nv.nvmlDeviceGetName(h, name, 96)
    mw, lim, u, e0, e1 = ctypes.c_uint(), ctypes.c_uint(), Util(), ctypes.c_ulonglong(), ctypes.c_ulonglong()
    has_e = ok(nv.nvmlDeviceGetTotalEnergyConsumption(h, ctypes.byref(e0)))
    t0 = time.monotonic()
    p = []
    for _ in range(10):
        if ok(nv.nvmlDeviceGetPowerUsage(h, ctypes.byref(mw))):
            p.append(mw.value / 1000.0)
        time.sleep(0.2)
    dt = time.monotonic() - t0
    has_e = has_e and ok(nv.nvmlDeviceGetTotalEnergyConsumption(h, ctypes.byref(e1)))
    lim_w = lim.value / 1000.0 if hasattr(nv, "nvmlDeviceGetEnforcedPowerLimit") and ok(nv.nvmlDeviceGetEnforcedPowerLimit(h, ctypes.byref(lim))) else None
    util = "%d %% gpu, %d %% memory" % (u.gpu, u.memory) if ok(nv.nvmlDeviceGetUtilizationRates(h, ctypes.byref(u))) else "n/a"
    procs = "n/a"
    if hasattr(nv, "nvmlDeviceGetComputeRunningProcesses_v3"):
        class PInfo(ctypes.Structure):
            _fields_ = [("pid", ctypes.c_uint), ("mem", ctypes.c_ulonglong), ("gi", ctypes.c_uint), ("ci", ctypes.c_uint)]
        cnt, infos = ctypes.c_uint(64), (PInfo * 64)()
        if ok(nv.nvmlDeviceGetComputeRunningProcesses_v3(h, ctypes.byref(cnt), infos)):
            procs = "%d: %s" % (cnt.value, " ".join(str(infos[k].pid) for k in range(min(cnt.value, 8))) or "none")
    total_w[0] += sum(p) / len(p) if p else 0
    nm = name.value.decode(errors="replace")
    mean = sum(p) / len(p) if p else None
    rate = (e1.value - e0.value) / 1000.0 / dt if has_e else None
    rows.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
        i, nm, "%.1f W" % mean if mean is not None else "n/a",
        "%.0f W" % lim_w if lim_w is not None else "n/a",
        "%.3f kJ" % (e1.value / 1e6) if has_e else "not supported",
        "%.1f W over %.1f s" % (rate, dt) if rate is not None else "n/a", util, procs))
    if mean is None:
        problems.append("%s: no power reading" % nm)
    elif rate is not None and abs(rate - mean) > max(0.25 * mean, 5.0):
        problems.append("%s: energy counter rate %.1f W vs power draw %.1f W" % (nm, rate, mean))
    summary.append("%s %.1f W%s" % (nm, mean or 0, ", energy counter %.1f W" % rate if rate is not None else ", no energy counter"))
lines = ["NVML library %s; driver %s; %d GPU(s); power draw: mean of 10 readings over the window; energy counter: "
         "nvmlDeviceGetTotalEnergyConsumption, its rate over the same window." % (libname, drv.value.decode(errors="replace"), n.value),
         "", "| # | name | power draw | power limit | total energy counter | counter rate | utilisation | compute processes (pids) |",
         "|---|---|---|---|---|---|---|---|"] + rows
open(md, "w").write("\n".join(lines) + "\n")
open(md + ".watts", "w").write("%.3f\n" % total_w[0])
nv.nvmlShutdown()
if n.value == 0:
    print("FAIL NVML loaded but reports no GPU")
elif problems:
    print("FAIL " + "; ".join(problems))
else:
    print("PASS driver %s: %s" % (drv.value.decode(errors="replace"), "; ".join(summary)))
PY
)
	case $out in
	NOLIB*)
		if [ "$have_smi" = 1 ]; then
			local nm pw
			nm=$(nvidia-smi --query-gpu=name,driver_version,power.draw --format=csv,noheader 2>/dev/null | head -4 | tr '\n' ';')
			if [ -n "$nm" ]; then verdict gpu-nvml PASS "nvidia-smi (no NVML library for the energy counter: ${out#NOLIB }): $nm"
			else verdict gpu-nvml FAIL "nvidia-smi present but answered nothing"; fi
		elif ls /dev/nvidia[0-9]* >/dev/null 2>&1 || grep -qi nvidia /proc/bus/pci/devices 2>/dev/null; then
			verdict gpu-nvml SKIPPED "an NVIDIA device is present but neither nvidia-smi nor $lib (driver not installed?)"
		else
			verdict gpu-nvml SKIPPED "no NVIDIA GPU (no nvidia-smi, no $lib)"
		fi ;;
	PASS*|FAIL*) verdict gpu-nvml "${out%% *}" "${out#* }" ;;
	*"NOT A GPU"*PASS*|*"NOT A GPU"*FAIL*) # the stand-in's own line on stderr comes first
		out=$(printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ' | tail -1)
		verdict gpu-nvml "${out%% *}" "${out#* } (the STAND-IN library, not a GPU: SIMULATED)" ;;
	*) verdict gpu-nvml FAIL "NVML query failed: $(echo "$out" | tail -2 | tr '\n' ' ' | cut -c1-300)" ;;
	esac
}
begin gpu-nvml
if [ "$(cap 15)" -lt 4 ]; then verdict gpu-nvml SKIPPED "time budget spent"; else gpu_check; fi

# --- 9. GPU: the agent's zone gpu against NVML ---------------------------------------------------
# Two /metrics samples a few ticks apart: the node's gpu power (dynamic + idle) against the
# mean power NVML reported in step 8 (same tolerance as the counter-vs-draw check there:
# 25 % or 5 W; the two windows differ by seconds), exact conservation of zone gpu (sum of
# workload series == node), and the workloads holding gpu energy.
gpu_agent_check() {
	local gl m1=$WORK/gpu-m1.prom m2=$WORK/gpu-m2.prom t1 t2 out
	gl=$(sed -n '/^gpu (/,/^[a-z]/p' "$WORK/probe.txt" 2>/dev/null | sed -n '2p' | sed 's/^ *//')
	METER_LABEL[gpu-agent]=$([ "$GPU_STANDIN" = 1 ] && echo "SIMULATED (stand-in NVML)" || echo "hardware: nvml")
	case $gl in
	nvml*IN\ USE*) ;;
	*) verdict gpu-agent SKIPPED "the agent uses no GPU: ${gl:-no gpu section in the probe}"; return ;;
	esac
	agent_alive || { verdict gpu-agent SKIPPED "the agent is not running"; return; }
	curl -sf "$AGENT_URL/metrics" > "$m1"; t1=$(date +%s%N)
	sleep "$(cap 4)" # the window the power is averaged over (not a synchronisation)
	curl -sf "$AGENT_URL/metrics" > "$m2"; t2=$(date +%s%N)
	local expect=""
	[ "$GPU_STANDIN" = 1 ] && [ -n "$GPU_CG" ] && expect="/${GPU_CG#"$CPU_ROOT"/}"
	out=$(python3 - "$m1" "$m2" "$t1" "$t2" "$WORK/gpu.md.watts" "$WORK/gpu-agent.md" "$expect" <<'PY' 2>&1
import re, sys
from decimal import Decimal
m1, m2, t1, t2, wfile, md, expect = sys.argv[1:8]
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)')
def load(p):
    node, work = Decimal(0), {}
    for l in open(p):
        m = LINE.match(l)
        if not m or 'zone="gpu"' not in m.group(2):
            continue
        v = Decimal(m.group(3))
        if m.group(1) == "wattlet_node_joules_total":
            node += v
        elif m.group(1) == "wattlet_workload_joules_total":
            w = re.search(r'workload="((?:[^"\\]|\\.)*)"', m.group(2))
            key = w.group(1) if w else "?"
            work[key] = work.get(key, Decimal(0)) + v
    return node, work
n1, w1 = load(m1); n2, w2 = load(m2)
dt = (int(t2) - int(t1)) / 1e9
agent_w = float(n2 - n1) / dt if dt > 0 else 0
try:
    nvml_w = float(open(wfile).read())
except Exception:
    nvml_w = None
cons = sum(w2.values()) == n2
top = sorted(((float(w2[k] - w1.get(k, 0)) / dt, k) for k in w2), reverse=True)[:5]
lines = ["Agent zone gpu over %.1f s: %.1f W (dynamic + idle)%s; conservation (sum of workload series == node): %s." % (
    dt, agent_w, ", NVML draw in step 8: %.1f W" % nvml_w if nvml_w is not None else "", "exact" if cons else "BROKEN"),
    "", "| workload | gpu W |", "|---|---|"] + ["| %s | %.1f |" % (k, w) for w, k in top]
open(md, "w").write("\n".join(lines) + "\n")
bad = []
if n2 <= 0:
    bad.append("no gpu energy in the agent's metrics")
if not cons:
    bad.append("zone gpu not conserved: node %s != workloads %s" % (n2, sum(w2.values())))
if nvml_w is not None and abs(agent_w - nvml_w) > max(0.25 * nvml_w, 5.0):
    bad.append("agent %.1f W vs NVML %.1f W" % (agent_w, nvml_w))
if expect:  # the stand-in: its scripted user gets the 150 W dynamic (configured 30 W idle)
    got = float(w2.get(expect, 0) - w1.get(expect, 0)) / dt
    if abs(got - 150.0) > 0.05 * 150.0:
        bad.append("the scripted GPU user %s got %.1f W, not 150 W" % (expect, got))
print(("FAIL " + "; ".join(bad)) if bad else "PASS agent zone gpu %.1f W vs NVML %.1f W; conservation exact; top: %s" % (
    agent_w, nvml_w or 0, ", ".join("%s %.1f W" % (k, w) for w, k in top[:3])))
PY
)
	case $out in
	PASS*|FAIL*) verdict gpu-agent "${out%% *}" "${out#* }" ;;
	*) verdict gpu-agent FAIL "could not read the agent's metrics: $(echo "$out" | tail -2 | tr '\n' ' ' | cut -c1-300)" ;;
	esac
}
begin gpu-agent
if [ "$(cap 10)" -lt 6 ]; then verdict gpu-agent SKIPPED "time budget spent"; else gpu_agent_check; fi

exit 0 # the EXIT trap cleans up and writes the report; its status is the script's
