#!/usr/bin/env bash
# Zone platform from a BMC over Redfish (docs/redfish.md), against a REAL Redfish server:
# sushy-tools from PyPI (installed into $BUILD/redfish-venv on first use), its static
# emulator's handler serving a mockup this test rewrites over time, over HTTPS with a CA
# and certificate made here by openssl, behind HTTP basic auth checked by sushy-tools' own
# code (test/integration/redfish_bmc.py adds only auth, threads and fault injection).
#   1. probe: the Redfish source and its reading; a wrong CA is refused (TLS verified).
#   2. accuracy: power changing every 0.25 s, polled every 1 s for 60 s; the agent's
#      platform energy equals the integral (trapezoid, at the times served, no gap
#      longer than stale_after) of the readings the server logged as served, within 1 %;
#      not judged (a skip saying why) when a poll failed in the window, since the server
#      may then have logged a reading the agent gave up on; a busy cgroup gets platform
#      energy; conservation exact.
#   3. faults, each with a clear log line while the agent keeps ticking: 500, then the
#      zone goes stale (wattlet_redfish_up 0) and gains no energy (nothing invented);
#      401 (credentials file changed), timeouts (a BMC slower than redfish.timeout),
#      garbage JSON, a missing (null) reading; recovery after each.
#   4. fallback: a chassis that links only the legacy Power resource is read through
#      PowerControl[0].PowerConsumedWatts after the lookup is redone; --record has it.
#   5. EnergykWh: a counter deliberately 10 % above the power readings is what the
#      agent integrates (within 1 % of its step over ~15 s).
#   6. PowerSubsystem: the sum of the supplies' InputPowerWatts; a failing supply fails
#      the poll.
# Takes about 3 min (60 s of it the accuracy window; 175 s measured at load average 20).
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "redfish"

VENV=$PWD/$BUILD/redfish-venv
if [ ! -x "$VENV/bin/python3" ] || ! "$VENV/bin/python3" -c 'import sushy_tools, bcrypt' 2>/dev/null; then
	echo "# installing sushy-tools from PyPI into $VENV"
	python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'sushy-tools>=2.0' \
		|| { skip "sushy-tools could not be installed from PyPI (no network?): no Redfish server to test against"; finish; exit; }
fi
echo "# Redfish server: sushy-tools $("$VENV/bin/python3" -c 'import importlib.metadata as m; print(m.version("sushy-tools"))') (PyPI)"

# --- TLS: a CA and a server certificate for 127.0.0.1 ---------------------------------
P=$TMP/pki; mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wattlet-it-ca \
	-keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$P/bmc.key" \
	-out "$P/bmc.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$P/ext"
openssl x509 -req -in "$P/bmc.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 2 -extfile "$P/ext" -out "$P/bmc.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
	-keyout "$P/other.key" -out "$P/other.crt" 2>/dev/null

# --- credentials: bcrypt htpasswd for the server, user:password for the agent ----------
PASS="s3cret-$$-pw"
"$VENV/bin/python3" -c 'import bcrypt, sys; print("admin:" + bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=4)).decode())' "$PASS" > "$P/htpasswd"
CRED=$TMP/cred; echo "admin:$PASS" > "$CRED"; chmod 600 "$CRED"

# --- the mockup ---------------------------------------------------------------------
M=$TMP/mockup
put() { # put RELPATH JSON: atomically (the server never reads half a file)
	mkdir -p "$M/$1"; printf '%s\n' "$2" > "$M/$1/.index.tmp"; mv "$M/$1/.index.tmp" "$M/$1/index.json"
}
put . '{"@odata.id":"/redfish/v1","Id":"RootService","Name":"Root Service","RedfishVersion":"1.15.0","Chassis":{"@odata.id":"/redfish/v1/Chassis"}}'
put Chassis '{"@odata.id":"/redfish/v1/Chassis","Name":"Chassis Collection","Members@odata.count":1,"Members":[{"@odata.id":"/redfish/v1/Chassis/1U"}]}'
CH_ENV='{"@odata.id":"/redfish/v1/Chassis/1U","Id":"1U","Name":"Test chassis","ChassisType":"RackMount","EnvironmentMetrics":{"@odata.id":"/redfish/v1/Chassis/1U/EnvironmentMetrics"}}'
put Chassis/1U "$CH_ENV"
env_doc() { echo "{\"@odata.id\":\"/redfish/v1/Chassis/1U/EnvironmentMetrics\",\"Id\":\"EnvironmentMetrics\",\"Name\":\"Chassis environment\",\"PowerWatts\":{\"DataSourceUri\":\"/redfish/v1/Chassis/1U/Sensors/Power\",\"Reading\":$1}}"; }
put Chassis/1U/EnvironmentMetrics "$(env_doc 200)"

SERVED=$TMP/served.log; : > "$SERVED"
BMC_PORT=$(free_port)
"$VENV/bin/python3" test/integration/redfish_bmc.py --port "$BMC_PORT" --mockup "$M" \
	--cert "$P/bmc.crt" --key "$P/bmc.key" --htpasswd "$P/htpasswd" --served "$SERVED" \
	> "$TMP/bmc.log" 2>&1 &
PIDS+=($!)
BMC=https://127.0.0.1:$BMC_PORT
wait_for 20 curl -sf --cacert "$P/ca.crt" -u "admin:$PASS" "$BMC/redfish/v1/Chassis" -o /dev/null \
	|| { fail "the Redfish server did not start: $(tail -5 "$TMP/bmc.log")"; finish; exit; }
check "the server wants basic auth (401 without credentials)" \
	bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' --cacert '$P/ca.crt' '$BMC/redfish/v1/Chassis') = 401 ]"

# stale_after and timeout leave room for a loaded machine (8 helpers on 2 cores: a TLS
# request can take seconds); the truth below skips the same gaps the agent does
STALE_S=6
RF=(--set redfish.endpoint="$BMC" --set redfish.credentials_file="$CRED"
    --set redfish.ca_file="$P/ca.crt" --set redfish.interval=1s --set redfish.timeout=3s
    --set redfish.stale_after=${STALE_S}s)

# --- 1. probe -----------------------------------------------------------------------
"$WATTLET" probe --listen "" "${RF[@]}" > "$TMP/probe.out" 2>&1
check "probe: the Redfish source IN USE with its reading" \
	grep -qE "redfish +IN USE +EnvironmentMetrics /redfish/v1/Chassis/1U/EnvironmentMetrics: 200.0 W" "$TMP/probe.out"
check "probe never prints the password" bash -c "! grep -q -- '$PASS' '$TMP/probe.out'"
out=$("$WATTLET" probe --listen "" "${RF[@]}" --set redfish.ca_file="$P/other.crt" 2>&1)
check "probe with the wrong CA: not usable, a TLS error" grep -qE "ERROR +not usable \(tls\)" <<<"$out"
INSECURE=(--set redfish.endpoint="$BMC" --set redfish.credentials_file="$CRED" --set redfish.insecure_skip_verify=true)
out=$("$WATTLET" probe --listen "" "${INSECURE[@]}" 2>&1)
check "insecure_skip_verify (explicit): probe warns, and reads the BMC unverified" \
	bash -c 'grep -q "WARNING   redfish.insecure_skip_verify" <<<"$1" && grep -qE "redfish +IN USE" <<<"$1"' _ "$out"
"$WATTLET" run --listen "" --duration 2s --checkpoint "" "${INSECURE[@]}" > "$TMP/insecure.log" 2>&1
check "insecure_skip_verify: the agent warns at start" \
	grep -q "redfish: redfish.insecure_skip_verify is set: the BMC's TLS certificate is NOT verified" "$TMP/insecure.log"
out=$("$WATTLET" probe --listen "" 2>&1)
check "probe without redfish.endpoint: not used, and why" \
	grep -q "not used: redfish.endpoint is empty" <<<"$out"
out=$("$WATTLET" probe --listen "" --set redfish.endpoint=http://127.0.0.1:1 --set redfish.credentials_file="$CRED" 2>&1)
check "plain http:// is refused naming the key" grep -q "redfish.endpoint \"http://127.0.0.1:1\" must be https://" <<<"$out"
out=$("$WATTLET" probe --listen "" --set redfish.endpoint="$BMC" 2>&1)
check "an endpoint without credentials is refused naming the key" grep -q "redfish.credentials_file must be set" <<<"$out"

# --- 2. accuracy over 60 s ------------------------------------------------------------
# the power the BMC reports changes every 0.25 s: a slow sine plus steps
"$VENV/bin/python3" - "$M/Chassis/1U/EnvironmentMetrics" <<'PY' &
import json, math, os, sys, time
d = sys.argv[1]
t0 = time.monotonic()
while True:
    t = time.monotonic() - t0
    w = round(260 + 90 * math.sin(2 * math.pi * t / 23) + (60 if int(t / 7) % 2 else 0), 3)
    doc = {"@odata.id": "/redfish/v1/Chassis/1U/EnvironmentMetrics", "Id": "EnvironmentMetrics",
           "Name": "Chassis environment", "PowerWatts": {"Reading": w}}
    with open(d + "/.index.tmp", "w") as f:
        json.dump(doc, f)
    os.replace(d + "/.index.tmp", d + "/index.json")
    time.sleep(0.25)
PY
DRIVER=$!; PIDS+=($DRIVER)

: > "$SERVED" # the truth: what is served from the agent's start on (not the probes)
cgB=$(cg_create "wattlet-it-redfish-$$/busy")
cg_run "$cgB" sh -c 'while :; do :; done'
start_agent "$TMP/agent.log" --tick 1s --checkpoint "" --idle-policy none \
	--set metrics.detail=true --set model.idle_watts.platform=100 "${RF[@]}" \
	|| { fail "agent did not become ready: $(tail -20 "$TMP/agent.log")"; finish; exit; }
check "the agent says where zone platform comes from" \
	grep -q "redfish: polling $BMC every 1.0 s .*TLS verified against redfish.ca_file" "$TMP/agent.log"
j() { python3 test/integration/promparse.py "$@"; }
plat() { # node platform joules (dynamic + idle) now
	curl -sf "$AGENT_URL/metrics" > "$TMP/m.now"
	echo "$(j "$TMP/m.now" wattlet_node_joules_total zone=platform mode=dynamic) $(j "$TMP/m.now" wattlet_node_joules_total zone=platform mode=idle)" | awk '{printf "%.6f", $1 + $2}'
}
up() { curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_redfish_up/{print $2}'; }
errs() { curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_redfish_poll_errors_total/{s += $2} END {print s + 0}'; }
# judged WHAT DESCRIPTION command... : check, unless polls failed between e_start and e_end:
# a request the agent gave up on may still have been served (and logged) by the server,
# so the served log is then not what the agent received - a skip says so instead.
judged() {
	local what=$1 failed=$((e_end - e_start)); shift
	if [ "$failed" -gt 0 ]; then
		skip "$what not judged: $failed polls failed during the window (machine too loaded: load $(cut -d' ' -f1 /proc/loadavg))"
	else
		check "$@"
	fi
}
wait_stale() { wait_for "${1:-20}" bash -c "[ \"\$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_redfish_up/{print \$2}')\" = 0 ]"; }
nlog() { grep -c -- "$1" "$TMP/agent.log"; }
# served readings integrated as the agent must: trapezoid, or the EnergykWh step (kwh=1),
# never across a gap longer than stale_after. Prints "joules span_s readings gaps".
served_truth() {
	awk -v g=$((STALE_S * 1000000000)) -v kwh="$1" '$2 ~ /EnvironmentMetrics$/ && (!kwh || $4 != "-") {
		if (n && $1 - pt <= g) { e += kwh ? ($4 - pk) * 3.6e6 : (pw + $3) / 2 * ($1 - pt) / 1e9 }
		else if (n) gaps++
		if (!n) t0 = $1; pt = $1; pw = $3; pk = $4; n++ }
		END { printf "%.6f %.3f %d %d", e, (pt - t0) / 1e9, n, gaps }' "$SERVED"
}
start_s=$(date +%s)
wait_for 20 bash -c "[ -s '$SERVED' ]"
e_start=$(errs)
sleep 60 # the accuracy window: the readings must be served for 60 s (not a synchronisation)
e_end=$(errs)
# end the window: every answer is now a 500; once stale (now - newest reading >
# stale_after >= the lag) the agent has integrated up to its newest reading
echo 500 > "$M/_fault"
wait_stale
wait_ticks 2
curl -sf "$AGENT_URL/metrics" > "$TMP/m.acc"
got=$(echo "$(j "$TMP/m.acc" wattlet_node_joules_total zone=platform mode=dynamic) $(j "$TMP/m.acc" wattlet_node_joules_total zone=platform mode=idle)" | awk '{printf "%.6f", $1 + $2}')
read -r want span n gaps <<<"$(served_truth 0)"
echo "# accuracy: agent platform $got J; served readings integrated $want J over $span s ($n readings, $gaps gaps > ${STALE_S} s, $((e_end - e_start)) failed polls)"
judged accuracy "platform energy over ${span} s within 1 % of the integrated readings served ($got J vs $want J)" \
	python3 -c "import sys; g, w, s = map(float, sys.argv[1:]); sys.exit(0 if s >= 58 and w > 0 and abs(g - w) <= 0.01 * w else 1)" "$got" "$want" "$span"
bw=$(j "$TMP/m.acc" wattlet_workload_joules_total workload="/wattlet-it-redfish-$$/busy" zone=platform mode=dynamic)
nd=$(j "$TMP/m.acc" wattlet_node_joules_total zone=platform mode=dynamic)
echo "# busy cgroup: $bw J of the node's $nd J platform dynamic"
check "platform energy is attributed to cgroups: the busy one gets a part ($bw J of $nd J)" \
	python3 -c "import sys; b, n = map(float, sys.argv[1:]); sys.exit(0 if 0 < b <= n else 1)" "${bw:-0}" "${nd:-0}"
check "conservation: sum(workloads incl. system) == node, every zone and mode, exactly" \
	j --conservation "$TMP/m.acc"
check_promtool "/metrics with the wattlet_redfish_* series passes promtool check metrics" "$TMP/m.acc"

# --- 3. faults ------------------------------------------------------------------------
check "500: a clear message" wait_for 20 grep -q "redfish: poll failed (http): GET $BMC/redfish/v1/Chassis/1U/EnvironmentMetrics: HTTP 500" "$TMP/agent.log"
check "500: the zone is marked stale (wattlet_redfish_up 0)" wait_stale
check "stale is logged as such" grep -q "redfish: zone platform is STALE" "$TMP/agent.log"
e1=$(plat); wait_ticks 3; e2=$(plat)
check "while stale no platform energy is invented ($e1 J -> $e2 J)" test "$e1" = "$e2"
check "the agent keeps ticking through it" wait_ticks 2
check "the error metric counts it by reason" bash -c "curl -sf $AGENT_URL/metrics | grep -qE '^wattlet_redfish_poll_errors_total\\{reason=\"http\"\\} [1-9]'"
: > "$M/_fault"
check "recovery: answers again" wait_for 20 grep -q "redfish: $BMC answers again" "$TMP/agent.log"
check "recovery: fresh again (wattlet_redfish_up 1)" wait_for 20 bash -c "[ \"\$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_redfish_up/{print \$2}')\" = 1 ]"
e3=$(plat); wait_ticks 3; e4=$(plat)
check "energy counted again after recovery ($e3 J -> $e4 J)" python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)" "$e3" "$e4"

n_again=$(nlog 'answers again')
echo "admin:wrong-password" > "$CRED"
check "401: a clear message naming the credentials file" wait_for 20 grep -q "redfish: poll failed (auth): GET $BMC/redfish/v1/.*: HTTP 401 (credentials refused: check redfish.credentials_file)" "$TMP/agent.log"
check "the password is never logged" bash -c "! grep -q -e '$PASS' -e wrong-password '$TMP/agent.log'"
echo "admin:$PASS" > "$CRED"
check "a corrected credentials file is picked up without a restart" wait_for 20 bash -c "[ \$(grep -c 'answers again' '$TMP/agent.log') -gt $n_again ]"

n_to=$(nlog 'poll failed (timeout)'); n_again=$(nlog 'answers again')
echo "delay 8" > "$M/_fault" # longer than redfish.timeout (3 s)
check "timeout: a clear message" wait_for 25 bash -c "[ \$(grep -c 'poll failed (timeout): GET $BMC/redfish/v1/' '$TMP/agent.log') -gt $n_to ]"
tmo() { curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_redfish_poll_errors_total\{reason="timeout"\}/{print $2}'; }
n_tmo=$(tmo); t_before=$(ticks)
wait_for 20 bash -c "[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_redfish_poll_errors_total{reason=\"timeout\"}/{print \$2}') -gt $n_tmo ]"
t_after=$(ticks)
check "the tick never waits for the BMC: $((t_after - t_before)) ticks during the next timed-out request (3 s)" test $((t_after - t_before)) -ge 2
: > "$M/_fault"
check "recovers after the timeouts" wait_for 25 bash -c "[ \$(grep -c 'answers again' '$TMP/agent.log') -gt $n_again ]"

kill "$DRIVER" 2>/dev/null; wait "$DRIVER" 2>/dev/null
put Chassis/1U/EnvironmentMetrics '{"PowerWatts": {"Reading": 300}, <html>'
check "garbage JSON: a clear message" wait_for 20 grep -q "redfish: poll failed (json): $BMC/redfish/v1/Chassis/1U/EnvironmentMetrics: EnvironmentMetrics: not JSON" "$TMP/agent.log"
put Chassis/1U/EnvironmentMetrics "$(env_doc null)"
check "a missing (null) reading: a clear message" wait_for 20 grep -q "redfish: poll failed (missing): .*no PowerWatts.Reading" "$TMP/agent.log"
check "stale, not invented" wait_stale
e5=$(plat); wait_ticks 2; e6=$(plat)
check "no energy while the reading is missing ($e5 J -> $e6 J)" test "$e5" = "$e6"

# --- 4. the legacy Power resource -----------------------------------------------------
put Chassis/1U '{"@odata.id":"/redfish/v1/Chassis/1U","Id":"1U","Power":{"@odata.id":"/redfish/v1/Chassis/1U/Power"}}'
put Chassis/1U/Power '{"@odata.id":"/redfish/v1/Chassis/1U/Power","PowerControl":[{"MemberId":"0","PowerConsumedWatts":321.5}]}'
check "after the lookup is redone, the legacy Power resource is read" \
	wait_for 30 grep -q "redfish: $BMC answers again (Power /redfish/v1/Chassis/1U/Power, 321.5 W)" "$TMP/agent.log"
check "wattlet_redfish_power_watts shows its reading" wait_for 5 bash -c "curl -sf $AGENT_URL/metrics | grep -q '^wattlet_redfish_power_watts 321.5'"
# --record carries the BMC's zone as measured (bit 4 = platform in zone_mask, its uJ)
"$WATTLET" run --listen "" --tick 1s --checkpoint "" --duration 6s --record "$TMP/rec" \
	"${RF[@]}" > "$TMP/agent-rec.log" 2>&1
check "wattlet run --record includes zone platform from the BMC (321.5 W readings)" \
	awk -F, '$1 == "N" && int($4 / 16) % 2 == 1 { w = $10 / $3 * 1000; if (w > 289 && w < 354) n++ } END { exit !(n >= 2) }' "$TMP/rec"
# --- 5. EnergykWh: the BMC's own energy counter between readings ---------------------
# Its counter runs 10 % above the power readings (a BMC whose energy meter sees more than
# its instantaneous sensor), so agreement with the counter - not the trapezoid of the
# power readings - shows the counter is what is integrated. A fault of 5 s (> stale_after)
# before and after the phase makes its edges gaps: the phase's energy is exactly the
# counter's step from its first to its last served reading.
echo 500 > "$M/_fault"
wait_stale
wait_ticks 2
put Chassis/1U "$CH_ENV"
"$VENV/bin/python3" - "$M/Chassis/1U/EnvironmentMetrics" <<'PY' &
import json, math, os, sys, time
d = sys.argv[1]
t0 = time.monotonic(); e = 1234.0; last = t0
while True:
    now = time.monotonic(); t = now - t0
    w = 280 + 70 * math.sin(2 * math.pi * t / 11)
    e += 1.1 * w * (now - last) / 3.6e6  # kWh
    last = now
    doc = {"PowerWatts": {"Reading": round(w, 3)}, "EnergykWh": {"Reading": round(e, 9)}}
    with open(d + "/.index.tmp", "w") as f:
        json.dump(doc, f)
    os.replace(d + "/.index.tmp", d + "/index.json")
    time.sleep(0.1)
PY
DRIVER=$!; PIDS+=($DRIVER)
rm -f "$M/Chassis/1U/Power/index.json"
e_before=$(plat)
: > "$SERVED"
: > "$M/_fault"
check "EnergykWh phase: the agent reads EnvironmentMetrics again" wait_for 30 bash -c "grep -q 'EnvironmentMetrics.*[0-9]' '$SERVED'"
e_start=$(errs)
sleep 15 # the phase: readings must be served for a while (not a synchronisation)
e_end=$(errs)
echo 500 > "$M/_fault"
wait_stale
wait_ticks 2
e_after=$(plat)
kill "$DRIVER" 2>/dev/null; wait "$DRIVER" 2>/dev/null
read -r kwh_j kspan n gaps <<<"$(served_truth 1)"
read -r trap_j _ _ _ <<<"$(served_truth 0)"
got=$(echo "$e_after $e_before" | awk '{printf "%.6f", $1 - $2}')
echo "# EnergykWh phase: agent $got J; served counter steps $kwh_j J; trapezoid of served power $trap_j J ($n readings, $gaps gaps, $((e_end - e_start)) failed polls)"
judged EnergykWh "EnergykWh: platform energy within 1 % of the served counter's steps ($got J vs $kwh_j J), not the power trapezoid" \
	python3 -c "import sys; g, k, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); sys.exit(0 if n >= 8 and k > 0 and abs(g - k) <= 0.01 * k else 1)" "$got" "$kwh_j" "$n"
: > "$M/_fault"

# --- 6. PowerSubsystem: the sum of the supplies' input power --------------------------
PS=Chassis/1U/PowerSubsystem
put Chassis/1U '{"@odata.id":"/redfish/v1/Chassis/1U","Id":"1U","PowerSubsystem":{"@odata.id":"/redfish/v1/Chassis/1U/PowerSubsystem"}}'
put $PS '{"@odata.id":"/redfish/v1/Chassis/1U/PowerSubsystem","CapacityWatts":2400,"PowerSupplies":{"@odata.id":"/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies"}}'
put $PS/PowerSupplies '{"Members":[{"@odata.id":"/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/0"},{"@odata.id":"/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/1"}]}'
for i in 0 1; do
	put $PS/PowerSupplies/$i "{\"Id\":\"$i\",\"Metrics\":{\"@odata.id\":\"/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/$i/Metrics\"}}"
done
put $PS/PowerSupplies/0/Metrics '{"InputPowerWatts":{"Reading":150.5}}'
put $PS/PowerSupplies/1/Metrics '{"InputPowerWatts":{"Reading":170.0}}'
rm -f "$M/Chassis/1U/EnvironmentMetrics/index.json" # 404s, then the lookup is redone
check "PowerSubsystem: the supplies' input power is summed (150.5 + 170.0 W)" \
	wait_for 40 grep -q "redfish: $BMC answers again (PowerSubsystem /redfish/v1/Chassis/1U/PowerSubsystem, 320.5 W)" "$TMP/agent.log"
check "wattlet_redfish_up names the resource" wait_for 5 bash -c "curl -sf $AGENT_URL/metrics | grep -q '^wattlet_redfish_up{resource=\"PowerSubsystem\"} 1'"
rm -f "$M/$PS/PowerSupplies/1/Metrics/index.json"
check "a supply that stops answering fails the poll, naming it (never half the platform)" \
	wait_for 20 grep -q "redfish: poll failed (http): GET $BMC/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/1/Metrics: HTTP 404" "$TMP/agent.log"
put $PS/PowerSupplies/1/Metrics '{"InputPowerWatts":{"Reading":170.0}}'

check "conservation still exact at the end" bash -c "curl -sf $AGENT_URL/metrics > '$TMP/m.end' && python3 test/integration/promparse.py --conservation '$TMP/m.end'"
check "the credentials appear nowhere: log, /metrics, /api/v1/workloads, wattlet config" bash -c \
	"! { cat '$TMP/agent.log'; curl -sf $AGENT_URL/metrics; curl -sf $AGENT_URL/api/v1/workloads; '$WATTLET' config ${RF[*]}; } | grep -q -e '$PASS' -e wrong-password"
check "the agent never crashed" kill -0 "$AGENT_PID"

# --- 7. the BMC with GPUs: the chassis' power holds them, the whole total adds no gpu ---
# A second agent reads zone gpu from the NVML stand-in (test/stub/nvml_standin.c, 250 W)
# beside the BMC's platform: /api/v1/workloads' joules (node and every workload) must be
# zone platform alone, not platform + gpu (docs/metrics.md).
LIB=$PWD/$BUILD/test/libnvidia-ml.so.1
if [ -f "$LIB" ]; then
	echo "gpu power_mw=250000 util=90" > "$TMP/nvml.script"
	export WATTLET_NVML_STANDIN=$TMP/nvml.script
	kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
	if start_agent "$TMP/agent-gpu.log" --tick 1s --checkpoint "" --set gpu.enabled=true \
		--set gpu.library="$LIB" "${RF[@]}" && wait_ticks 3; then
		check "BMC platform + GPU: whole totals are zone platform alone, zone gpu shown beside it" \
			python3 -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1]))
def zj(o, z):
    return sum(o["zones"][z][m]["joules"] for m in ("dynamic", "idle")) if z in o["zones"] else 0
n = d["node"]
print("# node: joules %.6f, platform %.6f, gpu %.6f" % (n["joules"], zj(n, "platform"), zj(n, "gpu")))
ok = zj(n, "gpu") > 0 and zj(n, "platform") > 0 and abs(n["joules"] - zj(n, "platform")) < 1e-5
ok = ok and all(abs(w["joules"] - zj(w, "platform")) < 1e-5 for w in d["workloads"])
sys.exit(0 if ok else 1)' "$AGENT_URL/api/v1/workloads"
	else
		fail "the agent with the BMC and the NVML stand-in did not tick: $(tail -5 "$TMP/agent-gpu.log")"
	fi
else
	skip "BMC + GPU totals: the NVML stand-in is not built (make BUILD=$BUILD $BUILD/test/libnvidia-ml.so.1)"
fi
echo "# it_redfish took $(( $(date +%s) - start_s + 0 )) s after the agent started"
finish
