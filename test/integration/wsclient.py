"""wsclient.py - a minimal WebSocket client (RFC 6455) on the Python standard library, for
the /ui tests and benchmark (it_ui.sh, bench/bench.sh) and to drive headless Chromium
through the DevTools protocol. Python's stdlib has no WebSocket module; this is the part
of the protocol those tests need: the handshake (with a subprotocol and extra headers),
masked client frames, unfragmented or fragmented server frames, close frames with a code
and reason. Not a general-purpose client.
"""
import base64
import json
import os
import socket
import struct
import time
import urllib.request


class WsError(Exception):
    pass


class Ws:
    def __init__(self, sock, status, headers):
        self.sock = sock
        self.status = status      # the HTTP status of the handshake answer (101 = open)
        self.headers = headers    # its headers, lower-case names
        self.buf = b""
        self.close_code = None
        self.close_reason = ""

    # -- handshake --------------------------------------------------------------------
    @classmethod
    def connect(cls, host, port, path, protocol=None, headers=None, timeout=10.0):
        sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
               "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if protocol:
            req.append(f"Sec-WebSocket-Protocol: {protocol}")
        for k, v in (headers or {}).items():
            req.append(f"{k}: {v}")
        sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        ws = cls(sock, status, hdrs)
        ws.buf = rest
        if status != 101:
            ws.body = rest
        return ws

    # -- frames -----------------------------------------------------------------------
    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsError("connection closed")
            self.buf += chunk

    def _take(self, n):
        self._need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """One frame: (fin, opcode, payload)."""
        b0, b1 = self._take(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._take(8))[0]
        mask = self._take(4) if b1 & 0x80 else None
        payload = self._take(n)
        if mask:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self):
        """The next message: (opcode, payload); answers pings; a close frame sets
        close_code/close_reason and returns (8, payload)."""
        parts, op = [], None
        while True:
            fin, opcode, payload = self.recv_frame()
            if opcode == 9:
                self.send(payload, opcode=10)
                continue
            if opcode == 10:
                continue
            if opcode == 8:
                if len(payload) >= 2:
                    self.close_code = struct.unpack(">H", payload[:2])[0]
                    self.close_reason = payload[2:].decode("utf-8", "replace")
                return 8, payload
            if opcode != 0:
                op = opcode
            parts.append(payload)
            if fin:
                return op, b"".join(parts)

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))

    def close(self):
        try:
            self.send(struct.pack(">H", 1000), opcode=8)
        except OSError:
            pass
        self.sock.close()


class Cdp:
    """The Chrome DevTools protocol over one page target's WebSocket."""

    def __init__(self, devtools_port, timeout=30.0):
        deadline = time.monotonic() + timeout
        target = None
        while target is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list",
                                            timeout=5) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                target = pages[0]["webSocketDebuggerUrl"] if pages else None
            except OSError:
                target = None
            if target is None:
                if time.monotonic() > deadline:
                    raise WsError("no DevTools page target")
                time.sleep(0.2)
        path = "/" + target.split("/", 3)[3]
        self.ws = Ws.connect("127.0.0.1", devtools_port, path, timeout=timeout)
        if self.ws.status != 101:
            raise WsError(f"DevTools handshake answered {self.ws.status}")
        self.next_id = 0
        self.events = []  # notifications (messages without an id), in order; see drain()

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            op, payload = self.ws.recv()
            if op == 8:
                raise WsError("DevTools closed the connection")
            msg = json.loads(payload)
            if "id" not in msg:
                if len(self.events) < 10000:
                    self.events.append(msg)
                continue
            if msg.get("id") == mid:
                if "error" in msg:
                    raise WsError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise WsError(f"evaluate {expr!r}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")
