#!/usr/bin/env bash
# State files as root: the agent never writes through a symlink someone planted.
# Symlinks to a victim file sit at the names the previous version wrote its temporary
# files to (<ckpt>.tmp, <ckpt>.pods.tmp) and at the checkpoint itself; after several
# checkpoints the victim is unchanged. Then one flipped bit in a row record: the restart
# keeps the node totals and the other rows, says what was lost, and keeps the file aside.
set -u
cd "$(dirname "$0")/../.."
source test/integration/lib.sh
need_root "state files"

start_sim "$TMP/powercap" --interval-ms 100 || { fail "raplsim did not start"; finish; exit; }
mkdir -p "$TMP/state"
ckpt="$TMP/state/ledger.ckpt"
victim="$TMP/victim"
echo "precious" > "$victim"
sum0=$(sha256sum < "$victim")
ln -s "$victim" "$ckpt.tmp"
ln -s "$victim" "$ckpt.pods.tmp"
ln -s "$victim" "$ckpt"
flags=(--powercap-root "$TMP/powercap" --tick 500ms --checkpoint "$ckpt" --set ledger.checkpoint_interval=1s)
writes() { curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_agent_checkpoint_writes_total/{print $2}'; }

start_agent "$TMP/a1.log" "${flags[@]}" || { fail "agent 1 not ready: $(tail "$TMP/a1.log")"; finish; exit; }
check "a symlink at the checkpoint is refused on load (not followed)" \
	grep -q "is a symbolic link (not followed)" "$TMP/a1.log"
check "three checkpoints written" wait_for 20 bash -c "[ \"\$(curl -sf $AGENT_URL/metrics | awk '/^wattlet_agent_checkpoint_writes_total/{print \$2}')\" -ge 3 ]"
echo "checkpoint writes: $(writes), errors: $(curl -sf "$AGENT_URL/metrics" | awk '/^wattlet_agent_checkpoint_errors_total/{print $2}')"
check "victim file unchanged" bash -c "[ \"\$(sha256sum < '$victim')\" = '$sum0' ]"
check "links at the old temporary names untouched" test -L "$ckpt.tmp" -a -L "$ckpt.pods.tmp"
check "checkpoints are regular files in format 2" \
	bash -c "for f in '$ckpt' '$ckpt.pods'; do [ -f \"\$f\" ] && [ ! -L \"\$f\" ] && head -1 \"\$f\" | grep -qx 'wattlet-ledger 2' || exit 1; done"
check "the planted checkpoint link was moved aside, still a link" bash -c "[ -L \"\$(ls -d '$ckpt'.bad-* | head -1)\" ]"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
check "victim unchanged after the exit checkpoint" bash -c "[ \"\$(sha256sum < '$victim')\" = '$sum0' ]"

# one flipped bit in the first row's first total
rows=$(grep -c '^row ' "$ckpt")
node_uj=$(awk '/^node /{s=0; for(i=3;i<NF;i++) s+=$i; print s}' "$ckpt")
python3 - "$ckpt" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.index(b'\nrow ') + 5          # cpu_ns field of the first row
i = b.index(b' ', i) + 1            # its first energy total
b[i] = ord('1') if b[i] == ord('0') else b[i] ^ 0x01 if b[i] in b'23456789' else ord('0')
open(p, 'wb').write(b)
PY
start_agent "$TMP/a2.log" "${flags[@]}" || { fail "agent 2 not ready: $(tail "$TMP/a2.log")"; finish; exit; }
grep "ledger:" "$TMP/a2.log" | head -3
check "damaged row reported with its line, the rest restored" \
	grep -q "1 record(s) fail their checksum (first at line 4): restored the node totals and $((rows - 1)) intact row(s), 1 row(s) lost" "$TMP/a2.log"
check "the damaged file is kept aside" bash -c "ls '$ckpt'.bad-* | grep -v -q '^$' && [ \$(ls -d '$ckpt'.bad-* | wc -l) -ge 2 ]"
node_j=$(python3 test/integration/promparse.py <(curl -sf "$AGENT_URL/metrics") wattlet_node_joules_total)
echo "node: checkpointed $node_uj uJ, after restart $node_j J"
check "node totals continue from the damaged checkpoint" \
	python3 -c "import sys; sys.exit(0 if float('$node_j') * 1e6 >= $node_uj > 0 else 1)"
finish
