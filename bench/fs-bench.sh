#!/usr/bin/env bash
# rump-fs benchmarks: whole processes (wall clock, JVM start included) side by side with debugfs and with the kernel's FUSE driver
# over fuse2fs, in the same run, as ratios (theirs / ours: above 1 means we are faster).
# Usage: bench/fs-bench.sh [DIR] [FILE_MIB] [SMALL_FILES] [ROUNDS]   (as root: FUSE mounts, drop_caches)
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), e2fsprogs, fuse2fs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-fs-bench}"; mib="${2:-256}"; nfiles="${3:-10000}"; rounds="${4:-3}"
jar="$root/bench/target/benchmarks.jar"
java=(java -Xmx256m -cp "$jar" io.jrump.bench.fs.FsBench)
mkdir -p "$dir" "$dir/mnt"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
fresh() { rm -f "$1"; mke2fs -q -F -t ext4 "$1" "$2" >/dev/null; }
unmount() { fusermount3 -u "$dir/mnt" 2>/dev/null || fusermount -u "$dir/mnt" 2>/dev/null || umount "$dir/mnt"; }

head -c "$((mib * 1048576))" /dev/urandom > "$dir/src"
img_mib=$((mib * 2 + 64))
echo "# ${mib} MiB file: write into a fresh ext4 image, then read back (seconds, whole process or mount+cp+unmount)"
for r in $(seq "$rounds"); do
    fresh "$dir/ours.img" "${img_mib}M"; drop
    s=$(now); ow=$("${java[@]}" write "$dir/ours.img" "$dir/src"); e=$(now); w=$(secs "$s" "$e"); drop
    s=$(now); orr=$("${java[@]}" read "$dir/ours.img" "$dir/out"); e=$(now); rd=$(secs "$s" "$e")
    cmp -s "$dir/src" "$dir/out" || { echo "our read-back differs" >&2; exit 1; }
    e2fsck -fn "$dir/ours.img" >/dev/null 2>&1 || { echo "e2fsck -fn is not clean after our write" >&2; exit 1; }

    fresh "$dir/dbg.img" "${img_mib}M"; drop
    s=$(now); debugfs -w -R "write $dir/src big" "$dir/dbg.img" >/dev/null 2>&1; e=$(now); dw=$(secs "$s" "$e"); drop
    rm -f "$dir/out"; s=$(now); debugfs -R "dump /big $dir/out" "$dir/dbg.img" >/dev/null 2>&1; e=$(now); dr=$(secs "$s" "$e")

    fresh "$dir/fuse.img" "${img_mib}M"; drop
    s=$(now); fuse2fs "$dir/fuse.img" "$dir/mnt" >/dev/null; cp "$dir/src" "$dir/mnt/big"; unmount; e=$(now)
    fw=$(secs "$s" "$e"); drop
    s=$(now); fuse2fs -o ro "$dir/fuse.img" "$dir/mnt" >/dev/null; cat "$dir/mnt/big" > "$dir/out"; unmount; e=$(now)
    fr=$(secs "$s" "$e")

    echo "round $r: write ours ${w}s debugfs ${dw}s ($(ratio "$dw" "$w")x) fuse2fs ${fw}s ($(ratio "$fw" "$w")x);" \
         "read ours ${rd}s debugfs ${dr}s ($(ratio "$dr" "$rd")x) fuse2fs ${fr}s ($(ratio "$fr" "$rd")x)"
    echo "  ours: $ow"
    echo "  ours: $orr"
done

echo "# ${nfiles} small files in one directory: create, then list and stat (whole process vs python3 on a fuse2fs mount)"
cat > "$dir/small.py" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
for i in range(n):
    with open(os.path.join(d, "file-%d" % i), "xb") as f:
        f.write(b"sixteen bytes..\n")
os.sync()
names = os.listdir(d)
total = sum(os.lstat(os.path.join(d, x)).st_size for x in names)
assert len(names) == n and total == 16 * n
PY
for r in $(seq "$rounds"); do
    fresh "$dir/ours.img" 256M; drop
    s=$(now); o=$("${java[@]}" smallfiles "$dir/ours.img" "$nfiles"); e=$(now); ours=$(secs "$s" "$e")
    e2fsck -fn "$dir/ours.img" >/dev/null 2>&1 || { echo "e2fsck -fn is not clean after our small files" >&2; exit 1; }
    fresh "$dir/fuse.img" 256M; drop
    s=$(now); fuse2fs "$dir/fuse.img" "$dir/mnt" >/dev/null; python3 "$dir/small.py" "$dir/mnt/d" "$nfiles"; unmount; e=$(now)
    f=$(secs "$s" "$e")
    echo "round $r: ours ${ours}s fuse2fs ${f}s ($(ratio "$f" "$ours")x)"
    echo "  ours: $o"
done
rm -f "$dir/src" "$dir/out" "$dir"/*.img "$dir/small.py"
