#!/usr/bin/env bash
# bench/ui_bench.sh BUILD - the cost of /ui WebSocket clients (part of `make bench`):
# two agents side by side (simulated meter, 1 s tick, 100 cgroups), measured for
# UI_BENCH_SECONDS (default 60) with no client, then as long with 50 clients
# (test/integration/ws_load.py, reading every frame) on agent A while B stays without.
# Prints mean tick time (wattlet_agent_tick_duration_seconds), agent CPU per tick
# (utime+stime), RSS and workloads of each agent and phase, and A's ratios relative to
# B's (what else happens on a shared machine meanwhile changes both); target (issue 16):
# tick time and RSS within 10 % of no clients.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
WATTLET=$BUILD/wattlet
SECS=${UI_BENCH_SECONDS:-60}
N=${UI_BENCH_CLIENTS:-50}
source bench/lib.sh
bench_init uibench
sim_pid=""; agent_pid=""; ctrl_pid=""; load_pid=""; sleepers=()
cleanup() { bench_cleanup $load_pid $agent_pid $ctrl_pid $sim_pid "${sleepers[@]}"; }
trap cleanup EXIT

start_raplsim; sim_pid=$SIM_PID
mkdir -p "$base"
for i in $(seq 100); do
	mkdir -p "$base/w$i"
	bash -c 'echo $$ > "$0/cgroup.procs"; exec sleep 3600' "$base/w$i" &
	sleepers+=($!)
done
# two agents side by side: A gets the clients in the second phase, B (the control) never;
# both see the same cgroups, so what this shared machine does meanwhile (cgroups of other
# jobs, CPU contention) shows in both and cancels in A/B
start() { # start PORTVAR PIDVAR LOG
	local p; p=$(free_port)
	"$WATTLET" run --listen "127.0.0.1:$p" --powercap-root "$TMP/powercap" --tick 1s \
		--checkpoint "" --set http.ui_max_clients="$N" --set http.max_connections=$((N + 16)) \
		> "$3" 2>&1 &
	eval "$1=$p; $2=$!"
	for _ in $(seq 200); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && return 0; sleep 0.1; done
	echo "ui bench: agent did not start: $(tail -2 "$3")"; exit 1
}
start port agent_pid "$TMP/agent.log"
start cport ctrl_pid "$TMP/control.log"

clk=$(getconf CLK_TCK)
cpu_s() { awk -v c="$clk" '{print ($14 + $15) / c}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
# "ticks tick_seconds_sum workloads" from /metrics of the agent on port $1
tickstat() {
	curl -sf "http://127.0.0.1:$1/metrics" | awk '/^wattlet_agent_tick_duration_seconds_sum/{s=$2}
		/^wattlet_agent_tick_duration_seconds_count/{n=$2} /^wattlet_agent_workloads /{w=$2}
		END {print n, s, w}'
}
# phase: measures both agents over SECS seconds; prints for A then B
# "ms_tick ms_cpu_tick rss_kib workloads"
phase() {
	local a0 as0 b0 bs0 ca0 cb0 a1 as1 b1 bs1 ca1 cb1 wa wb
	read -r a0 as0 _ < <(tickstat "$port"); ca0=$(cpu_s "$agent_pid")
	read -r b0 bs0 _ < <(tickstat "$cport"); cb0=$(cpu_s "$ctrl_pid")
	sleep "$SECS"
	read -r a1 as1 wa < <(tickstat "$port"); ca1=$(cpu_s "$agent_pid")
	read -r b1 bs1 wb < <(tickstat "$cport"); cb1=$(cpu_s "$ctrl_pid")
	awk -v n=$((a1 - a0)) -v a="$as0" -v b="$as1" -v x="$ca0" -v y="$ca1" -v r="$(rss_kib "$agent_pid")" \
		-v m=$((b1 - b0)) -v c="$bs0" -v d="$bs1" -v u="$cb0" -v v="$cb1" -v q="$(rss_kib "$ctrl_pid")" \
		-v wa="$wa" -v wb="$wb" \
		'BEGIN {printf "%.3f %.3f %d %d %.3f %.3f %d %d\n", (b-a)/n*1000, (y-x)/n*1000, r, wa,
			(d-c)/m*1000, (v-u)/m*1000, q, wb}'
}

sleep 5 # the first ticks allocate the ledgers; not part of either phase
read -r t0 c0 r0 w0 bt0 bc0 br0 bw0 < <(phase)
python3 test/integration/ws_load.py 127.0.0.1 "$port" "$N" $((SECS + 15)) "$TMP/ready" \
	> "$TMP/load.json" 2>&1 & load_pid=$!
for _ in $(seq 600); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
sleep 5 # clients in and their first frames sent
read -r t1 c1 r1 w1 bt1 bc1 br1 bw1 < <(phase)
wait "$load_pid"; load_pid=""

echo
echo "/ui WebSocket clients: agent A (clients in phase 2) and control B (never), 100 cgroups of"
echo "ours plus whatever else runs here, 1 s tick, ${SECS} s per phase"
printf '%-26s %14s %16s %10s %10s\n' "phase / agent" "ms tick (wall)" "ms CPU per tick" "RSS KiB" workloads
printf '%-26s %14s %16s %10s %10s\n' "1 no clients / A" "$t0" "$c0" "$r0" "$w0"
printf '%-26s %14s %16s %10s %10s\n' "1 no clients / B" "$bt0" "$bc0" "$br0" "$bw0"
printf '%-26s %14s %16s %10s %10s\n' "2 $N clients on A / A" "$t1" "$c1" "$r1" "$w1"
printf '%-26s %14s %16s %10s %10s\n' "2 $N clients on A / B" "$bt1" "$bc1" "$br1" "$bw1"
echo "clients: $(cat "$TMP/load.json")"
echo "CPU from /proc/PID/stat in 10 ms clock ticks: over ${SECS} ticks a resolution of $(awk -v s="$SECS" 'BEGIN{printf "%.2f", 10/s}') ms per tick."
# the clients' effect: A's change from phase 1 to 2 relative to B's over the same time
awk -v t0="$t0" -v t1="$t1" -v bt0="$bt0" -v bt1="$bt1" -v r0="$r0" -v r1="$r1" -v br0="$br0" \
	-v br1="$br1" -v c0="$c0" -v c1="$c1" -v bc0="$bc0" -v bc1="$bc1" -v n="$N" 'BEGIN {
	printf "target check (/ui, %s clients, relative to the control): tick time %.2fx of no clients (target <= 1.10), RSS %.3fx (target <= 1.10); agent CPU per tick %.2fx (the clients cost the HTTP loop, not the tick)\n",
		n, (t1/t0)/(bt1/bt0), (r1/r0)/(br1/br0), (c1/c0)/(bc1/bc0)
	printf "  without the control: tick %.2fx, RSS %.3fx, CPU %.2fx\n", t1/t0, r1/r0, c1/c0 }'
