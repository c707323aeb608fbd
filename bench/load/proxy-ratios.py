#!/usr/bin/env python3
"""Ratios of a proxy-load.sh run, per round: reads the script's output (a file or stdin), prints one line per round.

    bench/load/proxy-ratios.py run.txt

cmon/nginx = req/s of front.cmon / front.nginx; added p50/p99 = a path's client latency minus that of front.agent in
the same round (the front's own cost); cpu = server CPU per request, cmon / nginx; proxy<=1ms = share of requests
the proxy's own histogram answered within 1 ms; wire added p99 = the same difference of the front's answer times
on the loopback wire (runs with WIRE=1), free of wrk's own scheduling on shared cores.
"""
import re
import sys
from collections import defaultdict

rounds = defaultdict(dict)
block = 0  # paced rounds all say round=1: the script's "# paced" header lines tell them apart
for line in (open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin):
    if line.startswith('# paced'):
        block += 1
    m = re.match(r'^(agent\.direct|front\.agent|front\.cmon|front\.nginx)(\.paced(\d+)ms)? round=(\d+) (.*)$', line)
    if not m:
        continue
    fields = dict(kv.split('=', 1) for kv in m.group(5).split() if '=' in kv)
    key = ('paced %s ms' % m.group(3)) if m.group(3) else 'saturated'
    paced = m.group(3) is not None
    rounds[(key, block if paced else int(m.group(4)), paced)][m.group(1)] = fields

seen = defaultdict(int)
print('%-14s %7s %7s %8s %6s %16s %16s %12s %6s %10s %18s' % (
    'round', 'cmon/s', 'nginx/s', 'cmon/ngx', 'cpu×', 'added p99 c/n', 'added p50 c/n', 'p99 c/n/fa', 'front', 'proxy≤1ms',
    'wire added p99 c/n'))
for (key, r, paced), t in rounds.items():
    if not all(k in t for k in ('front.agent', 'front.cmon', 'front.nginx')):
        continue
    seen[key] += 1
    fa, c, n = t['front.agent'], t['front.cmon'], t['front.nginx']
    f = lambda d, k: float(d[k])
    label = '%s #%d' % (key, seen[key]) if paced else 'saturated %d' % r
    print('%-14s %7.0f %7.0f %8.2f %6.2f %16s %16s %12s %6s %10s %18s' % (
        label, f(c, 'rps'), f(n, 'rps'), f(c, 'rps') / f(n, 'rps'),
        f(c, 'server_cpu_us_per_req') / f(n, 'server_cpu_us_per_req'),
        '%+.2f / %+.2f' % (f(c, 'p99_ms') - f(fa, 'p99_ms'), f(n, 'p99_ms') - f(fa, 'p99_ms')),
        '%+.2f / %+.2f' % (f(c, 'p50_ms') - f(fa, 'p50_ms'), f(n, 'p50_ms') - f(fa, 'p50_ms')),
        '%.2f/%.2f/%.2f' % (f(c, 'p99_ms'), f(n, 'p99_ms'), f(fa, 'p99_ms')),
        '%.0f' % f(fa, 'rps'), c.get('proxy_le1ms', '-'),
        '%+.2f / %+.2f' % (f(c, 'wire_front_p99_ms') - f(fa, 'wire_front_p99_ms'),
                           f(n, 'wire_front_p99_ms') - f(fa, 'wire_front_p99_ms'))
        if all('wire_front_p99_ms' in d for d in (fa, c, n)) else '-'))
