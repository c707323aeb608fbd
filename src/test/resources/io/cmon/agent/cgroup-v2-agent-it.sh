# Runs inside the cgroup v2 guest of CgroupV2AgentIT (CgroupV2Host): creates cgroups in the layouts of Docker's
# systemd and cgroupfs drivers and two plain ones, gives each some activity, starts the agent jar once with them
# declared, scrapes it with curl over the guest's loopback, and copies the kernel's files of those cgroups and
# processes to out/fixtures. CgroupV2AgentIT prepends JAVA, JAR, CDS (a class data archive of the agent, made on
# the host: it halves the agent's start under TCG) and the cgroup ids; it asserts on what lands in out/. Keep JVM
# starts to one: under TCG the agent takes ~40 s to start even with the archive.
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

# this shell and the agent on vCPU 0, the busy loops on vCPU 1
taskset -pc 0 $$ > /dev/null
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
inside $WEB unshare -n sh -c '
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
inside $OOM sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived ${#x}'
HOG=$!

# swap: 48 MiB of tmpfs under a 32 MiB memory limit: the kernel has to swap part of it out
echo 33554432 > $SWAP/memory.max
echo 67108864 > $SWAP/memory.swap.max
inside $SWAP sh -c 'head -c 50331648 /dev/zero > /tmp/swap-fill; exec sleep 600'

await_file "$OUT/web-ready"
wait $HOG && echo "the hog was not OOM-killed" || step "hog ended: $?"

i=0
until curl -sf -o /dev/null http://127.0.0.1:$PORT/_ping; do
    i=$((i + 1)); [ $i -lt 900 ] || { echo "agent not ready"; cat "$OUT/agent.log"; exit 1; }
    kill -0 $AGENT 2>/dev/null || { echo "agent exited"; cat "$OUT/agent.log"; exit 1; }
    sleep 0.2
done
step "agent ready"

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
until [ "$(curl -sf http://127.0.0.1:$PORT/v1/instances | grep -o '"vm_uuid"' | wc -l)" = 4 ]; do
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

# the kernel's own files, for the fixtures: every readable file of each test cgroup, the processes' files. Shell
# builtins only: a cat per file would take minutes under TCG.
FIX="$OUT/fixtures"
copy_file() {
    { while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < "$1" > "$FIX$1"; } 2>/dev/null \
        || rm -f "$FIX$1"
}
copy_dir() {
    mkdir -p "$FIX$1"
    for f in "$1"/*; do
        case "${f##*/}" in
            cgroup.kill|memory.reclaim) ;; # write-only
            *) [ -f "$f" ] && copy_file "$f" ;;
        esac
    done
}
copy_proc() {
    mkdir -p "$FIX/proc/$1"
    copy_file /proc/$1/cgroup
    copy_file /proc/$1/stat
}
for d in $WEB $CGFS $OOM $SWAP; do copy_dir $d; done
for pid in $(cat $WEB/cgroup.procs $CGFS/cgroup.procs $OOM/cgroup.procs $SWAP/cgroup.procs); do copy_proc $pid; done
mkdir -p "$FIX/proc/$WEB_PID/net"
for f in dev snmp netstat; do copy_file /proc/$WEB_PID/net/$f; done
mkdir -p "$FIX/proc/self" "$FIX/proc/pressure" "$FIX/proc/sys/kernel"
# /proc/self is this shell: its mountinfo is the guest's mount table as every process here sees it
while IFS= read -r line; do printf '%s\n' "$line"; done < /proc/self/mountinfo > "$FIX/proc/self/mountinfo"
for f in /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io /proc/meminfo; do copy_file $f; done
# not builtin read: it reads byte by byte, and a sysctl file answers a read past offset 0 with EOF
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
step "fixtures captured"

kill $AGENT
wait $AGENT || true
step "agent stopped"
