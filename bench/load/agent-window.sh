#!/usr/bin/env bash
# Beside a realistic run (agent-realistic.sh, its stdout going to OUT): at the start of the measured window (once
# both Prometheus servers run) and at its end, each agent thread's CPU (user and system ticks from
# /proc/PID/task/TID/stat) and schedstat (ns on CPU, ns runnable waiting for a CPU, slices); with JFC set, a JFR
# recording of exactly that window (jcmd JFR.start / JFR.stop), written to DIR/window.jfr.
#   bench/load/agent-window.sh OUT DIR [JFC]
# Then: bench/load/agent-window.sh --report DIR   (per thread group: CPU s, user/system, waits; from the snapshots)
# The .jfc of docs/PERFORMANCE.md "Uncached scrape, step 4": the JDK's profile.jfc with Java samples every 1 ms and
# native ones every 5 ms:
#   sed -e '/"jdk.ExecutionSample"/,/<\/event>/ s|<setting name="period" control="[^"]*">[^<]*<|<setting name="period">1 ms<|' \
#       -e '/"jdk.NativeMethodSample"/,/<\/event>/ s|<setting name="period" control="[^"]*">[^<]*<|<setting name="period">5 ms<|' \
#       "$JAVA_HOME/lib/jfr/profile.jfc" >p1ms.jfc
set -euo pipefail

report() {
  local dir=$1
  python3 - "$dir" <<'EOF'
import sys, re, collections
d = sys.argv[1]
def load(name):
    out = {}
    for line in open(f"{d}/{name}"):
        if len(line.split()) != 7:
            continue  # a thread that ended while it was read
        tid, comm, ut, st, run, wait, slices = line.split()
        out[tid] = (comm, int(ut), int(st), int(run), int(wait), int(slices))
    return out
a, b = load("threads0"), load("threads1")
secs = (int(open(f"{d}/t1").read()) - int(open(f"{d}/t0").read())) / 1e9
hz = float(__import__("os").sysconf("SC_CLK_TCK"))
def group(comm):
    comm = re.sub(r"\d+$", "N", comm)
    return comm
g = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
for tid, v in b.items():
    u = a.get(tid, (v[0], 0, 0, 0, 0, 0))
    k = g[group(v[0])]
    k[0] += 1
    for i in range(1, 6):
        k[i] += v[i] - u[i]
print(f"window {secs:.1f} s")
print(f"{'thread group':32} {'n':>3} {'user s':>7} {'sys s':>7} {'on-cpu s':>9} {'wait s':>7} {'slices':>7}")
tot = [0] * 6
for name, k in sorted(g.items(), key=lambda kv: -kv[1][3]):
    if k[3] == 0 and k[1] + k[2] == 0:
        continue
    print(f"{name:32} {k[0]:3d} {k[1]/hz:7.2f} {k[2]/hz:7.2f} {k[3]/1e9:9.3f} {k[4]/1e9:7.3f} {k[5]:7d}")
    for i in range(6):
        tot[i] += k[i]
print(f"{'total':32} {tot[0]:3d} {tot[1]/hz:7.2f} {tot[2]/hz:7.2f} {tot[3]/1e9:9.3f} {tot[4]/1e9:7.3f} {tot[5]:7d}")
EOF
}

if [[ "${1:-}" == --report ]]; then report "$2"; exit 0; fi

out=$1; dir=$2; jfc=${3:-}
mkdir -p "$dir"
until grep -q '^# prometheus pids' "$out" 2>/dev/null; do sleep 0.5; done
pid=$(sed -n 's/^# agent pid \([0-9]*\):.*/\1/p' "$out")
snap() {
  local t tid
  for t in /proc/"$pid"/task/*; do
    tid=${t##*/}
    # fields after the ") " closing the name: utime is the 12th, stime the 13th
    echo "$tid $(tr ' ' _ <"$t/comm" 2>/dev/null) $(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12, $13}') $(cat "$t/schedstat" 2>/dev/null)"
  done
}
if [[ -n "$jfc" ]]; then jcmd "$pid" JFR.start name=window settings="$jfc" >"$dir/jfr-start.txt" 2>&1; fi
snap >"$dir/threads0"; date +%s%N >"$dir/t0"
until grep -q '^agent.window seconds' "$out" 2>/dev/null; do sleep 0.5; done
snap >"$dir/threads1"; date +%s%N >"$dir/t1"
if [[ -n "$jfc" ]]; then jcmd "$pid" JFR.stop name=window filename="$dir/window.jfr" >"$dir/jfr-stop.txt" 2>&1; fi
report "$dir" >"$dir/threads.txt"
echo done >"$dir/done"
