#!/usr/bin/env bash
# metrics_scrape.sh BUILD : /metrics of real agents at 1,000 container workloads, default
# (lean) and metrics.detail side by side (two agents, one simulated meter).
#   - bytes per scrape raw and gzip, serve time via curl without and with gzip (mean of
#     20 scrapes each), series per container; target ratios (issues 11, 18):
#     default <= 1 MB and <= 5 ms to serve, <= 5 series per container;
#   - PROM_SECONDS > 0 (docs/metrics.md uses 600): one real Prometheus per agent (the
#     Debian `prometheus` binary, own port and data directory under /tmp), scraping
#     every PROM_INTERVAL (default 15s) for PROM_SECONDS, and a third one scraping
#     nothing (the baseline): TSDB head series and series created (the whole host's
#     cgroups: other cgroups that come and go add series), samples per scrape, container
#     series / containers seen, Prometheus RSS (at the end and peak), each agent's CPU
#     over the window, and Prometheus' mean scrape duration (parse and append included).
# Workloads are cgroups shaped like a kubelet's (cgroupfs driver, under this script's
# own directory: <dir>/kubepods/burstable/pod<uid>/<64-hex id>), 4 containers per pod,
# each with one sleeping process, so the agent identifies them as containers. There is
# no API server here, so they carry no namespace/pod/container names: metrics_bench
# (synthetic ledger with names) gives the byte counts with names.
# Needs root (cgroups, eBPF); the simulated meter stands in for RAPL.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
WATTLET=$BUILD/wattlet
N=${SCRAPE_WORKLOADS:-1000}
PROM_SECONDS=${PROM_SECONDS:-0}
PROM_INTERVAL=${PROM_INTERVAL:-15s}
source bench/lib.sh
bench_init scrape
pids=(); sleepers=()
cleanup() { bench_cleanup "${pids[@]}" "${sleepers[@]}"; }
trap cleanup EXIT
trap 'exit 143' TERM INT

start_raplsim; pids+=($SIM_PID)

# N containers in N/4 pods, each container with one sleeping process
mkdir -p "$base/kubepods/burstable"
for i in $(seq 0 $((N - 1))); do
	pod=$(printf 'pod%08x-1111-4222-8333-%012x' $((i / 4)) $((i / 4)))
	cid=$(printf '%s' "$i" | sha256sum | cut -c1-64)
	d="$base/kubepods/burstable/$pod/$cid"
	mkdir -p "$d"
	bash -c 'echo $$ > "$0/cgroup.procs"; exec sleep 7200' "$d" & sleepers+=($!)
done

declare -A port
for mode in default detail; do
	port[$mode]=$(free_port)
	set=(--set log.level=warn)
	[ "$mode" = detail ] && set+=(--set metrics.detail=true)
	"$WATTLET" run --listen "127.0.0.1:${port[$mode]}" --powercap-root "$TMP/powercap" \
		--tick 1s --checkpoint "" "${set[@]}" > "$TMP/agent-$mode.log" 2>&1 & pids+=($!)
	eval "agent_$mode=$!"
done
url() { echo "http://127.0.0.1:${port[$1]}/metrics"; }
for mode in default detail; do
	for _ in $(seq 300); do curl -sf "$(url $mode)" -o /dev/null && break; sleep 0.1; done
	curl -sf "$(url $mode)" -o /dev/null || { echo "agent ($mode) did not start: $(tail -2 "$TMP/agent-$mode.log")"; exit 1; }
done
# every cgroup seen (the eBPF source sees a cgroup once it ran; the sleepers ran once)
for _ in $(seq 100); do
	w=$(curl -sf "$(url default)" | awk '/^wattlet_agent_workloads /{print $2}')
	[ "${w:-0}" -ge "$N" ] && break; sleep 0.2
done

printf '\n/metrics at %s container workloads (+ %s other cgroups on this host), via curl, mean of 20:\n' "$N" "$(( ${w:-0} - N ))"
printf '%-9s %10s %10s %12s %12s %10s %16s\n' "" "raw KiB" "gzip KiB" "serve ms" "gzip ms" "series" "series/container"
declare -A raw_b gz_b
for mode in default detail; do
	u=$(url $mode)
	curl -s "$u" > "$TMP/m-$mode.txt"
	raw_b[$mode]=$(wc -c < "$TMP/m-$mode.txt")
	gz_b[$mode]=$(curl -s -H 'Accept-Encoding: gzip' "$u" | wc -c)
	ms=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "$u"; done | awk '{s+=$1} END {printf "%.2f", s/NR*1000}')
	gms=$(for _ in $(seq 20); do curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{time_total}\n' "$u"; done | awk '{s+=$1} END {printf "%.2f", s/NR*1000}')
	series=$(grep -vc '^#' "$TMP/m-$mode.txt")
	# the series of one container: its id, short (default) or in the container_id label
	cid=$(printf '%s' 7 | sha256sum | cut -c1-64)
	if [ "$mode" = default ]; then per=$(grep -c "workload=\"${cid:0:12}\"" "$TMP/m-$mode.txt")
	else per=$(grep -c "container_id=\"$cid\"" "$TMP/m-$mode.txt"); fi
	printf '%-9s %10.1f %10.1f %12s %12s %10s %16s\n' "$mode" "$(awk -v b="${raw_b[$mode]}" 'BEGIN{print b/1024}')" \
		"$(awk -v b="${gz_b[$mode]}" 'BEGIN{print b/1024}')" "$ms" "$gms" "$series" "$per"
	eval "ms_$mode=$ms; gms_$mode=$gms; per_$mode=$per"
done
awk -v b="${raw_b[default]}" -v m="$ms_default" -v g="$gms_default" -v p="$per_default" 'BEGIN {
	printf "target check (default, %s workloads): /metrics %.3f MB / 1 MB = %.2fx, served %.2f ms / 5 ms = %.2fx (gzip %.2f ms = %.2fx), %d series per container / 5 = %.2fx\n",
		'"$N"', b/1e6, b/1e6, m, m/5, g, g/5, p, p/5 }'

[ "$PROM_SECONDS" -gt 0 ] 2>/dev/null || exit 0
command -v prometheus >/dev/null || { echo "prometheus not installed: no TSDB measurement"; exit 0; }
clk=$(getconf CLK_TCK)
cpu_s() { awk -v c="$clk" '{print ($14 + $15) / c}' "/proc/$1/stat"; }
declare -A pport ppid c0
port[none]=0
for mode in default detail none; do # none: a Prometheus scraping nothing, the baseline
	pport[$mode]=$(free_port)
	mkdir -p "$TMP/prom-$mode"
	if [ "$mode" = none ]; then
		printf 'global: {scrape_interval: %s}\n' "$PROM_INTERVAL" > "$TMP/prom-$mode/prom.yml"
	else
		printf 'global: {scrape_interval: %s}\nscrape_configs:\n  - job_name: wattlet\n    static_configs: [{targets: ["127.0.0.1:%s"]}]\n' \
			"$PROM_INTERVAL" "${port[$mode]}" > "$TMP/prom-$mode/prom.yml"
	fi
	prometheus --config.file="$TMP/prom-$mode/prom.yml" --storage.tsdb.path="$TMP/prom-$mode/tsdb" \
		--web.listen-address="127.0.0.1:${pport[$mode]}" > "$TMP/prom-$mode/log" 2>&1 & pids+=($!)
	ppid[$mode]=$!
	[ "$mode" = none ] || eval "c0[$mode]=\$(cpu_s \$agent_$mode)"
done
echo
echo "Prometheus $(prometheus --version 2>&1 | awk 'NR==1{print $3}'), scrape_interval $PROM_INTERVAL, ${PROM_SECONDS} s:"
sleep "$PROM_SECONDS" # the measurement window itself, not a synchronisation
q() { curl -s "http://127.0.0.1:${pport[$1]}/api/v1/query" --data-urlencode "query=$2" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'; }
printf '%-9s %12s %10s %14s %14s %12s %12s %10s %12s\n' "" "head series" "created" "samples/scrape" "contr. series" "Prom RSS MiB" "peak MiB" "agent CPU%" "scrape ms"
for mode in default detail none; do
	[ -d "/proc/${ppid[$mode]}" ] || { echo "$mode: Prometheus exited: $(tail -3 "$TMP/prom-$mode/log")"; continue; }
	pm=$(curl -s "http://127.0.0.1:${pport[$mode]}/metrics")
	head=$(awk '/^prometheus_tsdb_head_series /{print $2}' <<< "$pm")
	created=$(awk '/^prometheus_tsdb_head_series_created_total /{print $2}' <<< "$pm")
	rss=$(awk '/^VmRSS/{print $2/1024}' "/proc/${ppid[$mode]}/status")
	hwm=$(awk '/^VmHWM/{print $2/1024}' "/proc/${ppid[$mode]}/status")
	if [ "$mode" = none ]; then
		printf '%-9s %12s %10s %14s %14s %12.1f %12.1f %10s %12s\n' "$mode" "$head" "$created" - - "$rss" "$hwm" - -
		continue
	fi
	samples=$(q "$mode" 'scrape_samples_scraped')
	# container series in the head: the 12-digit (default) or container_id (detail) ones
	if [ "$mode" = default ]; then sel='{workload=~"[0-9a-f]{12}|[0-9a-f]{64}"}'; by=workload
	else sel='{kind="container"}'; by=container_id; fi
	cser=$(q "$mode" "count(last_over_time(${sel}[1h]))")
	ctrs=$(q "$mode" "count(count by ($by) (last_over_time(${sel}[1h])))")
	sdur=$(q "$mode" 'avg_over_time(scrape_duration_seconds[1h])')
	eval "c1=\$(cpu_s \$agent_$mode)"
	cpu=$(awk -v a="${c0[$mode]}" -v b="$c1" -v s="$PROM_SECONDS" 'BEGIN{printf "%.3f", (b-a)/s*100}')
	printf '%-9s %12s %10s %14s %14s %12.1f %12.1f %10s %12.1f\n' "$mode" "$head" "$created" "$samples" \
		"$cser/$ctrs" "$rss" "$hwm" "$cpu" "$(awk -v d="$sdur" 'BEGIN{print d*1000}')"
done
exit 0
