#!/usr/bin/env bash
# FAT32 writes, ours against mtools' in the same run (issue 16): a 256 MiB file, then 10,000
# small files into one directory, each into a fresh 1 GiB FAT32 image made by mkfs.fat. Both
# sides are whole commands (`rump fs cp`, with the JVM's start, against `mcopy`), run one after
# the other on the same machine; the images are checked by fsck.fat -n afterwards.
#
#   bench/fat-bench.sh                 # BIG_MIB=256 FILES=10000
#   BIG_MIB=64 FILES=2000 bench/fat-bench.sh
#
# Also in process (FsBench write: mount, write 8 MiB at a time, fsync, unmount; no JVM start),
# and mcopy followed by an fsync of the image (mcopy leaves its writes in the page cache; we
# flush at unmount), so that like is compared with like.
#
# Needs: dosfstools, mtools, the cli and bench jars (mvn -B -q -pl cli,bench -am package -DskipTests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI="${CLI:-$root/cli/target/rump.jar}"
JAR="${JAR:-$root/bench/target/benchmarks.jar}"
BIG_MIB="${BIG_MIB:-256}"
FILES="${FILES:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1 TZ=UTC

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
fresh() { rm -f "$1"; mkfs.fat -C -F 32 "$1" 1048576 > /dev/null; }

echo "# FAT32 writes: rump fs cp against mcopy"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(java -version 2>&1 | head -1)"
echo "- tools: $(mcopy --version | head -1), $(mkfs.fat --help 2>&1 | tail -1)"
echo

head -c $((BIG_MIB << 20)) /dev/urandom > "$work/big.bin"
mkdir "$work/small"
python3 - "$work/small" "$FILES" <<'EOF'
import os, random, sys
random.seed(16)
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], 'file %05d.txt' % i), 'wb') as f:
        f.write(random.randbytes(500 + i % 3500))
EOF

fsync() { python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDWR); os.fsync(fd)" "$1"; }
fresh "$work/m.img"
t0=$(now); mcopy -i "$work/m.img" "$work/big.bin" ::; t1=$(now); fsync "$work/m.img"; t2=$(now)
mbig=$(secs "$t0" "$t1")
mbigsync=$(secs "$t0" "$t2")
fresh "$work/r.img"
rbigin=$(java -cp "$JAR" io.jrump.bench.fs.FsBench write "$work/r.img" "$work/big.bin" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
fsck.fat -n "$work/r.img" > /dev/null
fresh "$work/r.img"
t0=$(now); java -jar "$CLI" fs cp "$work/big.bin" "$work/r.img:/big.bin" > /dev/null; t1=$(now)
rbig=$(secs "$t0" "$t1")
fsck.fat -n "$work/r.img" > /dev/null
cmp <(mtype -i "$work/r.img" ::big.bin) "$work/big.bin"

fresh "$work/m.img"
t0=$(now); mcopy -s -i "$work/m.img" "$work/small" ::; t1=$(now)
msmall=$(secs "$t0" "$t1")
fresh "$work/r.img"
t0=$(now); java -jar "$CLI" fs cp -r "$work/small" "$work/r.img:/" > /dev/null; t1=$(now)
rsmall=$(secs "$t0" "$t1")
fsck.fat -n "$work/r.img" > /dev/null

echo "| measure | rump fs cp | mcopy | ratio (mcopy time / ours) | goal |"
echo "|---|---:|---:|---:|---|"
echo "| ${BIG_MIB} MiB file into a FAT32 image (whole commands) | ${rbig} s | ${mbig} s | $(ratio "$mbig" "$rbig")× | ≥ 1.0× |"
echo "| the same, in process (FsBench) against mcopy + fsync | ${rbigin} s | ${mbigsync} s | $(ratio "$mbigsync" "$rbigin")× | |"
echo "| ${FILES} small files into one FAT32 directory | ${rsmall} s | ${msmall} s | $(ratio "$msmall" "$rsmall")× | ≥ 1.0× |"
