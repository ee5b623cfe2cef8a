#!/usr/bin/env bash
# Block-layer benchmarks, each side by side with the Linux tool in the same run, as ratios.
# Usage: bench/blk-bench.sh [DIR] [SIZE_MIB] [ROUNDS]   (as root, to drop the page cache)
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), dd.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-bench}"; mib="${2:-1024}"; rounds="${3:-3}"
jar="$root/bench/target/benchmarks.jar"
java=(java -Xmx256m -cp "$jar" io.jrump.bench.blk.BlockBench)
mkdir -p "$dir"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
bytes=$((mib * 1048576))

echo "# sequential ${mib} MiB, 1 MiB requests; dd with conv=fdatasync / our cache with flush (fdatasync)"
for r in $(seq "$rounds"); do
    rm -f "$dir/dd.img"; drop
    s=$(date +%s%N); dd if=/dev/zero of="$dir/dd.img" bs=1M count="$mib" conv=fdatasync status=none; e=$(date +%s%N)
    ddw=$(secs "$s" "$e")
    drop; ours=$("${java[@]}" seqwrite "$dir/ours.img" "$bytes" 1048576)
    ow=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$ours")
    drop; s=$(date +%s%N); dd if="$dir/dd.img" of=/dev/null bs=1M status=none; e=$(date +%s%N)
    ddr=$(secs "$s" "$e")
    drop; oursr=$("${java[@]}" seqread "$dir/ours.img" 1048576)
    orr=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$oursr")
    echo "round $r: write dd ${ddw}s ours ${ow}s ratio $(awk -v a="$ddw" -v b="$ow" 'BEGIN{printf "%.2f", a/b}')x;" \
         "read dd ${ddr}s ours ${orr}s ratio $(awk -v a="$ddr" -v b="$orr" 'BEGIN{printf "%.2f", a/b}')x"
    echo "  ours: $ours"
    echo "  ours: $oursr"
done

echo "# qcow2: sequential ${mib} MiB write into a new image, 1 MiB requests, against qemu-io"
for r in $(seq "$rounds"); do
    rm -f "$dir/qemu.qcow2"; qemu-img create -q -f qcow2 "$dir/qemu.qcow2" "${mib}M"
    s=$(date +%s%N); qemu-io -c "write -P 0xab 0 ${mib}M" "$dir/qemu.qcow2" > /dev/null; e=$(date +%s%N)
    qw=$(secs "$s" "$e")
    ours=$("${java[@]}" qcow2write "$dir/ours.qcow2" "$bytes" 1048576)
    ow=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$ours")
    qemu-img check -q "$dir/ours.qcow2" && qemu-img compare -q "$dir/qemu.qcow2" "$dir/ours.qcow2" \
        || { echo "qcow2 results differ or fail the check" >&2; exit 1; }
    echo "round $r: qemu-io ${qw}s ours ${ow}s ratio $(awk -v a="$qw" -v b="$ow" 'BEGIN{printf "%.2f", a/b}')x (identical, check clean)"
    echo "  ours: $ours"
done
rm -f "$dir/qemu.qcow2" "$dir/ours.qcow2"

echo "# 4 KiB random reads on a 4 GiB image (sparse-free: written by dd)"
if [ ! -f "$dir/rand.img" ]; then dd if=/dev/urandom of="$dir/rand.img" bs=1M count=4096 status=none; fi
for mode in "1 uncached" "32 uncached" "1 cached"; do
    set -- $mode
    drop; "${java[@]}" randread "$dir/rand.img" "$1" 20000 "$2"
done
for mode in "1 uncached" "32 uncached" "1 cached"; do
    set -- $mode
    echo -n "(page cache warm) "; "${java[@]}" randread "$dir/rand.img" "$1" 200000 "$2"
done
rm -f "$dir/dd.img" "$dir/ours.img"
