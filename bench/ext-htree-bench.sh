#!/usr/bin/env bash
# ext htree speed: N creates in one directory, then M random lookups (stat) in it, through our ext
# (bench FsBench, in-process on the image file) beside the kernel's ext4 on a loop mount of the same
# kind of image (python3 doing the same calls), in the same run, as ratios (theirs / ours: above 1
# means we are faster; the goal is >= 0.5, within 2x). Each phase is its own mount, caches dropped
# before it; times are of the phase itself (mount and JVM start apart) and of the whole process.
# Both images must be e2fsck -fn clean and the kernel must find every name we created.
# Usage: bench/ext-htree-bench.sh [DIR] [N] [M] [ROUNDS]   (as root: loop mounts, drop_caches)
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), e2fsprogs, python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-htree-bench}"; n="${2:-100000}"; m="${3:-100000}"; rounds="${4:-3}"
jar="$root/bench/target/benchmarks.jar"
java=(java -Xmx512m -cp "$jar" io.jrump.bench.fs.FsBench)
mkdir -p "$dir/mnt"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
fresh() { rm -f "$1"; mke2fs -q -F -t ext4 -N $((n + 1000)) "$1" 1G >/dev/null; }
cat > "$dir/kernel.py" <<'PY'
import os, sys, time
mode, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.monotonic()
if mode == "create":
    os.mkdir(d)
    for i in range(n):
        os.close(os.open(f"{d}/file-{i}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
    os.sync()
else:
    m, state, mask, found = int(sys.argv[4]), 0x9E3779B97F4A7C15, (1 << 64) - 1, 0
    for _ in range(m):  # the same xorshift sequence as FsBench
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        found += os.lstat(f"{d}/file-{state % n}").st_size == 0
    assert found == m
print(f"phase_s={time.monotonic() - t0:.3f}")
PY
echo "# $n creates in one directory, then $m random lookups; phase seconds (whole process or mount+work+umount in brackets)"
for r in $(seq "$rounds"); do
    fresh "$dir/ours.img"; drop
    s=$(now); oc=$("${java[@]}" htree-create "$dir/ours.img" "$n"); e=$(now); ocw=$(secs "$s" "$e"); drop
    s=$(now); ol=$("${java[@]}" htree-lookup "$dir/ours.img" "$n" "$m"); e=$(now); olw=$(secs "$s" "$e")
    [ "$(field found "$ol")" = "$m" ] || { echo "our lookups missed names: $ol" >&2; exit 1; }
    e2fsck -fn "$dir/ours.img" >/dev/null 2>&1 || { echo "e2fsck -fn is not clean after our creates" >&2; exit 1; }
    debugfs -R "htree /h" "$dir/ours.img" 2>/dev/null | grep -q "Number of entries" \
        || { echo "our /h has no htree index" >&2; exit 1; }
    mount -o loop,ro "$dir/ours.img" "$dir/mnt"
    python3 "$dir/kernel.py" lookup "$dir/mnt/h" "$n" 1000 >/dev/null || { umount "$dir/mnt"; echo "the kernel misses our names" >&2; exit 1; }
    umount "$dir/mnt"

    fresh "$dir/kern.img"; drop
    s=$(now); mount -o loop "$dir/kern.img" "$dir/mnt"; kc=$(python3 "$dir/kernel.py" create "$dir/mnt/h" "$n"); umount "$dir/mnt"
    e=$(now); kcw=$(secs "$s" "$e"); drop
    s=$(now); mount -o loop,ro "$dir/kern.img" "$dir/mnt"; kl=$(python3 "$dir/kernel.py" lookup "$dir/mnt/h" "$n" "$m"); umount "$dir/mnt"
    e=$(now); klw=$(secs "$s" "$e")
    echo "round $r: create ours $(field phase_s "$oc")s [${ocw}s] kernel $(field phase_s "$kc")s [${kcw}s]" \
         "($(ratio "$(field phase_s "$kc")" "$(field phase_s "$oc")")x [$(ratio "$kcw" "$ocw")x]);" \
         "lookup ours $(field phase_s "$ol")s [${olw}s] kernel $(field phase_s "$kl")s [${klw}s]" \
         "($(ratio "$(field phase_s "$kl")" "$(field phase_s "$ol")")x [$(ratio "$klw" "$olw")x])"
    echo "  ours: $oc"
    echo "  ours: $ol"
done
rm -f "$dir"/*.img "$dir/kernel.py"
