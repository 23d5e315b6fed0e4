#!/usr/bin/env bash
# Bad input is expected: a config with a typo, garbage in a sysfs counter, cgroups that
# vanish while the agent reads them, a full disk under the checkpoint. Each gets a clear
# message and the agent keeps going (or, for bad config at start, exits 2 with the reason).
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh

# 1. config typo: names file, line and column, exits 2
printf 'tick: 1s\nmeter:\n  ordr: [powercap]\n' > "$TMP/typo.yaml"
out=$("$WATTLET" run -c "$TMP/typo.yaml" 2>&1); rc=$?
check "config typo: exit 2 (got $rc)" [ $rc -eq 2 ]
echo "$out"
check "config typo: message names file:line:column" grep -q 'typo.yaml:3:3' <<<"$out"
check "config typo: suggests the key meant" grep -q '"meter.order"' <<<"$out"
out=$("$WATTLET" run --tick banana 2>&1); rc=$?
echo "$out"
check "bad flag value: exit 2" [ $rc -eq 2 ]
check "bad flag value: names the key" grep -q -- '--set tick' <<<"$out"

need_root "bad input at run time"
start_sim "$TMP/powercap" --interval-ms 100 --psys || { fail "raplsim did not start"; finish; exit; }
# 2. disk full under the checkpoint (a 64 KiB tmpfs, then filled)
mkdir -p "$TMP/full"
have_tmpfs=0
mount -t tmpfs -o size=64k tmpfs "$TMP/full" 2>/dev/null && have_tmpfs=1
start_agent "$TMP/agent.log" --powercap-root "$TMP/powercap" --tick 200ms \
	--checkpoint "$TMP/full/ledger.ckpt" --set ledger.checkpoint_interval=1s \
	|| { fail "agent not ready: $(tail "$TMP/agent.log")"; finish; exit; }
if [ $have_tmpfs = 1 ]; then
	wait_for 10 test -s "$TMP/full/ledger.ckpt"
	dd if=/dev/zero of="$TMP/full/filler" bs=4k count=100 2>/dev/null
	wait_for 15 bash -c "[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_checkpoint_errors_total/{print \$2}') -ge 2 ]"
	check "disk full: checkpoint errors counted, logged once with the reason" \
		bash -c "grep -c 'No space left' '$TMP/agent.log' | grep -qx 1"
	check "disk full: the last good checkpoint is intact" grep -q '^end ' "$TMP/full/ledger.ckpt"
	t0=$(metric wattlet_agent_ticks_total)
	check "disk full: the agent keeps measuring" wait_for 10 bash -c \
		"[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}') -gt $((t0 + 3)) ]"
	rm -f "$TMP/full/filler"
	check "disk space back: checkpoint written again" wait_for 10 grep -q "written again" "$TMP/agent.log"
else
	skip "disk full: cannot mount a tmpfs here"
fi

# 3. garbage in a sysfs counter: the sim's dram counter replaced by text
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
e0=$(metric wattlet_agent_meter_errors_total)
echo "garbage" > "$TMP/powercap/intel-rapl:0/intel-rapl:0:1/energy_uj"
check "garbage counter: counted as a meter error" wait_for 10 bash -c \
	"[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_meter_errors_total/{print \$2}') -gt ${e0:-0} ]"
check "garbage counter: agent still healthy" curl -sf -o /dev/null "$AGENT_URL/healthz"

# 4. cgroups appearing and vanishing during reads
root=$(cpu_root)
base="$root/wattlet-it-churn-$$"; mkdir -p "$base"; CGROUPS+=("$base")
( for i in $(seq 1 300); do mkdir -p "$base/c$i/d"; rmdir "$base/c$i/d" "$base/c$i"; done ) &
churn=$!
wait "$churn"
t0=$(metric wattlet_agent_ticks_total)
check "cgroup churn: agent keeps ticking" wait_for 10 bash -c \
	"[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_ticks_total/{print \$2}') -gt $((t0 + 2)) ]"
check "agent process alive after all bad input" kill -0 "$AGENT_PID"
mountpoint -q "$TMP/full" && umount "$TMP/full"
finish
