#!/usr/bin/env bash
# The HTTP server under abuse, against the real agent: 1000 idle connections under a
# 256-descriptor limit must not stop the ticks or /healthz; WebSocket upgrades are
# refused; a cgroup whose name is not valid UTF-8 leaves /metrics parseable and
# /api/v1/workloads valid JSON, as a distinct series from a cgroup spelled like its
# escaped form.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh

HOLD=1000
HOLD_S=25

# holder PORT N SECONDS READYFILE : opens N loopback connections, sends nothing, writes
# "open K" to READYFILE once they are made, keeps them until SECONDS pass (or stdin
# closes), then prints how many the server had already closed.
cat > "$TMP/holder.py" <<'EOF'
import os, resource, select, socket, sys, time
port, n, secs, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
socks, failed = [], 0
end = time.monotonic() + secs
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    except OSError:
        failed += 1
        s.close()
with open(ready + ".tmp", "w") as f:
    f.write(f"open {len(socks)} failed {failed}\n")
os.rename(ready + ".tmp", ready)
closed = set()
while time.monotonic() < end:
    r, _, _ = select.select([sys.stdin] + [s for s in socks if s not in closed], [], [], 0.2)
    if sys.stdin in r and not sys.stdin.read(1):
        break
    for s in r:
        if s is sys.stdin:
            continue
        try:
            if not s.recv(4096):
                closed.add(s)
        except OSError:
            closed.add(s)
print(f"held {len(socks)} closed_by_server {len(closed)}")
EOF

cat > "$TMP/upgrade.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
data = b""
while True:
    try:
        b = s.recv(4096)
    except OSError:
        break
    if not b:
        break
    data += b
print(data.split(b"\r\n")[0].decode(errors="replace"))
EOF

ticks() { curl -sf --max-time 5 "$AGENT_URL/metrics" | awk '/^wattlet_agent_ticks_total /{print $2}'; }

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
port=$(free_port)
AGENT_URL="http://127.0.0.1:$port"
bash -c 'ulimit -n 256 && exec "$@"' _ "$WATTLET" run --listen "127.0.0.1:$port" \
	--powercap-root "$TMP/powercap" --tick 200ms --checkpoint "" > "$TMP/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_for 20 curl -sf "$AGENT_URL/readyz" || { fail "agent not ready: $(tail "$TMP/agent.log")"; finish; exit; }
check "agent runs with a 256-descriptor limit" grep -q 'Max open files *256 ' "/proc/$AGENT_PID/limits"
grep 'http: serving' "$TMP/agent.log"

# 1. WebSocket upgrade: refused, never 101
line=$(timeout 10 python3 "$TMP/upgrade.py" "$port")
echo "upgrade answer: $line"
check "WebSocket upgrade refused with 403 (got '$line')" grep -q '^HTTP/1\.[01] 403' <<<"$line"

# 2. 1000 idle connections held for HOLD_S seconds
t0=$(ticks); e0=$(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_agent_meter_errors_total /{print $2}')
python3 "$TMP/holder.py" "$port" "$HOLD" "$HOLD_S" "$TMP/held" < <(sleep $((HOLD_S + 5))) \
	> "$TMP/holder.out" 2>&1 &
holder=$!
PIDS+=($holder)
wait_for 30 test -s "$TMP/held" || fail "holder did not open its connections: $(cat "$TMP/holder.out")"
echo "holder: $(cat "$TMP/held")"
check "holder opened $HOLD connections" grep -q "^open $HOLD " "$TMP/held"
worst=0; codes=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	r=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}' "$AGENT_URL/healthz")
	codes="$codes ${r% *}"
	echo "healthz under load: $r"
	worst=$(python3 -c "print(max($worst, ${r#* }))")
done
check "healthz answers 200 while $HOLD connections are held (got$codes)" \
	bash -c "[ \"$codes\" = \"$(printf ' 200%.0s' 1 2 3 4 5 6 7 8 9 10)\" ]"
check "healthz under load within 1 s (worst ${worst}s)" python3 -c "import sys; sys.exit($worst >= 1)"
check "agent keeps ticking while connections are held" wait_for 10 bash -c \
	"[ \$(curl -sf --max-time 5 $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total /{print \$2}') -gt $((t0 + 10)) ]"
socks=$(ls -l "/proc/$AGENT_PID/fd" 2>/dev/null | grep -c 'socket:')
fds=$(ls "/proc/$AGENT_PID/fd" 2>/dev/null | wc -l)
echo "agent descriptors while held: $fds open, $socks sockets"
check "agent holds at most a quarter of its 256 descriptors in sockets ($socks)" [ "$socks" -le 64 ]
kill -0 "$holder" 2>/dev/null && check "holder still holding during the checks" test -s "$TMP/held"
wait "$holder"
echo "holder: $(cat "$TMP/holder.out")"
e1=$(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_agent_meter_errors_total /{print $2}')
check "no meter errors under load ($e0 -> $e1)" [ "${e1:-x}" = "${e0:-y}" ]
check "no 'Too many open files' in the agent log" bash -c "! grep -q 'Too many open files' '$TMP/agent.log'"
check "healthz after the load" curl -sf --max-time 2 -o /dev/null "$AGENT_URL/healthz"
curl -sf "$AGENT_URL/metrics" | grep '^wattlet_http_'
hmax=$(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_http_connections_max /{print $2}')
check "connection cap is 256/4 - 6 = 58 (got ${hmax:-none})" [ "${hmax:-0}" -eq 58 ]
ev=$(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_http_connections_closed_total\{reason="evicted"\}/{print $2}')
check "idle connections were evicted at the cap (${ev:-none})" [ "${ev:-0}" -ge $((HOLD - 58)) ]

# 3. a cgroup name that is not valid UTF-8, next to one spelled like its escaped form
if [ "$(id -u)" -ne 0 ]; then
	skip "invalid UTF-8 cgroup name: needs root"
	finish; exit
fi
base="wattlet-it-http-$$"
bad=$(cg_create "$base/"$'\xff\xfe'"bad") || { fail "cannot create a cgroup named with bytes ff fe"; finish; exit; }
look=$(cg_create "$base/"'\xff\xfe'"bad") || { fail "cannot create the look-alike cgroup"; finish; exit; }
cg_run "$bad" timeout 60 sh -c 'while :; do :; done'
cg_run "$look" timeout 60 sh -c 'while :; do :; done'
got_both() {
	curl -sf "$AGENT_URL/metrics" > "$TMP/m.txt" || return 1
	grep -qF "$base/\\\\xff\\\\xfebad\"" "$TMP/m.txt" && grep -qF "$base/\\\\x5cxff\\\\x5cxfebad\"" "$TMP/m.txt"
}
check "both cgroups appear as distinct workloads" wait_for 20 got_both
grep -F "wattlet_workload_cpu_seconds_total{workload=\"/$base" "$TMP/m.txt" | head -4
check "/metrics is valid UTF-8" python3 -c "open('$TMP/m.txt', encoding='utf-8', errors='strict').read()"
check "/metrics parses (promparse.py)" python3 test/integration/promparse.py "$TMP/m.txt" wattlet_agent_ticks_total
if command -v promtool >/dev/null; then
	check "/metrics passes promtool check metrics" bash -c "promtool check metrics < '$TMP/m.txt'"
fi
curl -sf "$AGENT_URL/api/v1/workloads" > "$TMP/w.json"
cat > "$TMP/wl.py" <<'EOF'
import json, sys
base = sys.argv[2]
with open(sys.argv[1], "rb") as f:
    d = json.loads(f.read().decode("utf-8", errors="strict"))
names = sorted(w["workload"] for w in d["workloads"] if f"/{base}/" in w["workload"])
bs = chr(92)
want = sorted(f"/{base}/{bs}x{a}{bs}x{b}bad" for a, b in (("ff", "fe"), ("5cxff", "5cxfe")))
print(names)
sys.exit(names != want)
EOF
check "/api/v1/workloads is valid JSON, both workloads distinct" python3 "$TMP/wl.py" "$TMP/w.json" "$base"
finish
