#!/usr/bin/env python3
# Run K's analysis (docs/PERFORMANCE.md): the per-scrape phases of an agent built with bench/load/scrape-trace.patch
# (a measurement aid, never merged into the agent), matched against its -Xlog:gc,safepoint log.
#   git apply bench/load/scrape-trace.patch   (then build; the agent dumps its trace on GET /_trace to
#                                              /tmp/cmon-scrape-trace.txt)
#   CMON_JAVA_OPTS='-Xlog:gc,safepoint:file=DIR/gc.log:uptime,timenanos,tags' KEEP_WORK=1 DURATION=180 \
#     flock /tmp/bench.lock bench/load/agent-realistic.sh      (curl the agent's /_trace before the window ends,
#                                                               copy the file to DIR/trace.txt)
#   bench/load/scrape-trace.py DIR [SKIP_SECONDS]
# The timenanos decoration is System.nanoTime()'s clock, so each GC pause is matched to the scrapes it overlaps.
import sys, re, statistics as st
d = sys.argv[1]
rows = []
with open(f"{d}/trace.txt") as f:
    next(f)
    for line in f:
        p = line.split()
        r = dict(zip("arrive submit workerStart collectEnd renderStart renderEnd onLoop sent ran bytes".split(), map(int, p[:10])))
        r['gzip'] = p[10] == 'true'; r['worker'] = p[11]; r['loop'] = p[12]; r['cpu'] = int(p[13])
        rows.append(r)
def pct(xs, q):
    xs = sorted(xs); 
    if not xs: return float('nan')
    return xs[min(len(xs)-1, int(q * len(xs)))]
def show(name, xs):
    xs = [x / 1e6 for x in xs]
    print(f"  {name:26s} n={len(xs):5d} p50={pct(xs,.5):7.3f} p90={pct(xs,.9):7.3f} p99={pct(xs,.99):7.3f} max={max(xs):8.3f} mean={st.mean(xs):7.3f} ms")
# skip the first 20 s of scrapes (warm-up before the window) if asked
skip = float(sys.argv[2]) if len(sys.argv) > 2 else 0
t0 = min(r['arrive'] for r in rows)
rows = [r for r in rows if r['arrive'] - t0 >= skip * 1e9]
un = [r for r in rows if r['submit'] and r['workerStart'] and r['renderStart']]
other = [r for r in rows if not (r['submit'] and r['workerStart'] and r['renderStart'])]
print(f"scrapes {len(rows)}, uncached with a batch {len(un)}, other {len(other)}; gzip {sum(r['gzip'] for r in rows)}; span {(max(r['arrive'] for r in rows)-min(r['arrive'] for r in rows))/1e9:.1f}s")
tot = [r['sent'] - r['arrive'] for r in rows]
show("total (all)", tot)
print(f"  share <=1ms {sum(t<=1e6 for t in tot)/len(tot)*100:.1f}%  <=3ms {sum(t<=3e6 for t in tot)/len(tot)*100:.1f}%")
ph = {
 'arrive->submit (loop)': lambda r: r['submit'] - r['arrive'],
 'submit->workerStart': lambda r: r['workerStart'] - r['submit'],
 'collect (worker)': lambda r: r['collectEnd'] - r['workerStart'],
 'collectEnd->renderStart': lambda r: r['renderStart'] - r['collectEnd'],
 'render': lambda r: r['renderEnd'] - r['renderStart'],
 'renderEnd->onLoop (hop)': lambda r: r['onLoop'] - r['renderEnd'],
 'onLoop->sent (write)': lambda r: r['sent'] - r['onLoop'],
 'worker cpu (collect+render)': lambda r: r['cpu'] if r['cpu'] < (r['renderEnd']-r['workerStart'])*1.2 else 0,
 'worker off-cpu': lambda r: (r['renderEnd'] - r['workerStart']) - r['cpu'] if 0 < r['cpu'] < (r['renderEnd']-r['workerStart'])*1.2 else 0,
 'total': lambda r: r['sent'] - r['arrive'],
}
for k, fn in ph.items(): show(k, [fn(r) for r in un])
if other:
    show("other total", [r['sent'] - r['arrive'] for r in other])
print("  ran collectors:", {k: sum(1 for r in un if r['ran'] == k) for k in sorted(set(r['ran'] for r in un))})
print("  body bytes p50", pct([r['bytes'] for r in un], .5))
# overlap: scrapes in flight at arrival
ev = sorted(rows, key=lambda r: r['arrive'])
import bisect
ends = []
conc = []
active = []
for r in ev:
    active = [e for e in active if e > r['arrive']]
    conc.append(len(active)); active.append(r['sent'])
print("  in flight at arrival:", {k: conc.count(k) for k in sorted(set(conc))})
# GC/safepoints
sp = []
for line in open(f"{d}/gc.log"):
    m = re.search(r"\[(\d+)ns\].*Safepoint \"(\w+)\".*Reaching safepoint: (\d+) ns,.*At safepoint: (\d+) ns, Total: (\d+) ns", line)
    if m:
        end = int(m.group(1)); tot_ns = int(m.group(5))
        sp.append((end - tot_ns, end, m.group(2), int(m.group(4))))
gcs = [l for l in open(f"{d}/gc.log") if 'Pause' in l]
tmin, tmax = min(r['arrive'] for r in rows), max(r['sent'] for r in rows)
spw = [s for s in sp if tmin <= s[1] <= tmax]
from collections import Counter
print(f"safepoints in span: {len(spw)}, total {sum(s[1]-s[0] for s in spw)/1e6:.1f} ms; by kind", Counter(s[2] for s in spw).most_common(6))
pa = [float(re.search(r"([\d.]+)ms$", l.strip()).group(1)) for l in gcs if re.search(r"([\d.]+)ms$", l.strip())]
kinds = Counter(re.search(r"Pause (\w+)", l).group(1) for l in gcs)
print(f"gc pauses (whole run): {len(pa)}, kinds {dict(kinds)}, p50 {pct(pa,.5):.2f} p99 {pct(pa,.99):.2f} max {max(pa) if pa else 0:.2f} ms")
def sp_overlap(r):
    return sum(max(0, min(e, r['sent']) - max(s, r['arrive'])) for s, e, _, _ in spw if e > r['arrive'] and s < r['sent'])
slow = sorted(rows, key=lambda r: r['sent'] - r['arrive'])
n = len(slow); top = slow[int(0.98 * n):]
print(f"slowest 2% ({len(top)} scrapes, >= {(top[0]['sent']-top[0]['arrive'])/1e6:.2f} ms): safepoint time inside them: mean {st.mean(sp_overlap(r) for r in top)/1e6:.2f} ms; share with any safepoint {sum(sp_overlap(r)>0 for r in top)/len(top)*100:.0f}%")
print(f"all scrapes: share overlapping a safepoint {sum(sp_overlap(r)>0 for r in rows)/n*100:.1f}%")
for r in slow[-12:]:
    if r in un:
        print("   slow:", {k: round(fn(r)/1e6, 2) for k, fn in ph.items()}, "sp", round(sp_overlap(r)/1e6, 2), "ran", r['ran'])
    else:
        print("   slow other: total", round((r['sent']-r['arrive'])/1e6,2), "sp", round(sp_overlap(r)/1e6,2))
# GC pauses inside the span, by kind, and the scrapes they touch
gp = []
for line in open(f"{d}/gc.log"):
    m = re.search(r"\[(\d+)ns\].*Pause (\w+).* ([\d.]+)ms$", line.strip())
    if m:
        end = int(m.group(1)); dur = float(m.group(3)) * 1e6
        gp.append((end - dur, end, m.group(2)))
gpw = [g for g in gp if tmin <= g[1] <= tmax]
for kind in ('Young', 'Full'):
    ks = [g for g in gpw if g[2] == kind]
    if not ks: continue
    hit = [r for r in rows if any(g[1] > r['arrive'] and g[0] < r['sent'] for g in ks)]
    print(f"{kind} GCs in span: {len(ks)}, pause total {sum(g[1]-g[0] for g in ks)/1e6:.0f} ms, p50 {pct([(g[1]-g[0])/1e6 for g in ks], .5):.2f} max {max((g[1]-g[0])/1e6 for g in ks):.1f} ms; scrapes overlapping one: {len(hit)} ({len(hit)/len(rows)*100:.1f}%), their p50 {pct([(r['sent']-r['arrive'])/1e6 for r in hit], .5):.2f} ms")
clean = [r for r in rows if not any(g[1] > r['arrive'] and g[0] < r['sent'] for g in gpw)]
show("total, scrapes without any GC", [r['sent'] - r['arrive'] for r in clean])
