#!/bin/bash
# Structure-aware (metadata-only) fuzzing against byte mutation of the whole image, for the same
# time: for each format, the whole-image harness and the metadata harness fuzz concurrently (one
# core each on a 2-core machine, so both see the same background load) for SECONDS from their
# checked-in seeds, each into a fresh corpus directory (the seeds copied in first). Then both final
# corpora are replayed (-runs=0) through the SAME target, the whole-image harness, with Jazzer's
# JaCoCo coverage report: the metadata corpus is first turned into the images its inputs stand for
# (MetadataCorpus: spliced into the base, checksums fixed as each input's first byte says), so the
# checksum fixer's own code is not counted. Prints a markdown table: lines and branches covered in
# the format's package, and libFuzzer's final figures of each fuzzing run.
#
# Usage: bench/fuzz-structure-vs-bytes.sh [SECONDS (default 120)] [FORMATS (default "ext fat qcow2 gpt")]
# Needs: Maven (offline), the standalone Jazzer jar in ~/.m2. Work files: a fresh /tmp/jrump-structure.*
set -euo pipefail
secs="${1:-120}"
formats="${2:-ext fat qcow2 gpt}"
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$HOME/.m2/repository/com/code-intelligence/jazzer/0.30.0/jazzer-0.30.0.jar"
[ -f "$jar" ] || { echo "no Jazzer jar at $jar" >&2; exit 2; }
cd "$root"
# The fuzz module's POM writes its test class path to fuzz/target/oss-fuzz.classpath on test-compile.
mvn -B -o -q -DskipTests -Dmaven.javadoc.skip=true test-compile -pl "${MODULES:-fuzz-kit,fuzz}" >/dev/null
cp="$root/fuzz/target/test-classes:$(cat fuzz/target/oss-fuzz.classpath)"
seeds="$root/fuzz/src/test/resources/io/jrump/fuzz"
out="${WORK:-$(mktemp -d /tmp/jrump-structure.XXXXXX)}"  # WORK=an earlier run's directory: replay its corpora again

# format -> whole-image harness, metadata harness, the package measured
pair() {
    case "$1" in
        ext) echo "ExtFsFuzzTest#readingIsTotal ExtMetadataFuzzTest#metadataReadingIsTotal io/jrump/fs/ext" ;;
        fat) echo "FatFsFuzzTest#everyOperationIsTotal FatMetadataFuzzTest#metadataOperationsAreTotal io/jrump/fs/fat" ;;
        qcow2) echo "Qcow2FuzzTest#openReadAndCheckAreTotal Qcow2MetadataFuzzTest#metadataOpenReadAndCheckAreTotal io/jrump/blk/image" ;;
        gpt) echo "PartitionTableFuzzTest#tableReadingIsTotal PartitionMetadataFuzzTest#gptTableReadingIsTotal io/jrump/blk/part" ;;
        *) echo "unknown format $1" >&2; exit 2 ;;
    esac
}

jazzer() { # harness (C#m), the classes to instrument, then Jazzer/libFuzzer arguments
    local h="$1" includes="$2"; shift 2
    java -Xmx2g -cp "$jar:$cp" com.code_intelligence.jazzer.Jazzer --target_class="io.jrump.fuzz.${h%#*}" \
        --target_method="${h#*#}" --instrumentation_includes="$includes" "$@"
}

fuzz() { # harness, work dir
    local h="$1" dir="$2"
    mkdir -p "$dir/corpus"
    cp "$seeds/${h%#*}Inputs/${h#*#}/"* "$dir/corpus/"
    (cd "$dir" && jazzer "$h" 'io.jrump.**' -max_total_time="$secs" -print_final_stats=1 -timeout=30 corpus) >"$dir/fuzz.log" 2>&1 || true
}

# Sums the covered/total figures of one section of Jazzer's coverage report over the package's files.
covered() { # report, section ("Line" or "Branch"), package dir
    local names
    names="$(find rump-*/src/main/java/"$3" -maxdepth 1 -name '*.java' -printf '%f\n' | paste -sd'|')"
    awk -v want="$2 coverage:" -v names="^($names)$" '
        /^[A-Z][a-z]+ coverage:$|^Incompletely covered lines:$|^Missed lines:$/ { on = ($0 == want); next }
        on { split($1, f, ":"); if (f[1] ~ names) { split($2, n, "/"); c += n[1]; t += n[2] } }
        END { printf "%d/%d", c, t }' "$1"
}

final() { # fuzz.log -> "runs exec/s cov ft"
    local log="$1"
    local runs execs last
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    execs="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)"
    echo "${runs:-?} ${execs:-?} $(sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' <<<"$last")"
}

echo "# Whole-image byte mutation vs metadata-only mutation, $secs s each, pairs run concurrently ($(date -u +%Y-%m-%dT%H:%MZ))"
echo "$(nproc) CPUs: $(lscpu | sed -n 's/^Model name: *//p'); $(java -version 2>&1 | head -1); work files: $out"
echo
echo "| format | harness | runs | exec/s | fuzzing: cov / ft | corpus | package edges / features | package lines | package branches |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for f in $formats; do
    read -r whole meta pkg <<<"$(pair "$f")"
    if [ ! -f "$out/$f-meta/fuzz.log" ]; then
        fuzz "$whole" "$out/$f-whole" &
        fuzz "$meta" "$out/$f-meta" &
        wait
    fi
    java -cp "$cp" io.jrump.fuzz.MetadataCorpus images "$f" "$out/$f-meta/corpus" "$out/$f-meta/images" >/dev/null 2>&1
    for side in whole meta; do
        dir="$out/$f-$side"
        input="$dir/corpus"
        [ "$side" = meta ] && input="$dir/images"
        # The replay instruments only the measured package, and CoverageReplay loads all of its
        # classes before the first input: Jazzer 0.30.0's coverage report leaves out classes whose
        # counters were registered while the corpus ran (a harness that boots a kernel first gets
        # past the first few thousand counters before it reaches the filesystem).
        (cd "$dir" && java -Xmx2g -Djrump.replay.harness="$whole" -Djrump.replay.package="${pkg//\//.}" \
            -cp "$jar:$cp" com.code_intelligence.jazzer.Jazzer --target_class=io.jrump.fuzz.CoverageReplay \
            --instrumentation_includes="${pkg//\//.}.**" -runs=0 --coverage_report="$dir/coverage.txt" "$input") \
            >"$dir/replay.log" 2>&1 || true
        edges="$(grep -E '^#[0-9]+.*(INITED|DONE).*cov: ' "$dir/replay.log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \/ \2/p')"
        read -r runs execs cov ft <<<"$(final "$dir/fuzz.log")"
        h="$whole"; [ "$side" = meta ] && h="$meta"
        echo "| $f | ${h} | $runs | $execs | $cov / $ft | $(find "$dir/corpus" -type f | wc -l) | $edges | $(covered "$dir/coverage.txt" Line "$pkg") | $(covered "$dir/coverage.txt" Branch "$pkg") |"
    done
done
echo
echo "Package: ext io.jrump.fs.ext, fat io.jrump.fs.fat, qcow2 io.jrump.blk.image, gpt io.jrump.blk.part. Both final corpora are"
echo "replayed through the whole-image harness with only the package instrumented: package edges / features are libFuzzer's"
echo "figures of that replay; lines and branches (covered/total) come from Jazzer's JaCoCo report of it. fuzzing: cov / ft are"
echo "the fuzzing run's last figures over all of io.jrump (the metadata run's include its splicing and checksum fixing)."
