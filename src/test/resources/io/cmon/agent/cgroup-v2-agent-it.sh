# Runs inside the cgroup v2 guest of CgroupV2AgentIT (CgroupV2Host): creates cgroups in the layouts of Docker's
# systemd and cgroupfs drivers and two plain ones, gives each some activity, starts the agent jar once with them
# declared, scrapes it with curl over the guest's loopback, and copies the kernel's files of those cgroups and
# processes to out/fixtures. CgroupV2AgentIT prepends JAVA, JAR, CDS (a class data archive of the agent, made on
# the host: it halves the agent's start under TCG) and the cgroup ids; it asserts on what lands in out/. Keep JVM
# starts to one: under TCG the agent takes 40–60 s to start even with the archive.
set -eu
OUT="$V2HOST_SHARE/out"
mkdir -p "$OUT"
CG=/sys/fs/cgroup
PORT=9100
step() { read -r up idle < /proc/uptime; echo "${up} $*"; }

# a cgroup whose children get every controller
parent() {
    mkdir -p "$1"
    for c in $(cat "$1/cgroup.controllers"); do echo "+$c" > "$1/cgroup.subtree_control"; done
}
# starts "$@" in the background inside cgroup $1
inside() {
    cg=$1; shift
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" &
}
await_file() {
    i=0
    until [ -e "$1" ]; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "timed out waiting for $1"; exit 1; }
        sleep 0.1
    done
}

# the agent runs on vCPU 0, the workloads on vCPU 1; this shell too, once the agent is up
step "kernel $(uname -r), controllers: $(cat $CG/cgroup.subtree_control)"
parent $CG/system.slice
parent $CG/docker
parent $CG/cmon-it
WEB=$CG/system.slice/docker-$WEB_ID.scope   # Docker's systemd cgroup driver
CGFS=$CG/docker/$CGFS_ID                     # Docker's cgroupfs driver
OOM=$CG/cmon-it/oom
SWAP=$CG/cmon-it/swap
mkdir $WEB $CGFS $OOM $SWAP $CG/cmon-it/agent

cat > "$OUT/agent.yaml" <<YAML
listen: 127.0.0.1:$PORT
server: {uuid: 00000000-0000-4000-8000-00000000c2c2, hostname: v2host}
instancesFile: $OUT/instances.yaml
YAML
# the agent first, on vCPU 0 in a cgroup of its own, while the guest is still quiet: the busy loops below all
# run on vCPU 1
inside $CG/cmon-it/agent taskset -c 0 "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData \
    -XX:SharedArchiveFile="$CDS" -Xmx192m -jar "$JAR" agent --config "$OUT/agent.yaml" --listen 127.0.0.1:$PORT \
    > "$OUT/agent.log" 2>&1
AGENT=$!

# web: limits, then in its own network namespace a loopback transfer, a refused connection, 8 MiB on tmpfs,
# direct I/O on the virtio disk (its busy loop comes once the agent is up)
echo 67108864 > $WEB/memory.max
echo 33554432 > $WEB/memory.swap.max
echo 64 > $WEB/pids.max
echo "20000 100000" > $WEB/cpu.max
inside $WEB taskset -c 1 unshare -n sh -c '
    ip link set lo up
    socat -u TCP4-LISTEN:9000 OPEN:/dev/null &
    until grep -qE ":2328 [0-9A-F]+:0000 0A" /proc/net/tcp; do sleep 0.05; done
    head -c 1000000 /dev/zero | socat -u STDIN TCP4:127.0.0.1:9000
    wait
    socat -u OPEN:/dev/null TCP4:127.0.0.1:9001 2>/dev/null || true
    head -c 8388608 /dev/zero > /tmp/web-tmpfs
    dd if=/dev/zero of=/dev/vda bs=64k count=40 oflag=direct 2>/dev/null
    dd if=/dev/vda of=/dev/null bs=64k count=40 iflag=direct 2>/dev/null
    touch "$0/web-ready"
    exec sleep 600' "$OUT"
WEB_PID=$!

# oom: a sleeper, and a shell that grows a 64 MiB string under a 32 MiB limit without swap
echo 33554432 > $OOM/memory.max
echo 0 > $OOM/memory.swap.max
inside $OOM sleep 600
inside $OOM taskset -c 1 sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived ${#x}'
HOG=$!

# swap: 48 MiB of tmpfs under a 32 MiB memory limit: the kernel has to swap part of it out
echo 33554432 > $SWAP/memory.max
echo 67108864 > $SWAP/memory.swap.max
inside $SWAP taskset -c 1 sh -c 'head -c 50331648 /dev/zero > /tmp/swap-fill; exec sleep 600'

await_file "$OUT/web-ready"
wait $HOG && echo "the hog was not OOM-killed" || step "hog ended: $?"

i=0
until curl -sf -o /dev/null http://127.0.0.1:$PORT/_ping; do
    i=$((i + 1)); [ $i -lt 900 ] || { echo "agent not ready"; cat "$OUT/agent.log"; exit 1; }
    kill -0 $AGENT 2>/dev/null || { echo "agent exited"; cat "$OUT/agent.log"; exit 1; }
    sleep 0.2
done
step "agent ready"
taskset -pc 0 $$ > /dev/null

# the busy loops, all on vCPU 1: web's held to a fifth of a CPU by cpu.max, and in cgfs two loops that each wait
# for the other (PSI cpu some)
inside $WEB taskset -c 1 sh -c 'while :; do :; done'
inside $CGFS taskset -c 1 sh -c 'while :; do :; done'
CGFS_PID=$!
inside $CGFS taskset -c 1 sh -c 'while :; do :; done'
step "workloads started: web $WEB_PID, cgfs $CGFS_PID"

cat > "$OUT/instances.yaml.new" <<YAML
instances:
  - {uuid: 00000000-0000-4000-8000-0000000000a1, alias: web, pid: $WEB_PID}
  - {uuid: 00000000-0000-4000-8000-0000000000a2, alias: cgfs, cgroup: /docker/$CGFS_ID}
  - {uuid: 00000000-0000-4000-8000-0000000000a3, alias: oom, cgroup: /cmon-it/oom}
  - {uuid: 00000000-0000-4000-8000-0000000000a4, alias: swap, cgroup: /cmon-it/swap}
YAML
mv "$OUT/instances.yaml.new" "$OUT/instances.yaml"
i=0
listed() {
    for n in 1 2 3 4; do
        case "$1" in *0000000000a$n*) ;; *) return 1 ;; esac
    done
}
until listed "$(curl -s http://127.0.0.1:$PORT/v1/instances)"; do
    i=$((i + 1)); [ $i -lt 300 ] || { echo "agent did not list the 4 instances"; exit 1; }
    sleep 0.2
done
step "instances listed"
curl -sf -o "$OUT/instances.json" http://127.0.0.1:$PORT/v1/instances

# three rounds of scrapes, one curl each (an exec costs ~0.5 s under TCG), more than a counter TTL (1 s) apart;
# the last round's <collector>_metrics_timer_seconds are uncached collection costs
for round in 1 2 3; do
    args=""
    for a in 1:web 2:cgfs 3:oom 4:swap; do
        args="$args -o $OUT/${a#*:}-$round.prom http://127.0.0.1:$PORT/v1/00000000-0000-4000-8000-0000000000a${a%%:*}/metrics"
    done
    curl -s -w "$round %{url_effective} %{http_code} %{time_total}\n" $args \
        -o "$OUT/gz-$round.prom" http://127.0.0.1:$PORT/v1/gz/metrics >> "$OUT/curl-times.txt"
    step "scrape round $round"
    [ $round = 3 ] || sleep 1
done

# the kernel's own files, for the fixtures: every readable file of each test cgroup, the processes' files. One awk
# reads them all (an exec per file takes minutes under TCG, and the shell's read builtin reads byte by byte) into
# tmpfs, then one cp to the share.
FIX=/tmp/fixtures
FILES=""
add() { # files to copy (their directory made already); an empty one stays empty
    for f in "$@"; do
        case "${f##*/}" in
            cgroup.kill|memory.reclaim) continue ;; # write-only
        esac
        [ -f "$f" ] || continue
        : > "$FIX$f"
        FILES="$FILES $f"
    done
}
copy_dir() { mkdir -p "$FIX$1"; add "$1"/*; }
copy_proc() { mkdir -p "$FIX/proc/$1"; add /proc/$1/cgroup /proc/$1/stat; }
for d in $WEB $CGFS $OOM $SWAP; do copy_dir $d; done
for pid in $(cat $WEB/cgroup.procs $CGFS/cgroup.procs $OOM/cgroup.procs $SWAP/cgroup.procs); do copy_proc $pid; done
mkdir -p "$FIX/proc/$WEB_PID/net" "$FIX/proc/self" "$FIX/proc/pressure" "$FIX/proc/sys/kernel"
add /proc/$WEB_PID/net/dev /proc/$WEB_PID/net/snmp /proc/$WEB_PID/net/netstat
add /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io /proc/meminfo /proc/partitions
# the virtio disk's name by device number, as io.stat gives it (254:0)
mkdir -p "$FIX/sys/dev/block/254:0"
add /sys/dev/block/254:0/uevent /sys/dev/block/254:0/dev
# shellcheck disable=SC2086
awk -v fix="$FIX" 'FNR == 1 { if (out != "") close(out); out = fix FILENAME } { print > out }' $FILES
# /proc/self/mountinfo of cat: the guest's mount table as every process here sees it
cat /proc/self/mountinfo > "$FIX/proc/self/mountinfo"
# a sysctl file answers a read past offset 0 with EOF: read it with cat's one big read
cat /proc/sys/kernel/pid_max > "$FIX/proc/sys/kernel/pid_max"
cat > "$FIX/capture.properties" <<PROPS
# written by CgroupV2AgentIT's guest script (src/test/resources/io/cmon/agent/cgroup-v2-agent-it.sh)
kernel=$(uname -r)
kernelVersion=$(uname -v)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
webPid=$WEB_PID
webId=$WEB_ID
cgfsPid=$CGFS_PID
cgfsId=$CGFS_ID
PROPS
cp -r "$FIX" "$OUT/fixtures"
step "fixtures captured"

# more uncached scrapes of web alone, for the collectors' own timers (docs/PERFORMANCE.md)
for round in 4 5 6 7; do
    sleep 1
    curl -s -o "$OUT/web-$round.prom" http://127.0.0.1:$PORT/v1/00000000-0000-4000-8000-0000000000a1/metrics
done
step "timing rounds"

kill $AGENT
wait $AGENT || true
step "agent stopped"
