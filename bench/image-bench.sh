#!/usr/bin/env bash
# Image formats: sequential write and read of SIZE_MIB in each format, ours beside qemu's in the
# same run, as ratios (qemu's time / ours: above 1 means we are faster). Three measurements per
# format, each a whole process on both sides:
#   write    qemu-img create + qemu-io -c 'write -P 0xab 0 SIZE'  vs  BlockBench imagewrite
#   read     qemu-io -c 'read 0 SIZE' of qemu's image              vs  BlockBench imageread of ours
#   convert  qemu-img convert -t writeback -O FMT truth.raw        vs  BlockBench imageconvert truth.raw FMT
# qemu-img convert's default cache mode is "unsafe" (it never flushes); ours ends with a flush, as
# rump image convert does, so qemu runs with -t writeback, which flushes at the end, to compare
# the same durability.
# Every round checks the results: our image is the same disk as qemu's (qemu-img compare), and
# clean to qemu-img check where qemu checks the format.
# Usage: bench/image-bench.sh [DIR] [SIZE_MIB] [ROUNDS] [FORMATS]   (as root, to drop the page cache)
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), qemu-img, qemu-io.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-image-bench}"; mib="${2:-1024}"; rounds="${3:-3}"; formats="${4:-qcow2 vhd vdi vmdk vhdx}"
jar="$root/bench/target/benchmarks.jar"
java=(java -Xmx256m -cp "$jar" io.jrump.bench.blk.BlockBench)
mkdir -p "$dir"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
qemu_name() { [ "$1" = vhd ] && echo vpc || echo "$1"; }
checkable() { case "$1" in qcow2|vdi|vhdx) return 0;; *) return 1;; esac; }

# The convert source: half data, half holes, in 4 MiB runs.
if [ ! -f "$dir/truth.raw" ] || [ "$(stat -c %s "$dir/truth.raw")" -ne $((mib << 20)) ]; then
    rm -f "$dir/truth.raw"; truncate -s "${mib}M" "$dir/truth.raw"
    for ((i = 0; i < mib; i += 8)); do
        dd if=/dev/urandom of="$dir/truth.raw" bs=1M seek="$i" count=4 conv=notrunc status=none
    done
fi
echo "# ${mib} MiB, ${rounds} rounds; machine: $(nproc) vCPUs, $(uname -r)"
for fmt in $formats; do
    q=$(qemu_name "$fmt")
    for r in $(seq "$rounds"); do
        rm -f "$dir/qemu.$fmt"; drop; s=$(now)
        qemu-img create -q -f "$q" "$dir/qemu.$fmt" "${mib}M"
        qemu-io -f "$q" -c "write -P 0xab 0 ${mib}M" "$dir/qemu.$fmt" > /dev/null; e=$(now); qw=$(secs "$s" "$e")
        drop; ours=$("${java[@]}" imagewrite "$fmt" "$dir/ours.$fmt" $((mib << 20)) 1048576); ow=$(field seconds "$ours")
        qemu-img compare -q -f "$q" -F "$q" "$dir/qemu.$fmt" "$dir/ours.$fmt" || { echo "$fmt: written images differ" >&2; exit 1; }
        if checkable "$fmt"; then qemu-img check -q -f "$q" "$dir/ours.$fmt" || { echo "$fmt: check fails" >&2; exit 1; }; fi
        drop; s=$(now); qemu-io -f "$q" -c "read 0 ${mib}M" "$dir/qemu.$fmt" > /dev/null; e=$(now); qr=$(secs "$s" "$e")
        drop; oursr=$("${java[@]}" imageread "$dir/ours.$fmt" 1048576); orr=$(field seconds "$oursr")
        # The converts write 512 MiB each and flush: the side that runs second may meet the
        # host's writeback of the first, so the order alternates by round.
        qemu_convert() { rm -f "$dir/qconv.$fmt"; drop; s=$(now)
            qemu-img convert -t writeback -f raw -O "$q" "$dir/truth.raw" "$dir/qconv.$fmt"; e=$(now); qc=$(secs "$s" "$e"); }
        ours_convert() { drop; oursc=$("${java[@]}" imageconvert "$dir/truth.raw" "$fmt" "$dir/oconv.$fmt")
            oc=$(field seconds "$oursc"); }
        if [ $((r % 2)) -eq 1 ]; then qemu_convert; ours_convert; else ours_convert; qemu_convert; fi
        qemu-img compare -q -f "$q" -F raw "$dir/oconv.$fmt" "$dir/truth.raw" || { echo "$fmt: converted image differs" >&2; exit 1; }
        echo "$fmt round $r: write qemu ${qw}s ours ${ow}s $(ratio "$qw" "$ow")x; read qemu ${qr}s ours ${orr}s" \
             "$(ratio "$qr" "$orr")x; convert qemu ${qc}s ours ${oc}s $(ratio "$qc" "$oc")x" \
             "(heap peak $(field heap_peak_mib "$ours")/$(field heap_peak_mib "$oursr")/$(field heap_peak_mib "$oursc") MiB)"
    done
    rm -f "$dir/qemu.$fmt" "$dir/ours.$fmt" "$dir/qconv.$fmt" "$dir/oconv.$fmt"
done
