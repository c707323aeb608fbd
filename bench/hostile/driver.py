#!/usr/bin/env python3
"""Hostile-request driver for the cmon proxy (bench/hostile/soak.sh starts the proxy and agent, then this).

Worker processes send a bounded number of requests, for a bounded time, to one proxy on loopback:

* keep-alive mTLS connections as a tenant (alice or bob), HTTP/1.1 requests pipelined in batches: garbage paths,
  hostile Host headers (overlong, non-ASCII, IPs, other tenants' uuids, server uuids, the endpoint, ports), odd
  methods, many and large headers, discovery with malformed groups, other tenants' instances by path and by Host;
* one request per new connection for what may end a connection: no client certificate, self-signed, expired,
  another CA's, an "odd" certificate the JDK cannot parse (alone and appended to a valid chain), headers and
  request lines over the limits, bad Content-Length, bad chunked bodies, junk instead of HTTP.

Every answer is checked: any 5xx is recorded with its request; a tenant must never see another tenant's instance
uuid in any answer; another tenant's instance must answer exactly what an unknown uuid answers (404, same body).
No answer within --timeout seconds counts as a hang. Prints one JSON document with counts and samples.
"""
import argparse
import collections
import http.client
import io
import json
import multiprocessing
import os
import random
import socket
import ssl
import string
import time

def rand_uuid(rng):
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class SharedFile:
    """http.client.HTTPResponse makes a new buffered file per response and closes it at the end of the body;
    pipelined answers need one shared buffer that outlives each response."""

    def __init__(self, fp):
        self.fp = Unclosed(fp)

    def makefile(self, *_args, **_kw):
        return self.fp


class Unclosed:
    def __init__(self, fp):
        self._fp = fp

    def __getattr__(self, name):
        return getattr(self._fp, name)

    def close(self):
        pass


class Ctx:
    def __init__(self, spec):
        self.spec = spec
        self.contexts = {}

    def context(self, name):
        """An SSL context presenting the named client certificate (None: no certificate)."""
        if name not in self.contexts:
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            c.load_verify_locations(self.spec["ca"])
            c.check_hostname = False  # we address the proxy as 127.0.0.1 with hostile Host headers
            if name is not None:
                cert, key = self.spec["certs"][name]
                c.load_cert_chain(cert, key)
            self.contexts[name] = c
        return self.contexts[name]


class Tally:
    def __init__(self):
        self.counts = collections.Counter()  # (category, kind, outcome) -> n
        self.samples = collections.defaultdict(list)  # problem -> [sample]
        self.requests = 0
        self.handshakes = 0

    def add(self, category, kind, outcome):
        self.counts[(category, kind, str(outcome))] += 1
        self.requests += 1

    def sample(self, problem, **detail):
        self.counts[("problem", problem, "")] += 1
        if len(self.samples[problem]) < 5:
            self.samples[problem].append(detail)


def connect(spec, ctx, cert_name, timeout, tally):
    raw = socket.create_connection(("127.0.0.1", spec["port"]), timeout=timeout)
    try:
        s = ctx.context(cert_name).wrap_socket(raw, server_hostname=spec["endpoint"])
    except Exception:
        raw.close()
        raise
    tally.handshakes += 1
    return s


# ---- request generation (keep-alive: each request is well-framed HTTP/1.1 so the connection survives)

PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%"
METHODS = ["GET"] * 14 + ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "get", "M-SEARCH"]


def garbage_path(rng):
    n = rng.choice([1, 5, 20, 100, 400, 1500])
    body = "".join(rng.choices(PATH_CHARS, k=n))
    if rng.random() < 0.3:
        body = "".join(f"%{b:02X}" for b in rng.randbytes(min(n, 100))) + body
    prefix = rng.choice(["/", "/v1/", "/v1/gz/", "//", "/../", "/v1/%2e%2e/", "/%2F", "/v1/discover/", ""])
    p = prefix + body
    return p if p.startswith("/") else "/" + p


def groups_query(rng):
    # invalid names stay valid in a request line (no raw space): a malformed line is a one-shot attack, not this.
    # At most ~3 KB: Vert.x answers 414 and closes above its 4096-byte request line.
    fixed = ["web", "db", "a_b-c", "", "a%20b", "a+b", "%zz", "%2C", "\u00e9", "x" * 10]
    names = []
    for _ in range(rng.choice([0, 1, 2, 5, 100, 101, 150])):
        r = rng.random()
        if r < 0.02:
            names.append("x" * 101)
        elif r < 0.8:
            names.append(rng.choice(fixed))
        else:
            names.append("".join(rng.choices(PATH_CHARS, k=rng.randrange(1, 12))))
    q = "groups=" + ",".join(names)
    return rng.choice([q, q + "&" + q, "groups", "groups=", "%", "groups=%", "x=1&" + q, "groups=a%2Cb"])


def host_header(rng, spec, tenant, other, kind):
    ep = spec["endpoint"]
    port = rng.choice(["", "", f":{spec['port']}", ":0", ":99999", ":", ":abc"])
    if kind == "own":
        u = rng.choice(spec["tenants"][tenant]["instances"])
    elif kind == "other":
        u = rng.choice(spec["tenants"][other]["instances"])
    elif kind == "server":
        u = spec["server_uuid"]
    else:
        u = rand_uuid(rng)
    if rng.random() < 0.2:
        u = u.upper()
    choice = rng.random()
    if kind in ("own", "other", "server", "unknown"):
        return f"{u}.{ep}{rng.choice(['', '.'])}{port}"
    if choice < 0.3:
        return ep + port
    if choice < 0.45:
        return rng.choice(["127.0.0.1", "[::1]", "10.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]", "256.1.1.1"]) + port
    if choice < 0.6:
        return rng.choice(["\u00fcn\u00efc\u00f6d\u00e9." + ep, "\U0001F600." + ep, "xn--n3h." + ep,
                           "\u0661\u0662\u0663.local"])
    if choice < 0.75:
        return rng.choice(["a", "x.", "."]) * rng.choice([100, 500, 1500])
    if choice < 0.9:
        return rand_uuid(rng) + "." + rng.choice(["evil.com", "localhost", ep + ".evil.com"])
    return "".join(rng.choices(PATH_CHARS, k=rng.randrange(0, 60)))


def ep_host(spec, rng):
    return spec["endpoint"] + rng.choice(["", f":{spec['port']}"])


def keepalive_request(rng, spec, tenant, other):
    """One request as bytes, and what it is (kind) and what to check ('cross': must equal the unknown answer)."""
    method = rng.choice(METHODS)
    r = rng.random()
    check = None
    host = host_header(rng, spec, tenant, other, "endpoint")
    if r < 0.06:
        kind, path = "own-path", f"/v1/{rng.choice(spec['tenants'][tenant]['instances'])}/metrics"
    elif r < 0.16:
        kind, path, check = "other-path", f"/v1/{rng.choice(spec['tenants'][other]['instances'])}/metrics", "cross"
    elif r < 0.20:
        kind, path = "unknown-path", f"/v1/{rand_uuid(rng)}/metrics"
    elif r < 0.22:
        kind, path = "server-path", f"/v1/{spec['server_uuid']}/metrics"
    elif r < 0.32:
        kind, path = "discover", rng.choice(["/v1/discover", "/v1/http_sd"]) + "?" + groups_query(rng)
    elif r < 0.34:
        kind, path = "gz-discover", "/v1/gz/discover"
    elif r < 0.50:
        hk = rng.choice(["own", "other", "other", "unknown", "server"])
        kind, path = f"host-{hk}", "/metrics"
        host = host_header(rng, spec, tenant, other, hk)
        if hk == "other":
            check = "cross"
    elif r < 0.52:
        kind, path = "ping", "/_ping"
    elif r < 0.62:
        kind, path = "hostile-host", rng.choice(["/v1/discover", "/metrics", "/v1/gz/discover"])
    else:
        kind, path = "garbage-path", garbage_path(rng)
    if check == "cross":
        # another tenant's instance, asked for plainly: the answer must be the unknown uuid's, byte for byte
        method = "GET"
        if kind == "other-path":
            host = ep_host(spec, rng)
    headers = [f"Host: {host}"]
    extra = rng.random()
    if extra < 0.1:
        headers += [f"X-{i}-{rng.randrange(10**6)}: {'v' * rng.randrange(0, 40)}" for i in range(rng.choice([20, 60]))]
    elif extra < 0.15:
        headers.append("X-Big: " + "b" * rng.choice([1000, 3000]))
    elif extra < 0.2:
        headers += ["Accept: */*", "Accept-Encoding: gzip, br, zstd, \u00e9", "Cookie: " + "c=1; " * 100,
                    "Forwarded: for=10.0.0.1;host=evil", "X-Forwarded-For: 10.0.0.1"]
    if method in ("POST", "PUT", "PATCH"):
        headers.append("Content-Length: 0")
    raw = f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    return raw.encode("utf-8", "surrogateescape"), method, kind, check


# ---- one request per connection: attacks that may close the connection

def single_attack(rng, spec):
    ep = spec["endpoint"]
    ok = f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\n\r\n".encode()
    attacks = [
        ("cert-none", None, ok),
        ("cert-self-signed", "self_signed", ok),
        ("cert-expired", "expired", ok),
        ("cert-other-ca", "other_ca", ok),
        ("cert-odd", "odd", ok),
        ("cert-valid-chain+odd", "alice_plus_odd", ok),
        ("header-huge", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nX-Huge: {'h' * 100_000}\r\n\r\n".encode()),
        ("headers-many", "alice", (f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\n"
                                   + "".join(f"X-{i}: v\r\n" for i in range(3000)) + "\r\n").encode()),
        ("uri-huge", "alice", f"GET /{'u' * 70_000} HTTP/1.1\r\nHost: {ep}\r\n\r\n".encode()),
        ("host-huge", "alice", f"GET /metrics HTTP/1.1\r\nHost: {'h' * 20_000}.{ep}\r\n\r\n".encode()),
        ("host-missing", "alice", b"GET /v1/discover HTTP/1.1\r\n\r\n"),
        ("host-twice", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nHost: evil\r\n\r\n".encode()),
        ("cl-not-a-number", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nContent-Length: abc\r\n\r\n".encode()),
        ("cl-negative", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nContent-Length: -5\r\n\r\n".encode()),
        ("cl-conflict", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nContent-Length: 3\r\n"
                                 f"Content-Length: 5\r\n\r\nabcde".encode()),
        ("cl-huge", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nContent-Length: 99999999999999\r\n\r\nab".encode()),
        ("cl-and-chunked", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nContent-Length: 4\r\n"
                                    f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode()),
        ("chunked-bad-size", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      f"zz\r\nabc\r\n0\r\n\r\n".encode()),
        ("chunked-ok-on-get", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       f"5\r\nhello\r\n0\r\n\r\n".encode()),
        ("chunked-huge-size", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       f"FFFFFFFFFFFFFFFF\r\nabc\r\n".encode()),
        ("te-unknown", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nTransfer-Encoding: gzip, zz\r\n\r\n".encode()),
        ("junk-binary", "alice", bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 512]))) + b"\r\n\r\n"),
        ("junk-line", "alice", b"HELLO\r\n\r\n"),
        ("http09", "alice", b"GET /v1/discover\r\n\r\n"),
        ("version-bad", "alice", f"GET /v1/discover HTTP/9.9\r\nHost: {ep}\r\n\r\n".encode()),
        ("absolute-uri", "alice", f"GET https://{ep}/v1/discover HTTP/1.1\r\nHost: evil\r\n\r\n".encode()),
        ("connect", "alice", f"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n".encode()),
        ("header-no-colon", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nnocolon\r\n\r\n".encode()),
        ("header-space-name", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nX Y: z\r\n\r\n".encode()),
        ("header-ctl", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nX: a\x00b\x7f\r\n\r\n".encode()),
        ("lf-only", "alice", f"GET /v1/discover HTTP/1.1\nHost: {ep}\n\n".encode()),
        ("expect-100", "alice", f"POST /v1/discover HTTP/1.1\r\nHost: {ep}\r\nExpect: 100-continue\r\n"
                                f"Content-Length: 10\r\n\r\n".encode()),
        ("upgrade-h2c", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                 f"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n".encode()),
        ("upgrade-websocket", "alice", f"GET /v1/discover HTTP/1.1\r\nHost: {ep}\r\nConnection: Upgrade\r\n"
                                       f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                       f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()),
    ]
    return rng.choice(attacks)


def read_response(fp, method):
    resp = http.client.HTTPResponse(SharedFile(fp), method=method)
    resp.begin()
    body = resp.read()
    return resp.status, body, resp.getheader("Connection", "")


def check_answer(tally, spec, tenant, status, body, kind, request, category):
    if status >= 500:
        tally.sample("5xx", category=category, kind=kind, status=status, request=request[:300].decode("latin-1"),
                     body=body[:200].decode("latin-1"))
    if tenant is not None:
        lowered = body.lower()
        for other, t in spec["tenants"].items():
            if other == tenant:
                continue
            for u in t["instances"]:
                if u.encode() in lowered:
                    tally.sample("cross-tenant-leak", tenant=tenant, kind=kind, status=status,
                                 request=request[:300].decode("latin-1"), body=body[:300].decode("latin-1"))


def keepalive_round(rng, spec, ctx, tally, timeout, pipeline, batches, deadline, budget):
    tenant, other = rng.choice([("alice", "bob"), ("bob", "alice")])
    try:
        s = connect(spec, ctx, tenant, timeout, tally)
    except (OSError, ssl.SSLError) as e:
        tally.add("keepalive", "connect", type(e).__name__)
        return
    fp = s.makefile("rb")
    previous = None
    try:
        for _ in range(batches):
            if time.monotonic() > deadline or tally.requests >= budget:
                return
            reqs = [keepalive_request(rng, spec, tenant, other) for _ in range(pipeline)]
            try:
                s.sendall(b"".join(r[0] for r in reqs))
            except OSError as e:
                tally.add("keepalive", "send", type(e).__name__)
                return
            for i, (raw, method, kind, check) in enumerate(reqs):
                try:
                    status, body, conn = read_response(fp, method)
                except socket.timeout:
                    tally.add("keepalive", kind, "timeout")
                    tally.sample("timeout", category="keepalive", kind=kind, request=raw[:300].decode("latin-1"))
                    return
                except (http.client.HTTPException, OSError, ValueError) as e:
                    # the server closed the connection: the rest of this batch was never answered. The close
                    # follows the previous answer: count it against that request, which is what caused it.
                    tally.add("keepalive", kind, "closed:" + type(e).__name__)
                    tally.counts[("keepalive", "unanswered-after-close", "")] += len(reqs) - i - 1
                    cause = f"{previous[0]} {previous[1]}" if previous else "none (first of the connection)"
                    tally.counts[("close-after", cause, "")] += 1
                    if previous and len(tally.samples["close-after:" + cause]) < 2:
                        tally.samples["close-after:" + cause].append({"request": previous[2][:300].decode("latin-1")})
                    return

                tally.add("keepalive", kind, status)
                previous = (kind, status, raw)
                check_answer(tally, spec, tenant, status, body, kind, raw, "keepalive")
                if check == "cross" and (status, body) != (404, spec["not_found_body"].encode()):
                    tally.sample("cross-tenant-distinguishable", tenant=tenant, kind=kind, status=status,
                                 body=body[:200].decode("latin-1"), request=raw[:200].decode("latin-1"))
                if conn.lower() == "close":
                    tally.counts[("keepalive", "unanswered-after-close", "")] += len(reqs) - i - 1
                    return
    finally:
        try:
            fp.close()
            s.close()
        except OSError:
            pass


def single_round(rng, spec, ctx, tally, timeout):
    kind, cert, raw = single_attack(rng, spec)
    try:
        s = connect(spec, ctx, cert, timeout, tally)
    except ssl.SSLError as e:
        tally.add("single", kind, "tls-refused:" + (e.reason or type(e).__name__))
        return
    except OSError as e:
        tally.add("single", kind, "connect:" + type(e).__name__)
        return
    fp = s.makefile("rb")
    try:
        try:
            s.sendall(raw)
        except OSError as e:
            tally.add("single", kind, "send:" + type(e).__name__)
            return
        try:
            status, body, _ = read_response(fp, raw.split(b" ", 1)[0].decode("latin-1"))
        except socket.timeout:
            tally.add("single", kind, "timeout")
            tally.sample("timeout", category="single", kind=kind, request=raw[:200].decode("latin-1"))
            return
        except (http.client.HTTPException, OSError, ValueError) as e:
            tally.add("single", kind, "closed:" + type(e).__name__)
            return
        tally.add("single", kind, status)
        tenant = {"alice": "alice", "alice_plus_odd": "alice"}.get(cert)
        check_answer(tally, spec, tenant, status, body, kind, raw, "single")
    finally:
        try:
            fp.close()
            s.close()
        except OSError:
            pass


def baseline_not_found(spec, timeout):
    """What alice gets for a uuid nobody has: another tenant's instance must get exactly this."""
    tally = Tally()
    s = connect(spec, Ctx(spec), "alice", timeout, tally)
    fp = s.makefile("rb")
    s.sendall(f"GET /v1/{rand_uuid(random.Random(7))}/metrics HTTP/1.1\r\nHost: {spec['endpoint']}\r\n\r\n".encode())
    status, body, _ = read_response(fp, "GET")
    s.close()
    if status != 404:
        raise SystemExit(f"baseline: an unknown uuid answered {status}, expected 404")
    return body.decode("latin-1")


def worker(args):
    spec, seed, budget, seconds, timeout, single_timeout, pipeline, batches, single_ratio = args
    rng = random.Random(seed)
    ctx = Ctx(spec)
    tally = Tally()
    deadline = time.monotonic() + seconds
    while tally.requests < budget and time.monotonic() < deadline:
        if rng.random() < single_ratio:
            single_round(rng, spec, ctx, tally, single_timeout)
        else:
            keepalive_round(rng, spec, ctx, tally, timeout, pipeline, batches, deadline, budget)
    return {"counts": [[list(k), v] for k, v in tally.counts.items()], "samples": tally.samples,
            "requests": tally.requests, "handshakes": tally.handshakes}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="JSON written by soak.sh: port, endpoint, ca, certs, tenants")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=10, help="per read; no answer in time counts as a hang")
    ap.add_argument("--single-timeout", type=float, default=3,
                    help="the same for one-shot attacks: a request announcing a body it never sends waits this long")
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--batches", type=int, default=30, help="batches per keep-alive connection")
    ap.add_argument("--single-ratio", type=float, default=0.3,
                    help="share of rounds that are one-shot attacks (a keep-alive round is pipeline x batches "
                         "requests, a one-shot round one: 0.3 makes about 0.1%% of the requests, ~900 per 10^6)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    spec["not_found_body"] = baseline_not_found(spec, a.timeout)
    start = time.monotonic()
    per = a.requests // a.workers
    jobs = [(spec, a.seed * 1000 + i, per, a.seconds, a.timeout, a.single_timeout, a.pipeline, a.batches,
             a.single_ratio)
            for i in range(a.workers)]
    with multiprocessing.Pool(a.workers) as pool:
        results = pool.map(worker, jobs)
    elapsed = time.monotonic() - start
    counts = collections.Counter()
    samples = collections.defaultdict(list)
    for r in results:
        for k, v in r["counts"]:
            counts[tuple(k)] += v
        for p, lst in r["samples"].items():
            samples[p].extend(lst[: 5 - len(samples[p])])
    samples = {p: lst for p, lst in samples.items() if not p.startswith("close-after:")
               or counts.get(("close-after", p[len("close-after:"):], ""), 0) >= 100}
    total = sum(r["requests"] for r in results)
    by_status = collections.Counter()
    for (cat, kind, outcome), v in counts.items():
        if cat in ("keepalive", "single") and kind != "unanswered-after-close":
            by_status[outcome] += v
    out = {
        "requests": total,
        "seconds": round(elapsed, 1),
        "rate_per_s": round(total / elapsed, 1),
        "handshakes": sum(r["handshakes"] for r in results),
        "by_status": dict(sorted(by_status.items())),
        "fivexx": sum(v for k, v in by_status.items() if k.isdigit() and int(k) >= 500),
        "timeouts": by_status.get("timeout", 0),
        "problems": {k[1]: v for k, v in counts.items() if k[0] == "problem"},
        "unanswered_after_close": counts.get(("keepalive", "unanswered-after-close", ""), 0),
        "closes_after": {k[1]: v for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if k[0] == "close-after"},
        "not_found_body": spec["not_found_body"],
        "by_kind": {f"{c}/{k}": {} for (c, k, _o) in counts
                    if c in ("keepalive", "single") and k != "unanswered-after-close"},
        "samples": samples,
    }
    for (c, k, o), v in counts.items():
        if c in ("keepalive", "single") and k != "unanswered-after-close":
            out["by_kind"][f"{c}/{k}"][o] = v
    print(json.dumps(out, indent=1, sort_keys=False))


if __name__ == "__main__":
    main()
