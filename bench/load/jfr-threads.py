#!/usr/bin/env python3
"""A JFR recording's CPU samples by thread: for each thread group (trailing digits folded), the share of samples,
the hottest top frames (self time) and the hottest frames anywhere on the stack (inclusive: a method counted once
per sample), optionally only frames matching a pattern; jdk.NativeMethodSample (threads in native code: file and
socket syscalls, epoll) the same way, apart. Allocation samples (jdk.ObjectAllocationSample, weighted by bytes)
by thread group and allocating frame.

    bench/load/jfr-threads.py recording.jfr [--top N] [--inclusive REGEX] [--thread REGEX]
"""
import argparse
import collections
import json
import re
import subprocess


def events(jfr, kind):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", kind, jfr],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]


def group(thread):
    name = (thread or {}).get("javaName") or (thread or {}).get("osName") or "?"
    return re.sub(r"\d+$", "N", name)


def frame_name(f):
    m = f["method"]
    return f'{m["type"]["name"]}.{m["name"]}'


def summarise(evs, thread_key, args, weight=lambda e: 1, label="samples"):
    by_group = collections.Counter()
    self_t = collections.defaultdict(collections.Counter)
    incl = collections.defaultdict(collections.Counter)
    total = 0
    for e in evs:
        v = e["values"]
        g = group(v.get(thread_key))
        if args.thread and not re.search(args.thread, g):
            continue
        w = weight(v)
        total += w
        by_group[g] += w
        frames = (v.get("stackTrace") or {}).get("frames") or []
        if frames:
            self_t[g][frame_name(frames[0])] += w
        seen = set()
        for f in frames:
            n = frame_name(f)
            if n in seen:
                continue
            seen.add(n)
            if args.inclusive is None or re.search(args.inclusive, n):
                incl[g][n] += w
    print(f"{label}: {total}")
    for g, n in by_group.most_common():
        if n < total * 0.005:
            continue
        print(f"\n== {g}: {n} ({100 * n / total:.1f} %)")
        print("  self:")
        for f, c in self_t[g].most_common(args.top):
            print(f"    {100 * c / n:5.1f} %  {f}")
        print("  inclusive:")
        for f, c in incl[g].most_common(args.top):
            print(f"    {100 * c / n:5.1f} %  {f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("jfr")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--inclusive")
    p.add_argument("--thread")
    p.add_argument("--kinds", default="exec,native,alloc")
    args = p.parse_args()
    kinds = args.kinds.split(",")
    if "exec" in kinds:
        print("#### jdk.ExecutionSample (threads running Java code)")
        summarise(events(args.jfr, "jdk.ExecutionSample"), "sampledThread", args)
    if "native" in kinds:
        print("\n#### jdk.NativeMethodSample (threads in native code, blocked or not)")
        summarise(events(args.jfr, "jdk.NativeMethodSample"), "sampledThread", args)
    if "alloc" in kinds:
        print("\n#### jdk.ObjectAllocationSample (bytes, weighted)")
        summarise(events(args.jfr, "jdk.ObjectAllocationSample"), "eventThread", args,
                  weight=lambda v: int(v.get("weight") or 0), label="bytes")


if __name__ == "__main__":
    main()
