#!/usr/bin/env bash
# Hostile-request soak: a real cmon proxy and a real agent behind it on loopback, then driver.py sends REQUESTS
# hostile requests (default 10^6, at most DURATION seconds) and checks every answer: 5xx, hangs (no answer in TIMEOUT s),
# cross-tenant leaks, proxy memory before/after. See docs/PERFORMANCE.md "Hostile-request soak".
#
#   flock /tmp/bench.lock bench/hostile/soak.sh      (python3, openssl, curl; root not needed; no Docker)
#
# Knobs: REQUESTS=1000000 DURATION=600 (seconds) WORKERS=3 TIMEOUT=10 PIPELINE=16 SINGLE_RATIO=0.3 SINGLE_TIMEOUT=3 SEED=1;
# JAR=target/cmon.jar (built when missing); OUT=target/hostile (result JSON, logs); KEEP_WORK=1.
#
# Two tenants (alice: two instances, bob: one), declared instances backed by `sleep` processes this script starts
# (so no Docker is needed), one CA for tenants and the proxy's server certificate (as the quickstart does), the
# per-account rate limit lifted so that every request reaches routing (a 429 would hide what the request got).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/bench/hostile"
JAR="${JAR:-$REPO/target/cmon.jar}"
OUT="${OUT:-$REPO/target/hostile}"
REQUESTS="${REQUESTS:-1000000}"
DURATION="${DURATION:-600}"
WORKERS="${WORKERS:-3}"
TIMEOUT="${TIMEOUT:-10}"
SINGLE_TIMEOUT="${SINGLE_TIMEOUT:-3}"
PIPELINE="${PIPELINE:-16}"
SINGLE_RATIO="${SINGLE_RATIO:-0.3}"
SEED="${SEED:-1}"
WORK="$(mktemp -d /tmp/cmon-hostile.XXXXXX)"
PIDS=()
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true; done
  if [[ -n "${KEEP_WORK:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
spawn() { local var=$1 name=$2; shift 2; "$@" >"$WORK/$name.log" 2>&1 & PIDS+=($!); printf -v "$var" '%s' $!; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

for tool in python3 openssl curl java; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
if [[ ! -f "$JAR" ]]; then log "building $JAR"; (cd "$REPO" && mvn -q -B -DskipTests package >&2); fi
mkdir -p "$OUT"

# ---- certificates: the tenants' CA (also signs the proxy's server certificate), and everything hostile
cmon() { java -jar "$JAR" "$@" >/dev/null; }
C="$WORK/certs"
cmon ca init --dir "$WORK/ca"
cmon cert issue --ca "$WORK/ca" --account alice --out "$C"
cmon cert issue --ca "$WORK/ca" --account bob --out "$C"
cmon cert issue --ca "$WORK/ca" --server localhost --dns localhost --ip 127.0.0.1 --out "$C"
mkdir -p "$C/expired" "$C/other"
cmon cert issue --ca "$WORK/ca" --account alice --not-before 2020-01-01 --not-after 2020-02-01 --out "$C/expired"
cmon ca init --dir "$WORK/other-ca" --name "not the tenant CA"
cmon cert issue --ca "$WORK/other-ca" --account alice --out "$C/other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=alice \
  -keyout "$C/self-key.pem" -out "$C/self.pem" 2>/dev/null
# the certificate of issue 9, finding 2: a critical policyConstraints extension holding NULL, which the JDK
# cannot parse (alone, and appended to alice's valid chain)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=alice \
  -addext "2.5.29.36=critical,DER:05:00" -keyout "$C/odd-key.pem" -out "$C/odd.pem" 2>/dev/null
cat "$C/alice.pem" "$C/odd.pem" >"$C/alice-plus-odd.pem"

# ---- two tenants' instances: declared, each backed by a sleeping process of this run
ALICE_ID=4a1d3a6e-0c1b-4f8e-9d9b-2f0d3c6e7a11
BOB_ID=7b2e4c8f-1d2a-4e9b-8c7d-3e1f5a9b0c22
SERVER_UUID=5e7f9a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b
A1=a11ce000-0000-4000-8000-000000000001
A2=a11ce000-0000-4000-8000-000000000002
B1=b0b00000-0000-4000-8000-000000000001
spawn s1 sleep1 sleep 100000
spawn s2 sleep2 sleep 100000
spawn s3 sleep3 sleep 100000
cat >"$WORK/instances.yaml" <<EOF
instances:
  - {uuid: $A1, alias: alice-web, owner: alice, groups: [web], pid: $s1}
  - {uuid: $A2, alias: alice-db, owner: alice, groups: [db], pid: $s2}
  - {uuid: $B1, alias: bob-web, owner: bob, groups: [web], pid: $s3}
EOF
agent_port=$(free_port)
cat >"$WORK/agent.yaml" <<EOF
listen: 127.0.0.1:$agent_port
server: {uuid: $SERVER_UUID, hostname: hostile-soak}
instancesFile: $WORK/instances.yaml
EOF
spawn agent agent java ${CMON_JAVA_OPTS:-} -jar "$JAR" agent --config "$WORK/agent.yaml"

proxy_port=$(free_port)
admin_port=$(free_port)
cat >"$WORK/accounts.yaml" <<EOF
accounts:
  - {login: alice, uuid: $ALICE_ID}
  - {login: bob, uuid: $BOB_ID}
EOF
cat >"$WORK/proxy.yaml" <<EOF
listen: 127.0.0.1:$proxy_port
adminListen: 127.0.0.1:$admin_port
endpoint: localhost
dnsSuffix: localhost
tls: {cert: $C/localhost.pem, key: $C/localhost-key.pem}
auth: {mode: ca, tenantCa: $WORK/ca/ca.pem}
accounts: $WORK/accounts.yaml
agents: {static: ["127.0.0.1:$agent_port"]}
rateLimit: {rate: 1000000, burst: 1000000}
# every request comes from 127.0.0.1: lift the per-source throttle of failed authentications too, so that each
# hostile certificate is verified rather than answered 429 (THROTTLE=1 keeps the production default)
$( [[ -n "${THROTTLE:-}" ]] || echo "limits: {authFailureRate: 1000000, authFailureBurst: 1000000}" )
EOF
spawn proxy proxy java ${CMON_JAVA_OPTS:-} -jar "$JAR" proxy --config "$WORK/proxy.yaml"

# ready: alice's discovery lists her two instances
curl_alice=(curl -sS --max-time 2 --cacert "$WORK/ca/ca.pem" --cert "$C/alice.pem" --key "$C/alice-key.pem")
for ((i = 0; i < 600; i++)); do
  n=$("${curl_alice[@]}" "https://localhost:$proxy_port/v1/discover" 2>/dev/null | grep -o 'a11ce000-' | wc -l || true)
  [[ "$n" -ge 2 ]] && break
  sleep 0.1
done
[[ "$n" -ge 2 ]] || { log "alice's discovery never listed her instances"; tail -20 "$WORK/proxy.log" >&2; exit 1; }
code=$("${curl_alice[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$proxy_port/v1/$A1/metrics")
log "ready: alice sees 2 instances, her metrics answer $code"

cat >"$WORK/spec.json" <<EOF
{"port": $proxy_port, "endpoint": "localhost", "ca": "$WORK/ca/ca.pem", "server_uuid": "$SERVER_UUID",
 "tenants": {"alice": {"instances": ["$A1", "$A2"]}, "bob": {"instances": ["$B1"]}},
 "certs": {"alice": ["$C/alice.pem", "$C/alice-key.pem"], "bob": ["$C/bob.pem", "$C/bob-key.pem"],
           "expired": ["$C/expired/alice.pem", "$C/expired/alice-key.pem"],
           "other_ca": ["$C/other/alice.pem", "$C/other/alice-key.pem"],
           "self_signed": ["$C/self.pem", "$C/self-key.pem"], "odd": ["$C/odd.pem", "$C/odd-key.pem"],
           "alice_plus_odd": ["$C/alice-plus-odd.pem", "$C/alice-key.pem"]}}
EOF

# ---- the soak
rss_before=$(rss_kib "$proxy"); agent_rss_before=$(rss_kib "$agent")
load_before=$(uptime)
( while kill -0 "$proxy" 2>/dev/null; do echo "$(date +%s) $(rss_kib "$proxy")"; sleep 5; done ) >"$OUT/proxy-rss.txt" 2>/dev/null &
PIDS+=($!)
log "soak: $REQUESTS requests, at most ${DURATION}s, $WORKERS workers; proxy RSS ${rss_before} KiB"
timeout $((DURATION + 120)) python3 "$HERE/driver.py" --spec "$WORK/spec.json" --requests "$REQUESTS" \
  --seconds "$DURATION" --workers "$WORKERS" --timeout "$TIMEOUT" --single-timeout "$SINGLE_TIMEOUT" --pipeline "$PIPELINE" \
  --single-ratio "$SINGLE_RATIO" --seed "$SEED" >"$OUT/result.json"
load_after=$(uptime)
rss_after=$(rss_kib "$proxy"); agent_rss_after=$(rss_kib "$agent")
sleep 15
rss_idle=$(rss_kib "$proxy")
rss_max=$(awk '$2 > m {m = $2} END {print m}' "$OUT/proxy-rss.txt")
# the proxy is still healthy after the soak: alice's own metrics
code_after=$("${curl_alice[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$proxy_port/v1/$A1/metrics")
errors=$(grep -c ' ERROR ' "$WORK/proxy.log" || true)
cp "$WORK/proxy.log" "$OUT/proxy.log"; cp "$WORK/agent.log" "$OUT/agent.log"
python3 - "$OUT/result.json" <<EOF
import json, sys
r = json.load(open(sys.argv[1]))
print(f"requests={r['requests']} seconds={r['seconds']} rate_per_s={r['rate_per_s']} handshakes={r['handshakes']}")
print("by_status=" + " ".join(f"{k}:{v}" for k, v in r["by_status"].items()))
print(f"fivexx={r['fivexx']} timeouts={r['timeouts']} problems={r['problems']} unanswered_after_close={r['unanswered_after_close']}")
EOF
echo "proxy_rss_kib before=$rss_before after=$rss_after after_15s_idle=$rss_idle max_sampled=$rss_max"
echo "agent_rss_kib before=$agent_rss_before after=$agent_rss_after"
echo "proxy_error_log_lines=$errors alice_metrics_after=$code_after"
echo "load_before: $load_before"
echo "load_after:  $load_after"
