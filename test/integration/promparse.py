#!/usr/bin/env python3
"""Tiny Prometheus text parser for the integration tests (stdlib only).

Usage: promparse.py FILE NAME [label=value ...]   -> prints the sum of matching series
       promparse.py --conservation FILE           -> checks sum(workloads) == node per zone/mode
                                                     (lean series, without mode: per zone shown)
Values are summed with Decimal so microjoule-exact comparisons are exact.
"""
import re
import sys
from decimal import Decimal

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            m = LINE.match(line)
            if not m:
                raise SystemExit(f'unparseable line: {line!r}')
            labels = {k: v.encode().decode('unicode_escape') for k, v in LABEL.findall(m.group(3) or '')}
            out.append((m.group(1), labels, Decimal(m.group(4))))
    return out


def main():
    if sys.argv[1] == '--conservation':
        series = parse(sys.argv[2])
        node, work = {}, {}
        for name, lab, v in series:
            key = (lab.get('zone'), lab.get('mode'))
            if name == 'wattlet_node_joules_total':
                node[key] = node.get(key, Decimal(0)) + v
            elif name == 'wattlet_workload_joules_total':
                work[key] = work.get(key, Decimal(0)) + v
        if work and all(k[1] is None for k in work):
            # lean: one counter per zone (dynamic + idle), only the zones that do not
            # nest (package, dram, platform, gpu): compare with the node's mode sum
            per_zone = {}
            for (z, _), v in node.items():
                per_zone[(z, None)] = per_zone.get((z, None), Decimal(0)) + v
            node = {k: per_zone[k] for k in per_zone
                    if k in work or k[0] in ('package', 'dram', 'platform', 'gpu')}
        bad = [(k, node[k], work.get(k)) for k in node if work.get(k, Decimal(0)) != node[k]]
        for k, n, w in bad:
            print(f'conservation broken for zone={k[0]} mode={k[1]}: node {n} != workloads {w}')
        if not node:
            print('no wattlet_node_joules_total series')
            return 1
        return 1 if bad else 0
    series = parse(sys.argv[1])
    want = dict(a.split('=', 1) for a in sys.argv[3:])
    total, n = Decimal(0), 0
    for name, lab, v in series:
        if name == sys.argv[2] and all(lab.get(k) == x for k, x in want.items()):
            total += v
            n += 1
    if n == 0:
        return 2
    print(total)
    return 0


if __name__ == '__main__':
    sys.exit(main())
