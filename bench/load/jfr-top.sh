#!/usr/bin/env bash
# Summarizes a JFR recording's CPU samples: the hottest top frames, and the share of samples whose stack passes
# through a few areas (TLS, logging, metrics, HTTP codec, cmon's own code).
#   bench/load/jfr-top.sh recording.jfr [N]
set -euo pipefail
jfr print --events jdk.ExecutionSample "$1" | awk -v top="${2:-15}" '
  /jdk.ExecutionSample/ { n++; first = 1; delete seen; next }
  /stackTrace = \[/ { instack = 1; next }
  instack && /^[[:space:]]*\]/ { instack = 0; next }
  instack {
    f = $1
    if (first) { tops[f]++; first = 0 }
    if (f ~ /ssl|SSL|Ssl|sun\.security|crypto/) seen["tls (JSSE/netty ssl, crypto)"] = 1
    if (f ~ /ch\.qos\.logback|org\.slf4j/) seen["logging (logback)"] = 1
    if (f ~ /io\.prometheus/) seen["metrics (client_java)"] = 1
    if (f ~ /io\.netty\.handler\.codec\.http|io\.vertx\.core\.http/) seen["http (vert.x/netty codec)"] = 1
    if (f ~ /^io\.cmon/) seen["cmon code"] = 1
    if (f ~ /sun\.nio|io\.netty\.channel\.epoll|FileDispatcher|socket/) seen["socket io"] = 1
    for (k in seen) if (!(k SUBSEP n in done)) { area[k]++; done[k SUBSEP n] = 1 }
  }
  END {
    printf "samples %d\n", n
    for (k in area) printf "  %5.1f%%  %s\n", 100 * area[k] / n, k | "sort -rn"
    close("sort -rn")
    print "top frames:"
    for (f in tops) printf "  %5.1f%%  %s\n", 100 * tops[f] / n, f | "sort -rn | head -" top
  }'
