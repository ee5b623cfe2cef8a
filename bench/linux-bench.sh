#!/usr/bin/env bash
# Linux host benchmarks, side by side in one run (as root; everything inside a namespace this
# script makes and deletes, addresses in 198.18.0.0/15 only):
#  1. bulk TCP between our stack on a TAP device and the Linux kernel, both directions
#     (rump net send/sink against socat), beside Linux-to-Linux over a veth pair (iperf3);
#  2. a MIB-MiB cp into and out of a `rump mount` against the same through fuse2fs on the same
#     kind of image (goal: ours at least 1.5x fuse2fs).
# Usage: bench/linux-bench.sh [DIR] [MIB]   Needs: the built rump jar (./rump builds it), socat,
# iperf3, fuse2fs, e2fsprogs. PARTS=fuse runs only the second half, PARTS=net only the first;
# JAR=path runs another build of rump.jar (to compare before and after); RUMP_NET_FLAGS (say
# --no-offload) is added to our side's net send/sink.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/jrump-linux-bench}"; mib="${2:-256}"
jar="${JAR:-$root/cli/target/rump.jar}"
flags="${RUMP_NET_FLAGS:-}"
ns="jrbench$$"
mkdir -p "$dir/mnt"
now() { date +%s%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
gbit() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.3f", b * 8 / s / 1e9 }'; }
cleanup() { umount -l "$dir/mnt" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; ip link del jrbv0 2>/dev/null || true; }
trap cleanup EXIT
bytes=$((mib * 1048576))
parts="${PARTS:-net,fuse}"

if [[ ",$parts," == *,net,* ]]; then
ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev jrbt0 mode tap
ip netns exec "$ns" ip addr add 198.18.0.1/24 dev jrbt0; ip netns exec "$ns" ip link set jrbt0 up
echo "# bulk TCP, ${mib} MiB, MTU 1500"
ip netns exec "$ns" socat -u TCP-LISTEN:5001,reuseaddr OPEN:/dev/null &
sleep 0.5
ip netns exec "$ns" java -jar "$jar" net send $flags --tap jrbt0 --addr 198.18.0.2/24 --to 198.18.0.1:5001 --bytes "${mib}M" | sed 's/^/ours -> linux: /'
wait
ip netns exec "$ns" java -jar "$jar" net sink $flags --tap jrbt0 --addr 198.18.0.2/24 --port 5002 > "$dir/sink.out" &
sleep 3
head -c "$bytes" /dev/zero > "$dir/zero"
s=$(now); ip netns exec "$ns" socat -u "OPEN:$dir/zero" TCP:198.18.0.2:5002,retry=20,interval=0.5; e=$(now)
wait
grep received "$dir/sink.out" | sed 's/^/linux -> ours: /'
echo "linux -> ours as socat saw it: $(gbit "$bytes" "$(secs "$s" "$e")") Gbit/s"
ip link add jrbv0 type veth peer name jrbv1; ip link set jrbv1 netns "$ns"
ip addr add 198.18.1.1/24 dev jrbv0; ip link set jrbv0 up
ip netns exec "$ns" ip addr add 198.18.1.2/24 dev jrbv1; ip netns exec "$ns" ip link set jrbv1 up
for o in tso gso gro; do ethtool -K jrbv0 "$o" off >/dev/null 2>&1 || true; ip netns exec "$ns" ethtool -K jrbv1 "$o" off >/dev/null 2>&1 || true; done
ip netns exec "$ns" iperf3 -s -1 -D; sleep 0.5
echo "linux -> linux over veth (iperf3, tso/gso/gro off): $(iperf3 -c 198.18.1.2 -t 3 -f g | awk '/receiver/ {print $7, $8}')"
# The same with the offloads on, as our TAP has them (TSO, checksum offload both ways).
for o in tso gso gro; do ethtool -K jrbv0 "$o" on >/dev/null 2>&1 || true; ip netns exec "$ns" ethtool -K jrbv1 "$o" on >/dev/null 2>&1 || true; done
ip netns exec "$ns" iperf3 -s -1 -D; sleep 0.5
echo "linux -> linux over veth (iperf3, tso/gso/gro on): $(iperf3 -c 198.18.1.2 -t 3 -f g | awk '/receiver/ {print $7, $8}')"
fi
[[ ",$parts," == *,fuse,* ]] || exit 0

echo "# ${mib} MiB cp into and out of a FUSE mount of a fresh ext4 image (seconds)"
head -c "$bytes" /dev/urandom > "$dir/src"
# The floor for any copy out: the same file copied on the host, cold, to a new file. (Copying over
# an existing 256 MiB file costs another 0.2 s here, truncating it; so each cp out below writes a
# new file too.)
sync; echo 3 > /proc/sys/vm/drop_caches; rm -f "$dir/out"
s=$(now); cp "$dir/src" "$dir/out"; e=$(now)
echo "host: cp of the same file from the host filesystem, cold: $(secs "$s" "$e") s"
for who in ours fuse2fs; do
    rm -f "$dir/$who.img"; mke2fs -q -F -t ext4 "$dir/$who.img" "$((mib * 2 + 64))M"
    if [ "$who" = ours ]; then java -jar "$jar" mount "$dir/$who.img" "$dir/mnt"; else fuse2fs -o rw "$dir/$who.img" "$dir/mnt"; fi
    s=$(now); cp "$dir/src" "$dir/mnt/f"; sync -f "$dir/mnt/f"; e=$(now); w=$(secs "$s" "$e")
    if [ "$who" = ours ]; then java -jar "$jar" umount "$dir/mnt"; else umount "$dir/mnt"; fi
    rm -f "$dir/out"; sync; echo 3 > /proc/sys/vm/drop_caches
    if [ "$who" = ours ]; then java -jar "$jar" mount "$dir/$who.img" "$dir/mnt"; else fuse2fs -o ro "$dir/$who.img" "$dir/mnt"; fi
    s=$(now); cp "$dir/mnt/f" "$dir/out"; e=$(now); r=$(secs "$s" "$e")
    if [ "$who" = ours ]; then java -jar "$jar" umount "$dir/mnt"; else umount "$dir/mnt"; fi
    cmp -s "$dir/src" "$dir/out" || { echo "$who: the copy out differs" >&2; exit 1; }
    e2fsck -fn "$dir/$who.img" >/dev/null 2>&1 || { echo "$who: e2fsck -fn not clean" >&2; exit 1; }
    echo "$who: cp in ${w} s ($(gbit "$bytes" "$w") Gbit/s), cp out ${r} s ($(gbit "$bytes" "$r") Gbit/s)"
done
