#!/usr/bin/env bash
# Fleet-scale run of the cmon proxy against simulated agents (bench/fleet/README.md, docs/PERFORMANCE.md
# "Fleet scale"): starts the simulator (src/test/java/io/cmon/bench/fleet, compiled here with javac against
# target/cmon.jar), a real proxy (./cmon proxy) following every simulated agent from an agents file, waits for
# sync, then prints the table: RSS and live heap after IDLE_SECONDS idle, CPU while idle, discovery latency of the
# big tenant paced over one poll cycle (mTLS), GC pauses, admin /-/healthy latency every 100 ms.
#
#   bench/fleet/run.sh                      AGENTS=1000 (default)
#   AGENTS=10000 bench/fleet/run.sh
#   AGENTS=20000 bench/fleet/run.sh         past the fd limit: also shrinks the agents file to RECOVER_TO and
#                                           reports whether the proxy recovers
#
# Knobs (environment): AGENTS=1000 INSTANCES=100 TENANTS=1000 BIG=1000 SEED=1; PER_SIM=6000 agents per simulator
# process (each needs ~2 fds per agent; one process cannot hold 10,000 under a 20,000 fd limit); IDLE_SECONDS=60;
# DISCOVER_REQUESTS=60 DISCOVER_SECONDS=30; SETTLE_SECONDS=120 (between sync and the idle window: the JIT's
# compilations of the first minutes and the first GC cycles after sync are start-up, not idle cost); SYNC_TIMEOUT=600 (wall-clock seconds; past it the run measures anyway and says so); RECOVER_TO (default AGENTS/2 when AGENTS exceeds the
# proxy's fd limit, else none); SIM_MAX_WAIT=300s (the longest long-poll a simulated agent holds: the agent's cap;
# 60s acts as agents before it); PROXY_JAVA_OPTS (the proxy JVM, after its defaults); SIM_JAVA_OPTS; KEEP_WORK=1.
# Runs under flock /tmp/bench.lock (the machine is shared: one benchmark at a time). Loopback only (127.10.0.0/16
# and up for the agents, 127.0.0.1 for the proxy).
set -euo pipefail
if [[ -z "${FLEET_LOCKED:-}" ]]; then
  exec env FLEET_LOCKED=1 flock /tmp/bench.lock "$0" "$@"
fi

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/bench/fleet"
JAR="$REPO/target/cmon.jar"
SIM_CLASSES="$REPO/target/fleet-sim"
AGENTS="${AGENTS:-1000}"
INSTANCES="${INSTANCES:-100}"
TENANTS="${TENANTS:-1000}"
BIG="${BIG:-1000}"
SEED="${SEED:-1}"
PER_SIM="${PER_SIM:-6000}"
IDLE_SECONDS="${IDLE_SECONDS:-60}"
SETTLE_SECONDS="${SETTLE_SECONDS:-120}"
DISCOVER_REQUESTS="${DISCOVER_REQUESTS:-60}"
DISCOVER_SECONDS="${DISCOVER_SECONDS:-30}"
SYNC_TIMEOUT="${SYNC_TIMEOUT:-600}"
AGENT_PORT="${AGENT_PORT:-9164}"
SIM_MAX_WAIT="${SIM_MAX_WAIT:-300s}"
WORK="$(mktemp -d /tmp/cmon-fleet.XXXXXX)"
PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true; done
  if [[ -n "${KEEP_WORK:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in java javac python3 curl jq jcmd flock; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

# the proxy jar, built as ./cmon builds it; the simulator: test-scope sources, not in the product jar
if [[ ! -f "$JAR" ]] || [[ -n "$(find "$REPO/pom.xml" "$REPO/src/main" -newer "$JAR" -print -quit)" ]]; then
  log "building $JAR"
  (cd "$REPO" && mvn -q -B -DskipTests package >&2)
fi
if [[ ! -f "$SIM_CLASSES/io/cmon/bench/fleet/FleetSim.class" ]] \
   || [[ -n "$(find "$REPO/src/test/java/io/cmon/bench/fleet" "$JAR" -newer "$SIM_CLASSES/io/cmon/bench/fleet/FleetSim.class" -print -quit)" ]]; then
  log "compiling the simulator into $SIM_CLASSES"
  rm -rf "$SIM_CLASSES" && mkdir -p "$SIM_CLASSES"
  # the simulator only: its test (FleetSimTest) needs JUnit and runs under mvn
  javac -nowarn -d "$SIM_CLASSES" -cp "$JAR" $(ls "$REPO"/src/test/java/io/cmon/bench/fleet/*.java | grep -v 'Test\.java$')
fi

# every process started from here inherits the raised soft limit (the hard limit is the ceiling)
ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
if [[ -z "${RECOVER_TO:-}" && "$AGENTS" -gt $((FD_LIMIT - 500)) ]]; then RECOVER_TO=$((AGENTS / 2)); fi

# certificates: one CA for the big tenant's client certificate and the proxy's server certificate
java -jar "$JAR" ca init --dir "$WORK/ca" >/dev/null
java -jar "$JAR" cert issue --ca "$WORK/ca" --server localhost --dns localhost --ip 127.0.0.1 --out "$WORK/certs" >/dev/null

# simulators: ceil(AGENTS / PER_SIM) processes, each with its own range of agents
sims=$(((AGENTS + PER_SIM - 1) / PER_SIM))
controls=()
sim_pids=()
for ((s = 0; s < sims; s++)); do
  first=$((s * PER_SIM))
  count=$((AGENTS - first < PER_SIM ? AGENTS - first : PER_SIM))
  cport=$(free_port)
  controls+=("$cport")
  # shellcheck disable=SC2086
  java -Xms64m -Xmx1g -XX:+UseSerialGC ${SIM_JAVA_OPTS:-} -cp "$SIM_CLASSES:$JAR" io.cmon.bench.fleet.FleetSim \
    --agents "$count" --first "$first" --total-agents "$AGENTS" --instances "$INSTANCES" --tenants "$TENANTS" \
    --big "$BIG" --seed "$SEED" --port "$AGENT_PORT" --control "$cport" --event-loops 2 --max-wait "$SIM_MAX_WAIT" \
    --write-agents "$WORK/agents-$s.txt" --write-accounts "$WORK/accounts.yaml" >"$WORK/sim-$s.log" 2>&1 &
  PIDS+=($!)
  sim_pids+=($!)
done
for ((s = 0; s < sims; s++)); do
  for ((i = 0; i < 1200; i++)); do
    grep -q '^fleet-sim ready' "$WORK/sim-$s.log" && break
    kill -0 "${sim_pids[$s]}" 2>/dev/null || { cat "$WORK/sim-$s.log" >&2; exit 1; }
    sleep 0.5
  done
  grep -q '^fleet-sim ready' "$WORK/sim-$s.log" || { log "simulator $s did not start"; exit 1; }
done
cat "$WORK"/agents-*.txt >"$WORK/agents.txt"
read -r big_login big_uuid < <(curl -fsS "127.0.0.1:${controls[0]}/tenants/big")
java -jar "$JAR" cert issue --ca "$WORK/ca" --account "$big_login" --out "$WORK/certs" >/dev/null
log "$sims simulator(s) up: $(wc -l <"$WORK/agents.txt") agents x $INSTANCES instances, $TENANTS tenants, $big_login owns $BIG"

# the proxy, started as README starts it, with a unified GC log
port=$(free_port)
admin_port=$(free_port)
cat >"$WORK/proxy.yaml" <<EOF
listen: 127.0.0.1:$port
adminListen: 127.0.0.1:$admin_port
endpoint: localhost
dnsSuffix: localhost
tls: {cert: $WORK/certs/localhost.pem, key: $WORK/certs/localhost-key.pem}
auth: {mode: ca, tenantCa: $WORK/ca/ca.pem}
accounts: $WORK/accounts.yaml
agents: {file: $WORK/agents.txt}
rateLimit: {rate: 1000000, burst: 1000000}
EOF
admin="http://127.0.0.1:$admin_port"
t_start=$(date +%s.%N)
CMON_ACCESS_LOG=OFF CMON_JAVA_OPTS="-Xlog:gc:file=$WORK/gc.log:uptime ${PROXY_JAVA_OPTS:-}" \
  "$REPO/cmon" proxy --config "$WORK/proxy.yaml" >"$WORK/proxy.log" 2>&1 &
proxy=$!
PIDS+=($proxy)
echo "# machine: $(nproc) cores shared with other work, $(uname -r), fd limit $FD_LIMIT (ulimit -n raised to the hard limit)"
echo "# fleet: $AGENTS agents x $INSTANCES instances, $TENANTS tenants, $big_login owns $BIG; $sims simulator process(es); proxy pid $proxy"
echo "# proxy commit $(git -C "$REPO" rev-parse --short HEAD), JVM options: ${PROXY_JAVA_OPTS:-defaults}; load before: $(load)"

# sync: /-/ready answers 200 and every agent is up, by the wall clock (bounded by SYNC_TIMEOUT seconds). The counts
# come from /metrics' fleet-wide summary when the proxy has it (cmon_proxy_agents), else from /status. A busy proxy
# answers its admin listener late (issue 12): each probe may take up to 60 s.
up_agents() {
  local m
  m=$(curl -fsS --max-time 60 "$admin/metrics" 2>/dev/null | sed -n 's/^cmon_proxy_agents{state="up"} \([0-9]*\).*/\1/p' || true)
  if [[ -n "$m" ]]; then echo "$m"; return; fi
  curl -fsS --max-time 60 "$admin/status" 2>/dev/null | jq '[.agents[] | select(.up)] | length' 2>/dev/null || echo "?"
}
# agents the proxy refuses for lack of file descriptors (FleetCapacity): past its capacity, sync means the rest up
refused_agents() {
  curl -fsS --max-time 60 "$admin/metrics" 2>/dev/null | sed -n 's/^cmon_proxy_fleet_refused_agents \([0-9]*\).*/\1/p' \
    || true # a proxy out of descriptors may not accept the request: the run goes on and reports it
}
up=0
synced=""
deadline=$(($(date +%s) + SYNC_TIMEOUT))
while (($(date +%s) < deadline)); do
  kill -0 "$proxy" 2>/dev/null || { tail -20 "$WORK/proxy.log" >&2; log "proxy died"; exit 1; }
  if curl -fsS -o /dev/null --max-time 30 "$admin/-/ready" 2>/dev/null; then
    up=$(up_agents)
    refused=$(refused_agents)
    if [[ "$up" == "$((AGENTS - ${refused:-0}))" ]]; then synced=yes; break; fi
  fi
  sleep 2
done
t_sync=$(date +%s.%N)
sync_s=$(awk -v a="$t_start" -v b="$t_sync" 'BEGIN{printf "%.1f", b - a}')
fds=$(ls /proc/"$proxy"/fd | wc -l)
if [[ -n "$synced" && "${refused:-0}" -gt 0 ]]; then
  echo "sync: $up agents up ${sync_s}s after the proxy started, $refused refused (over its capacity of" \
    "$(curl -fsS "$admin/metrics" | sed -n 's/^cmon_proxy_fleet_capacity_agents \([0-9]*\).*/\1/p') agents);" \
    "proxy fds $fds (load $(load))"
  curl -fsS "$admin/metrics" | grep -E '^cmon_proxy_(fleet_|max_fds|open_fds|fd_exhaustion)' | sed 's/^/  /'
  echo "  proxy log: $(grep -c -i 'capacity\|descriptor' "$WORK/proxy.log" || true) lines on capacity/descriptors, first:"
  grep -i -m3 'capacity\|descriptor' "$WORK/proxy.log" | cut -c1-300 | sed 's/^/    /' || true
elif [[ -n "$synced" ]]; then
  echo "sync: all $AGENTS agents up ${sync_s}s after the proxy started (load $(load)); proxy fds $fds"
else
  echo "sync: NOT synced after ${sync_s}s: $up of $AGENTS agents up; proxy fds $fds of $FD_LIMIT (load $(load))"
  # what holds the descriptors: the proxy's TCP sockets by state and by whether the peer is an agent or a listener
  echo "  proxy sockets by state: $(ss -tanH -p 2>/dev/null | grep "pid=$proxy," | awk '{print $1}' | sort | uniq -c \
    | awk '{printf "%s %s, ", $2, $1}')"
  echo "  proxy descriptors by kind: $(ls -l /proc/"$proxy"/fd 2>/dev/null | awk 'NR>1{sub(/:.*/,"",$NF); print $NF}' \
    | sed 's/^\/.*/file/' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')"
  ss -tanH -p 2>/dev/null | grep "pid=$proxy," | awk '$1 == "ESTAB" {print $5}' | grep -v '^127\.0\.0\.1:' \
    | sort | uniq -c | awk '{peers++; conns += $1; if ($1 > 1) dup++}
      END {printf "  proxy connections to agents: %d to %d agents, %d agents with more than one\n", conns, peers, dup}' \
    || true
fi
agent_connections() { # the proxy's own count of its connections to agents, and the strays it closed
  curl -fsS --max-time 60 "$admin/metrics" 2>/dev/null | grep -E '^cmon_proxy_agent_(connections|stray_connections)' \
    | sed 's/^cmon_proxy_agent_//' | tr '\n' ' ' || true
}
echo "agent connections (proxy's count): $(agent_connections)"
instances=$(curl -fsS --max-time 60 "$admin/status" | jq .instances || echo "?")
echo "inventory: $instances instances"

if ((SETTLE_SECONDS > 0)); then
  log "settling ${SETTLE_SECONDS}s after sync"
  sleep "$SETTLE_SECONDS"
fi
gc_from=$(wc -l <"$WORK/gc.log")
sim_cpu0=0
for p in "${sim_pids[@]}"; do sim_cpu0=$((sim_cpu0 + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}'))); done
log "idle ${IDLE_SECONDS}s, then discovery ($DISCOVER_REQUESTS requests over ${DISCOVER_SECONDS}s) as $big_login"
thread_cpu() { # the proxy's CPU ticks by thread name (digits folded: "vert.x-eventloop-thread-N")
  for t in /proc/"$proxy"/task/*; do sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1|\2/' "$t/stat" 2>/dev/null; done \
    | awk -F'|' '{split($2, f, " "); n = $1; gsub(/[0-9]+/, "N", n); c[n] += f[12] + f[13]} END {for (n in c) print n "\t" c[n]}'
}
thread_cpu >"$WORK/threads0"
( sleep "$IDLE_SECONDS"; thread_cpu >"$WORK/threads1" ) &
threads_pid=$!
python3 "$HERE/probe.py" --pid "$proxy" --admin "127.0.0.1:$admin_port" --idle-seconds "$IDLE_SECONDS" \
  --tenant "127.0.0.1:$port" --cert "$WORK/certs/$big_login.pem" --key "$WORK/certs/$big_login-key.pem" \
  --ca "$WORK/ca/ca.pem" --discover-requests "$DISCOVER_REQUESTS" --discover-seconds "$DISCOVER_SECONDS" \
  --discover-expect "$BIG" >"$WORK/probe.out"
rss_mib=$(awk '/VmRSS/{printf "%.0f", $2 / 1024}' /proc/"$proxy"/status)
wait "$threads_pid" || true
# where the idle CPU went: % of a core by thread name over the idle part (clock ticks of 1/100 s)
awk -F'\t' -v s="$IDLE_SECONDS" 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > 0) printf "%.2f\t%s\n", d / s, $1}' \
  "$WORK/threads0" "$WORK/threads1" | sort -rn | head -8 | awk -F'\t' '{printf "idle cpu by thread: %s %% %s\n", $1, $2}'
# the heap's share of that RSS, before the class histogram below collects and shrinks it
echo "heap_info when RSS was read: $(jcmd "$proxy" GC.heap_info 2>/dev/null | grep -m1 -i committed | sed 's/^ *//' || true)"
# with PROXY_JAVA_OPTS=-XX:NativeMemoryTracking=summary: where the rest of that RSS is (kept in the work dir)
if [[ "${PROXY_JAVA_OPTS:-}" == *NativeMemoryTracking* ]]; then
  jcmd "$proxy" VM.native_memory summary >"$WORK/nmt.txt" 2>&1 || true
  grep -E '^-|committed=' "$WORK/nmt.txt" | grep -E '^-' | sed 's/^/nmt: /' | head -25 || true
fi
load_measure=$(load)
sim_cpu1=0
for p in "${sim_pids[@]}"; do sim_cpu1=$((sim_cpu1 + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}'))); done
gc_tail=$(tail -n +"$((gc_from + 1))" "$WORK/gc.log")
# live heap: a class histogram forces a full collection, so it is taken after the GC window
jcmd "$proxy" GC.class_histogram >"$WORK/histogram.txt" 2>/dev/null || true
live_mib=$(awk '/^Total/{printf "%.0f", $3 / 1048576}' "$WORK/histogram.txt")
heap_used=$(jcmd "$proxy" GC.heap_info 2>/dev/null | awk '/garbage-first heap|def new generation|PSYoungGen|Shenandoah Heap/{getline x; print $0 " " x; exit}' || true)
cat "$WORK/probe.out" | sed 's/^/probe: /'
# what the live heap is made of: its ten largest classes (MiB, instances, class)
sed -n '4,13p' "$WORK/histogram.txt" | awk '{printf "live: %.1f MiB %d %s\n", $3 / 1048576, $2, $4}'
pauses() { # stdin: unified GC log lines -> "n=N max_ms=M young_max_ms=Y"
  awk '/Pause/ && /ms$/ { v = $NF; sub(/ms$/, "", v); v += 0; n++; if (v > m) m = v; if (/Young/ && v > y) y = v }
       END { printf "n=%d max_ms=%.1f young_max_ms=%.1f", n, m, y }'
}
gc_window=$(pauses <<<"$gc_tail")
gc_all=$(pauses <"$WORK/gc.log")
echo "gc (measurement window): $gc_window; since start: $gc_all"
echo "heap_info: $heap_used"
sim_cpu_pct=$(awk -v c=$((sim_cpu1 - sim_cpu0)) -v hz="$(getconf CLK_TCK)" -v s="$((IDLE_SECONDS + DISCOVER_SECONDS))" \
  'BEGIN{printf "%.1f", c / hz / s * 100}')
echo "simulators' CPU over the window: ${sim_cpu_pct}% of a core (they share the machine with the proxy)"
emfile=$(grep -c 'Too many open files' "$WORK/proxy.log" || true)
echo "proxy log: $(wc -l <"$WORK/proxy.log") lines, 'Too many open files' in $emfile of them"

v() { sed -n "s/^$1=//p" "$WORK/probe.out"; }
echo
echo "| $AGENTS agents ($((AGENTS * INSTANCES)) inst.) | measured (load $load_measure) |"
echo "| --- | --- |"
echo "| RSS after ${SETTLE_SECONDS} s settling and ${IDLE_SECONDS} s idle | $rss_mib MiB (live heap $live_mib MiB) |"
echo "| CPU while idle | $(v idle_cpu_pct) % of a core, bursts $(v idle_cpu_max_1s_pct) % |"
echo "| discovery, $big_login ($BIG inst.), $(v discover_n) requests over ${DISCOVER_SECONDS} s | p50 $(v discover_p50_ms) ms, p99 $(v discover_p99_ms) ms, max $(v discover_max_ms) ms; answers: $(v discover_containers) containers ($(v discover_bytes) bytes), $(v discover_failures) failed; the first one (fills the cache) $(v discover_first_ms) ms; proxy-side: $(v discover_server_le_10ms) of $(v discover_server_n) in ≤ 10 ms, $(v discover_server_le_2_5ms) in ≤ 2.5 ms |"
echo "| the same series with curl (C client, one connection, --rate) | p50 $(v discover_curl_p50_ms) ms, p99 $(v discover_curl_p99_ms) ms, max $(v discover_curl_max_ms) ms; $(v discover_curl_n) answered, $(v discover_curl_failures) failed |"
echo "| GC pauses (window / since start) | $(sed 's/.*max_ms=\([0-9.]*\) young_max_ms=\([0-9.]*\)/max \1 ms, young \2 ms/' <<<"$gc_window") / $(sed 's/.*max_ms=\([0-9.]*\) young_max_ms=\([0-9.]*\)/max \1 ms, young \2 ms/' <<<"$gc_all") |"
echo "| admin /-/healthy every 100 ms | max $(v healthy_max_ms) ms (idle part $(v healthy_idle_max_ms) ms), p99 $(v healthy_p99_ms) ms, $(v healthy_failures) of $(v healthy_n) failed |"
echo "| sync | ${sync_s} s, $up of $AGENTS agents up, proxy fds $fds / $FD_LIMIT |"

if [[ -n "${RECOVER_TO:-}" ]]; then
  echo
  log "recovery: shrinking the agents file to $RECOVER_TO agents"
  head -n "$RECOVER_TO" "$WORK/agents.txt" >"$WORK/agents.next" && mv "$WORK/agents.next" "$WORK/agents.txt"
  t0=$(date +%s)
  recovered=""
  until_s=$(($(date +%s) + 300))
  while (($(date +%s) < until_s)); do
    sleep 3
    up=$(up_agents)
    listed=$(curl -fsS --max-time 60 "$admin/status" 2>/dev/null | jq '.agents | length' 2>/dev/null || echo "?")
    if [[ "$up" == "$RECOVER_TO" && "$listed" == "$RECOVER_TO" ]]; then recovered=yes; break; fi
  done
  fds=$(ls /proc/"$proxy"/fd | wc -l)
  healthy=$(curl -s -o /dev/null -w '%{http_code} %{time_total}s' --max-time 5 "$admin/-/healthy" || true)
  disc=$(curl -s -o /dev/null -w '%{http_code} %{time_total}s' --max-time 10 --cacert "$WORK/ca/ca.pem" \
    --cert "$WORK/certs/$big_login.pem" --key "$WORK/certs/$big_login-key.pem" \
    --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/v1/discover" || true)
  echo "recovery to $RECOVER_TO agents: ${recovered:-NOT recovered} after $(($(date +%s) - t0)) s: $up up of $listed listed;" \
    "proxy fds $fds; /-/healthy $healthy; discovery $disc (load $(load))"
  echo "agent connections (proxy's count): $(agent_connections)"
fi
echo "# load after: $(load)"
