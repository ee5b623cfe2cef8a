#!/usr/bin/env bash
# virtio-blk over vhost-user against qemu-img bench, on the same raw image, in the same run, as
# ratios (qemu-img's time / ours: above 1 means jrump is faster). Both sides walk the same
# offsets (qemu-img bench's COUNT/DEPTH/SIZE/STEP; VirtioBench takes the same four), both go
# through QEMU's block layer to the file with O_DIRECT and Linux native AIO: qemu-img bench in its
# own process, jrump through qemu-storage-daemon's vhost-user-blk export and jrump's virtio driver.
# The daemon runs only while jrump does (the image's lock admits one writer).
# Cases: sequential 1 MiB reads and writes at QD1, 4 KiB "random" (a prime stride) reads at QD1
# and QD32, 4 KiB writes at QD32.
# Usage: bench/virtio-bench.sh [DIR] [SIZE_MIB] [ROUNDS] [interrupts|busy-poll]
# Needs: mvn -B -q -pl bench -am package -DskipTests (bench/target/benchmarks.jar), qemu-img,
# qemu-io, qemu-storage-daemon.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-virtio-bench}"; mib="${2:-1024}"; rounds="${3:-3}"; mode="${4:-interrupts}"
jar="$root/bench/target/benchmarks.jar"
mkdir -p "$dir"
img="$dir/virtio.raw"; sock="$dir/blk.sock"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
if [ ! -f "$img" ] || [ "$(stat -c %s "$img")" -ne $((mib << 20)) ]; then
    rm -f "$img"; qemu-img create -q -f raw "$img" "${mib}M"
    qemu-io -f raw -t none -c "write -P 0x5a 0 ${mib}M" "$img" > /dev/null
fi
qsd_pid=""
start_qsd() {
    rm -f "$sock"
    qemu-storage-daemon \
        --blockdev "driver=file,node-name=file0,filename=$img,cache.direct=on,aio=native" \
        --blockdev driver=raw,node-name=disk0,file=file0 \
        --export "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=$sock,writable=on" &
    qsd_pid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && return; sleep 0.05; done
    echo "qemu-storage-daemon made no socket" >&2; exit 1
}
stop_qsd() { kill "$qsd_pid"; wait "$qsd_pid" 2>/dev/null || true; }
trap '[ -n "$qsd_pid" ] && kill "$qsd_pid" 2>/dev/null || true' EXIT

# name count depth size step rw
cases=(
    "seq-1M-read-qd1 $mib 1 1048576 1048576 read"
    "seq-1M-write-qd1 $mib 1 1048576 1048576 write"
    "rand-4K-read-qd1 20000 1 4096 $((4096 * 7919)) read"
    "rand-4K-read-qd32 200000 32 4096 $((4096 * 7919)) read"
    "rand-4K-write-qd32 100000 32 4096 $((4096 * 7919)) write"
)
echo "# ${mib} MiB image, ${rounds} rounds, jrump completions: ${mode}; machine: $(nproc) vCPUs, $(uname -r)"
for r in $(seq "$rounds"); do
    for c in "${cases[@]}"; do
        read -r name count depth size step rw <<<"$c"
        w=(); [ "$rw" = write ] && w=(-w)
        qemu() { q=$(qemu-img bench -f raw -t none -i native -c "$count" -d "$depth" -s "$size" -S "$step" "${w[@]}" "$img" \
            | sed -nE 's/.*completed in ([0-9.]+) seconds.*/\1/p'); }
        ours() { start_qsd
            line=$(java -Xmx256m -cp "$jar" io.jrump.bench.blk.VirtioBench "vhost-user:$sock" "$count" "$depth" "$size" "$step" "$rw" "$mode")
            stop_qsd; o=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line"); heap=$(sed -E 's/.*heap_peak_mib=([0-9]+).*/\1/' <<<"$line"); }
        if [ $((r % 2)) -eq 1 ]; then qemu; ours; else ours; qemu; fi
        echo "round $r $name: qemu-img bench ${q}s jrump ${o}s ratio $(ratio "$q" "$o")x (heap peak ${heap} MiB)"
    done
done
