#!/usr/bin/env python3
"""The measuring side of bench/fleet/run.sh.

Three processes over one window, all on loopback, all bounded in count and time (processes, not threads: a
thread decoding a 1,000-container discovery answer held Python's GIL, and a /-/healthy timed in another thread of
the same process waited for it):
  - the proxy's CPU from /proc/PID/stat, once a second: mean % of one core over the idle part, max 1-s burst;
  - GET /-/healthy on the admin listener every --healthy-ms (one keep-alive connection, a new one after errors):
    count, p99, max, failures;
  - after --idle-seconds: GET /v1/discover as the big tenant (mTLS), --discover-requests of them paced evenly over
    --discover-seconds (one poll cycle), after one untimed-apart first request (the one that fills the proxy's
    discovery cache after its start: reported as discover_first_ms), each answer checked for --discover-expect containers; besides the
    client's times (which include this Python client's TLS reads), the proxy's own duration histogram for the
    route (cmon_proxy_request_duration_seconds{route="discover"} from /metrics, before and after): how many of the
    requests the proxy answered in <= 2.5 ms and <= 10 ms; then the same series with curl (discover_curl_*), a C
    client on one keep-alive connection, whose times do not include Python's own reading of the 320 KB answers.
Prints key=value lines.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import ssl
import time


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def discover_buckets(admin):
    """The proxy's cumulative discover histogram: {upper bound: count} (one plain GET of /metrics)."""
    host, port = admin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("cmon_proxy_request_duration_seconds_bucket{") and 'route="discover"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[le] = float(line.rsplit(" ", 1)[1])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--admin", required=True, help="host:port of the admin listener")
    p.add_argument("--idle-seconds", type=float, default=60)
    p.add_argument("--healthy-ms", type=float, default=100)
    p.add_argument("--tenant", help="host:port of the tenant listener (no discovery without it)")
    p.add_argument("--cert"), p.add_argument("--key"), p.add_argument("--ca")
    p.add_argument("--endpoint", default="localhost")
    p.add_argument("--discover-requests", type=int, default=60)
    p.add_argument("--discover-seconds", type=float, default=30)
    p.add_argument("--discover-expect", type=int, default=-1)
    a = p.parse_args()

    hz = os.sysconf("SC_CLK_TCK")
    total = a.idle_seconds + (a.discover_seconds if a.tenant else 0)
    start = time.monotonic()
    stop = start + total
    out = {}

    def cpu():
        samples = []
        t0, c0 = time.monotonic(), cpu_ticks(a.pid)
        first_t, first_c = t0, c0
        while True:
            time.sleep(1)
            t1, c1 = time.monotonic(), cpu_ticks(a.pid)
            samples.append((c1 - c0) / hz / (t1 - t0) * 100)
            t0, c0 = t1, c1
            if t1 >= start + a.idle_seconds:
                break
        out["idle_cpu_pct"] = round((c0 - first_c) / hz / (t0 - first_t) * 100, 2)
        out["idle_cpu_max_1s_pct"] = round(max(samples), 1)

    def healthy():
        host, port = a.admin.rsplit(":", 1)
        conn = None
        try:  # untimed: the connection, and http.client's first response (it imports its header parser then)
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/-/healthy")
            conn.getresponse().read()
        except Exception:
            conn = None
        times, idle_times, failures = [], [], 0
        n = 0
        while True:
            due = start + n * a.healthy_ms / 1000
            if due >= stop:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            n += 1
            t = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", "/-/healthy")
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    failures += 1
            except Exception:
                failures += 1
                conn = None
            ms = (time.monotonic() - t) * 1000
            times.append(ms)
            if ms >= max(times):
                out["healthy_max_at_s"] = round(t - start, 1)
            if t < start + a.idle_seconds:
                idle_times.append(ms)
        out["healthy_n"] = len(times)
        out["healthy_failures"] = failures
        out["healthy_p99_ms"] = round(pct(times, 0.99), 2)
        out["healthy_max_ms"] = round(max(times), 2)
        out["healthy_idle_max_ms"] = round(max(idle_times), 2) if idle_times else "nan"

    def discover():
        host, port = a.tenant.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=a.ca)
        ctx.load_cert_chain(a.cert, a.key)
        time.sleep(max(0, start + a.idle_seconds - time.monotonic()))
        conn = None
        try:  # the connection's TLS handshake, not counted: Prometheus keeps its discovery connection open
            conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
            conn.request("GET", "/_ping", headers={"Host": f"{a.endpoint}:{port}"})
            conn.getresponse().read()
        except Exception:
            conn = None
        if conn is not None:  # the first discovery after the start builds the cached answer: timed apart
            t = time.monotonic()
            try:
                conn.request("GET", "/v1/discover", headers={"Host": f"{a.endpoint}:{port}"})
                conn.getresponse().read()
                out["discover_first_ms"] = round((time.monotonic() - t) * 1000, 2)
            except Exception as e:
                out["discover_first_ms"] = type(e).__name__
                conn = None
        before = discover_buckets(a.admin)
        begin = time.monotonic()
        times, bad, counts = [], 0, set()
        for k in range(a.discover_requests):
            due = begin + k * a.discover_seconds / a.discover_requests
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            t = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
                conn.request("GET", "/v1/discover", headers={"Host": f"{a.endpoint}:{port}"})
                r = conn.getresponse()
                body = r.read()
                ms = (time.monotonic() - t) * 1000
                if r.status != 200:
                    bad += 1
                    counts.add(f"HTTP{r.status}")
                else:
                    counts.add(len(json.loads(body)["containers"]))
                    out["discover_bytes"] = len(body)
                times.append(ms)
            except Exception as e:
                bad += 1
                counts.add(type(e).__name__)
                conn = None
        after = discover_buckets(a.admin)
        delta = {le: after[le] - before.get(le, 0) for le in after}
        out["discover_server_n"] = int(delta.get("+Inf", 0))
        out["discover_server_le_2_5ms"] = int(delta.get("0.0025", 0))
        out["discover_server_le_10ms"] = int(delta.get("0.01", 0))
        out["discover_n"] = len(times)
        out["discover_p50_ms"] = round(pct(times, 0.5), 2)
        out["discover_p99_ms"] = round(pct(times, 0.99), 2)
        out["discover_max_ms"] = round(max(times), 2) if times else "nan"
        out["discover_failures"] = bad
        out["discover_containers"] = "/".join(str(c) for c in sorted(counts, key=str))
        if a.discover_expect >= 0:
            out["discover_expected"] = a.discover_expect
        discover_curl(host, port)

    def discover_curl(host, port):
        """The same series again with curl (C, OpenSSL): one keep-alive connection, paced by curl's --rate, the
        first transfer (its TLS handshake) left out. Python's reads of a 320 KB answer cost milliseconds of their
        own, so this is the client-side figure closer to Prometheus' HTTP client (which then decodes the JSON)."""
        import subprocess
        import tempfile
        per_minute = max(1, round(a.discover_requests * 60 / a.discover_seconds))
        url = f"https://{a.endpoint}:{port}/v1/discover"
        with tempfile.NamedTemporaryFile("w", suffix=".curl") as cfg:
            for _ in range(a.discover_requests + 1):
                cfg.write(f'url = "{url}"\noutput = "/dev/null"\n')
            cfg.flush()
            try:
                done = subprocess.run(
                    ["curl", "-sS", "--cacert", a.ca, "--cert", a.cert, "--key", a.key,
                     "--resolve", f"{a.endpoint}:{port}:{host}", "--rate", f"{per_minute}/m", "-K", cfg.name,
                     "-w", "%{http_code} %{time_total}\n"],
                    capture_output=True, text=True, timeout=a.discover_seconds * 3 + 60)
                lines = done.stdout.split()
            except (OSError, subprocess.TimeoutExpired) as e:
                out["discover_curl_error"] = type(e).__name__
                return
        pairs = list(zip(lines[0::2], lines[1::2]))[1:]
        times = [float(t) * 1000 for code, t in pairs if code == "200"]
        out["discover_curl_n"] = len(times)
        out["discover_curl_failures"] = len(pairs) - len(times)
        out["discover_curl_p50_ms"] = round(pct(times, 0.5), 2)
        out["discover_curl_p99_ms"] = round(pct(times, 0.99), 2)
        out["discover_curl_max_ms"] = round(max(times), 2) if times else "nan"

    results = multiprocessing.Queue()

    def run(task):  # in a child process: its own interpreter and GIL
        task()
        results.put(dict(out))

    tasks = [cpu, healthy] + ([discover] if a.tenant else [])
    procs = [multiprocessing.Process(target=run, args=(t,)) for t in tasks]
    for p in procs:
        p.start()
    for _ in procs:
        out.update(results.get(timeout=total + 600))
    for p in procs:
        p.join()
    for k in sorted(out):
        print(f"{k}={out[k]}")


if __name__ == "__main__":
    main()
