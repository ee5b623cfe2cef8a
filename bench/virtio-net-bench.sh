#!/usr/bin/env bash
# TCP bulk: `rump net serve` over virtio-net (jrump's driver, DPDK testpmd as the vhost-user back-end,
# forwarding to a TAP in a namespace) against the same command over the Linux host's TAP path, in
# the same run: curl in the namespace fetches SIZE_MIB from our stack, timed; ratio = TAP's time /
# virtio's (above 1: virtio is faster). testpmd keeps one core busy polling (as DPDK does); the
# TAP's port in testpmd completes our partial checksums and cuts our large segments (TSO), in software.
# Usage: bench/virtio-net-bench.sh [SIZE_MIB] [ROUNDS]   (as root)
# Needs: mvn -B -q -pl cli -am package -DskipTests (cli/target/rump.jar), dpdk-testpmd, curl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mib="${1:-256}"; rounds="${2:-3}"
jar="$root/cli/target/rump.jar"
dir=$(mktemp -d /tmp/jrump-net-bench.XXXXXX)
ns=jrnb-$$; tap=jrnb$$; sock="$dir/net.sock"
head -c "${mib}M" /dev/urandom > "$dir/big"
cleanup() { pkill -f "file-prefix jrnb-$$" 2>/dev/null || true; ip netns delete "$ns" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }
await_ping() { for _ in $(seq 100); do ip netns exec "$ns" ping -c 1 -W 1 198.18.0.2 > /dev/null 2>&1 && return; done
    echo "no ping answer" >&2; exit 1; }
fetch() { s=$(date +%s%N); ip netns exec "$ns" curl -sS --fail --max-time 600 -o "$dir/got" http://198.18.0.2:8080/big
    e=$(date +%s%N); cmp -s "$dir/got" "$dir/big" || { echo "fetched bytes differ" >&2; exit 1; }; secs "$s" "$e"; }

virtio_round() {
    # The csum engine: TCP checksums completed and our large segments (TSO) cut by the TAP port, in
    # software, at 1400 bytes of payload (DPDK 22.11's TAP driver refuses 1448: see DpdkNetBackend).
    # It rewrites Ethernet addresses, so both ends' MACs are fixed.
    printf '%s\n' "port stop 1" "csum set ip hw 1" "csum set tcp hw 1" "csum set udp hw 1" "tso set 1400 1" \
        "port start 1" > "$dir/testpmd.cmd"
    rm -f "$sock"
    # testpmd stops at the end of its input: a FIFO this shell holds open is input without end.
    [ -p "$dir/in" ] || { mkfifo "$dir/in"; exec 3<>"$dir/in"; }
    ip netns exec "$ns" stdbuf -oL dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix "jrnb-$$" \
        --log-level lib.eal:warning --vdev "net_vhost0,iface=$sock,queues=1,tso=1" --vdev "net_tap0,iface=$tap" -- \
        --forward-mode=csum --disable-link-check --eth-peer=0,02:00:00:00:00:02 --eth-peer=1,02:00:00:00:00:01 \
        --nb-cores=1 --total-num-mbufs=16384 --cmdline-file="$dir/testpmd.cmd" < "$dir/in" > "$dir/testpmd.log" 2>&1 &
    for _ in $(seq 300); do [ -S "$sock" ] && grep -q "Read CLI commands from" "$dir/testpmd.log" && break; sleep 0.1; done
    ip netns exec "$ns" ip link set "$tap" address 02:00:00:00:00:01
    ip netns exec "$ns" ip addr add 198.18.0.1/24 dev "$tap"; ip netns exec "$ns" ip link set "$tap" up
    java -jar "$jar" net serve --nic "vhost-user:$sock" --mac 02:00:00:00:00:02 --addr 198.18.0.2/24 --http "$dir" \
        --port 8080 --requests 1 > /dev/null 2>&1 &
    local pid=$!
    await_ping; v=$(fetch); wait "$pid" || true
    pkill -f "file-prefix jrnb-$$"; sleep 1
}
tap_round() {
    java -jar "$jar" net serve --tap "$tap" --addr 198.18.0.2/24 --http "$dir" --port 8080 --requests 1 > /dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 300); do [ -e "/sys/class/net/$tap" ] && break; sleep 0.05; done
    ip link set "$tap" netns "$ns"; ip netns exec "$ns" ip addr add 198.18.0.1/24 dev "$tap"
    ip netns exec "$ns" ip link set "$tap" up
    await_ping; t=$(fetch); wait "$pid" || true
    while ip netns exec "$ns" test -e "/sys/class/net/$tap"; do sleep 0.05; done
}
echo "# TCP bulk, ${mib} MiB per fetch, ${rounds} rounds; machine: $(nproc) vCPUs, $(uname -r)"
for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then virtio_round; tap_round; else tap_round; virtio_round; fi
    echo "round $r: TAP ${t}s ($(awk -v s="$t" -v m="$mib" 'BEGIN{printf "%.0f", m*8.388608/s}') Mbit/s)" \
         "virtio ${v}s ($(awk -v s="$v" -v m="$mib" 'BEGIN{printf "%.0f", m*8.388608/s}') Mbit/s)" \
         "ratio $(awk -v a="$t" -v b="$v" 'BEGIN { printf "%.2f", a / b }')x"
done
