#!/usr/bin/env python3
"""Writes the seed inputs of the Jazzer fuzz tests (*FuzzTest) from the fixtures, examples/ and fresh keys.

Layout of an input (see src/test/java/io/cmon/testing/FuzzInput.java): one selector byte that picks the parser,
then the file(s), separated by form feeds. Jazzer replays these in every unit test run (regression mode) and starts
each fuzzing run from them. Run from the repository root: python3 bench/fuzz/make-seeds.py (needs openssl and
ssh-keygen); the keys are throwaway, made for this and nothing else.
"""
import os
import pathlib
import shutil
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "src/test/resources/fixtures"
RES = ROOT / "src/test/resources/io/cmon"
V1 = "cgroup-v1/sys/fs/cgroup/{}/docker/067a96de0d7e636bc5ca03c0de069ade3ca48d297560a3edf1713ba13368707c/{}"
V2 = "cgroup-v2/sys/fs/cgroup/system.slice/docker-9d3c1a7e5b2f48c6a0e1d7b3f5c9a2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5.scope/{}"
V2U = "cgroup-v2/sys/fs/cgroup/system.slice/docker-unlimited.scope/{}"


def fx(rel):
    return (FIX / rel).read_bytes()


def target(pkg, cls, method):
    d = RES / pkg / f"{cls}Inputs" / method
    if d.exists():
        for f in d.iterdir():
            if f.name.startswith("seed-"):
                f.unlink()
    d.mkdir(parents=True, exist_ok=True)
    return d


def write(d, name, selector, *parts):
    data = bytes([selector]) + b"\f".join(p if isinstance(p, bytes) else p.encode() for p in parts)
    (d / f"seed-{name}").write_bytes(data)


def kernel():
    d = target("agent/collect", "KernelParsersFuzzTest", "kernelFiles")
    seeds = {
        0: [[V1.format("cpu", "cpu.stat")], [V1.format("memory", "memory.stat")], [V2.format("memory.events")]],
        1: [[V1.format("cpuacct", "cpuacct.stat"), V1.format("cpu", "cpu.stat")]],
        2: [[V1.format("cpuacct", "cpuacct.usage_user"), V1.format("cpuacct", "cpuacct.usage_sys"),
             V1.format("cpu", "cpu.stat")]],
        3: [[V2.format("cpu.stat"), V2.format("cpu.pressure")],
            [V1.format("unified", "cpu.stat"), V1.format("unified", "cpu.pressure")]],
        4: [[V1.format("cpu", "cpu.cfs_quota_us"), V1.format("cpu", "cpu.cfs_period_us")]],
        5: [[V2.format("cpu.max")], [V2U.format("cpu.max")]],
        6: [[V1.format("memory", f) for f in ("memory.usage_in_bytes", "memory.limit_in_bytes",
                                               "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes")]],
        7: [[V2.format(f) for f in ("memory.current", "memory.max", "memory.swap.current", "memory.swap.max")],
            [V2U.format(f) for f in ("memory.current", "memory.max", "memory.swap.current", "memory.swap.max")]],
        8: [[V1.format("memory", f) for f in ("memory.stat", "memory.oom_control", "memory.failcnt")]],
        9: [[V2.format("memory.stat"), V2.format("memory.events")]],
        10: [["cgroup-v1/proc/meminfo"], ["cgroup-v2/proc/meminfo"], ["proc/meminfo"]],
        11: [[V1.format("unified", f)] for f in ("cpu.pressure", "memory.pressure", "io.pressure")],
        12: [["cgroup-v1/proc/8248/net/dev"], ["cgroup-v2/proc/4242/net/dev"], ["proc/net/dev"]],
        13: [["cgroup-v1/proc/8248/net/snmp"], ["cgroup-v1/proc/8248/net/netstat"]],
        14: [["cgroup-v1/proc/8248/net/snmp", "cgroup-v1/proc/8248/net/netstat"],
             ["cgroup-v2/proc/4242/net/snmp", "cgroup-v2/proc/4242/net/netstat"]],
        15: [["cgroup-v1/proc/8248/stat"], ["cgroup-v1/proc/8283/stat"], ["cgroup-v2/proc/4252/stat"]],
        16: [[V1.format("blkio", "blkio.throttle.io_service_bytes"), V1.format("blkio", "blkio.throttle.io_serviced")]],
        17: [[V2.format("io.stat")]],
        18: [[V1.format("pids", "pids.current"), V1.format("pids", "pids.max")],
             [V2.format("pids.current"), V2.format("pids.max")]],
        19: [["cgroup-v1/proc/self/mountinfo", "cgroup-v1/proc/8248/cgroup"],
             ["cgroup-v2/proc/self/mountinfo", "cgroup-v2/proc/4242/cgroup"]],
        20: [["cgroup-v1/proc/self/mountinfo", "cgroup-v1/proc/8248/cgroup"],
             ["cgroup-v2/proc/self/mountinfo", "cgroup-v2/proc/4242/cgroup"]],
        21: [["proc/spl/kstat/zfs/arcstats"]],
        22: [["proc/loadavg"]],
        23: [["proc/self/mountinfo"], ["cgroup-v1/proc/self/mountinfo"]],
        24: [["proc/stat"]],
    }
    for selector, inputs in seeds.items():
        for i, files in enumerate(inputs):
            parts = [fx(f) for f in files]
            if selector == 19:  # the second part is a cgroup path, as in /proc/<pid>/cgroup
                parts[1] = parts[1].split(b"\n")[0].split(b":", 2)[2]
            write(d, f"{selector:02d}-{i}", selector, *parts)


def route():
    d = target("proxy/route", "RouteParserFuzzTest", "requests")
    u = "6f1c2b8e-1a2b-4c3d-8e9f-0123456789ab"
    reqs = [
        ("GET", f"{u}.cmon.example.com:9163", "/metrics", ""),
        ("GET", f"{u.upper()}.CMON.Example.com.", "/metrics", ""),
        ("GET", "cmon.example.com", f"/v1/{u}/metrics", ""),
        ("GET", "cmon.example.com:9163", "/v1/discover", "groups=web,db&groups=a_b-c"),
        ("GET", "[::1]:9163", "/v1/http_sd", "groups=web%2Cdb"),
        ("GET", "127.0.0.1", "/v1/gz/discover", ""),
        ("POST", "cmon.example.com", "/v1/discover", ""),
        ("GET", "", "/_ping", ""),
        ("GET", "evil.example.com", "/v1/discover", "groups=%zz"),
    ]
    for i, r in enumerate(reqs):
        write(d, f"{i}", 0, *r)
    write(d, "nohost", 1, "GET", "", "/v1/discover", "")


def config():
    d = target("config", "ConfigFilesFuzzTest", "configFiles")
    for i, name in enumerate(["agent.yaml", "proxy.yaml", "accounts.yaml"]):
        write(d, name, i, (ROOT / "examples" / name).read_bytes())
    write(d, "agent-tls.yaml", 0, "listen: '[::1]:9164'\nserver: {uuid: 6f1c2b8e-1a2b-4c3d-8e9f-0123456789ab}\n"
          "tls: {cert: /nonexistent/a.pem, key: k.pem, clientCa: ca.pem}\nlabels: {owner: o}\n")
    # a NUL in a path: Path.of refused it with an exception that escaped config loading (fixed; a regression seed)
    write(d, "agent-nul-path.yaml", 0, 'tls: {cert: "a\\0b.pem", key: k.pem, clientCa: ca.pem}\n')
    write(d, "proxy-dns.yaml", 1, "tls: {cert: /etc/hostname, key: /etc/hostname}\naccounts: /etc/hostname\n"
          "auth: {mode: account-key}\nagents: {dns: 'SRV _cmon._tcp.example.com', dnsInterval: 1m30s}\n"
          "rateLimit: {rate: 1.5, burst: 3}\ntimeouts: {request: 500ms}\nmaxResponseBytes: 1GiB\n")


def declared():
    d = target("agent/runtime", "DeclaredFileFuzzTest", "instancesFile")
    for f in d.iterdir():
        f.unlink()
    (d / "seed-example").write_bytes((ROOT / "examples/instances.yaml").read_bytes())
    (d / "seed-full").write_bytes(b"instances:\n"
        b"  - {uuid: 6F1C2B8E-1A2B-4C3D-8E9F-0123456789AB, alias: db, owner: bob, groups: [web, db], pid: 42}\n"
        b"  - uuid: 00000000-0000-0000-0000-000000000001\n    cgroup: /lxc/db-1/\n    groups: 'a, b'\n"
        b"    rootfs: /var/lib/lxc/db-1/rootfs\n    brand: lxc\n    image: x\n")


def keys():
    d = target("pki", "KeysFuzzTest", "pemAndSshKeys")
    with tempfile.TemporaryDirectory() as t:
        def run(*cmd):
            subprocess.run(cmd, cwd=t, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ec.key", "-out", "ec.pem", "-days", "1", "-subj", "/CN=fuzz/OU=tenant")
        run("openssl", "genrsa", "-traditional", "-out", "rsa.key", "1024")
        run("openssl", "ec", "-in", "ec.key", "-out", "ec-trad.key")
        pathlib.Path(t, "index.txt").write_text("")
        pathlib.Path(t, "ca.cnf").write_text("[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ndefault_md=sha256\n"
                                             "default_crl_days=1\n")
        run("openssl", "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ec.key", "-cert", "ec.pem", "-out", "crl.pem")
        run("openssl", "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der")
        for kind, bits in (("ed25519", None), ("ecdsa", "256"), ("rsa", "1024")):
            run("ssh-keygen", "-q", "-t", kind, *(["-b", bits] if bits else []), "-N", "", "-C", "fuzz@cmon",
                "-f", f"id_{kind}")
        r = lambda n: pathlib.Path(t, n).read_bytes()
        write(d, "cert", 0, r("ec.pem"))
        write(d, "cert-chain", 0, r("ec.pem") + r("ec.pem"))
        write(d, "key-pkcs8", 1, r("ec.key"))
        write(d, "key-ec", 1, r("ec-trad.key"))
        write(d, "key-rsa", 1, r("rsa.key"))
        write(d, "crl-pem", 2, r("crl.pem"))
        write(d, "crl-der", 2, r("crl.der"))
        for kind in ("ed25519", "ecdsa", "rsa"):
            write(d, f"ssh-{kind}.pub", 3, r(f"id_{kind}.pub"))
            write(d, f"ssh-{kind}", 4, r(f"id_{kind}"))


if __name__ == "__main__":
    kernel()
    route()
    config()
    declared()
    keys()
