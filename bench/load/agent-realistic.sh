#!/usr/bin/env bash
# The realistic run (issue 11): N containers scraped every 15 s by TWO real Prometheus servers (an HA pair, each
# with its own data dir and loopback port, one target per container: the agent's /v1/<uuid>/metrics) for D
# seconds. The agent is started exactly as README starts it: `./cmon agent --config …` (the launcher's JVM options).
# Sampled every S seconds from /proc: the agent's CPU (% of one core) and RSS. Afterwards, Docker's stats API for
# the same containers: one `GET /containers/<id>/stats?stream=false&one-shot=true`, then all N, with the CPU
# dockerd + containerd + shims used for it.
#
#   flock /tmp/bench.lock bench/load/agent-realistic.sh     (root; shared dockerd; image cmon-busybox:latest)
#
# Knobs: CONTAINERS=200 DURATION=600 INTERVAL=15 SAMPLE=10 DOCKER_PAR=20 KEEP_WORK=1 CHECKOUT (the directory whose
# ./cmon, target/cmon.jar and src/main/resources/io/cmon/jvm/agent.options are started: default this checkout; for
# a before/after, a frozen copy of another build's three files, as in agent-idle.sh).
# Containers: `--network none`, labelled cmon.test=perf-realistic, removed at the end (EXIT trap), also on failure.
PERF_LABEL="${PERF_LABEL:-cmon.test=perf-realistic}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTAINERS="${CONTAINERS:-200}"
DURATION="${DURATION:-600}"
INTERVAL="${INTERVAL:-15}"
SAMPLE="${SAMPLE:-10}"
DOCKER_PAR="${DOCKER_PAR:-20}"
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in prometheus curl jq docker python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
CHECKOUT="${CHECKOUT:-$REPO}"
if [[ "$CHECKOUT" == "$REPO" ]]; then ensure_jar; fi
remove_perf_containers

port=$(free_port)
base="http://127.0.0.1:$port"
cat >"$WORK/agent.yaml" <<EOF
listen: 127.0.0.1:$port
docker: {socket: $DOCKER_SOCK}
labels: {owner: cmon.owner}
EOF

echo "# checkout: $CHECKOUT ($(cd "$CHECKOUT" && git rev-parse --short HEAD 2>/dev/null || echo frozen copy))"
echo "# machine: $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(prometheus --version 2>&1 | head -1); docker $(docker version --format '{{.Server.Version}}')"

# Start-up: the launcher, as README does; time to the first answer of /_ping
t0=$(date +%s%N)
spawn agent agent "$CHECKOUT/cmon" agent --config "$WORK/agent.yaml"
await_http "$base/_ping" 60
echo "agent.start first_answer_ms=$((($(date +%s%N) - t0) / 1000000)) rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status)"
echo "# agent pid $agent: $(tr '\0' ' ' </proc/"$agent"/cmdline | cut -c1-400)"
sleep 5
echo "agent.idle rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status) threads=$(awk '/Threads/{print $2}' /proc/"$agent"/status)"

log "starting $CONTAINERS containers"
run_containers "$CONTAINERS" 1
await_instances "$base" "$CONTAINERS"
mapfile -t ids < <(perf_container_ids)
echo "# containers running: ${#ids[@]}, load: $(cut -d' ' -f1-3 /proc/loadavg)"

# Two Prometheus servers, each scraping every container through file_sd (one target per container: the metrics
# path is a per-target label) plus the agent's server view and its own /metrics
python3 - "$WORK/targets.json" "127.0.0.1:$port" "${ids[@]}" <<'EOF'
import json, sys
out, addr, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
def uuid(i): return f"{i[0:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:32]}"
json.dump([{"targets": [addr], "labels": {"__metrics_path__": f"/v1/{uuid(i)}/metrics", "instance": uuid(i)}}
           for i in ids], open(out, "w"))
EOF
proms=()
prom_ports=()
for k in 1 2; do
  pp=$(free_port)
  mkdir -p "$WORK/prom$k"
  cat >"$WORK/prom$k.yml" <<EOF
global: {scrape_interval: ${INTERVAL}s, scrape_timeout: $(( INTERVAL < 10 ? INTERVAL : 10 ))s}
scrape_configs:
  - job_name: cmon
    file_sd_configs: [{files: ["$WORK/targets.json"]}]
  - job_name: cmon_gz
    metrics_path: /v1/gz/metrics
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
  spawn p "prom$k" prometheus --config.file="$WORK/prom$k.yml" --storage.tsdb.path="$WORK/prom$k" \
    --web.listen-address="127.0.0.1:$pp" --storage.tsdb.retention.time=2h
  proms+=("$p"); prom_ports+=("$pp")
  await_http "http://127.0.0.1:$pp/-/ready" 120
done
echo "# prometheus pids ${proms[*]} ports ${prom_ports[*]}, scrape_interval ${INTERVAL}s"

# The window: agent CPU and RSS every SAMPLE seconds
curl -fsS "$base/metrics" >"$WORK/m0"
hz=$(getconf CLK_TCK)
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
start_ticks=$(ticks "$agent"); prev=$start_ticks
start_ns=$(date +%s%N)
maxrss=0; rss_sum=0; samples=0
for ((t = SAMPLE; t <= DURATION; t += SAMPLE)); do
  sleep "$SAMPLE"
  now=$(ticks "$agent")
  rss=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status)
  ((rss > maxrss)) && maxrss=$rss
  rss_sum=$((rss_sum + rss)); samples=$((samples + 1))
  echo "sample t=${t}s agent_cpu_pct=$(awk -v d=$((now - prev)) -v hz="$hz" -v s="$SAMPLE" 'BEGIN{printf "%.2f", d * 100 / hz / s}') rss_kb=$rss load1=$(cut -d' ' -f1 /proc/loadavg)"
  prev=$now
done
end_ns=$(date +%s%N)
curl -fsS "$base/metrics" >"$WORK/m1"
secs=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN{printf "%.1f", (b - a) / 1e9}')
used=$(($(ticks "$agent") - start_ticks))
echo "agent.window seconds=$secs cpu_pct_of_core=$(awk -v d=$used -v hz="$hz" -v s="$secs" 'BEGIN{printf "%.2f", d * 100 / hz / s}') rss_mean_kb=$((rss_sum / samples)) rss_max_kb=$maxrss rss_end_kb=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status)"
echo "agent.window.instance_metrics $(hist_delta "$WORK/m0" "$WORK/m1" instance_metrics)"
echo "agent.window.gz $(hist_delta "$WORK/m0" "$WORK/m1" gz_metrics)"
for k in 0 1; do
  q() { curl -fsS --get "http://127.0.0.1:${prom_ports[$k]}/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'; }
  echo "prometheus$((k + 1)) targets_up=$(q 'count(up{job="cmon"} == 1)') targets_down=$(q 'count(up{job="cmon"} == 0) or vector(0)')" \
    "scrape_duration_p50_ms=$(q 'quantile(0.5, avg_over_time(scrape_duration_seconds{job="cmon"}[5m])) * 1000')" \
    "scrape_duration_p99_ms=$(q 'quantile(0.99, max_over_time(scrape_duration_seconds{job="cmon"}[5m])) * 1000')" \
    "samples_per_scrape=$(q 'avg(scrape_samples_scraped{job="cmon"})')" \
    "gz_samples=$(q 'scrape_samples_scraped{job="cmon_gz"}')" \
    "unavailable_collectors=$(q 'count(cpu_metrics_available_boolean == 0) or vector(0)')"
done
for p in "${proms[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${proms[@]}"; do wait "$p" 2>/dev/null || true; done

# Docker's stats API for the same containers, after the window (so it does not disturb the agent's figures)
docker_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f '^/usr/bin/containerd-shim' || true; }
dpids=$(docker_pids | tr '\n' ' ')
: >"$WORK/one"
for k in 1 2 3 4 5; do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --unix-socket "$DOCKER_SOCK" \
    "http://localhost/containers/${ids[0]}/stats?stream=false&one-shot=true" >>"$WORK/one"
done
summarize_times "docker.stats.one" <"$WORK/one"
# shellcheck disable=SC2086
c0=$(cpu_ms $dpids)
a0=$(cpu_ms "$agent")
t0=$(date +%s%N)
printf '%s\n' "${ids[@]}" | xargs -P "$DOCKER_PAR" -I{} curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
  --unix-socket "$DOCKER_SOCK" "http://localhost/containers/{}/stats?stream=false&one-shot=true" >"$WORK/all"
t1=$(date +%s%N)
# shellcheck disable=SC2086
c1=$(cpu_ms $dpids)
echo "docker.stats.all n=${#ids[@]} parallel=$DOCKER_PAR wall_ms=$(((t1 - t0) / 1000000)) docker_cpu_ms=$((c1 - c0))" \
  "docker_cpu_pct_of_core_at_${INTERVAL}s=$(awk -v c=$((c1 - c0)) -v i="$INTERVAL" 'BEGIN{printf "%.2f", c / 10 / i}')" \
  "agent_cpu_ms_meanwhile=$(($(cpu_ms "$agent") - a0))"
summarize_times "docker.stats.all.per_request" <"$WORK/all"
# the agent's own answer for all N containers, uncached, the same way (for the same comparison)
sleep 1.2
a0=$(cpu_ms "$agent")
t0=$(date +%s%N)
printf '%s\n' "${ids[@]}" | python3 -c '
import sys
for i in sys.stdin.read().split():
    print(f"/v1/{i[0:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:32]}/metrics")' \
  | xargs -P "$DOCKER_PAR" -I{} curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base{}" >"$WORK/agent-all"
t1=$(date +%s%N)
echo "agent.all n=${#ids[@]} parallel=$DOCKER_PAR wall_ms=$(((t1 - t0) / 1000000)) agent_cpu_ms=$(($(cpu_ms "$agent") - a0))"
summarize_times "agent.all.per_request" <"$WORK/agent-all"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
