#!/usr/bin/env python3
"""A Redfish BMC for it_redfish.sh, made of sushy-tools' own parts (PyPI sushy-tools).

Serves a mockup directory with sushy-tools' static emulator handler
(sushy_tools.static.main.RequestHandler: GET /redfish/v1/<path> answers
<mockup>/<path>/index.json, read again on every request, so the test changes the
readings by rewriting the files), over HTTPS, behind HTTP basic auth checked by
sushy-tools' own emulator code (sushy_tools.emulator.auth_basic: an Apache-style
htpasswd file with bcrypt digests). What sushy-static itself lacks is added here and
nothing else: basic auth, concurrent connections, and fault injection for the test,
read from <mockup>/_fault on every request:
    (empty or absent)  normal answers
    500                HTTP 500 for every request
    delay S            sleep S seconds, then answer normally (a slow BMC: timeouts)
Every reading served (EnvironmentMetrics or Power with a 200 answer) is appended to the
served log as "<CLOCK_MONOTONIC ns> <path> <watts> <kWh or ->" when the file was read,
so the test can integrate exactly what was served.

usage: redfish_bmc.py --port P --mockup DIR --cert C --key K --htpasswd F --served LOG
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time
from http import server as http_server

from sushy_tools import error as sushy_error
from sushy_tools.emulator import auth_basic
from sushy_tools.static import main as sushy_static

LOCK = threading.Lock()


def fault(mockup):
    try:
        with open(os.path.join(mockup, '_fault')) as f:
            return f.read().strip()
    except OSError:
        return ''


class Handler(sushy_static.RequestHandler):
    args = None

    def log_message(self, fmt, *a):  # quiet: the agent's log is what the test reads
        pass

    def _log_request(self, method):
        pass

    def _authorised(self):
        env = {}
        h = self.headers.get('Authorization')
        if h is not None:
            env['HTTP_AUTHORIZATION'] = h
        try:
            user, pw = auth_basic.parse_token(auth_basic.parse_header(env))
            auth_basic.authenticate(self.args.htpasswd, user, pw)
            return True
        except sushy_error.FishyError as e:
            body = json.dumps({'error': {'message': str(e), 'code': e.code}}).encode()
            self.send_response(e.code)
            for k, v in getattr(e, 'headers', {}).items():
                self.send_header(k, v)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return False

    def do_GET(self):
        f = fault(self.args.mockup)
        if f.startswith('delay '):  # the client may have given up: nothing is logged
            time.sleep(float(f.split()[1]))
        elif f == '500':
            self.send_error(500, 'injected by the test')
            return
        if not self._authorised():
            return
        path = self.path.rstrip('/')
        t = time.monotonic_ns()  # when the reading was taken (the file read)
        fpath = os.path.join(sushy_static.REDFISH_MOCKUP_FILES,
                             path.replace('/redfish/v1', '').lstrip('/'), 'index.json')
        try:
            with open(fpath) as fh:
                doc = fh.read()
        except OSError:
            doc = None
        super().do_GET()  # sushy-static reads and serves the same file
        if doc is None or f or not (path.endswith('/EnvironmentMetrics') or
                                    path.endswith('/Power')):
            return
        try:
            d = json.loads(doc)
            if path.endswith('/EnvironmentMetrics'):
                w = d['PowerWatts']['Reading']
                k = d.get('EnergykWh', {}).get('Reading', '-')
            else:
                w = d['PowerControl'][0]['PowerConsumedWatts']
                k = '-'
            if not isinstance(w, (int, float)):
                return
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return  # garbage or a missing reading: nothing was served as a reading
        with LOCK, open(self.args.served, 'a') as out:
            out.write('%d %s %r %s\n' % (t, path, w, k))


def main():
    p = argparse.ArgumentParser('redfish_bmc')
    for a in ('--mockup', '--cert', '--key', '--htpasswd', '--served'):
        p.add_argument(a, required=True)
    p.add_argument('--port', type=int, required=True)
    args = p.parse_args()
    sushy_static.REDFISH_MOCKUP_FILES = os.path.realpath(args.mockup)
    Handler.args = args
    auth_basic.validate_auth_file(args.htpasswd)
    httpd = http_server.ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print('redfish_bmc: sushy-tools static handler on https://127.0.0.1:%d' % args.port,
          flush=True)
    httpd.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
