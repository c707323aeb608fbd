#!/usr/bin/env bash
# Load run of the cmon agent's GET /v1/<uuid>/metrics with 1 and with 200 containers on this host, against
# Docker's own stats API for the same containers, in the same run. Results: one line per measurement on stdout.
#
#   bench/load/agent-load.sh                 (root; the shared dockerd; image cmon-busybox:latest; wrk, socat, jq, curl)
#
# Knobs (environment): CONTAINERS=200 DOCKER_CONNS=50 DOCKER_SEQ=10 WRK_SECONDS=15 WRK_CONNS=4 WRK_THREADS=1 KEEP_WORK=1 (keep logs in /tmp).
# Every container is `--network none`, labelled cmon.test=perf, and removed at the end, also on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTAINERS="${CONTAINERS:-200}"
DOCKER_CONNS="${DOCKER_CONNS:-50}"
DOCKER_SEQ="${DOCKER_SEQ:-10}"
ROUTE="${ROUTE:-instance_metrics}"   # the route label of /v1/<uuid>/metrics in the agent's request histogram
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in wrk socat jq curl docker python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
ensure_jar
remove_perf_containers

api=$(docker version --format '{{.Server.APIVersion}}')
oneshot=""
# one-shot (API >= 1.41) answers from a single sample instead of waiting for a second one (~1 s)
if [[ "$(printf '%s\n1.41\n' "$api" | sort -V | head -1)" == "1.41" ]]; then oneshot="&one-shot=true"; fi

port=$(free_port)
base="http://127.0.0.1:$port"
cat >"$WORK/agent.yaml" <<EOF
listen: 127.0.0.1:$port
docker: {socket: $DOCKER_SOCK}
EOF
spawn agent agent java ${CMON_JAVA_OPTS:-} -jar "$JAR" agent --config "$WORK/agent.yaml"
await_http "$base/_ping" 30

socat_port=$(free_port)
spawn socat_pid socat socat "TCP-LISTEN:$socat_port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$DOCKER_SOCK"
docker_tcp="http://127.0.0.1:$socat_port"
# Docker's side of a stats request: dockerd, containerd and the per-container shims (which read the cgroups)
docker_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f '^/usr/bin/containerd-shim' || true; }

# Reference point for the server view: node_exporter (default collectors), scraped like /v1/gz/metrics
ne_port=""
if command -v prometheus-node-exporter >/dev/null; then
  ne_port=$(free_port)
  spawn ne node_exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port"
  await_http "http://127.0.0.1:$ne_port/metrics" 20
fi

echo "# machine: $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# docker $(docker version --format '{{.Server.Version}}') API $api, agent pid $agent, wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s"

# One measurement set at the current number of containers.
#   measure N FIRST_UUID FIRST_ID
measure() {
  local n=$1 uuid=$2 id=$3 tag="n=$1"
  local ids
  mapfile -t ids < <(perf_container_ids)
  : >"$WORK/agent-paths"; : >"$WORK/docker-paths"
  local c
  for c in "${ids[@]}"; do
    echo "/v1/$(uuid_of "$c")/metrics" >>"$WORK/agent-paths"
    echo "/containers/$c/stats?stream=false$oneshot" >>"$WORK/docker-paths"
  done

  # agent, the same instance scraped over and over (TTL cache: mostly cached collections)
  curl -fsS "$base/metrics" >"$WORK/m0"
  bench_wrk "agent.same $tag" "$agent" "$base/v1/$uuid/metrics"
  curl -fsS "$base/metrics" >"$WORK/m1"
  echo "agent.same.server $tag $(hist_delta "$WORK/m0" "$WORK/m1" "$ROUTE") rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status)"

  # agent, rotating over every container (with 200: each one is collected afresh about once per second)
  if [[ "$n" -gt 1 ]]; then
    curl -fsS "$base/metrics" >"$WORK/m0"
    bench_wrk "agent.rotate $tag" "$agent" "$base/v1/$uuid/metrics" -- "$WORK/agent-paths"
    curl -fsS "$base/metrics" >"$WORK/m1"
    echo "agent.rotate.server $tag $(hist_delta "$WORK/m0" "$WORK/m1" "$ROUTE")"
  fi

  # agent, uncached: what one Prometheus scrape every 15 s costs. Sequential, after the 1 s TTL has run out.
  local urls=() k c0 c1
  c0=$(cpu_ms "$agent")
  # (1) spaced: the same instance every 1.1 s, 20 times, a new connection each (as at n=1)
  curl -fsS "$base/metrics" >"$WORK/m0"
  for ((k = 0; k < 20; k++)); do
    sleep 1.1
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/v1/$uuid/metrics"
  done | summarize_times "agent.uncached.spaced.client $tag"
  curl -fsS "$base/metrics" >"$WORK/m1"
  echo "agent.uncached.spaced.server $tag $(hist_delta "$WORK/m0" "$WORK/m1" "$ROUTE")"
  # (2) back to back: every instance once, on one keep-alive connection
  if [[ "$n" -gt 1 ]]; then
    sleep 1.2
    mapfile -t urls < <(sed "s#^#$base#" "$WORK/agent-paths")
    c0=$(cpu_ms "$agent")
    curl -fsS "$base/metrics" >"$WORK/m0"
    seq_latency "agent.uncached.all.client $tag" -- "${urls[@]}"
    curl -fsS "$base/metrics" >"$WORK/m1"
    c1=$(cpu_ms "$agent")
    # CPU per scrape here includes the agent's background work during the pass (load sampler, fs walks)
    echo "agent.uncached.all.server $tag $(hist_delta "$WORK/m0" "$WORK/m1" "$ROUTE")" \
      "agent_cpu_ms_per_req_incl_background=$(awk -v c=$((c1 - c0)) -v n="${#urls[@]}" 'BEGIN{printf "%.2f", c / n}')"
  fi

  # Docker's stats API for the same containers: sequential on one connection, then wrk through socat
  # each answer waits for Docker's next 1 s collection tick: bounded to DOCKER_SEQ containers
  mapfile -t urls < <(head -n "$DOCKER_SEQ" "$WORK/docker-paths" | sed "s#^#http://localhost#")
  if [[ "$n" -eq 1 ]]; then for ((k = 0; k < 5; k++)); do urls+=("${urls[0]}"); done; fi
  seq_latency "docker.stats.oneshot.client $tag" --unix-socket "$DOCKER_SOCK" -- "${urls[@]}"
  seq_latency "docker.stats.streamfalse.client $tag" --unix-socket "$DOCKER_SOCK" -- \
    "http://localhost/containers/$id/stats?stream=false" "http://localhost/containers/$id/stats?stream=false" \
    "http://localhost/containers/$id/stats?stream=false"
  # Docker answers on its collector's 1 s tick: with 4 connections that is ~4 req/s, so give it DOCKER_CONNS
  local dpids
  dpids=$(docker_pids | tr '\n' ' ')
  WRK_CONNS=$DOCKER_CONNS bench_wrk "docker.same $tag c=$DOCKER_CONNS" "$dpids" \
    "$docker_tcp/containers/$id/stats?stream=false$oneshot"
  # the server view at this size: the agent's /v1/gz/metrics and node_exporter's /metrics (a much larger page)
  bench_wrk "agent.gz $tag bytes=$(curl -fsS "$base/v1/gz/metrics" | wc -c)" "$agent" "$base/v1/gz/metrics"
  if [[ -n "$ne_port" ]]; then
    bench_wrk "node_exporter $tag bytes=$(curl -fsS "http://127.0.0.1:$ne_port/metrics" | wc -c)" "$ne" \
      "http://127.0.0.1:$ne_port/metrics"
  fi
  if [[ "$n" -gt 1 ]]; then
    WRK_CONNS=$DOCKER_CONNS bench_wrk "docker.rotate $tag c=$DOCKER_CONNS" "$dpids" \
      "$docker_tcp/containers/$id/stats?stream=false$oneshot" -- "$WORK/docker-paths"
  fi
}

log "1 container"
run_containers 1 1
await_instances "$base" 1
first_id=$(perf_container_ids | head -1)
first_uuid=$(uuid_of "$first_id")
# JIT warm-up, not reported
WRK_SECONDS=15 bench_wrk warmup "$agent" "$base/v1/$first_uuid/metrics" >/dev/null
echo "# load at n=1: $(cut -d' ' -f1-3 /proc/loadavg)"
measure 1 "$first_uuid" "$first_id"

log "scaling to $CONTAINERS containers"
run_containers $((CONTAINERS - 1)) 2
await_instances "$base" "$CONTAINERS"
sleep 5 # let the agent's per-instance background work (load sampler, fs walk) start for the new ones
echo "# load at n=$CONTAINERS: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "$CONTAINERS" "$first_uuid" "$first_id"

echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
