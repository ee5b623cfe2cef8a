#!/usr/bin/env bash
# ext check speed: `rump fs fsck IMG` (whole process, JVM start included) beside `e2fsck -fn IMG`
# on the same 4 GiB ext4 image holding 200,000 files, in the same run, as a ratio (e2fsck's time /
# ours: above 1 means we are faster). Both must call the image clean.
# Usage: bench/ext-fsck-bench.sh [DIR] [ROUNDS]   (as root, the page cache is dropped before each check)
# Needs: mvn -B -q -pl cli -am package -DskipTests (cli/target/rump.jar), e2fsprogs, python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-fsck-bench}"; rounds="${2:-3}"
jar="$root/cli/target/rump.jar"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mkdir -p "$dir"
if [ ! -f "$dir/fs.img" ]; then
    rm -rf "$dir/tree"
    # 200,000 files in 400 directories: most of 1 KiB, every 50th of 64 KiB.
    python3 - "$dir/tree" <<'PY'
import os, sys
root = sys.argv[1]
small, big = os.urandom(1024), os.urandom(65536)
for d in range(400):
    p = f"{root}/d{d // 20}/e{d}"
    os.makedirs(p, exist_ok=True)
    for i in range(500):
        with open(f"{p}/f{i}", "wb") as f:
            f.write(big if i % 50 == 0 else small)
PY
    mke2fs -q -F -t ext4 -d "$dir/tree" "$dir/fs.img" 4G
    rm -rf "$dir/tree"
fi
echo "# image: 4 GiB ext4, $(debugfs -R stats "$dir/fs.img" 2>/dev/null | awk -F: '/^Inode count/ {ic=$2} /^Free inodes/ {fi=$2} END {print ic - fi}') inodes in use"
for r in $(seq "$rounds"); do
    drop; s=$(now); e2fsck -fn "$dir/fs.img" > /dev/null 2>&1; rc=$?; e=$(now); theirs=$(secs "$s" "$e")
    [ "$rc" -eq 0 ] || { echo "e2fsck says the image is not clean" >&2; exit 1; }
    drop; s=$(now); java -jar "$jar" fs fsck "$dir/fs.img" > "$dir/ours.txt"; e=$(now); ours=$(secs "$s" "$e")
    echo "round $r: e2fsck -fn ${theirs}s, rump fs fsck ${ours}s, ratio $(ratio "$theirs" "$ours")x ($(tail -1 "$dir/ours.txt"))"
done
