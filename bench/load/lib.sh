# Shared pieces of the cmon load runs (sourced by agent-load.sh and proxy-load.sh).
# Everything stays on loopback; every load loop is bounded by count or time.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/bench/load"
JAR="$REPO/target/cmon.jar"
DOCKER_SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"
IMAGE="${IMAGE:-cmon-busybox:latest}"
PERF_LABEL="${PERF_LABEL:-cmon.test=perf}"
WRK_THREADS="${WRK_THREADS:-1}"
WRK_CONNS="${WRK_CONNS:-4}"
WRK_SECONDS="${WRK_SECONDS:-15}"
WORK="$(mktemp -d /tmp/cmon-load.XXXXXX)"
PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Builds the jar when missing or older than the sources (as ./cmon does), so the runs measure the current code.
ensure_jar() {
  if [[ ! -f "$JAR" ]] || [[ -n "$(find "$REPO/pom.xml" "$REPO/src/main" -newer "$JAR" -print -quit)" ]]; then
    log "building $JAR"
    (cd "$REPO" && mvn -q -B -DskipTests package >&2)
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until URL answers 200 (plain HTTP), at most $2 seconds.
await_http() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  log "no answer from $url after ${secs}s"; return 1
}

# Runs a background process, remembers its pid for cleanup and stores it in VAR; output in $WORK/<name>.log.
#   spawn VAR NAME COMMAND...      (not in $(...): the pid list must be this shell's)
spawn() {
  local var=$1 name=$2; shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  printf -v "$var" '%s' $!
}

remove_perf_containers() {
  local ids
  ids=$(docker ps -aq --filter "label=$PERF_LABEL")
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null 2>&1 || true
  fi
}

cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  remove_perf_containers
  if [[ -n "${KEEP_WORK:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

# Starts N containers (in parallel, 4 at a time) labelled for this run; prints nothing.
run_containers() {
  local n=$1 from=${2:-1}
  seq "$from" "$((from + n - 1))" | xargs -P 4 -I{} docker run -d --network none --label "$PERF_LABEL" \
      --label cmon.owner=alice --name "cmon-perf-{}" "$IMAGE" sleep 3600 >/dev/null
}

# cmon's instance uuid of a container id: the first 32 hex digits, 8-4-4-4-12 (DESIGN §2.1).
uuid_of() {
  local id=$1
  echo "${id:0:8}-${id:8:4}-${id:12:4}-${id:16:4}-${id:20:12}"
}

perf_container_ids() { docker ps -q --no-trunc --filter "label=$PERF_LABEL" --filter status=running; }

# Waits until the agent at base URL $1 lists $2 instances, at most 60 s.
await_instances() {
  local base=$1 want=$2 i have=0
  for ((i = 0; i < 600; i++)); do
    have=$(curl -fsS --max-time 2 "$base/v1/instances" | jq '[.instances[] | select(.state == "running")] | length')
    [[ "$have" -ge "$want" ]] && return 0
    sleep 0.1
  done
  log "agent lists $have running instances, wanted $want"; return 1
}

# CPU time (user+system, in ms) used so far by the given pids and their threads.
cpu_ms() {
  local total=0 pid ticks hz
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do
    [[ -r "/proc/$pid/stat" ]] || continue # a process that has gone (short-lived runc helpers)
    # fields 14 and 15 of /proc/<pid>/stat, counted after the ") " that closes the command name
    ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
    [[ -n "$ticks" ]] || continue
    total=$((total + ticks))
  done
  echo $((total * 1000 / hz))
}

# wrk against a URL, bounded in time; extra args go after the URL (e.g. "-- paths-file").
# Prints the RESULT line, prefixed with the label, plus the CPU the given server pids used per request.
#   bench_wrk LABEL "PID..." URL [-- PATHS_FILE]
bench_wrk() {
  local label=$1 pids=$2 url=$3; shift 3
  local before after out
  # shellcheck disable=SC2086
  before=$(cpu_ms $pids)
  out=$(WRK_PACE_MS="${WRK_PACE_MS:-}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --timeout 5s -s "$HERE/scrape.lua" "$url" "$@" \
        | grep '^RESULT')
  # shellcheck disable=SC2086
  after=$(cpu_ms $pids)
  local requests
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out")
  local per=n/a
  [[ "$requests" -gt 0 ]] && per=$(awk -v c=$((after - before)) -v n="$requests" 'BEGIN{printf "%.1f", c * 1000 / n}')
  echo "$label ${out#RESULT } server_cpu_us_per_req=$per"
}

# Server-side time of a route from a cmon process's own histogram, between two scrapes of its /metrics.
#   hist_delta BEFORE_FILE AFTER_FILE ROUTE [METRIC] [PREFIX]
#     -> "server_count=N server_mean_ms=M server_p50_ms=P server_p99_ms=Q server_le1ms=F"
# METRIC defaults to the agent's cmon_agent_http_request_duration_seconds (the proxy's is
# cmon_proxy_request_duration_seconds); PREFIX replaces "server" in the keys. Percentiles are linear
# interpolations inside the histogram's buckets (0.5, 1, 2.5, 5 ms ...): read them as "within that bucket"; the
# mean (sum/count) and server_le1ms (the fraction answered within 1 ms, a bucket bound) are exact.
hist_delta() {
  local before=$1 after=$2 route=$3 metric=${4:-cmon_agent_http_request_duration_seconds} prefix=${5:-server}
  awk -v route="$route" -v metric="$metric" -v p="$prefix" '
    function le_of(line) { match(line, /le="[^"]*"/); return substr(line, RSTART + 4, RLENGTH - 5) }
    index($0, metric) == 1 && index($0, "route=\"" route "\"") > 0 {
      v = $NF + 0
      if (FILENAME == ARGV[1]) sign = -1; else sign = 1
      if ($0 ~ /_bucket\{/) { le = le_of($0); b[le] += sign * v; if (!(le in seen)) { seen[le] = 1; order[n++] = le } }
      else if ($0 ~ /_sum/) sum += sign * v
      else if ($0 ~ /_count/) cnt += sign * v
    }
    function pct(q,   i, target, prev, prevc, le, c) {
      target = q * cnt; prev = 0; prevc = 0
      for (i = 0; i < n; i++) {
        le = order[i]; c = b[le]
        if (c >= target) {
          if (le == "+Inf") return prev
          return prev + (le - prev) * (c == prevc ? 1 : (target - prevc) / (c - prevc))
        }
        if (le != "+Inf") prev = le
        prevc = c
      }
      return prev
    }
    END {
      if (cnt <= 0) { print p "_count=0"; exit }
      printf "%s_count=%d %s_mean_ms=%.3f %s_p50_ms=%.3f %s_p99_ms=%.3f %s_le1ms=%.4f\n",
        p, cnt, p, sum / cnt * 1000, p, pct(0.5) * 1000, p, pct(0.99) * 1000, p, b["0.001"] / cnt
    }' "$before" "$after"
}

# Latency of N sequential requests on one keep-alive connection (curl, one process): p50/p99/mean in ms.
#   seq_latency LABEL CURL_ARGS... -- URL...
seq_latency() {
  local label=$1; shift
  local args=()
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  shift
  local urls=() u
  for u in "$@"; do urls+=(-o /dev/null -w '%{http_code} %{time_total}\n' "$u"); done
  curl -s "${args[@]}" "${urls[@]}" | summarize_times "$label"
}

# stdin: "code seconds" lines -> one summary line
summarize_times() {
  sort -k2 -g | awk -v label="$1" '
    { code[$1]++; t[n++] = $2 * 1000; s += $2 * 1000 }
    END {
      bad = n - code["200"]
      printf "%s n=%d p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f max_ms=%.3f non200=%d\n",
        label, n, t[int((n - 1) * 0.5)], t[int((n - 1) * 0.99)], s / n, t[n - 1], bad
    }'
}
