#!/usr/bin/env bash
# A fuzzing campaign over the fuzz module's Jazzer harnesses: each fuzzed alone for SECS seconds
# (default 600, the issue's "10-minute campaign"), resuming from and growing its working corpus in
# fuzz/.cifuzz-corpus. Ends in a markdown table for docs/fuzzing.md: harness, runs, exec/s, the
# final coverage (libFuzzer's cov: edges and ft: features), corpus entries, and the finding if any.
# Jazzer writes a finding's input into the harness's seed directory; this script moves it to
# OUT/findings/<Class_method>/ at once, so nothing unreviewed stays among the seeds.
# Usage: bench/fuzz-campaign.sh [PATTERN]   (settings through the environment:)
#   SECS=600  seconds per harness   ONLY=Class#method,...  just these (else every @FuzzTest whose
#   Class#method matches PATTERN)   OUT=DIR  where logs and findings go (default a new /tmp dir)
#   NICE=0..19  run at this niceness (e.g. beside other work; the table then says so)
# Needs the modules installed in ~/.m2 (mvn -B -q install -DskipTests), like bench/fuzz-speed.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${SECS:-600}"
pattern="${1:-.}"
niceness="${NICE:-0}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-campaign: SECS must be a positive whole number, not '$secs'" >&2; exit 1; }
[[ "$niceness" =~ ^([0-9]|1[0-9])$ ]] || { echo "fuzz-campaign: NICE must be 0..19, not '$niceness'" >&2; exit 1; }
command -v mvn >/dev/null || { echo "fuzz-campaign: mvn not found" >&2; exit 1; }

# shellcheck source=bench/fuzz-harnesses.sh
source "$root/bench/fuzz-harnesses.sh"

list="${ONLY:-}"
if [ -z "$list" ]; then
    list="$(harnesses | grep -E -- "$pattern" | paste -sd, -)"
fi
[ -n "$list" ] || { echo "fuzz-campaign: no harness matches '$pattern'" >&2; exit 1; }
out="${OUT:-$(mktemp -d /tmp/jrump-fuzz-campaign.XXXXXX)}"
mkdir -p "$out/findings"
echo "# Fuzzing campaign, $secs s per harness (bench/fuzz-campaign.sh), started $(date -u +%Y-%m-%dT%H:%MZ)"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(java -version 2>&1 | head -1); niceness $niceness"
echo
echo "| harness | runs | seconds | exec/s | cov | ft | corpus | finding |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for h in ${list//,/ }; do
    cls="${h%%#*}"; method="${h#*#}"
    seeds="$root/fuzz/src/test/resources/io/jrump/fuzz/${cls}Inputs/$method"
    log="$out/${cls}_$method.log"
    status=0
    # Only what this run writes is a finding: seeds kept under Jazzer's own names stay where they are.
    started="$out/.started-${cls}_$method"
    touch "$started"
    (cd "$root" && JAZZER_FUZZ=1 nice -n "$niceness" mvn -B -o -q test -pl fuzz -Dtest="$h" \
        -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.max_duration="${secs}s" >"$log" 2>&1) || status=$?
    finding="none"
    new_findings="$(find "$seeds" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'slow-unit-*' \) \
        -newer "$started" 2>/dev/null || true)"
    rm -f "$started"
    if [ -n "$new_findings" ]; then
        mkdir -p "$out/findings/${cls}_$method"
        echo "$new_findings" | while read -r f; do mv "$f" "$out/findings/${cls}_$method/"; done
        what="$(grep -m1 -E '^== Java Exception|FuzzerSecurityIssue|Exception:' "$log" | cut -c1-120 | tr '|' '/' || true)"
        finding="**yes**: ${what:-see the log} (input in $out/findings/${cls}_$method)"
    elif [ "$status" -ne 0 ]; then
        finding="**run failed** (see $log)"
    elif ! grep -qE '^(Done [0-9]+ runs|#[0-9]+)' "$log"; then
        finding="**did not run** (no libFuzzer output; see $log)"
    fi
    done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)"
    stat_line="$(grep -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|DONE|INITED)' "$log" | tail -1 || true)"
    runs="—"; took="—"; rate="—"
    if [ -n "$done_line" ]; then
        runs="$(echo "$done_line" | awk '{print $2}')"; took="$(echo "$done_line" | awk '{print $5}')"
        rate=$(( runs / (took > 0 ? took : 1) ))
    elif [ -n "$stat_line" ]; then
        runs="$(echo "$stat_line" | sed -E 's/^#([0-9]+).*/\1/')"
    fi
    cov="$(echo "$stat_line" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')"
    ft="$(echo "$stat_line" | sed -nE 's/.*ft: ([0-9]+).*/\1/p')"
    corp="$(echo "$stat_line" | sed -nE 's/.*corp: ([0-9]+)\/.*/\1/p')"
    echo "| $h | $runs | $took | $rate | ${cov:-—} | ${ft:-—} | ${corp:-—} | $finding |"
done
echo
echo "Logs: $out"
