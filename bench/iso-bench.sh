#!/usr/bin/env bash
# ISO9660 extraction: our IsoExtractBench (whole process, JVM start included) beside
# xorriso -osirrox on -indev IMG -extract / DIR on the same image, in the same run; the ratio is
# xorriso's time / ours (above 1 means we are faster). Both outputs are compared with diff -r.
# Usage: bench/iso-bench.sh [DIR] [ROUNDS]   (as root, caches are dropped before each extraction)
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), xorriso, python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-iso-bench}"; rounds="${2:-3}"
jar="$root/bench/target/benchmarks.jar"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mkdir -p "$dir"
if [ ! -f "$dir/tree.iso" ]; then
    rm -rf "$dir/tree"
    # About 1 GiB: 5 files of 128 MiB, 300 of 1 MiB, 4000 of 16 KiB, 10000 of 1 KiB, in 100 directories.
    python3 - "$dir/tree" <<'PY'
import os, sys
root = sys.argv[1]
rnd = os.urandom(1 << 20)  # repeated with an offset: incompressible enough, cheap to make
def write(path, size, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left, i = size, seed
        while left > 0:
            n = min(left, len(rnd) - (i % 4096))
            f.write(rnd[i % 4096:i % 4096 + n]); left -= n; i += 7
for i in range(5): write(f"{root}/big/file-{i}.bin", 128 << 20, i)
for i in range(300): write(f"{root}/mid/d{i % 10}/file-{i}.bin", 1 << 20, i)
for i in range(4000): write(f"{root}/small/d{i % 40}/file-{i}.dat", 16 << 10, i)
for i in range(10000): write(f"{root}/tiny/d{i % 50}/file-{i}.txt", 1 << 10, i)
PY
    xorriso -as mkisofs -R -J -o "$dir/tree.iso" "$dir/tree" 2>/dev/null
fi
echo "# image: $(du -h --apparent-size "$dir/tree.iso" | cut -f1), $(find "$dir/tree" -type f | wc -l) files"
# Each side starts from a removed output tree, synced, caches dropped; the order alternates per
# round, so neither always pays for the other's deferred writeback.
run_ours() { rm -rf "$dir/ours"; drop; s=$(now)
    o=$(java -Xmx256m -cp "$jar" io.jrump.bench.fs.IsoExtractBench "$dir/tree.iso" "$dir/ours"); e=$(now); ours=$(secs "$s" "$e"); }
run_xorriso() { rm -rf "$dir/xorriso"; drop; s=$(now)
    xorriso -osirrox on -indev "$dir/tree.iso" -extract / "$dir/xorriso" >/dev/null 2>&1; e=$(now); theirs=$(secs "$s" "$e"); }
for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then run_ours; run_xorriso; first=ours; else run_xorriso; run_ours; first=xorriso; fi
    diff -r "$dir/ours" "$dir/xorriso" >/dev/null || { echo "extracted trees differ" >&2; exit 1; }
    echo "round $r ($first first): ours ${ours}s xorriso ${theirs}s ratio $(ratio "$theirs" "$ours")x  ($o)"
done
