#!/usr/bin/env bash
# Load run of the cmon proxy (mTLS, path mode GET /v1/<uuid>/metrics as tenant alice) against nginx configured as
# an mTLS reverse proxy to the same agent, and against the agent directly, in the same run.
#
#   bench/load/proxy-load.sh        (root; the shared dockerd; image cmon-busybox:latest; wrk, nginx, jq, curl)
#
# wrk cannot present a client certificate, so a second nginx ("the front", 1 worker, plain HTTP on loopback for
# wrk) originates the TLS: it holds alice's certificate and keeps pooled keep-alive TLS connections to BOTH the
# cmon proxy and the nginx peer. Both are thus measured through the same front, with the same client TLS stack;
# the front's own cost is measured too (front -> agent, plain) and is the baseline for "added" latency.
#
#   wrk -> agent                                    agent.direct
#   wrk -> front -> agent                           front.agent      (front's own cost)
#   wrk -> front =mTLS=> cmon proxy -> agent        front.cmon
#   wrk -> front =mTLS=> nginx peer -> agent        front.nginx      (ssl_verify_client on, tenant CA)
#
# Knobs (environment): ACCESS_LOG=on|off; ROUNDS=2 saturated rounds (targets in order, then in reverse order, ...);
# PACES="1 3": then one paced round per value, each connection waiting that many ms after every answer ("" for
# none); WIRE=1: also time every hop's answers on the loopback wire (tcpdump, middle third of each run:
# wire_front_*, wire_server_*, wire_agent_* keys, see wire-latency.py); PROFILE=FILE profiles the proxy in
# saturated round 1 (JFR summary to FILE, or with ASYNC_PROFILER=/path/libasyncProfiler.so a collapsed-stack CPU
# profile); WARMUP_SECONDS=30 per path before the rounds; WRK_SECONDS=15, WRK_CONNS=4, WRK_THREADS=1,
# KEEP_WORK=1; CMON_JAVA_OPTS (agent and proxy JVMs), PROXY_JAVA_OPTS (the proxy JVM only);
# AUTH=ca|account-key (SSH_KEY_TYPE=ed25519|ecdsa|rsa with account-key).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-2}"
PACES="${PACES-1 3}"
# load on each path before measuring, not reported, while the JVMs' JIT compiles the hot paths (with 10 s the
# proxy's second saturated round was its slowest in every run, likely the JIT still at work: docs/PERFORMANCE.md)
WARMUP_SECONDS="${WARMUP_SECONDS:-30}"
# access logs: "on" = both servers write one line per request to a file (cmon's access log to its stderr, nginx's
# access_log), as in production; "off" = neither (CMON_ACCESS_LOG=OFF, access_log off)
ACCESS_LOG="${ACCESS_LOG:-on}"
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in wrk nginx jq curl docker python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
ensure_jar
remove_perf_containers

# certificates: one CA for tenants and for the servers' certificates (what `cmon quickstart` does)
java -jar "$JAR" ca init --dir "$WORK/ca" >/dev/null
java -jar "$JAR" cert issue --ca "$WORK/ca" --account alice --out "$WORK/certs" >/dev/null
java -jar "$JAR" cert issue --ca "$WORK/ca" --server localhost --dns localhost --ip 127.0.0.1 --out "$WORK/certs" \
  >/dev/null
CA="$WORK/ca/ca.pem"
SRV="$WORK/certs/localhost.pem"
SRV_KEY="$WORK/certs/localhost-key.pem"
ALICE="$WORK/certs/alice.pem"
ALICE_KEY="$WORK/certs/alice-key.pem"
# AUTH=account-key: alice's certificate is self-signed by her SSH key (cmon cert from-ssh-key), the proxy checks it
# against the key registered in accounts.yaml (and runs the JDK's TLS engine, see docs/operator-guide.md); the nginx
# peer pins that same certificate as its only trust anchor, the closest nginx comes to "this key belongs to alice"
AUTH="${AUTH:-ca}"
keys="[]"
auth_conf="{mode: ca, tenantCa: $CA}"
PEER_CLIENT_CA="$CA"
if [[ "$AUTH" == account-key ]]; then
  command -v ssh-keygen >/dev/null || { echo "AUTH=account-key needs ssh-keygen" >&2; exit 1; }
  ssh-keygen -q -t "${SSH_KEY_TYPE:-ed25519}" -N "" -C alice@load -f "$WORK/alice-ssh"
  java -jar "$JAR" cert from-ssh-key --key "$WORK/alice-ssh" --account alice --out "$WORK/ssh-certs" >/dev/null
  ALICE="$WORK/ssh-certs/alice.pem"
  ALICE_KEY="$WORK/ssh-certs/alice-key.pem"
  keys="[\"$(cat "$WORK/alice-ssh.pub")\"]"
  auth_conf="{mode: account-key}"
  PEER_CLIENT_CA="$ALICE"
elif [[ "$AUTH" != ca ]]; then
  echo "AUTH must be ca or account-key" >&2; exit 1
fi

# agent and one container owned by alice
agent_port=$(free_port)
cat >"$WORK/agent.yaml" <<EOF
listen: 127.0.0.1:$agent_port
docker: {socket: $DOCKER_SOCK}
EOF
spawn agent agent java ${CMON_JAVA_OPTS:-} -jar "$JAR" agent --config "$WORK/agent.yaml"
await_http "http://127.0.0.1:$agent_port/_ping" 30
run_containers 1 1
await_instances "http://127.0.0.1:$agent_port" 1
uuid=$(uuid_of "$(perf_container_ids | head -1)")
path="/v1/$uuid/metrics"

# cmon proxy; the per-account rate limit is lifted (it would answer 429 under a load run)
proxy_port=$(free_port)
admin_port=$(free_port)
cat >"$WORK/accounts.yaml" <<EOF
accounts:
  - {login: alice, uuid: 4a1d3a6e-0c1b-4f8e-9d9b-2f0d3c6e7a11, operator: false, keys: $keys}
EOF
cat >"$WORK/proxy.yaml" <<EOF
listen: 127.0.0.1:$proxy_port
adminListen: 127.0.0.1:$admin_port
endpoint: localhost
dnsSuffix: localhost
tls: {cert: $SRV, key: $SRV_KEY}
auth: $auth_conf
accounts: $WORK/accounts.yaml
agents: {static: ["127.0.0.1:$agent_port"]}
rateLimit: {rate: 1000000, burst: 1000000}
EOF
SKIP_CMON="${SKIP_CMON:-}"   # dry runs of the rest while no proxy is built
proxy=""
cmon_access=INFO
[[ "$ACCESS_LOG" == on ]] || cmon_access=OFF
[[ -n "$SKIP_CMON" ]] || CMON_ACCESS_LOG=$cmon_access spawn proxy proxy java ${CMON_JAVA_OPTS:-} ${PROXY_JAVA_OPTS:-} -jar "$JAR" proxy --config "$WORK/proxy.yaml"

# nginx peer: mTLS reverse proxy to the same agent, pooled keep-alive upstream
peer_port=$(free_port)
peer_access=off
[[ "$ACCESS_LOG" != on ]] || peer_access="$WORK/nginx/peer-access.log combined"
mkdir -p "$WORK/nginx"
nginx_common="
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;"
proxied="proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host localhost;"
cat >"$WORK/nginx/peer.conf" <<EOF
worker_processes auto;
daemon off;
pid $WORK/nginx/peer.pid;
error_log $WORK/nginx/peer-error.log warn;
events { worker_connections 1024; }
http {
  $nginx_common
  upstream agent { server 127.0.0.1:$agent_port; keepalive 32; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$peer_port ssl;
    access_log $peer_access;
    ssl_certificate $SRV; ssl_certificate_key $SRV_KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate $PEER_CLIENT_CA; ssl_verify_client on;
    location / { proxy_pass http://agent; $proxied }
  }
}
EOF
spawn peer nginx-peer nginx -c "$WORK/nginx/peer.conf" -p "$WORK/nginx"

# the front: plain HTTP for wrk, TLS with alice's certificate to the cmon proxy and to the nginx peer
f_agent=$(free_port); f_cmon=$(free_port); f_nginx=$(free_port)
tls_to="proxy_ssl_certificate $ALICE; proxy_ssl_certificate_key $ALICE_KEY;
      proxy_ssl_trusted_certificate $CA; proxy_ssl_verify on; proxy_ssl_name localhost;
      proxy_ssl_server_name on; proxy_ssl_session_reuse on;"
cat >"$WORK/nginx/front.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/front.pid;
error_log $WORK/nginx/front-error.log warn;
events { worker_connections 1024; }
http {
  $nginx_common
  upstream agent { server 127.0.0.1:$agent_port; keepalive 32; keepalive_requests 1000000; }
  upstream cmon  { server 127.0.0.1:$proxy_port; keepalive 32; keepalive_requests 1000000; }
  upstream peer  { server 127.0.0.1:$peer_port;  keepalive 32; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$f_agent; location / { proxy_pass http://agent; $proxied } }
  server { listen 127.0.0.1:$f_cmon;  location / { proxy_pass https://cmon; $proxied $tls_to } }
  server { listen 127.0.0.1:$f_nginx; location / { proxy_pass https://peer; $proxied $tls_to } }
}
EOF
spawn front nginx-front nginx -c "$WORK/nginx/front.conf" -p "$WORK/nginx"

# everything answers 200 for alice's container before the run (the proxy needs its first inventory sync)
await_http "http://127.0.0.1:$f_agent$path" 30
await_http "http://127.0.0.1:$f_nginx$path" 30
[[ -n "$SKIP_CMON" ]] || await_http "http://127.0.0.1:$f_cmon$path" 60
# and the peer and the proxy refuse a caller without a certificate (they are what we say they are)
no_cert_cmon=skipped
[[ -n "$SKIP_CMON" ]] || no_cert_cmon=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "localhost:$proxy_port:127.0.0.1" \
  "https://localhost:$proxy_port$path")
no_cert_nginx=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "localhost:$peer_port:127.0.0.1" \
  "https://localhost:$peer_port$path")
sleep 0.5
peer_pids="$peer $(pgrep -P "$peer" | tr '\n' ' ')"
front_pids="$front $(pgrep -P "$front" | tr '\n' ' ')"

echo "# machine: $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(nginx -v 2>&1), $(java -version 2>&1 | head -1), wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s"
echo "# tenant authentication: $AUTH"
echo "# access logs: $ACCESS_LOG (cmon proxy: CMON_ACCESS_LOG=$cmon_access; nginx peer: access_log $peer_access)"
echo "# without a client certificate: cmon proxy $no_cert_cmon, nginx peer $no_cert_nginx"
echo "# bytes per answer: $(curl -fsS "http://127.0.0.1:$f_nginx$path" | wc -c)"

# JIT and TLS session warm-up, not reported
for u in "http://127.0.0.1:$agent_port$path" "http://127.0.0.1:$f_nginx$path"; do
  WRK_SECONDS=$WARMUP_SECONDS bench_wrk warmup "$agent" "$u" >/dev/null
done
[[ -n "$SKIP_CMON" ]] || WRK_SECONDS=$WARMUP_SECONDS bench_wrk warmup "$agent" "http://127.0.0.1:$f_cmon$path" >/dev/null

targets=(agent.direct front.agent front.cmon front.nginx)
[[ -z "$SKIP_CMON" ]] || targets=(agent.direct front.agent front.nginx)
declare -A url=(
  [agent.direct]="http://127.0.0.1:$agent_port$path"
  [front.agent]="http://127.0.0.1:$f_agent$path"
  [front.cmon]="http://127.0.0.1:$f_cmon$path"
  [front.nginx]="http://127.0.0.1:$f_nginx$path")
# CPU counted per target: the server in the middle (the agent itself for the first two)
declare -A cpu=(
  [agent.direct]="$agent" [front.agent]="$agent" [front.cmon]="$proxy" [front.nginx]="$peer_pids")

# WIRE=1: ports whose answers are timed on the wire (tcpdump), per target: the front's (what wrk is answered on)
# and the server's in the middle
declare -A wire_front=([front.agent]=$f_agent [front.cmon]=$f_cmon [front.nginx]=$f_nginx)
declare -A wire_server=([front.cmon]=$proxy_port [front.nginx]=$peer_port)
if [[ -n "${WIRE:-}" ]]; then command -v tcpdump >/dev/null || { echo "WIRE=1 needs tcpdump" >&2; exit 1; }; fi

# One measurement of target $1 in round $2: wrk, CPU, the servers' own histograms, TIME-WAIT count; one line.
measure() {
  local t=$1 r=$2 label=$1
  [[ -z "${WRK_PACE_MS:-}" ]] || label="$t.paced${WRK_PACE_MS}ms"
  local a0 a1 f0 f1 line inside tw
  a0=$(cpu_ms "$agent"); f0=$(cpu_ms $front_pids)
  curl -fsS "http://127.0.0.1:$agent_port/metrics" >"$WORK/agent.m0"
  [[ -n "$SKIP_CMON" ]] || curl -fsS "http://127.0.0.1:$admin_port/metrics" >"$WORK/proxy.m0"
  local profiling=""
  [[ -n "${PROFILE:-}" && $t == front.cmon && $r == 1 && -z "${WRK_PACE_MS:-}" ]] && profiling=1
  if [[ -n "$profiling" && -n "${ASYNC_PROFILER:-}" ]]; then
    # jcmd reads key=value arguments itself: the agent's options go in one quoted argument
    jcmd "$proxy" JVMTI.agent_load "$ASYNC_PROFILER" "\"start,event=cpu,interval=200us\"" >/dev/null
  elif [[ -n "$profiling" ]]; then
    jcmd "$proxy" JFR.start name=perf settings=profile filename="$WORK/proxy.jfr" >/dev/null
  fi
  local capture="" capture_pid=""
  if [[ -n "${WIRE:-}" ]]; then
    # the middle third of the run, every hop's port: answers as sent, before wrk picks them up
    capture="$WORK/wire.pcap"
    rm -f "$capture"
    (sleep $((WRK_SECONDS / 3)); timeout -s INT $((WRK_SECONDS / 3)) tcpdump -i lo -nn -s 96 -w "$capture" \
      "tcp port $agent_port or tcp port ${wire_front[$t]:-$agent_port} or tcp port ${wire_server[$t]:-$agent_port}" \
      2>/dev/null) &
    capture_pid=$!
  fi
  line=$(bench_wrk "$label round=$r" "${cpu[$t]}" "${url[$t]}")
  if [[ -n "$profiling" && -n "${ASYNC_PROFILER:-}" ]]; then
    jcmd "$proxy" JVMTI.agent_load "$ASYNC_PROFILER" "\"stop,file=$PROFILE,collapsed\"" >/dev/null
  elif [[ -n "$profiling" ]]; then
    jcmd "$proxy" JFR.stop name=perf >/dev/null
    "$HERE/jfr-top.sh" "$WORK/proxy.jfr" 20 >"$PROFILE"
  fi
  a1=$(cpu_ms "$agent"); f1=$(cpu_ms $front_pids)
  curl -fsS "http://127.0.0.1:$agent_port/metrics" >"$WORK/agent.m1"
  # time inside the agent, and for front.cmon inside the proxy (its own histogram: request in -> answer ended)
  inside="$(hist_delta "$WORK/agent.m0" "$WORK/agent.m1" instance_metrics cmon_agent_http_request_duration_seconds agent)"
  if [[ $t == front.cmon ]]; then
    curl -fsS "http://127.0.0.1:$admin_port/metrics" >"$WORK/proxy.m1"
    inside="$inside $(hist_delta "$WORK/proxy.m0" "$WORK/proxy.m1" metrics cmon_proxy_request_duration_seconds proxy)"
  fi
  if [[ -n "$capture" ]]; then
    wait "$capture_pid" || true # timeout ends tcpdump: exit status 124
    inside="$inside $("$HERE/wire-latency.py" "$capture" "$agent_port" wire_agent)"
    [[ -z "${wire_server[$t]:-}" ]] || inside="$inside $("$HERE/wire-latency.py" "$capture" "${wire_server[$t]}" wire_server)"
    [[ -z "${wire_front[$t]:-}" ]] || inside="$inside $("$HERE/wire-latency.py" "$capture" "${wire_front[$t]}" wire_front)"
  fi
  # connections closed during the run (TIME-WAIT lasts 60 s): keep-alive churn means new TLS handshakes
  tw=$(ss -Htan state time-wait | grep -c -E "127.0.0.1:($proxy_port|$peer_port|$agent_port)\b" || true)
  echo "$line agent_cpu_ms=$((a1 - a0)) front_cpu_ms=$((f1 - f0)) time_wait_to_servers=$tw $inside"
}

# saturated rounds: every connection sends its next request as soon as the answer is in
for ((r = 1; r <= ROUNDS; r++)); do
  order=("${targets[@]}")
  if ((r % 2 == 0)); then for ((k = 0; k < ${#targets[@]}; k++)); do order[k]=${targets[-k-1]}; done; fi
  echo "# round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in "${order[@]}"; do measure "$t" "$r"; done
done
# paced rounds: each connection waits PACE ms after every answer (scrape.lua's WRK_PACE_MS), a load below
# saturation, so latency shows what each hop adds rather than queueing for 2 saturated cores
for pace in $PACES; do
  echo "# paced ${pace} ms, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in "${targets[@]}"; do WRK_PACE_MS=$pace measure "$t" 1; done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
