#!/usr/bin/env bash
# Coverage-guided fuzzing of every *FuzzTest target (Jazzer, libFuzzer underneath). One round fuzzes each target
# for its @FuzzTest maxDuration (60 s); later rounds start from the corpus the earlier ones saved in .cifuzz-corpus/,
# so ROUNDS=10 is ten minutes per target. A crash is saved by Jazzer as
# src/test/resources/<package>/<Test>Inputs/<method>/crash-<sha1> and then fails the ordinary unit test run
# (regression mode) until fixed: commit it with the fix.
#   usage: bench/fuzz/fuzz.sh [ROUNDS] [TARGET...]      e.g. bench/fuzz/fuzz.sh 1 RouteParserFuzzTest#requests
# Runs from the repository root; uses the machine's Maven offline (-o) once dependencies are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-1}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(RouteParserFuzzTest#requests ConfigFilesFuzzTest#configFiles DeclaredFileFuzzTest#instancesFile
           KeysFuzzTest#pemAndSshKeys KernelParsersFuzzTest#kernelFiles PluginOutputFuzzTest#pluginOutput)
fi
mkdir -p target/fuzz
for ((r = 1; r <= rounds; r++)); do
  for t in "${targets[@]}"; do
    log="target/fuzz/${t/\#/.}.round$r.log"
    echo "round $r: $t -> $log"
    # jazzer.hooks=true: the coverage instrumentation the unit test run leaves off (junit-platform.properties)
    JAZZER_FUZZ=1 mvn -q -o test -Dtest="$t" -Dsurefire.failIfNoSpecifiedTests=false \
        -DargLine="-Xmx1g -Djazzer.hooks=true" >"$log" 2>&1 || { echo "  FAILED: see $log"; status=1; }
    # libFuzzer's last status line: executions, coverage, corpus
    grep -E '^#[0-9]+' "$log" | tail -1 | sed 's/^/  /' || true
  done
done
exit ${status:-0}
