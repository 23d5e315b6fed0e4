#!/usr/bin/env bash
# rules_bench.sh : the cost of the chart's recording rules (helm/wattlet/rules) in a real
# Prometheus (the Debian `prometheus` binary), at RULES_PODS pods (default 1,000) in
# RULES_NAMESPACES namespaces (50), 4 pods per owner, 2 zones (package, dram), one
# container per pod, on RULES_NODES targets (10). The targets are a small Python server
# that serves agent-shaped lean series (wattlet_pod_joules_total with owner labels,
# wattlet_workload_cpu_seconds_total, wattlet_node_joules_total) whose counters grow with
# time; they are SYNTHETIC series, not an agent. Prometheus scrapes and evaluates every
# 5 s for RULES_SECONDS (60); the script prints the rule group's evaluation time (last
# and mean), the series the rules write, and Prometheus' head series. docs/dashboards.md.
set -u
cd "$(dirname "$0")/.."
PODS=${RULES_PODS:-1000}
NS=${RULES_NAMESPACES:-50}
NODES=${RULES_NODES:-10}
SECS=${RULES_SECONDS:-60}
command -v prometheus >/dev/null || { echo "rules_bench: prometheus not installed (Debian package prometheus)"; exit 1; }
TMP=$(mktemp -d /tmp/wattlet-rules.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat > "$TMP/targets.py" <<'PY'
import http.server, socketserver, sys, threading, time
pods, nss, nodes, ports = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
t0 = time.time()
def body(node):
    t = time.time() - t0
    out = []
    for i in range(node, pods, nodes):
        ns, owner = f"ns-{(i // 4) % nss}", f"deploy-{i // 4}"
        lab = f'uid="{i:08x}",namespace="{ns}",pod="{owner}-{i}",owner_kind="Deployment",owner_name="{owner}"'
        w = 1 + i % 7
        out.append(f'wattlet_pod_joules_total{{{lab},zone="package"}} {w * t:.6f}')
        out.append(f'wattlet_pod_joules_total{{{lab},zone="dram"}} {w * t / 10:.6f}')
        out.append(f'wattlet_workload_cpu_seconds_total{{workload="{i:012x}",namespace="{ns}",pod="{owner}-{i}",container="main",owner_kind="Deployment",owner_name="{owner}"}} {t / 10:.6f}')
    for z in ("package", "dram"):
        for m in ("idle", "dynamic"):
            out.append(f'wattlet_node_joules_total{{zone="{z}",mode="{m}"}} {50 * t:.6f}')
    return ("\n".join(out) + "\n").encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = body(self.server.node)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
for n, p in enumerate(ports):
    s = socketserver.ThreadingTCPServer(("127.0.0.1", int(p)), H)
    s.node = n
    threading.Thread(target=s.serve_forever, daemon=True).start()
while True:
    time.sleep(3600)
PY
tports=()
for _ in $(seq "$NODES"); do tports+=("$(port)"); done
python3 "$TMP/targets.py" "$PODS" "$NS" "$NODES" "${tports[@]}" &
pids+=($!)
{
	echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
	echo "rule_files: [$PWD/helm/wattlet/rules/wattlet.rules.yaml]"
	echo "scrape_configs:"
	echo "  - job_name: wattlet"
	echo "    static_configs:"
	for n in $(seq 0 $((NODES - 1))); do
		echo "      - {targets: ['127.0.0.1:${tports[$n]}'], labels: {node: node-$n}}"
	done
} > "$TMP/prom.yml"
pport=$(port)
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pport" > "$TMP/prom.log" 2>&1 &
pids+=($!)
echo "rules_bench: $PODS pods, $NS namespaces, $((PODS / 4)) owners, $NODES nodes, 2 zones; $SECS s at 5 s (synthetic series)"
sleep "$SECS"
m=$(curl -s "http://127.0.0.1:$pport/metrics")
q() { curl -s "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
last=$(grep '^prometheus_rule_group_last_duration_seconds{' <<<"$m" | awk '{print $2}')
sum=$(grep '^prometheus_rule_evaluation_duration_seconds_sum' <<<"$m" | awk '{print $2}')
cnt=$(grep '^prometheus_rule_evaluation_duration_seconds_count' <<<"$m" | awk '{print $2}')
groups=$(grep '^prometheus_rule_group_iterations_total{' <<<"$m" | awk '{print $2}')
echo "rule group evaluation: last $(python3 -c "print(f'{float(\"${last:-0}\")*1e3:.1f}')") ms; rules evaluated $cnt times, mean $(python3 -c "print(f'{float(\"${sum:-0}\")/max(1,float(\"${cnt:-1}\"))*1e3:.2f}')") ms per rule; $groups group runs"
echo "series written by the rules: $(q 'count({__name__=~".+:wattlet_.+:.+"})')"
echo "input series (scraped): $(q 'count({__name__=~"wattlet_.+"})')"
echo "Prometheus head series: $(grep '^prometheus_tsdb_head_series ' <<<"$m" | awk '{print $2}')"
