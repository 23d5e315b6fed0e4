# lib.sh - shared helpers for the integration tests (sourced, bash).
# Every test runs real processes: the simulated RAPL meter, the agent, real cgroups,
# stress-ng, Prometheus. Waits poll a condition with a deadline; nothing sleeps
# in place of synchronisation.

BUILD=${BUILD:-build}
WATTLET=${WATTLET:-$BUILD/wattlet}
RAPLSIM=${RAPLSIM:-$BUILD/raplsim}
T_PASS=0; T_FAIL=0; T_SKIP=0
TMP=$(mktemp -d /tmp/wattlet-it.XXXXXX)
PIDS=()
CGROUPS=()

ok()   { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
skip() { T_SKIP=$((T_SKIP + 1)); echo "skip - $*"; }
check() { # check "description" command...
	local d=$1; shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

check_promtool() { # check_promtool "description" FILE: `promtool check metrics` on FILE
	if command -v promtool >/dev/null; then
		check "$1" bash -c 'promtool check metrics < "$1"' _ "$2"
	else
		skip "promtool not installed"
	fi
}

cleanup_all() {
	local p c
	[ "${LIB_CLEANED:-0}" = 1 ] && return 0  # once: finish() and the EXIT trap both call it
	LIB_CLEANED=1
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# cg_create usually runs in $(...), a subshell: its record is the file, not CGROUPS
	[ -f "$TMP/.cgroups" ] && mapfile -t -O "${#CGROUPS[@]}" CGROUPS < "$TMP/.cgroups"
	for c in "${CGROUPS[@]}"; do cg_remove "$c"; done
	rm -rf "$TMP"
}

# A test killed by run.sh's timeout, or one that exits early, still removes its
# processes, cgroups and temporary directory.
trap cleanup_all EXIT
trap 'exit 143' TERM INT

finish() {
	cleanup_all
	echo "$(basename "$0"): $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	echo "$T_PASS $T_FAIL $T_SKIP" > "${IT_COUNTS:-/dev/null}"
	[ "$T_FAIL" -eq 0 ]
}

# wait_for TIMEOUT_S command... : polls every 0.1 s until the command succeeds.
wait_for() {
	local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || { skip "$1: needs root (cgroups, RAPL, eBPF)"; finish; exit $?; }
}

# The hierarchy the agent reads CPU time from (as `wattlet probe` reports it).
cpu_root() {
	"$WATTLET" probe --listen "" 2>/dev/null | sed -n 's/^  cpu time: \([^ ]*\) .*/\1/p'
}

# cg_create REL : creates REL under the CPU hierarchy (and unified, so eBPF in v2
# mode sees it too); prints the absolute path of the CPU-hierarchy cgroup.
cg_create() {
	local root; root=$(cpu_root)
	local top="$root/${1%%/*}" made=0
	[ -e "$top" ] || made=1
	mkdir -p "$root/$1" || return 1
	if [ $made = 1 ]; then # the top directory we made: removed with all below it
		CGROUPS+=("$top")
		echo "$top" >> "$TMP/.cgroups"
	else                   # an existing top (e.g. system.slice) is never emptied
		CGROUPS+=("$root/$1")
		echo "$root/$1" >> "$TMP/.cgroups"
	fi
	echo "$root/$1"
}

cg_remove() {
	local d=$1 p
	[ -d "$d" ] || return 0
	for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	wait_for 5 bash -c "[ -z \"\$(find '$d' -name cgroup.procs -exec cat {} + 2>/dev/null)\" ]"
	find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
}

# cg_run CGDIR command... : runs command in the background inside the cgroup.
cg_run() {
	local cg=$1; shift
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" &
	PIDS+=($!)
}

cg_cpu_ns() { # hierarchical CPU ns of a cgroup (v1 cpuacct or v2 cpu.stat)
	if [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"
	else echo $(( $(sed -n 's/^usage_usec //p' "$1/cpu.stat") * 1000 )); fi
}

start_sim() { # start_sim DIR [raplsim flags...]
	local dir=$1; shift
	mkdir -p "$dir"
	"$RAPLSIM" --dir "$dir" "$@" > "$TMP/raplsim.log" 2>&1 &
	SIM_PID=$!
	PIDS+=($SIM_PID)
	wait_for 10 test -s "$dir/intel-rapl:0/energy_uj"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_agent() { # start_agent LOGFILE [flags...]; sets AGENT_PID, AGENT_URL
	local log=$1; shift
	local port; port=$(free_port)
	AGENT_URL="http://127.0.0.1:$port"
	"$WATTLET" run --listen "127.0.0.1:$port" "$@" > "$log" 2>&1 &
	AGENT_PID=$!
	PIDS+=($AGENT_PID)
	wait_for 20 curl -sf "$AGENT_URL/readyz"
}

# metric NAME_AND_LABEL_REGEX : value of the first matching series from /metrics
metric() {
	curl -sf "$AGENT_URL/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'
}

# ticks : the agent's tick count so far
ticks() { metric 'wattlet_agent_ticks_total'; }

# wait_ticks N [TIMEOUT_S] : waits (at most TIMEOUT_S, 20 by default) until the agent has
# ticked N more times.
wait_ticks() {
	local t0; t0=$(ticks)
	wait_for "${2:-20}" bash -c "[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}') -ge $(( ${t0:-0} + $1 )) ]"
}

# next_tick : waits (at most 5 s) until the agent's tick count changes.
next_tick() {
	local t0; t0=$(ticks)
	wait_for 5 bash -c "[ \"\$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}')\" != '$t0' ]"
}

# sample_tick OUTFILE [CGROUP...] : right after the agent's next tick (so its totals and the
# cgroups' counters line up), /metrics to OUTFILE, each cgroup's "name cpu_ns" to
# OUTFILE.cpu (when cgroups are given) and the time in ns to OUTFILE.t.
sample_tick() {
	local out=$1; shift
	next_tick
	curl -sf "$AGENT_URL/metrics" > "$out"
	if [ $# -gt 0 ]; then
		for c in "$@"; do echo "$(basename "$c") $(cg_cpu_ns "$c")"; done > "$out.cpu"
	fi
	date +%s%N > "$out.t"
}
