#!/usr/bin/env bash
# `make run`: runs the agent on this host in the foreground (Ctrl-C stops it).
# Where the host has no RAPL (VMs, these CI machines) it starts the SIMULATED RAPL meter
# (build/raplsim) and points the agent's ordinary powercap reader at it, and says so.
# Extra agent flags: make run ARGS="--log-level debug --listen 127.0.0.1:9102"
set -euo pipefail
BUILD=${1:-build}; shift || true
RUNDIR=${WATTLET_RUNDIR:-$BUILD/run}
mkdir -p "$RUNDIR"

args=(run --checkpoint "$RUNDIR/ledger.ckpt")
sim_pid=""
cleanup() {
	if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
}
trap cleanup EXIT
# Ctrl-C: on a terminal the agent runs as its own job (set -m below), the terminal's
# foreground process group, so only the agent sees SIGINT; it shuts down cleanly and exits
# 0, and so do this script and make (GNU make re-raises a SIGINT it receives itself and
# ends with "Interrupt"). Without a terminal a SIGINT to the whole group still ends here.
trap ':' INT TERM # the agent decides how the run ends; its exit status is this script's

if [ "$(id -u)" -ne 0 ]; then
	echo "make run: note: not root - RAPL energy_uj is root-only and eBPF needs root;" \
	     "the agent will say what it cannot use" >&2
fi

if ls /sys/class/powercap/intel-rapl:*/energy_uj >/dev/null 2>&1 && \
   cat /sys/class/powercap/intel-rapl:0/energy_uj >/dev/null 2>&1; then
	echo "make run: this host has RAPL: using the real meter (/sys/class/powercap)"
else
	simdir="$RUNDIR/powercap"
	mkdir -p "$simdir"
	echo "================================================================================"
	echo "make run: this host has NO RAPL (/sys/class/powercap/intel-rapl:* missing)."
	echo "          Using the SIMULATED RAPL meter build/raplsim in $simdir:"
	echo "          its counters advance by a known power curve of this machine's real CPU"
	echo "          activity. Energy numbers below are SIMULATED, not measured."
	echo "================================================================================"
	"$BUILD/raplsim" --dir "$simdir" --psys &
	sim_pid=$!
	# wait until the simulator has written its first counters (poll, bounded)
	for _ in $(seq 1 100); do
		[ -f "$simdir/intel-rapl:0/energy_uj" ] && break
		kill -0 "$sim_pid" 2>/dev/null || { echo "make run: raplsim failed to start" >&2; exit 1; }
		sleep 0.05
	done
	args+=(--powercap-root "$simdir")
fi

echo "make run: $BUILD/wattlet ${args[*]} $*"
echo "make run: try: curl -s localhost:9102/metrics | grep wattlet_node   or   $BUILD/wattlet top"
rc=0
if [ -t 0 ] && [ -t 2 ]; then set -m; fi
"$BUILD/wattlet" "${args[@]}" "$@" || rc=$?
set +m
if [ "$rc" -eq 0 ]; then
	echo "make run: agent stopped cleanly"
fi
exit "$rc"
