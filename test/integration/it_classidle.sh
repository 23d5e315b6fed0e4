#!/usr/bin/env bash
# Idle power shared by a hardware class (docs/models.md "Idle of the hardware class"),
# two real agent processes against the REAL API server of the e2e cluster:
#  1. agent A (node it-ci-a-PID) learns idle on the SIMULATED RAPL meter (raplsim: idle
#     40 W + 15 W per busy core of this machine) while this test steps the machine's load
#     0 -> 1 -> 2 busy cores, and publishes it to the NodeClassIdle of the class;
#  2. agent A stops; two cgroups run 100 % busy loops, so the machine is busy from the
#     first second of agent B (node it-ci-b-PID, same class, fresh state): its own
#     estimate is only a fallback, it must take the class's idle (source "class"), and
#     each cgroup's attributed dynamic energy must be within 5 % of the simulated truth
#     (15 W x the cgroup's own CPU time, read from its counter) within 2 minutes.
# Skips (with the reason) when the e2e cluster is not up (bash hack/cluster-up.sh).
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "classidle"

KCFG=${WATTLET_IT_KUBECONFIG:-build/e2e/pki/admin.kubeconfig}
KUBECTL=${WATTLET_IT_KUBECTL:-build/e2e/bin/kubectl}
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }
api_up() { # three tries: the shared cluster may be busy with a scale run
	local i
	for i in 1 2 3; do
		k get --raw /readyz --request-timeout=20s >/dev/null 2>&1 && return 0
	done
	return 1
}
if [ ! -x "$KUBECTL" ] || [ ! -f "$KCFG" ] || ! api_up; then
	skip "classidle: no API server (the e2e cluster is not up: bash hack/cluster-up.sh)"
	finish; exit
fi
command -v stress-ng >/dev/null || { skip "classidle: stress-ng not installed"; finish; exit; }

W_PER_CORE=15
IDLE_W=40
CLASS="it-classidle-$$"
NODE_A="it-ci-a-$$"; NODE_B="it-ci-b-$$"
k apply --server-side --force-conflicts -f crds/nodeclassidles.wattlet.dev.yaml >/dev/null &&
	k wait --for condition=Established --timeout 60s crd/nodeclassidles.wattlet.dev >/dev/null ||
	{ fail "NodeClassIdle CRD not established"; finish; exit; }
cleanup_kube() {
	k delete nodeclassidle "$CLASS" --ignore-not-found >/dev/null 2>&1
	k delete nodeenergy "$NODE_A" "$NODE_B" --ignore-not-found >/dev/null 2>&1
}
trap 'cleanup_kube; cleanup_all' EXIT

start_sim "$TMP/powercap" --idle-watts $IDLE_W --watts-per-core $W_PER_CORE --interval-ms 100 \
	|| { fail "raplsim did not start: $(cat "$TMP/raplsim.log")"; finish; exit; }

kube_flags() { # kube_flags NODE
	echo --set kubernetes.enabled=true --set "kubernetes.kubeconfig=$KCFG" \
		--set "kubernetes.node_name=$1" --set kubernetes.pod_source=apiserver \
		--set "model.idle_class=$CLASS" --set model.idle_class_refresh=10s
}
# shellcheck disable=SC2046
start_agent "$TMP/a.log" --powercap-root "$TMP/powercap" --tick 500ms --checkpoint "" \
	--set model.idle_window=1m $(kube_flags "$NODE_A") \
	|| { fail "agent A did not become ready: $(tail -20 "$TMP/a.log")"; finish; exit; }
A_PID=$AGENT_PID
ok "agent A ready (node $NODE_A, class $CLASS)"

# 1. load steps until A has published: 0, 1, 2 extra busy cores, 5 s each
published() { k get nodeclassidle "$CLASS" -o "jsonpath={.status.nodes.$NODE_A.zones.package.watts}" 2>/dev/null | grep -q .; }
deadline=$(( $(date +%s) + 240 ))
# (polled once per cycle only: kubectl itself costs CPU, which would blur the quiet step)
until published || [ "$(date +%s)" -ge "$deadline" ]; do
	for n in 0 1 2; do
		[ $n -gt 0 ] && stress-ng --cpu $n --cpu-load 100 --cpu-method loop --timeout 5s --quiet
		[ $n -eq 0 ] && sleep 5
	done
done
if ! published; then
	# Refuse to judge when this shared machine never had a spread of load (other jobs kept
	# it busy through the quiet steps): agent A then rightly stays at fallback and there is
	# no node that learned idle. A confident A that did not publish is a failure.
	a_src=$(curl -sf "$AGENT_URL/metrics" | grep -oE 'wattlet_node_idle_watts\{zone="package",source="[a-z-]+"' | sed 's/.*source="//; s/"$//')
	if [ "$a_src" = fallback ]; then
		skip "classidle: the machine was never quiet enough for agent A to learn idle in 240 s (its source stayed fallback; other jobs on this machine); not judged"
		finish; exit
	fi
	fail "agent A published no idle in 240 s: $(curl -sf "$AGENT_URL/metrics" | grep '^wattlet_node_idle_watts'); $(grep -i 'idle class' "$TMP/a.log" | tail -3)"
	finish; exit
fi
a_w=$(k get nodeclassidle "$CLASS" -o "jsonpath={.status.nodes.$NODE_A.zones.package.watts}")
a_src=$(k get nodeclassidle "$CLASS" -o "jsonpath={.status.nodes.$NODE_A.zones.package.source}")
ok "agent A published package idle $a_w W ($a_src) to NodeClassIdle $CLASS (truth $IDLE_W W)"
kill "$A_PID"; wait "$A_PID" 2>/dev/null

# 2. the machine busy before B starts
base="wattlet-it-ci-$$"
cg1=$(cg_create "$base/busy1"); cg2=$(cg_create "$base/busy2")
cg_run "$cg1" stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout 150s --quiet
cg_run "$cg2" stress-ng --cpu 1 --cpu-load 100 --cpu-method loop --timeout 150s --quiet
# the same node without the class (model.idle_class=off): what it would use (shown, not
# judged: on this shared machine its own fit may or may not find a spread of load)
start_agent "$TMP/c.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--idle-policy none --set kubernetes.enabled=false || fail "agent C did not become ready"
URL_C=$AGENT_URL
t_b0=$(date +%s)
# shellcheck disable=SC2046
start_agent "$TMP/b.log" --powercap-root "$TMP/powercap" --tick 1s --checkpoint "" \
	--idle-policy none $(kube_flags "$NODE_B") \
	|| { fail "agent B did not become ready: $(tail -20 "$TMP/b.log")"; finish; exit; }
idle_src() { curl -sf "$AGENT_URL/metrics" | grep -oE 'wattlet_node_idle_watts\{zone="package",source="[a-z-]+"\} [0-9.e+-]+' ; }
if ! wait_for 60 bash -c "curl -sf $AGENT_URL/metrics | grep -q 'wattlet_node_idle_watts{zone=\"package\",source=\"class\"}'"; then
	fail "agent B does not use the class's idle: $(idle_src); $(grep -i 'idle' "$TMP/b.log" | tail -3)"
	finish; exit
fi
ok "agent B (busy from its first second) uses the class's idle: $(idle_src)"

sample_tick "$TMP/m1" "$cg1" "$cg2"
wait_ticks 20 40
sample_tick "$TMP/m2" "$cg1" "$cg2"
check "within 2 minutes of agent B's start ($(( $(date +%s) - t_b0 )) s)" [ $(( $(date +%s) - t_b0 )) -le 120 ]
check "agent B's source is still class at the end" bash -c "curl -sf $AGENT_URL/metrics | grep -q 'source=\"class\"'"

check "standalone and never quiet: wattlet top says idle is a guess and what to do" \
	bash -c "'$WATTLET' top --once --url '$URL_C' | grep -q 'IDLE IS A GUESS for package.*model.idle_watts.package'"
check "with the class: wattlet top does not call B's package idle a guess" \
	bash -c "! '$WATTLET' top --once --url '$AGENT_URL' | grep -q 'IDLE IS A GUESS for package'"
echo "info - without the class the same busy node uses: $(curl -sf "$URL_C/metrics" | grep -oE 'wattlet_node_idle_watts\{zone="package",source="[a-z-]+"\} [0-9.e+-]+')"

# Tolerance 5 % (the issue's bar): the simulator's 100 ms grid against the tick over a
# 20 s window (~1 %), /proc/stat's tick-sampled busy time against the cgroups' ns
# counters, and the class idle's own error (A's fit) all fall in it.
dt_ns=$(( $(cat "$TMP/m2.t") - $(cat "$TMP/m1.t") ))
for name in busy1 busy2; do
	key="/$base/$name"
	j1=$(python3 test/integration/promparse.py "$TMP/m1" wattlet_workload_joules_total workload="$key" zone=package)
	j2=$(python3 test/integration/promparse.py "$TMP/m2" wattlet_workload_joules_total workload="$key" zone=package)
	c1=$(awk -v n=$name '$1==n{print $2}' "$TMP/m1.cpu"); c2=$(awk -v n=$name '$1==n{print $2}' "$TMP/m2.cpu")
	if [ -z "$j1" ] || [ -z "$j2" ]; then fail "$name: no workload series for $key"; continue; fi
	read -r got want dev verdict < <(python3 - "$j1" "$j2" "$c1" "$c2" "$dt_ns" "$W_PER_CORE" <<'PY'
import sys
j1, j2, c1, c2, dt, w = map(float, sys.argv[1:])
got = (j2 - j1) / (dt / 1e9)
want = w * (c2 - c1) / dt
dev = (got - want) / want * 100 if want > 0 else float('inf')
print(f"{got:.3f} {want:.3f} {dev:+.2f} {'ok' if abs(dev) <= 5 else 'bad'}")
PY
	)
	check "$name: dynamic $got W vs simulated truth $want W ($dev %, class idle)" [ "$verdict" = ok ]
done
finish
