#!/usr/bin/env bash
# Discovery as a tenant's real Prometheus sees it: Debian's prometheus with triton_sd_configs against a running
# proxy, refreshing every REFRESH (1s) for SECONDS (60), then its own refresh timings
# (prometheus_sd_refresh_duration_seconds{mechanism="triton"}: request, TLS read and JSON decoding of the answer, the
# whole refresh) and failures. Prometheus keeps its discovery connection open, as in production. All targets are
# dropped by relabelling, so nothing is scraped. Loopback only.
#
#   bench/fleet/prom-sd.sh WORK PORT LOGIN     # WORK: a run's kept work dir (KEEP_WORK=1), its ca/ and certs/
set -euo pipefail
WORK=$1 PORT=$2 LOGIN=$3
SECONDS_RUN=${SECONDS_RUN:-60} REFRESH=${REFRESH:-1s}
dir=$(mktemp -d /tmp/cmon-prom-sd.XXXXXX)
trap 'kill "$prom" 2>/dev/null || true; wait "$prom" 2>/dev/null || true; rm -rf "$dir"' EXIT
web=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/prometheus.yml" <<EOF
global: {scrape_interval: 1h}
scrape_configs:
  - job_name: discovery-only
    triton_sd_configs:
      - account: $LOGIN
        endpoint: localhost
        dns_suffix: cmon.test
        port: $PORT
        version: 1
        refresh_interval: $REFRESH
        tls_config: {ca_file: $WORK/ca/ca.pem, cert_file: $WORK/certs/$LOGIN.pem, key_file: $WORK/certs/$LOGIN-key.pem}
    relabel_configs: [{action: drop, source_labels: [__address__], regex: '.*'}]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$web" >"$dir/prometheus.log" 2>&1 &
prom=$!
sleep "$SECONDS_RUN"
metrics=$(curl -fsS "http://127.0.0.1:$web/metrics")
q() { awk -v q="$1" '$1 == "prometheus_sd_refresh_duration_seconds{mechanism=\"triton\",quantile=\"" q "\"}" {printf "%.2f", $2 * 1000}' <<<"$metrics"; }
n=$(awk '$1 == "prometheus_sd_refresh_duration_seconds_count{mechanism=\"triton\"}" {print $2}' <<<"$metrics")
failures=$(awk '$1 == "prometheus_sd_refresh_failures_total{mechanism=\"triton\"}" {print $2}' <<<"$metrics")
echo "prometheus triton SD refresh (${REFRESH} for ${SECONDS_RUN}s): n=$n p50_ms=$(q 0.5) p90_ms=$(q 0.9)" \
  "p99_ms=$(q 0.99) failures=${failures:-?}"
grep -i -m3 'level=error\|level=warn.*triton' "$dir/prometheus.log" | cut -c1-300 || true
