#!/usr/bin/env bash
# The agent's own per-collector timers (<collector>_metrics_timer_seconds) for one declared instance on THIS host:
# a cgroup with a busy loop held to a fifth of a CPU, 64 MiB memory limit, in a network namespace of its own, as
# CgroupV2AgentIT's "web" cgroup in the v2 guest. Prints the median of 6 uncached scrapes per collector, for the
# v1-vs-v2 comparison in docs/PERFORMANCE.md. v1 (hybrid) hosts only; run as root from the repository root after
# `mvn -q -DskipTests package`. Wrap in `flock /tmp/bench.lock`.
set -euo pipefail
jar=${JAR:-target/cmon.jar}
port=${PORT:-9171}
name=cmon-timers-$$
dir=$(mktemp -d)
controllers=(cpu cpuacct memory pids blkio)
for c in "${controllers[@]}"; do mkdir "/sys/fs/cgroup/$c/$name"; done
echo 67108864 > /sys/fs/cgroup/memory/$name/memory.limit_in_bytes
echo 20000 > /sys/fs/cgroup/cpu/$name/cpu.cfs_quota_us
echo 64 > /sys/fs/cgroup/pids/$name/pids.max
unshare -n sh -c 'ip link set lo up; while :; do :; done' &
busy=$!
for c in "${controllers[@]}"; do echo $busy > "/sys/fs/cgroup/$c/$name/cgroup.procs"; done
cleanup() {
    kill "$agent" "$busy" 2>/dev/null || true
    wait "$agent" "$busy" 2>/dev/null || true
    for c in "${controllers[@]}"; do rmdir "/sys/fs/cgroup/$c/$name" 2>/dev/null || true; done
    rm -rf "$dir"
}
agent=
trap cleanup EXIT
uuid=00000000-0000-4000-8000-0000000000a1
printf 'instances:\n  - {uuid: %s, pid: %s}\n' $uuid $busy > "$dir/instances.yaml"
printf 'server: {uuid: 00000000-0000-4000-8000-00000000c1c1, hostname: v1}\ninstancesFile: %s\n' \
    "$dir/instances.yaml" > "$dir/agent.yaml"
java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx192m -jar "$jar" agent --config "$dir/agent.yaml" \
    --listen 127.0.0.1:$port > "$dir/agent.log" 2>&1 &
agent=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null http://127.0.0.1:$port/v1/$uuid/metrics && break; sleep 0.1; done
for round in 1 2 3 4 5 6 7; do
    sleep 1.1 # past the counters' 1 s TTL: every collector runs
    curl -sf -o "$dir/$round.prom" http://127.0.0.1:$port/v1/$uuid/metrics
done
echo "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 2 3 4 5 6 7; do
    awk '/_metrics_cached_boolean 0/ { c[$1] = 1 } /_metrics_timer_seconds/ { t[$1] = $2 }
         END { for (k in t) { n = k; sub(/_metrics_timer_seconds/, "", n); if (c[n "_metrics_cached_boolean"]) print n, t[k] } }' \
        "$dir/$round.prom"
done | sort -k1,1 -k2,2g | awk '{ v[$1] = v[$1] " " $2; n[$1]++ }
    END { for (k in v) { split(substr(v[k], 2), a, " "); printf "%s %.3f ms (n=%d)\n", k, a[int((n[k] + 1) / 2)] * 1000, n[k] } }' | sort
