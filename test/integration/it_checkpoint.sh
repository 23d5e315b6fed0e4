#!/usr/bin/env bash
# Totals survive a crash: the agent is SIGKILLed mid-run (no chance to save at exit) and
# restarted on the same checkpoint; its node and workload totals continue from the last
# checkpoint instead of starting again from zero.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "checkpoint"

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
cg=$(cg_create "wattlet-it-ckpt-$$/busy")
cg_run "$cg" stress-ng --cpu 1 --cpu-load 30 --timeout 120s --quiet
ckpt="$TMP/ledger.ckpt"
flags=(--powercap-root "$TMP/powercap" --tick 500ms --checkpoint "$ckpt" --set ledger.checkpoint_interval=1s)
node_j() { python3 test/integration/promparse.py <(curl -sf "$AGENT_URL/metrics") wattlet_node_joules_total; }
work_j() { python3 test/integration/promparse.py <(curl -sf "$AGENT_URL/metrics") wattlet_workload_joules_total workload="/wattlet-it-ckpt-$$/busy"; }

start_agent "$TMP/a1.log" "${flags[@]}" || { fail "agent 1 not ready: $(tail "$TMP/a1.log")"; finish; exit; }
# run until at least two checkpoints exist
wait_for 20 bash -c "[ \$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_checkpoint_writes_total/{print \$2}') -ge 2 ]"
check "checkpoint written in format 2 (checksummed records)" \
	bash -c "[ -s '$ckpt' ] && head -1 '$ckpt' | grep -qx 'wattlet-ledger 2'"
cp "$ckpt" "$TMP/at-kill.ckpt"
before_node=$(node_j); before_work=$(work_j)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
# what the last checkpoint held at the moment of the kill
# (fields 3..NF-1: the last field is the record's checksum)
ck_node=$(awk '/^node /{s=0; for(i=3;i<NF;i++) s+=$i; printf "%.6f", s/1e6}' "$ckpt")

start_agent "$TMP/a2.log" "${flags[@]}" || { fail "agent 2 not ready: $(tail "$TMP/a2.log")"; finish; exit; }
check "restart logs the restored totals" grep -q "totals restored" "$TMP/a2.log"
after_node=$(node_j); after_work=$(work_j)
echo "node joules: before kill $before_node, in checkpoint $ck_node, after restart $after_node"
echo "workload joules: before kill $before_work, after restart $after_work"
check "node totals continue from the checkpoint (>= checkpointed value)" \
	python3 -c "import sys; sys.exit(0 if float('$after_node') >= float('$ck_node') > 0 else 1)"
# At most one checkpoint interval (1 s) of energy is lost: the sim draws < 60 W here.
check "at most one checkpoint interval of energy lost across the crash" \
	python3 -c "import sys; sys.exit(0 if float('$after_node') >= float('$before_node') - 60 * 1.5 else 1)"
check "workload totals continue after restart" \
	python3 -c "import sys; sys.exit(0 if float('${after_work:-0}') >= 0.5 * float('${before_work:-1}') > 0 else 1)"

# a clean stop writes a last checkpoint and leaves no temporary file behind
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
check "no temporary checkpoint files left after a clean stop" \
	bash -c "[ ! -e '$ckpt.tmp' ] && ! ls -a '$TMP' | grep -q '\.tmp-'"

# a corrupt checkpoint: the agent starts from zero, says why, keeps the bad file
echo "garbage" > "$ckpt"
start_agent "$TMP/a3.log" "${flags[@]}" || { fail "agent 3 not ready"; finish; exit; }
check "corrupt checkpoint: clear error and the file kept as .bad-<time>" \
	bash -c "grep -q 'not a wattlet ledger' '$TMP/a3.log' && grep -qx garbage '$ckpt'.bad-*"
finish
