#!/usr/bin/env bash
# A/B of agent JVM options under the realistic load (issue 11, docs/PERFORMANCE.md): run beside
# agent-realistic.sh, it waits for that run's agent ("A") and targets, then starts one more agent per option set
# (./cmon agent, the launcher's defaults with CMON_JAVA_OPTS=<set> after them, so the set wins), each scraped by
# its own two Prometheus servers with the same 200 targets and interval; every 10 s it logs RSS, CPU % and threads
# of all agents; at the end GC.heap_info, the agents' GC counters and (NMT=1) VM.native_memory summary of each.
# The side agents start after the containers exist: compare them with a side agent without extra options, not
# with A. Loopback only; every process it starts is stopped at the end.
#
#   flock /tmp/bench.lock bash -c 'bench/load/agent-variants.sh OUT 220 "" "-Xmn3m" & \
#       DURATION=240 KEEP_WORK=1 bench/load/agent-realistic.sh; wait'
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out=$1; secs=$2; shift 2
mkdir -p "$out"
for i in $(seq 900); do
  pidA=$(pgrep -f 'cmon.jar agent --config /tmp/cmon-load' | head -1); [[ -n "$pidA" ]] && break; sleep 0.2
done
cfg=$(tr "\0" " " </proc/$pidA/cmdline | grep -o "/tmp/cmon-load[^ ]*agent.yaml"); work=$(dirname "$cfg")
portA=$(awk -F: '/^listen/{print $3}' "$cfg")
for i in $(seq 1800); do [[ -s $work/targets.json && -s $work/prom1.yml ]] && break; sleep 0.2; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
mine=(); pids=("$pidA"); names=("A")
k=0
for opts in "$@"; do
  k=$((k+1)); p=$(free_port)
  sed "s/^listen: .*/listen: 127.0.0.1:$p/" "$cfg" > "$out/agent$k.yaml"
  (cd "$repo" && CMON_JAVA_OPTS="$opts" exec ./cmon agent --config "$out/agent$k.yaml" > "$out/agent$k.log" 2>&1) &
  apid=$!; mine+=($apid)
  for i in $(seq 300); do curl -fsS -o /dev/null --max-time 1 127.0.0.1:$p/_ping 2>/dev/null && break; sleep 0.1; done
  jpid=$(pgrep -f "agent --config $out/agent$k.yaml" | head -1)
  pids+=("$jpid"); names+=("V$k")
  echo "V$k pid $jpid port $p opts: $opts" >> "$out/side.log"
  sed "s/127.0.0.1:$portA/127.0.0.1:$p/g" $work/targets.json > "$out/targets$k.json"
  for s in 1 2; do
    pp=$(free_port); mkdir -p "$out/prom$k$s"
    sed -e "s#$work/targets.json#$out/targets$k.json#" -e "s/127.0.0.1:$portA/127.0.0.1:$p/g" $work/prom1.yml > "$out/prom$k$s.yml"
    prometheus --config.file="$out/prom$k$s.yml" --storage.tsdb.path="$out/prom$k$s" --web.listen-address=127.0.0.1:$pp \
      --storage.tsdb.retention.time=2h > "$out/prom$k$s.log" 2>&1 &
    mine+=($!)
  done
done
hz=$(getconf CLK_TCK)
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
declare -A t0 prev sum max
for n in "${!pids[@]}"; do t0[$n]=$(ticks ${pids[$n]}); prev[$n]=${t0[$n]}; sum[$n]=0; max[$n]=0; done
start=$(date +%s)
for ((t = 10; t <= secs; t += 10)); do
  sleep 10
  line="t=$t load=$(cut -d' ' -f1 /proc/loadavg)"
  for n in "${!pids[@]}"; do
    pid=${pids[$n]}
    r=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    c=$(ticks $pid 2>/dev/null || echo ${prev[$n]})
    line+=" ${names[$n]}:rss=$r,cpu=$(awk -v d=$((c - prev[$n])) -v hz=$hz 'BEGIN{printf "%.1f", d*100/hz/10}'),thr=$(awk '/Threads/{print $2}' /proc/$pid/status 2>/dev/null)"
    prev[$n]=$c; sum[$n]=$((sum[$n] + r)); ((r > max[$n])) && max[$n]=$r
  done
  echo "$line" >> "$out/side.log"
done
el=$(( $(date +%s) - start ))
for n in "${!pids[@]}"; do
  pid=${pids[$n]}
  echo "${names[$n]} rss_mean_kb=$((sum[$n] / (secs / 10))) rss_max_kb=${max[$n]} cpu_pct=$(awk -v d=$(( $(ticks $pid) - t0[$n])) -v hz=$hz -v s=$el 'BEGIN{printf "%.2f", d*100/hz/s}')" >> "$out/side.log"
  jcmd $pid GC.heap_info > "$out/heap-${names[$n]}.txt" 2>&1
  [[ -n "${NMT:-}" ]] && jcmd $pid VM.native_memory summary > "$out/nmt-${names[$n]}.txt" 2>&1
  curl -fsS 127.0.0.1:$(awk -F: '/^listen/{print $3}' $( [[ $n == 0 ]] && echo $cfg || echo $out/agent$n.yaml))/metrics 2>/dev/null | grep -E '^jvm_gc_collection_seconds|route="instance_metrics"' > "$out/metrics-${names[$n]}.txt"
done
for p in "${mine[@]}"; do kill $p 2>/dev/null; done
wait
echo done >> "$out/side.log"
