#!/usr/bin/env bash
# /metrics as served by the agent: the default (lean) series for a container-shaped cgroup
# (at most 5 series, a short id, no long strings), metrics.detail on a second agent, gzip
# when asked for (inflated and compared with the plain body of the same rendering), and
# the rendering reused within a tick (two scrapes of one tick are byte-identical, the
# render counters say the second scrape rendered nothing). A bad metrics.detail value is
# refused naming the key.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "metrics"

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
base="wattlet-it-metrics-$$"
uid=0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0
cid=$(printf 'it-metrics-%s' "$$" | sha256sum | cut -c1-64)
ctr=$(cg_create "$base/kubepods/burstable/pod$uid/$cid")
cg_run "$ctr" stress-ng --cpu 1 --cpu-load 20 --timeout 120s --quiet

# tick 2 s: room for two scrapes within one tick
start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 2s --checkpoint "" \
	|| { fail "agent did not become ready: $(tail -5 "$TMP/agent.log")"; finish; exit; }
lean_url=$AGENT_URL
wait_for 20 bash -c "curl -sf $lean_url/metrics | grep -q 'workload=\"${cid:0:12}\"'" ||
	fail "the container cgroup never appeared on /metrics"
curl -sf "$lean_url/metrics" > "$TMP/lean.txt"

n=$(grep -c "workload=\"${cid:0:12}\"" "$TMP/lean.txt")
check "default: the container has <= 5 series (got $n), under its 12-digit id" [ "$n" -ge 2 ] && [ "$n" -le 5 ]
check "default: no container_id, pod_uid or mode labels on workloads, no watts gauges" \
	bash -c "! grep -E 'container_id=|pod_uid=|wattlet_(workload|pod)_watts|^wattlet_(workload|pod)_[a-z_]*\\{[^}]*,mode=' '$TMP/lean.txt'"
check "default: the container's series repeat neither its path nor its full id" \
	bash -c "! grep 'workload=\"${cid:0:12}\"' '$TMP/lean.txt' | grep -E 'kubepods|$cid|$uid'"
check "default: the plain cgroup keeps its path as workload" \
	grep -q "^wattlet_workload_cpu_seconds_total{workload=\"/$base\"}" "$TMP/lean.txt"
check "default: conservation per zone shown (workloads + system == node)" \
	python3 test/integration/promparse.py --conservation "$TMP/lean.txt"
check_promtool "default: promtool check metrics" "$TMP/lean.txt"

# two scrapes within one tick: the same rendering (the agent's own CPU seconds and the
# render counters are in it and would differ if it were rendered again)
same=0
for _ in $(seq 10); do
	t0=$(curl -sf "$lean_url/metrics" | tee "$TMP/s1.txt" | awk '/^wattlet_agent_ticks_total/{print $2}')
	curl -sf "$lean_url/metrics" > "$TMP/s2.txt"
	curl -sf -H 'Accept-Encoding: gzip' -D "$TMP/gz.hdr" "$lean_url/metrics" > "$TMP/s3.gz"
	t1=$(awk '/^wattlet_agent_ticks_total/{print $2}' "$TMP/s2.txt")
	t2=$(gunzip -c "$TMP/s3.gz" 2>/dev/null | awk '/^wattlet_agent_ticks_total/{print $2}')
	if [ "$t0" = "$t1" ] && [ "$t1" = "$t2" ]; then same=1; break; fi
done
if [ $same = 1 ]; then
	check "two scrapes of one tick are byte-identical (one rendering, copied)" cmp -s "$TMP/s1.txt" "$TMP/s2.txt"
	check "gzip response: Content-Encoding: gzip and Vary: Accept-Encoding" \
		bash -c "grep -qi '^content-encoding: gzip' '$TMP/gz.hdr' && grep -qi '^vary: accept-encoding' '$TMP/gz.hdr'"
	check "gzip body inflates to the plain body of the same tick" bash -c "gunzip -c '$TMP/s3.gz' | cmp -s - '$TMP/s1.txt'"
	gz=$(stat -c %s "$TMP/s3.gz"); raw=$(stat -c %s "$TMP/s1.txt")
	echo "# /metrics: $raw bytes, gzip $gz bytes"
	check "gzip is smaller than the text" [ "$gz" -lt "$raw" ]
else
	fail "no three scrapes within one 2 s tick in 10 tries (machine too loaded?)"
fi
check "no Content-Encoding without Accept-Encoding" bash -c "! curl -sf -D - -o /dev/null '$lean_url/metrics' | grep -qi '^content-encoding'"
check "curl --compressed reads it" bash -c "curl -sf --compressed '$lean_url/metrics' | grep -q '^wattlet_agent_ready 1'"
# 20 scrapes, then the first scrape of a later tick: renders (counted in that rendering,
# "before this one") grow by the ticks in between (+ 1), not by the scrapes
renders() { awk '/^wattlet_agent_metrics_renders_total/{s+=$2} /^wattlet_agent_ticks_total/{t=$2} END{print s+0, t+0}' "$1"; }
curl -sf "$lean_url/metrics" > "$TMP/r0.txt"; read -r r0 k0 < <(renders "$TMP/r0.txt")
for _ in $(seq 20); do curl -sf "$lean_url/metrics" -o /dev/null; done
wait_for 10 bash -c "[ \"\$(curl -sf $lean_url/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}')\" -gt $((k0 + 1)) ]"
curl -sf "$lean_url/metrics" > "$TMP/r1.txt"; read -r r1 k1 < <(renders "$TMP/r1.txt")
echo "# renders: $r0 at tick $k0, $r1 at tick $k1, 20+ scrapes in between"
check "22 scrapes over $((k1 - k0)) ticks cost $((r1 - r0)) renders (<= ticks + 1)" \
	[ $((r1 - r0)) -le $((k1 - k0 + 1)) ] && [ "$k1" -gt "$k0" ]

# metrics.detail on a second agent: today's full series
start_agent "$TMP/detail.log" --powercap-root "$TMP/powercap" --tick 2s --checkpoint "" \
	--set metrics.detail=true || { fail "detail agent did not become ready"; finish; exit; }
wait_for 20 bash -c "curl -sf $AGENT_URL/metrics | grep -q 'container_id=\"$cid\"'"
curl -sf "$AGENT_URL/metrics" > "$TMP/detail.txt"
nd=$(grep -c "container_id=\"$cid\"" "$TMP/detail.txt")
check "detail: the container has every zone x mode x (joules, watts) + CPU ($nd series)" [ "$nd" -ge 9 ]
check "detail: full labels and watts gauges" \
	grep -q "^wattlet_workload_watts{workload=\"/$base/kubepods/burstable/pod$uid/$cid\",kind=\"container\",container_id=\"$cid\",.*,mode=\"dynamic\"}" "$TMP/detail.txt"
check "detail: conservation per zone and mode" python3 test/integration/promparse.py --conservation "$TMP/detail.txt"

# a bad value names the key
out=$("$WATTLET" run --listen "" --set metrics.detail=maybe 2>&1); rc=$?
check "metrics.detail=maybe refused naming the key (rc $rc)" bash -c "[ $rc -ne 0 ] && grep -q 'metrics.detail' <<< '$out'"
finish
