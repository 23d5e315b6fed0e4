#!/usr/bin/env bash
# `make bench`: the agent's overhead, measured on this machine.
#   agent CPU per tick (ms and % of one core at a 1 s tick) and RSS with 10, 100 and
#   1000 cgroups, for each usage source; /metrics render time and size at 1000 workloads
#   (metrics_bench: default vs detail, gzip; metrics_scrape.sh: served via curl); 50 /ui
#   WebSocket clients vs none (ui_bench.sh); the chart's recording rules in a real
#   Prometheus at 1000 synthetic pods (rules_bench.sh).
# Targets (2-core machine, 1000 cgroups): CPU <= 1 % of one core, RSS <= 20 MiB,
# /metrics <= 10 ms. Needs root (cgroups, eBPF); the simulated meter stands in for RAPL.
# BENCH_ONLY=cgroup (or ebpf) runs just that usage source's rows, BENCH_COUNTS="1000" just
# those cgroup counts; either skips the metrics and sched_switch benches at the end.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
WATTLET=$BUILD/wattlet
MEASURE_S=${BENCH_SECONDS:-20}
source bench/lib.sh
bench_init bench
sim_pid=""; agent_pid=""; sleepers=()
cleanup() { bench_cleanup $agent_pid $sim_pid "${sleepers[@]}"; }
trap cleanup EXIT

start_raplsim; sim_pid=$SIM_PID

clk=$(getconf CLK_TCK)
proc_cpu_s() { awk -v c="$clk" '{print ($14 + $15) / c}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
ticks() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^wattlet_agent_ticks_total/{print $2}'; }

make_cgroups() { # make_cgroups N : N cgroups, each with one sleeping process
	mkdir -p "$base"
	local have; have=$(find "$base" -mindepth 1 -maxdepth 1 -type d | wc -l)
	for i in $(seq $((have + 1)) "$1"); do
		mkdir -p "$base/w$i"
		bash -c 'echo $$ > "$0/cgroup.procs"; exec sleep 3600' "$base/w$i" &
		sleepers+=($!)
	done
}

printf '\n%-8s %-7s %12s %12s %10s %14s %12s\n' source cgroups "ms CPU/tick" "% of 1 core" "RSS MiB" "/metrics ms" "/metrics KiB"
results=()
for n in ${BENCH_COUNTS:-10 100 1000}; do
	make_cgroups "$n"
	for src in ${BENCH_ONLY:-ebpf cgroup}; do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		"$WATTLET" run --listen "127.0.0.1:$port" --powercap-root "$TMP/powercap" --tick 1s \
			--usage-source "$src" --checkpoint "$TMP/ckpt" --set ledger.checkpoint_interval=10s \
			> "$TMP/agent.log" 2>&1 & agent_pid=$!
		for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
		if ! curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then
			printf '%-8s %-7s  agent did not start: %s\n' "$src" "$n" "$(tail -1 "$TMP/agent.log")"
			kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=""; continue
		fi
		# CPU over a wall-clock window with no scrape inside it (a /metrics render
		# at 1000 workloads costs ~1 ms and would be counted as tick work)
		t0=$(ticks); c0=$(proc_cpu_s "$agent_pid")
		sleep "$MEASURE_S"
		c1=$(proc_cpu_s "$agent_pid"); t1=$(ticks); rss=$(rss_kib "$agent_pid")
		# /metrics: 20 scrapes, mean time; scrapes happen after the CPU window
		mt=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done |
			awk '{s+=$1} END {printf "%.2f", s/NR*1000}')
		msz=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
		kill "$agent_pid"; wait "$agent_pid" 2>/dev/null; agent_pid=""
		read -r ms pct < <(awk -v a="$c0" -v b="$c1" -v t=$((t1 - t0)) 'BEGIN {m=(b-a)/t*1000; printf "%.3f %.3f", m, m/10}')
		printf '%-8s %-7s %12s %12s %10.1f %14s %12.1f\n' "$src" "$n" "$ms" "$pct" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$mt" "$(awk -v r="$msz" 'BEGIN{print r/1024}')"
		results+=("$src $n $pct $rss $mt")
	done
done
echo
echo "CPU is the agent process's utime+stime over ${MEASURE_S} ticks (1 s each), from /proc/PID/stat"
echo "(clock-tick resolution: 10 ms over ${MEASURE_S} s = $(awk -v s="$MEASURE_S" 'BEGIN{printf "%.2f", 1/s}') % of a core)."
for r in "${results[@]}"; do
	set -- $r
	[ "$2" = 1000 ] || continue
	awk -v s="$1" -v p="$3" -v r="$4" -v m="$5" 'BEGIN {
		printf "target check (%s, 1000 cgroups): CPU %.3f%% / 1%% = %.2fx, RSS %.1f MiB / 20 MiB = %.2fx, /metrics %.2f ms / 10 ms = %.2fx\n",
			s, p, p/1, r/1024, r/1024/20, m, m/10 }'
	[ "$1" = cgroup ] && awk -v p="$3" 'BEGIN {
		printf "target check (cgroup fallback, 1000 cgroups, issue 18 goal): CPU %.3f%% / 0.5%% = %.2fx\n", p, p/0.5 }'
done
[ -n "${BENCH_ONLY:-}${BENCH_COUNTS:-}" ] && exit 0
[ -x "$BUILD/bench/metrics_bench" ] && { echo; "$BUILD/bench/metrics_bench"; }
# the PodEnergy writer's own CPU per tick, with and without the cluster write budget
[ -x "$BUILD/bench/writer_bench" ] && { echo; "$BUILD/bench/writer_bench"; }
# /metrics default vs metrics.detail from real agents at 1000 container cgroups, via curl
# with and without gzip (target: default <= 1 MB, <= 5 ms, <= 5 series per container)
[ -f bench/metrics_scrape.sh ] && bash bench/metrics_scrape.sh "$BUILD"
[ -f bench/bpf_bench.sh ] && { echo; bash bench/bpf_bench.sh "$BUILD"; }
# /ui: 50 WebSocket clients for 60 s vs none (tick time, CPU, RSS and their ratios)
[ -f bench/ui_bench.sh ] && bash bench/ui_bench.sh "$BUILD"
# the chart's recording rules in a real Prometheus at 1000 synthetic pods (docs/dashboards.md)
[ -f bench/rules_bench.sh ] && { echo; bash bench/rules_bench.sh; }
exit 0
