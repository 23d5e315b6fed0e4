"""ws_load.py HOST PORT N SECONDS READYFILE - N /ui WebSocket clients (wsclient.py) that
read every frame for SECONDS, for it_ui.sh and bench/bench.sh. Writes "open K" to
READYFILE once the handshakes are done, then prints one JSON line: clients opened,
refused (not 101, or closed with a reason), frames per client (min/max), the first and
last tick seen, and clients the server closed."""
import json
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402

host, port, n, secs, ready = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                              float(sys.argv[4]), sys.argv[5])
clients, refused, reasons = [], 0, []
for _ in range(n):
    try:
        w = wsclient.Ws.connect(host, port, "/ui/ws", "wattlet-ui.v1")
    except OSError as e:
        refused += 1
        reasons.append(str(e))
        continue
    if w.status != 101:
        refused += 1
        reasons.append(f"HTTP {w.status}")
        w.sock.close()
        continue
    clients.append(w)
with open(ready + ".tmp", "w") as f:
    f.write(f"open {len(clients)}\n")
os.rename(ready + ".tmp", ready)

frames = {id(w): 0 for w in clients}
first_tick, last_tick, closed = None, None, set()
end = time.monotonic() + secs
while time.monotonic() < end:
    live = [w for w in clients if id(w) not in closed]
    if not live:
        break
    pending = any(w.buf for w in live)  # frames already read into a client's buffer
    r, _, _ = select.select([w.sock for w in live], [], [], 0 if pending else 0.2)
    for w in live:
        if w.sock not in r and not w.buf:
            continue
        try:
            w.sock.settimeout(5)
            op, payload = w.recv()
        except (OSError, wsclient.WsError):
            closed.add(id(w))
            continue
        if op == 8:
            closed.add(id(w))
            reasons.append(f"closed {w.close_code} {w.close_reason}")
            continue
        frames[id(w)] += 1
        tick = json.loads(payload)["tick"]
        first_tick = tick if first_tick is None else min(first_tick, tick)
        last_tick = tick if last_tick is None else max(last_tick, tick)
for w in clients:
    w.close()
counts = list(frames.values()) or [0]
print(json.dumps({"clients": n, "opened": len(clients), "refused": refused,
                  "frames_min": min(counts), "frames_max": max(counts),
                  "first_tick": first_tick, "last_tick": last_tick,
                  "closed_by_server": len(closed), "reasons": reasons[:5]}))
