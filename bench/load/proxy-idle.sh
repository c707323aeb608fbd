#!/usr/bin/env bash
# Idle memory of the proxy: `./cmon proxy --config …` started as README starts it (the launcher: proxy.options, the
# AppCDS archive), following one static agent address that does not answer (127.0.0.1, a closed port), N times, RSS
# from /proc/PID/status WAIT seconds after the admin listener's first /-/healthy answer, then SIGTERM. As in
# agent-idle.sh, the launcher's archiving start is made first and not measured.
#
#   flock /tmp/bench.lock bench/load/proxy-idle.sh
#
# Knobs: STARTS=3 WAIT=10 EXTRA_OPTS (appended to CMON_JAVA_OPTS) CHECKOUT (the directory whose ./cmon,
# target/cmon.jar and proxy.options are started; default this checkout) KEEP_WORK=1. One line per start on stdout.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STARTS="${STARTS:-3}"
WAIT="${WAIT:-10}"
trap cleanup EXIT
trap 'exit 130' INT TERM
CHECKOUT="${CHECKOUT:-$REPO}"
[[ "$CHECKOUT" == "$REPO" ]] && ensure_jar

# certificates as the quickstart makes them: a tenant CA, the proxy's server certificate
java -jar "$CHECKOUT/target/cmon.jar" ca init --dir "$WORK/ca" >/dev/null
java -jar "$CHECKOUT/target/cmon.jar" cert issue --ca "$WORK/ca" --server localhost --dns localhost --ip 127.0.0.1 \
  --out "$WORK/certs" >/dev/null
port=$(free_port)
admin=$(free_port)
closed=$(free_port) # nothing listens there: the proxy keeps retrying one unreachable agent
printf 'accounts: []\n' >"$WORK/accounts.yaml"
cat >"$WORK/proxy.yaml" <<YAML
listen: 127.0.0.1:$port
adminListen: 127.0.0.1:$admin
endpoint: localhost
dnsSuffix: localhost
tls: {cert: $WORK/certs/localhost.pem, key: $WORK/certs/localhost-key.pem}
auth: {mode: ca, tenantCa: $WORK/ca/ca.pem}
accounts: $WORK/accounts.yaml
agents: {static: ["127.0.0.1:$closed"]}
YAML
export CMON_CDS_DIR="$WORK/cds"

start_proxy() {
  CMON_JAVA_OPTS="${EXTRA_OPTS:-}" spawn proxy proxy "$CHECKOUT/cmon" proxy --config "$WORK/proxy.yaml"
  await_http "http://127.0.0.1:$admin/-/healthy" 60
}
stop_proxy() {
  kill -TERM "$proxy" && wait "$proxy" 2>/dev/null || true
}

echo "# proxy, $CHECKOUT, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_proxy # the archiving start
sleep "$WAIT"
stop_proxy
ls "$CMON_CDS_DIR"/*.jsa >/dev/null || { log "no app archive was written"; exit 1; }

for ((i = 1; i <= STARTS; i++)); do
  start_proxy
  sleep "$WAIT"
  rss=$(awk '/VmRSS/{print $2}' /proc/"$proxy"/status)
  anon=$(awk '/RssAnon/{print $2}' /proc/"$proxy"/status)
  threads=$(awk '/Threads/{print $2}' /proc/"$proxy"/status)
  echo "idle proxy start=$i rss_kb=$rss anon_kb=$anon threads=$threads load=$(cut -d' ' -f1 /proc/loadavg)"
  echo "classes start=$i $(jcmd "$proxy" VM.classloader_stats | awk '/^Total =/{print $4; exit}')"
  stop_proxy
done
