#!/usr/bin/env bash
# Code coverage of every Jazzer harness of module fuzz over its stored inputs (the checked-in seeds,
# plus the corpus `rump fuzz run` kept in ./.rump-fuzz/Class_method/corpus, if any), measured by
# Jazzer's bundled JaCoCo through `rump fuzz coverage`, ending in a markdown table for
# docs/fuzzing.md: harness, component packages measured, seed and corpus inputs, lines and
# branches covered. Only the component's classes are instrumented and counted (component()),
# reached or not, so a percentage is of the whole component: a wire parser's harness reaches a
# small part of rump-net.
# Usage: bench/fuzz-coverage.sh [PATTERN]   (only the Class#method names matching PATTERN)
# Needs the harnesses built (mvn test-compile -pl fuzz -am) and runs ./rump (which builds
# cli/target/rump.jar when it is stale), or the command in $RUMP (e.g. RUMP="java -jar rump.jar").
# Per-file reports and JaCoCo .exec files go to a directory under /tmp, named at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pattern="${1:-.}"
cd "$root"
read -r -a rump <<< "${RUMP:-./rump}"

# The packages of the component a harness exercises: what its coverage is measured on.
component() {
    case "$1" in
        Wire*|NetStack*|Ipv6*|Ndp*|Dhcp*|Dns*|TcpModel*) echo 'io.jrump.net.**' ;;
        Ext*|FatFs*|ExFatFs*|IsoFs*|FuseDispatcher*) echo 'io.jrump.fs.**' ;;
        Qcow2*|Vhd*|Vdi*|Vmdk*|PartitionTable*|BlockStack*) echo 'io.jrump.blk.**' ;;
        ComponentGraph*) echo 'io.jrump.kernel.**' ;;
        SimScheduler*) echo 'io.jrump.host.sim.**' ;;
        *) echo 'io.jrump.**' ;;
    esac
}

targets="$("${rump[@]}" fuzz list | awk '{print $1}' | grep -E -- "$pattern" || true)"
[ -n "$targets" ] || { echo "fuzz-coverage: no harness matches '$pattern'" >&2; exit 1; }
out="$(mktemp -d /tmp/jrump-fuzz-coverage.XXXXXX)"
echo "# Coverage of the stored inputs per harness (bench/fuzz-coverage.sh, Jazzer 0.30's JaCoCo), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(java -version 2>&1 | head -1)"
echo
echo "| harness | measured on | seeds | corpus | lines covered | branches covered | files reached |"
echo "|---|---|---:|---:|---:|---:|---:|"
failed=0
for t in $targets; do
    short="${t#io.jrump.fuzz.}"
    name="${short//#/_}"
    pkgs="$(component "$short")"
    log="$out/$name.log"
    if ! "${rump[@]}" fuzz coverage "$t" --include "$pkgs" --report "$out/$name.txt" >"$log" 2>&1; then
        echo "| \`$short\` | \`$pkgs\` | — | — | — | — | **failed** (see $log) |"
        failed=1
        continue
    fi
    seeds="$(sed -n 's/.*(\([0-9]*\) seeds, \([0-9]*\) corpus files).*/\1/p' "$log")"
    corpus="$(sed -n 's/.*(\([0-9]*\) seeds, \([0-9]*\) corpus files).*/\2/p' "$log")"
    lines="$(awk '$1 == "lines" { print $2 " " $3 }' "$log")"
    branches="$(awk '$1 == "branches" { print $2 " " $3 }' "$log")"
    files="$(awk '$1 == "source" && $2 == "files" { print $4 " of " $3 }' "$log" | tr -d ,)"
    echo "| \`$short\` | \`$pkgs\` | $seeds | $corpus | $lines | $branches | $files |"
done
echo
echo "Reports and logs: $out"
exit $failed
