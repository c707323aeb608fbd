#!/usr/bin/env bash
# Idle memory of the agent (issue 11: ≤ 64 MiB RSS idle): `./cmon agent --config …` started exactly as README starts
# it (the launcher: agent.options, MALLOC_ARENA_MAX, the AppCDS archive), N times, RSS from /proc/PID/status WAIT
# seconds after the first /_ping answer, then SIGTERM. The launcher's first start of a jar build is its archiving
# start (-XX:ArchiveClassesAtExit); this script makes that start first, unmeasured, so that every measured start maps
# the app archive as an operator's later starts do.
#
#   flock /tmp/bench.lock bench/load/agent-idle.sh docker|declared      (root; docker: the shared dockerd's socket)
#
#   docker:   the Docker source only (as examples/agent.yaml; whatever containers the host runs: say how many)
#   declared: one declared instance (a `sleep` in cgroups of its own) and no Docker source
# Knobs: STARTS=3 WAIT=10 CMON_CDS=off (the launcher's own switch: no app archive, so no archiving start either;
# with EXTRA_OPTS=-Xshare:off not even the JDK's archive) NMT=1 (adds -XX:NativeMemoryTracking=summary and prints the summary of the last start)
# EXTRA_OPTS (appended to
# CMON_JAVA_OPTS) CHECKOUT (the directory whose ./cmon, target/cmon.jar and agent.options are started: default this
# checkout; for an A/B, a copy of another build's three files) KEEP_WORK=1. One line per start on stdout: rss_kb, anonymous/file split, threads, load average.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODE="${1:-docker}"
STARTS="${STARTS:-3}"
WAIT="${WAIT:-10}"
trap cleanup EXIT
trap 'exit 130' INT TERM
CHECKOUT="${CHECKOUT:-$REPO}"
[[ "$CHECKOUT" == "$REPO" ]] && ensure_jar

port=$(free_port)
base="http://127.0.0.1:$port"
case "$MODE" in
  docker)
    printf 'listen: 127.0.0.1:%s\ndocker: {socket: %s}\n' "$port" "$DOCKER_SOCK" >"$WORK/agent.yaml" ;;
  declared)
    sleep 3600 &
    PIDS+=($!)
    sleeper=$!
    for c in cpu,cpuacct memory blkio pids; do # v1 hierarchies (a v2 host: the unified tree)
      d="/sys/fs/cgroup/$c/cmon-idle-$$"
      [[ -d "/sys/fs/cgroup/$c" ]] || continue
      mkdir -p "$d" && echo "$sleeper" >"$d/cgroup.procs" || true
    done
    [[ -f /sys/fs/cgroup/cgroup.controllers ]] && mkdir -p "/sys/fs/cgroup/cmon-idle-$$" &&
      echo "$sleeper" >"/sys/fs/cgroup/cmon-idle-$$/cgroup.procs"
    printf 'instances:\n  - {uuid: 6f1c2a9e-0c1d-4e55-8a77-3b0f5d1e9a10, alias: idle-1, owner: alice, pid: %s}\n' \
      "$sleeper" >"$WORK/instances.yaml"
    printf 'listen: 127.0.0.1:%s\ninstancesFile: %s\n' "$port" "$WORK/instances.yaml" >"$WORK/agent.yaml" ;;
  *) echo "usage: $0 docker|declared" >&2; exit 2 ;;
esac
export CMON_CDS_DIR="$WORK/cds"
opts="${EXTRA_OPTS:-}"
[[ -n "${NMT:-}" ]] && opts="$opts -XX:NativeMemoryTracking=summary"

start_agent() { # the same command line as README, from the checkout
  CMON_JAVA_OPTS="$opts" spawn agent agent "$CHECKOUT/cmon" agent --config "$WORK/agent.yaml"
  await_http "$base/_ping" 60
}
stop_agent() {
  kill -TERM "$agent" && wait "$agent" 2>/dev/null || true
}

echo "# $MODE, $CHECKOUT, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), docker containers running: $(docker ps -q 2>/dev/null | wc -l)"
if [[ "${CMON_CDS:-on}" != off ]]; then
  start_agent # the archiving start
  sleep "$WAIT"
  stop_agent
  ls "$CMON_CDS_DIR"/*.jsa >/dev/null || { log "no app archive was written"; exit 1; }
fi

for ((i = 1; i <= STARTS; i++)); do
  t0=$(date +%s.%N)
  start_agent
  t1=$(date +%s.%N)
  sleep "$WAIT"
  rss=$(awk '/VmRSS/{print $2}' /proc/"$agent"/status)
  anon=$(awk '/RssAnon/{print $2}' /proc/"$agent"/status)
  file=$(awk '/RssFile/{print $2}' /proc/"$agent"/status)
  threads=$(awk '/Threads/{print $2}' /proc/"$agent"/status)
  echo "idle $MODE start=$i rss_kb=$rss anon_kb=$anon file_kb=$file threads=$threads ping_s=$(echo "$t1 - $t0" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
  if [[ $i -eq $STARTS && -n "${NMT:-}" ]]; then jcmd "$agent" VM.native_memory summary >"$WORK/nmt.txt"; cat "$WORK/nmt.txt"; fi
  # classes: instance and array classes, all loaders (after the RSS reading: jcmd's attach loads a few itself)
  echo "classes start=$i $(jcmd "$agent" VM.classloader_stats | awk '/^Total =/{print; exit}')"
  stop_agent
done
