#!/usr/bin/env bash
# /ui in real headless Chromium (Debian package chromium, installed by hack/deps.sh),
# against the agent on the simulated meter with a busy cgroup (ui_check.py drives the
# page through the DevTools protocol): the busy workload is the top row within 5 s, the
# page shows the numbers of /api/v1/workloads for the same tick, the chart advances, the
# page contacts nothing but the agent, a screenshot is kept. Then 50 WebSocket clients
# (ws_load.py) for 30 s: the agent keeps ticking, every client gets frames, RSS does not
# grow with clients x ticks (judged against a control agent without clients, which also
# shows http.ui=false: no page, no WebSocket); the page, refused as the 51st client
# (http.ui_max_clients=50), says why and falls back to polling /api/v1/workloads, with
# the same checks. Last, the agent under valgrind with 3 clients connected when it stops.
# Screenshots: $BUILD/test-output/ui/ui-websocket.png and ui-polling.png. ~60 s.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "ui"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	skip "chromium is not installed and hack/deps.sh could not install it (run it as root)"
	finish
	exit
fi
OUT="$BUILD/test-output/ui"
mkdir -p "$OUT"
LOAD_N=50
LOAD_S=30

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
base="wattlet-it-ui-$$"
busy=$(cg_create "$base/busy")
# two workers: busier than any one-core process other tests on this machine may run
cg_run "$busy" stress-ng --cpu 2 --cpu-load 100 --timeout 120s --quiet
start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--set http.ui_max_clients=$LOAD_N ||
	{ fail "agent did not become ready: $(tail -5 "$TMP/agent.log")"; finish; exit; }
port=${AGENT_URL##*:}
UI_PID=$AGENT_PID; UI_URL=$AGENT_URL
# a control agent on the same machine that no client watches: other processes' cgroups
# come and go (the machine is shared) and grow both agents' ledgers alike. It runs with
# http.ui=false: no page, no WebSocket.
start_agent "$TMP/control.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--set http.ui=false ||
	{ fail "control agent did not become ready: $(tail -5 "$TMP/control.log")"; finish; exit; }
CTRL_PID=$AGENT_PID
check "http.ui=false: /ui is 404 and its WebSocket upgrade 403" bash -c "
	[ \$(curl -s -o /dev/null -w '%{http_code}' '$AGENT_URL/ui') = 404 ] &&
	python3 -c 'import sys; sys.path.insert(0, \"test/integration\"); import wsclient
w = wsclient.Ws.connect(\"127.0.0.1\", ${AGENT_URL##*:}, \"/ui/ws\", \"wattlet-ui.v1\")
sys.exit(0 if w.status == 403 else 1)'"
AGENT_PID=$UI_PID; AGENT_URL=$UI_URL

check "GET /ui is the embedded HTML page" \
	bash -c "curl -sf -D '$TMP/ui.h' '$AGENT_URL/ui' | grep -q 'wattlet-ui.v1' &&
		grep -qi '^content-type: text/html' '$TMP/ui.h'"

"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
	--disable-extensions --disable-background-networking --user-data-dir="$TMP/chrome" \
	--remote-debugging-address=127.0.0.1 --remote-debugging-port=0 about:blank \
	> "$TMP/chromium.log" 2>&1 &
PIDS+=($!)
if ! wait_for 30 test -s "$TMP/chrome/DevToolsActivePort"; then
	skip "chromium did not start its DevTools endpoint: $(tail -3 "$TMP/chromium.log")"
	finish
	exit
fi
devport=$(head -1 "$TMP/chrome/DevToolsActivePort")

# ui_check MODE: ui_check.py's ok/FAIL/skip lines counted as this script's
ui_check() {
	local out
	out=$(python3 test/integration/ui_check.py "$devport" "$AGENT_URL" "$base/busy" "$1" \
		"$OUT/ui-$1.png" 2>&1)
	echo "$out" | grep -E '^(ok  |FAIL|skip)'
	T_PASS=$((T_PASS + $(echo "$out" | grep -c '^ok  ')))
	T_FAIL=$((T_FAIL + $(echo "$out" | grep -c '^FAIL')))
	T_SKIP=$((T_SKIP + $(echo "$out" | grep -c '^skip')))
	echo "$out" | grep -qE '^(ok  |FAIL|skip)' || fail "ui_check.py ($1): $out"
	echo "$out" | grep -q '^Traceback' && fail "ui_check.py ($1) crashed: $(echo "$out" | tail -3)"
}

# 1. the page over its WebSocket
ui_check websocket
# 2. 50 clients for LOAD_S seconds, once the page has left (its WebSocket closed)
wait_for 10 bash -c "curl -sf '$AGENT_URL/metrics' | grep -q '^wattlet_ui_clients 0\$'" ||
	fail "the page's WebSocket is still counted after it left: $(metric 'wattlet_ui_clients ')"
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/${1:-$AGENT_PID}/status"; }
ticks() { curl -sf "$AGENT_URL/api/v1/workloads" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent"]["ticks"])'; }
t_before=$(ticks)
python3 test/integration/ws_load.py 127.0.0.1 "$port" $LOAD_N $LOAD_S "$TMP/load.ready" \
	> "$TMP/load.json" 2> "$TMP/load.err" &
load_pid=$!
PIDS+=($load_pid)
loaded=1
wait_for 60 test -s "$TMP/load.ready" ||
	{ loaded=0; fail "the $LOAD_N clients did not connect in 60 s: $(cat "$TMP/load.err")"; }
t_in=$(ticks)
# 3. the page as the 51st client: refused with a reason, polls instead
if [ $loaded = 1 ]; then ui_check polling; else skip "polling fallback: the $LOAD_N clients are not in"; fi
# RSS from 8 ticks after the clients came in to the end of the load (the first ticks
# with new clients allocate buffers once; measured flat after that)
wait_for 20 bash -c "[ \$(curl -sf '$AGENT_URL/api/v1/workloads' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"agent\"][\"ticks\"])') -ge $((t_in + 8)) ]"
rss0=$(rss_kib); ctl0=$(rss_kib "$CTRL_PID")
t_mid=$(ticks)

wait "$load_pid"
rss1=$(rss_kib); ctl1=$(rss_kib "$CTRL_PID")
t_end=$(ticks)
# ticks go on after the clients leave (waited for, at most 10 s)
wait_for 10 bash -c "[ \$(curl -sf '$AGENT_URL/api/v1/workloads' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"agent\"][\"ticks\"])') -gt $t_end ]"
t_after=$(ticks)
echo "# $LOAD_N clients: $(cat "$TMP/load.json")"
echo "# agent RSS with the clients in: ${rss0} KiB (tick $t_mid) -> ${rss1} KiB (tick $t_end); control agent without clients: ${ctl0} -> ${ctl1} KiB"
read -r opened refused fmin first last closed < <(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
print(d["opened"], d["refused"], d["frames_min"], d["first_tick"], d["last_tick"], d["closed_by_server"])' "$TMP/load.json")
check "$LOAD_N WebSocket clients admitted (http.ui_max_clients=$LOAD_N), none closed by the agent" \
	test "$opened" -eq $LOAD_N -a "$refused" -eq 0 -a "$closed" -eq 0
# not a timing check (the machine is shared): the agent ticked during the load and after
# it, and every client got frames of several ticks
check "the agent kept ticking with $LOAD_N clients (ticks $first..$last, then $t_after; every client got >= $fmin frames)" \
	test "$((last - first))" -ge 3 -a "$t_after" -gt "$last" -a "$fmin" -ge 3
# one shared frame per tick: nothing grows per client per tick. 50 clients x 10 ticks is
# 500 client-ticks; 1 KiB kept per client-tick would add 500 KiB. Judged against the
# control agent's growth over the same window (new cgroups on this machine, not clients).
growth=$(( (rss1 - rss0) - (ctl1 - ctl0) ))
if [ $((t_end - t_mid)) -lt 5 ]; then
	skip "RSS growth not judged: only $((t_end - t_mid)) ticks after the page's checks (machine too slow)"
else
	check "agent RSS did not grow per client per tick (${growth} KiB more than the control agent over $((t_end - t_mid)) ticks x $LOAD_N clients; bound 128 KiB)" \
		test "$growth" -le 128
fi

# 4. the agent under valgrind with WebSocket clients still connected when it stops (the
# page's frame, the shared buffer, the clients' slots freed on the way out)
if command -v valgrind >/dev/null; then
	vport=$(free_port)
	valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$WATTLET" run --powercap-root "$TMP/powercap" --tick 250ms \
		--usage-source cgroup --listen "127.0.0.1:$vport" --checkpoint "" --duration 15s \
		> "$TMP/valgrind.log" 2>&1 &
	vg_pid=$!
	PIDS+=($vg_pid)
	if wait_for 30 curl -sf "http://127.0.0.1:$vport/readyz"; then
		python3 test/integration/ws_load.py 127.0.0.1 "$vport" 3 30 "$TMP/vg.ready" > "$TMP/vg.json" 2>&1
	fi
	wait "$vg_pid"; rc=$?
	fmin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["frames_min"])' "$TMP/vg.json" 2>/dev/null || echo 0)
	check "valgrind: agent with 3 WebSocket clients (each got $fmin frames, connected at exit): no leak or invalid access (exit $rc)" \
		[ "$rc" -eq 0 -a "$fmin" -ge 2 ]
	[ "$rc" -eq 0 ] || tail -40 "$TMP/valgrind.log"
else
	skip "valgrind not installed"
fi
finish
