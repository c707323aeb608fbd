#!/usr/bin/env python3
"""Answer times of a server as seen on the loopback wire, from a tcpdump capture.

    bench/load/wire-latency.py CAPTURE.pcap PORT [PREFIX]
    -> "PREFIX_n=N PREFIX_p50_ms=… PREFIX_p90_ms=… PREFIX_p99_ms=… PREFIX_max_ms=…"

For every connection to PORT: from the first data segment of a request (client -> PORT) to the last data segment
of its answer (PORT -> client) before the connection's next request. Keep-alive, no pipelining (wrk, nginx and the
cmon proxy all wait for an answer before the next request), so this is the time the server took, free of the load
generator's own scheduling: on a machine whose cores the load generator shares, wrk can pick an answer up late,
and the capture shows when it was really sent. Works for TLS connections too (records, not bytes, are counted).
Needs tcpdump (to read the capture).
"""
import re
import subprocess
import sys

capture, port = sys.argv[1], sys.argv[2]
prefix = sys.argv[3] if len(sys.argv) > 3 else 'wire'
text = subprocess.run(['tcpdump', '-r', capture, '-nn', '-tt', 'tcp port ' + port],
                      capture_output=True, text=True, check=True).stdout
line = re.compile(r'([\d.]+) IP6? (\S+)\.(\d+) > (\S+)\.(\d+): .* length (\d+)')
open_requests = {}  # client port -> [request time, last answer segment time or None]
times = []
for row in text.splitlines():
    m = line.match(row)
    if not m or int(m.group(6)) == 0:
        continue
    t, src, dst = float(m.group(1)), m.group(3), m.group(5)
    if dst == port:
        pending = open_requests.get(src)
        if pending is not None and pending[1] is None:
            continue  # more segments of the same request
        if pending is not None:
            times.append((pending[1] - pending[0]) * 1000)
        open_requests[src] = [t, None]
    elif src == port and dst in open_requests:
        open_requests[dst][1] = t
times.sort()
n = len(times)
if n == 0:
    print(prefix + '_n=0')
else:
    pick = lambda q: times[min(n - 1, int(n * q))]
    print('%s_n=%d %s_p50_ms=%.3f %s_p90_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f' % (
        prefix, n, prefix, pick(0.5), prefix, pick(0.9), prefix, pick(0.99), prefix, times[-1]))
