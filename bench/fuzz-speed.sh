#!/usr/bin/env bash
# Executions per second of every Jazzer harness in module fuzz, each fuzzed alone for SECS seconds
# from its seed corpus, ending in a markdown table (harness, runs, seconds, exec/s, goal, met) for
# docs/fuzzing.md. The goals are issue 20's, by kind of harness:
#   parser  wire and header parsers           >= 50,000 exec/s
#   image   mount, walk and read an image     >=  5,000
#   write   write, then check                 >=  1,000
#   model   model-based, with power cuts      >=    500
# Usage: bench/fuzz-speed.sh [PATTERN]   (settings through the environment:)
#   SECS=20  seconds per harness   ONLY=Class#method,...  just these (else every @FuzzTest, or
#   those whose Class#method matches PATTERN)   ALSO=module,...  build these modules from the
#   checkout too (e.g. ALSO=hosts/kit,hosts/sim,fuzz-kit after changing them), else ~/.m2's jars
# Runs each harness through Maven offline (JAZZER_FUZZ=1 mvn -o test -pl fuzz -Dtest=...), so build
# the modules first: mvn -B -q install -DskipTests. Nothing else should run on the machine meanwhile:
# exec/s is CPU time. Jazzer keeps what it finds in fuzz/.cifuzz-corpus (git ignores it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${SECS:-20}"
modules="fuzz"
[ -z "${ALSO:-}" ] || modules="$ALSO,fuzz"
pattern="${1:-.}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-speed: SECS must be a positive whole number, not '$secs'" >&2; exit 1; }
command -v mvn >/dev/null || { echo "fuzz-speed: mvn not found" >&2; exit 1; }

# shellcheck source=bench/fuzz-harnesses.sh
source "$root/bench/fuzz-harnesses.sh"

# The kind of a harness, for its goal: parsers by default; the rest by name.
kind() {
    case "$1" in
        ExtModelFuzzTest*|TcpModelFuzzTest*|SyscallSequenceFuzzTest*) echo model ;;
        ExtWriteFuzzTest*|ExtXattrFuzzTest*|FuseDispatcherFuzzTest*|BlockStackFuzzTest*) echo write ;;
        ExtFsFuzzTest*|FatFsFuzzTest*|ExFatFsFuzzTest*|IsoFsFuzzTest*|Qcow2FuzzTest*|Vdi*|Vhd*|Vmdk*|ExtDirBlockFuzzTest*) echo image ;;
        ExtMetadataFuzzTest*|FatMetadataFuzzTest*|Qcow2MetadataFuzzTest*) echo image ;;
        NetStackFuzzTest*|Ipv6StackFuzzTest*|DhcpClientFuzzTest*|Dhcp6InfoClientFuzzTest*|DnsResolverFuzzTest*|ComponentGraphFuzzTest*|SimSchedulerFuzzTest*|NdpFuzzTest*) echo stack ;;
        *) echo parser ;;
    esac
}
goal() {
    case "$1" in parser) echo 50000 ;; image) echo 5000 ;; write) echo 1000 ;; model) echo 500 ;; stack) echo 1000 ;; esac
}

list="${ONLY:-}"
if [ -z "$list" ]; then
    list="$(harnesses | grep -E -- "$pattern" | paste -sd, -)"
fi
[ -n "$list" ] || { echo "fuzz-speed: no harness matches '$pattern'" >&2; exit 1; }
out="$(mktemp -d /tmp/jrump-fuzz-speed.XXXXXX)"
echo "# Jazzer harnesses, $secs s each (bench/fuzz-speed.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(java -version 2>&1 | head -1)"
echo
echo "| harness | kind | runs | seconds | exec/s | goal | met |"
echo "|---|---|---:|---:|---:|---:|---|"
failed=0
for h in ${list//,/ }; do
    log="$out/${h//#/_}.log"
    if ! (cd "$root" && JAZZER_FUZZ=1 mvn -B -o -q test -pl "$modules" -Dtest="$h" -Dsurefire.failIfNoSpecifiedTests=false \
            -Djazzer.max_duration="${secs}s" >"$log" 2>&1); then
        echo "| $h | $(kind "$h") | — | — | — | $(goal "$(kind "$h")") | **failed** (see $log) |"
        failed=1
        continue
    fi
    done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)"
    if [ -z "$done_line" ]; then
        echo "| $h | $(kind "$h") | — | — | — | $(goal "$(kind "$h")") | no libFuzzer summary (see $log) |"
        continue
    fi
    runs="$(echo "$done_line" | awk '{print $2}')"; took="$(echo "$done_line" | awk '{print $5}')"
    rate=$(( runs / (took > 0 ? took : 1) ))
    g="$(goal "$(kind "$h")")"
    met=$([ "$rate" -ge "$g" ] && echo met || echo "**missed**")
    echo "| $h | $(kind "$h") | $runs | $took | $rate | $g | $met |"
done
echo
echo "Logs: $out"
exit $failed
