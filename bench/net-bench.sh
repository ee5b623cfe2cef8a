#!/usr/bin/env bash
# rump-net against Linux, side by side in one run, ending in a markdown table of the network
# goals (measure, ours, Linux, ratio, goal, met/missed) to paste into docs/performance.md:
#  linux  the references: iperf3 over a veth pair between two namespaces this script makes (MTU
#         1500), offloads off (tso gso gro tx rx sg) and then on, and iperf3 over a namespace's
#         own lo (127.0.0.1, MTU 65536) — as root;
#  jvm    TcpBench: bulk at MTU 1500 and 65535, 1-byte request/response, CONNS idle connections,
#         and bulk and request/response with both kernels polled by one thread (no loop threads);
#  netty  NettyBench: bulk over a loop: wire at MTU 1500, request/response (with Netty's NIO over
#         lo beside them, from the same JVM);
#  tap    our stack on a TAP device in a namespace, to and from Linux (rump net send/sink against
#         socat), offloads on, MTU 1500 — as root;
#  tap6   the same over IPv6 (2001:db8::2/64 against Linux's 2001:db8::1), right after tap, for
#         the IPv6/IPv4 ratio over a TAP (issue 19's goal: within 5 %) — as root.
# Usage: bench/net-bench.sh    (settings through the environment:)
#   PARTS=linux,jvm,netty,tap  which parts (default all four; a row whose part did not run says so)
#   JAR=bench/target/benchmarks.jar  CLI=cli/target/rump.jar  the builds to run
#   BYTES=1073741824  bytes per bulk run (ours and the TAP rows)   RR=200000  round trips
#   CONNS=10000  idle connections held at once                     SECS=5  seconds per iperf3 run
# Needs: java, and for linux iperf3 + ethtool, for tap socat + the rump jar (./rump builds it).
# Network: only addresses inside namespaces this script makes, in 198.18.0.0/15, and a namespace's
# own loopback; the namespaces (with their veth and TAP devices) and every process started here go
# at exit. Build the benchmarks first: mvn -B -q -pl bench -am package -DskipTests
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${JAR:-$root/bench/target/benchmarks.jar}"
cli="${CLI:-$root/cli/target/rump.jar}"
bytes="${BYTES:-1073741824}"; rr="${RR:-200000}"; conns="${CONNS:-10000}"; secs="${SECS:-5}"
parts="${PARTS:-linux,jvm,netty,tap,tap6}"

die() { echo "net-bench: $*" >&2; exit 1; }
has() { [[ ",$parts," == *",$1,"* ]]; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found; the '$2' part needs it (PARTS=$parts; leave the part out to run the rest)"; }

for p in ${parts//,/ }; do
    case "$p" in linux|jvm|netty|tap|tap6) ;; *) die "unknown part '$p' in PARTS (linux, jvm, netty, tap, tap6)" ;; esac
done
for v in BYTES:"$bytes" RR:"$rr" CONNS:"$conns" SECS:"$secs"; do
    [[ "${v#*:}" =~ ^[1-9][0-9]*$ ]] || die "${v%%:*} must be a positive whole number, not '${v#*:}'"
done
if has jvm || has netty || has tap || has tap6; then need java jvm/netty/tap; fi
if has jvm || has netty; then
    [ -f "$jar" ] || die "no $jar; build it with: mvn -B -q -pl bench -am package -DskipTests (or set JAR)"
fi
if has linux; then
    need ip linux; need ss linux; need iperf3 linux; need ethtool linux
    [ "$(id -u)" -eq 0 ] || die "PARTS=linux needs root (network namespaces); run as root or leave it out of PARTS"
fi
if has tap || has tap6; then
    need ip tap; need socat tap
    [ "$(id -u)" -eq 0 ] || die "PARTS=tap needs root (a TAP device in a namespace); run as root or leave it out of PARTS"
    [ -f "$cli" ] || die "no $cli; build it with ./rump --help (or mvn -pl cli -am package), or set CLI"
    [ -c /dev/net/tun ] || die "no /dev/net/tun; PARTS=tap needs it"
fi

out="$(mktemp -d /tmp/jrump-net-bench.XXXXXX)"
pids=(); nss=(); failed=()
cleanup() {
    local x
    for x in ${pids[@]+"${pids[@]}"}; do kill "$x" 2>/dev/null || true; done
    for x in ${pids[@]+"${pids[@]}"}; do wait "$x" 2>/dev/null || true; done
    for x in ${nss[@]+"${nss[@]}"}; do ip netns del "$x" 2>/dev/null || true; done
    rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkns() { ip netns add "$1"; nss+=("$1"); ip netns exec "$1" ip link set lo up; }
# bench NAME CMD...: run CMD, its output on the console and kept as $out/NAME, its stderr kept as
# $out/NAME.err and shown only if it fails; a failure is noted (the rows that need it then say not
# measured) and the run goes on.
bench() {
    local name="$1"; shift
    echo "\$ ${*#"$root/"}"
    if ! "$@" 2>"$out/$name.err" | tee "$out/$name"; then
        echo "net-bench: $name failed; the end of its stderr:" >&2
        tail -n 20 "$out/$name.err" >&2
        failed+=("$name")
    fi
}
# reap PID SECONDS: wait for a process started here; kill it after SECONDS (status 124 then).
reap() {
    local i
    for ((i = 0; i < $2 * 4; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$1" 2>/dev/null; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; return 124; fi
    wait "$1"
}
# kv NAME PREFIX KEY: KEY's value on the first line of $out/NAME that starts with PREFIX (keys by
# name, in any order, extra keys ignored).
kv() {
    [ -f "$out/$1" ] || return 0
    awk -v p="$2" -v k="$3" 'index($0, p) == 1 {
        for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$out/$1"
}
# before_gbit NAME PREFIX: the number before "Gbit/s" on the first line of $out/NAME starting with PREFIX.
before_gbit() {
    [ -f "$out/$1" ] || return 0
    awk -v p="$2" 'index($0, p) == 1 { for (i = 2; i <= NF; i++) if ($i ~ /^Gbit\/s/) { print $(i - 1); exit } }' "$out/$1"
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---------------------------------------------------------------------------------------------
echo "# rump-net against Linux (bench/net-bench.sh)"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
dirty=""; git -C "$root" diff --quiet HEAD 2>/dev/null || dirty=" (with uncommitted changes)"
echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
jv="not found"; command -v java >/dev/null 2>&1 && jv="$(java -version 2>&1 | awk 'NR == 1')"
echo "- machine: $(nproc) CPUs (${model:-unknown model}), kernel $(uname -r), $jv"
if command -v iperf3 >/dev/null 2>&1; then echo "- iperf3: $(iperf3 --version 2>/dev/null | awk 'NR == 1')"; fi
echo "- settings: PARTS=$parts BYTES=$bytes RR=$rr CONNS=$conns SECS=$secs"
echo

# ---------------------------------------------------------------------------------------------
veth_off=""; veth_on=""; lo_gbit=""
if has linux; then
    echo "## Linux: iperf3, ${secs} s per run"
    nsa="jrnbA$$"; nsb="jrnbB$$"
    mkns "$nsa"; mkns "$nsb"
    ip netns exec "$nsa" ip link add jrnv0 type veth peer name jrnv1 netns "$nsb"
    ip netns exec "$nsa" ip link set jrnv0 mtu 1500 up
    ip netns exec "$nsb" ip link set jrnv1 mtu 1500 up
    ip netns exec "$nsa" ip addr add 198.18.1.1/24 dev jrnv0
    ip netns exec "$nsb" ip addr add 198.18.1.2/24 dev jrnv1
    # offloads on|off: both ends of the veth; prints what the devices then report.
    offloads() {
        local ns dev nd
        for nd in "$nsa:jrnv0" "$nsb:jrnv1"; do
            ns="${nd%%:*}"; dev="${nd#*:}"
            ip netns exec "$ns" ethtool -K "$dev" tso "$1" gso "$1" gro "$1" tx "$1" rx "$1" sg "$1" >/dev/null 2>&1 || true
            printf '  %s: %s\n' "$dev" "$(ip netns exec "$ns" ethtool -k "$dev" | awk -F': *' '
                $1 == "tcp-segmentation-offload" { n = "tso" } $1 == "generic-segmentation-offload" { n = "gso" }
                $1 == "generic-receive-offload" { n = "gro" } $1 == "tx-checksumming" { n = "tx" }
                $1 == "rx-checksumming" { n = "rx" } $1 == "scatter-gather" { n = "sg" }
                n != "" { split($2, w, " "); printf "%s=%s ", n, w[1]; n = "" }')"
        done
    }
    # iperf NAME SERVER_NS CLIENT_NS ADDRESS: one iperf3 run of SECS; sets gbit to the receiver's
    # Gbit/s (from iperf3 -J: end.sum_received.bits_per_second), empty if it failed three times.
    iperf() {
        local name="$1" sns="$2" cns="$3" addr="$4" spid i try bps=""
        gbit=""
        for try in 1 2 3; do
            ip netns exec "$sns" iperf3 -s -1 -B "$addr" >"$out/$name.server" 2>&1 &
            spid=$!; pids+=("$spid")
            for i in $(seq 1 120); do # until the server listens (up to 30 s on a busy machine)
                [ -n "$(ip netns exec "$sns" ss -Hltn "sport = :5201" 2>/dev/null)" ] && break
                kill -0 "$spid" 2>/dev/null || break
                sleep 0.25
            done
            ip netns exec "$cns" iperf3 -c "$addr" -t "$secs" -J >"$out/$name.json" 2>&1 || true
            reap "$spid" 10 >/dev/null 2>&1 || true
            bps="$(awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.eE+-]/, "", $2); print $2; exit }' "$out/$name.json")"
            [ -z "$bps" ] || break
            echo "net-bench: iperf3 $name, try $try of 3, failed: $(grep -m1 '"error"' "$out/$name.json" || head -c 300 "$out/$name.json"); server: $(head -c 300 "$out/$name.server")" >&2
        done
        if [ -z "$bps" ]; then failed+=("iperf3-$name"); return 0; fi
        gbit="$(calc "%.3f" "$bps / 1e9")"
    }
    echo "veth (MTU $(ip netns exec "$nsa" cat /sys/class/net/jrnv0/mtu)), offloads off:"; offloads off
    iperf veth-off "$nsb" "$nsa" 198.18.1.2; veth_off="$gbit"
    echo "linux -> linux over veth, offloads off: ${veth_off:-failed} Gbit/s"
    echo "veth, offloads on:"; offloads on
    iperf veth-on "$nsb" "$nsa" 198.18.1.2; veth_on="$gbit"
    echo "linux -> linux over veth, offloads on: ${veth_on:-failed} Gbit/s"
    lo_mtu="$(ip netns exec "$nsa" cat /sys/class/net/lo/mtu)"
    iperf lo "$nsa" "$nsa" 127.0.0.1; lo_gbit="$gbit"
    echo "linux -> linux over lo (127.0.0.1, MTU $lo_mtu): ${lo_gbit:-failed} Gbit/s"
    echo
fi

# ---------------------------------------------------------------------------------------------
if has jvm; then
    echo "## TcpBench: two kernels in one JVM, each on its own host, joined by the in-process switch"
    tcp=(java -Xmx512m -cp "$jar" io.jrump.bench.net.TcpBench)
    bench tcp-bulk-1500 "${tcp[@]}" bulk 1500 "$bytes"
    bench tcp-bulk-65535 "${tcp[@]}" bulk 65535 "$bytes" offload # checksums offloaded, as on lo
    bench tcp-rr "${tcp[@]}" rr "$rr"
    bench tcp-rrpoll "${tcp[@]}" rrpoll "$rr"            # both kernels polled by one thread
    bench tcp-bulkpoll "${tcp[@]}" bulkpoll 1500 "$bytes"
    bench tcp-conns "${tcp[@]}" conns "$conns"
    echo
fi
if has netty; then
    echo "## NettyBench: two kernels on one RumpEventLoopGroup (loop: wire, MTU 1500) beside Netty NIO over lo"
    bench netty-bulk java -cp "$jar" io.jrump.bench.net.NettyBench bulk "$bytes"
    bench netty-rr java -cp "$jar" io.jrump.bench.net.NettyBench rr "$rr"
    echo
fi

# ---------------------------------------------------------------------------------------------
# The TAP part for one family: tap_part NAME OURS/PREFIX LINUX/PREFIX "ip -6"|"ip" SOCAT-PROTO URL-HOST
tap_part() {
    local name="$1" ours="$2" linux="$3" family="$4" proto="$5" ourhost="$6" linuxhost="$7" nst="jrnb${1}$$"
    echo "## ${name}: our stack on a TAP device in a namespace, to and from Linux (socat), offloads on, MTU 1500"
    mkns "$nst"
    ip netns exec "$nst" ip tuntap add dev jrnt0 mode tap
    ip netns exec "$nst" $family addr add "$linux" dev jrnt0 nodad 2>/dev/null \
        || ip netns exec "$nst" $family addr add "$linux" dev jrnt0
    ip netns exec "$nst" ip link set jrnt0 up
    # ours -> linux
    ip netns exec "$nst" socat -u "${proto}-LISTEN:5001,reuseaddr" OPEN:/dev/null &
    spid=$!; pids+=("$spid")
    sleep 0.5
    bench "$name-send" ip netns exec "$nst" java -jar "$cli" net send --tap jrnt0 --addr "$ours" \
        --to "$linuxhost:5001" --bytes "$bytes"
    reap "$spid" 20 || true
    # linux -> ours
    ip netns exec "$nst" java -jar "$cli" net sink --tap jrnt0 --addr "$ours" --port 5002 \
        >"$out/$name-sink" 2>"$out/$name-sink.err" &
    kpid=$!; pids+=("$kpid")
    for i in $(seq 1 240); do # the JVM boots, opens the TAP and passes DAD: up to 60 s
        grep -q 'listening on' "$out/$name-sink" 2>/dev/null && break
        kill -0 "$kpid" 2>/dev/null || break
        sleep 0.25
    done
    if ! grep -q 'listening on' "$out/$name-sink"; then
        echo "net-bench: rump net sink did not start listening; the end of its stderr:" >&2
        tail -n 20 "$out/$name-sink.err" >&2; failed+=("$name-sink")
    else
        echo "\$ socat -u OPEN:/dev/zero,readbytes=$bytes ${proto}:${ourhost}:5002   (into rump net sink)"
        s=$(date +%s%N)
        if ip netns exec "$nst" socat -u "OPEN:/dev/zero,readbytes=$bytes" "${proto}:${ourhost}:5002,retry=20,interval=0.5"; then
            e=$(date +%s%N)
            if ! reap "$kpid" 60; then
                echo "net-bench: rump net sink failed; the end of its stderr:" >&2
                tail -n 20 "$out/$name-sink.err" >&2; failed+=("$name-sink")
            fi
            cat "$out/$name-sink"
            echo "linux -> ours as socat saw it: $(calc "%.3f" "$bytes * 8 / (($e - $s) / 1e9) / 1e9") Gbit/s"
        else
            echo "net-bench: socat into rump net sink failed" >&2; failed+=("$name-sink")
            cat "$out/$name-sink"
        fi
    fi
    echo
}
if has tap; then
    tap_part tap 198.18.0.2/24 198.18.0.1/24 ip TCP 198.18.0.2 198.18.0.1
fi
if has tap6; then
    tap_part tap6 2001:db8::2/64 2001:db8::1/64 "ip -6" TCP6 "[2001:db8::2]" "[2001:db8::1]"
fi

# ---------------------------------------------------------------------------------------------
# The table. Each row: measure | ours | Linux | ratio | goal | met.
num() { [[ "${1:-}" =~ ^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
positive() { num "$1" && [ "$(calc "%d" "($1 > 0)")" = 1 ]; }
ratio() { if num "$1" && positive "$2"; then calc "%.2f×" "$1 / $2"; else echo "—"; fi; }
ratio_num() { if num "$1" && positive "$2"; then calc "%.4f" "$1 / $2"; fi; }
# verdict VALUE OP LIMIT (OP: ge or lt): met, **missed** or not measured
verdict() {
    num "${1:-}" || { echo "not measured"; return 0; }
    local ok
    if [ "$2" = ge ]; then ok="$(calc "%d" "($1 >= $3)")"; else ok="$(calc "%d" "($1 < $3)")"; fi
    if [ "$ok" = 1 ]; then echo "met"; else echo "**missed**"; fi
}
g() { if num "${1:-}"; then echo "$1 Gbit/s${2:+ $2}"; else echo "not measured"; fi; }
us() { if num "${1:-}"; then echo "$1 µs${2:+ $2}"; else echo "not measured"; fi; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }

t1500="$(kv tcp-bulk-1500 mode=bulk gbit_per_s)"
n1500="$(kv netty-bulk 'netty-bulk transport=jrump' gbit_s)"
tpoll="$(kv tcp-bulkpoll mode=bulkpoll gbit_per_s)"
best=""; which=""; other=""
for cand in "TcpBench:$t1500" "TcpBench polled:$tpoll" "NettyBench:$n1500"; do
    v="${cand##*:}"; n="${cand%%:*}"
    num "$v" || continue
    if [ -z "$best" ] || [ "$(calc "%d" "($v > $best)")" = 1 ]; then best="$v"; which="$n"; fi
done
for cand in "TcpBench:$t1500" "TcpBench polled:$tpoll" "NettyBench:$n1500"; do
    v="${cand##*:}"; n="${cand%%:*}"
    if num "$v" && [ "$n" != "$which" ]; then other="$other; $n $v"; fi
done
t65535="$(kv tcp-bulk-65535 mode=bulk gbit_per_s)"
jp50="$(kv netty-rr 'netty-rr transport=jrump' p50_us)"; jp99="$(kv netty-rr 'netty-rr transport=jrump' p99_us)"
np50="$(kv netty-rr 'netty-rr transport=nio-lo' p50_us)"; np99="$(kv netty-rr 'netty-rr transport=nio-lo' p99_us)"
tp50="$(kv tcp-rr mode=rr median_us)"; tp99="$(kv tcp-rr mode=rr p99_us)"
pp50="$(kv tcp-rrpoll mode=rrpoll median_us)"; pp99="$(kv tcp-rrpoll mode=rrpoll p99_us)"
tsend="$(before_gbit tap-send sent)"; tsink="$(before_gbit tap-sink received)"
t6send="$(before_gbit tap6-send sent)"; t6sink="$(before_gbit tap6-sink received)"
per_end="$(kv tcp-conns mode=conns bytes_per_end)"; held="$(kv tcp-conns mode=conns connections)"
per_conn=""; if [[ "$per_end" =~ ^-?[0-9]+$ ]]; then per_conn=$((per_end * 2)); fi
alloc="$(kv netty-bulk 'netty-bulk transport=jrump' alloc_bytes_per_mib)"
nio_bulk="$(kv netty-bulk 'netty-bulk transport=nio-lo' gbit_s)"

echo "## Goals"
echo
row measure ours Linux ratio goal met
row "---" "---:" "---:" "---:" "---" "---"
row "bulk TCP, one connection, two kernels in one JVM, MTU 1500 ($bytes bytes)" \
    "$(g "$best" "(${which}${other})")" "$(g "$veth_off" "(iperf3, veth, offloads off)")" \
    "$(ratio "$best" "$veth_off")" "≥ 1.0×" "$(verdict "$(ratio_num "$best" "$veth_off")" ge 1.0)"
row "bulk TCP, one connection, two kernels in one JVM, MTU 65535, checksum offload as on lo (TcpBench)" \
    "$(g "$t65535")" "$(g "$lo_gbit" "(iperf3, lo, MTU 65536)")" \
    "$(ratio "$t65535" "$lo_gbit")" "≥ 1.0×" "$(verdict "$(ratio_num "$t65535" "$lo_gbit")" ge 1.0)"
row "1-byte request/response, two kernels on one loop (NettyBench, $rr round trips): median" \
    "$(us "$jp50")" "$(us "$np50" "(Netty NIO over lo)")" "$(ratio "$jp50" "$np50")" "< 10 µs" "$(verdict "$jp50" lt 10)"
row "same: p99" \
    "$(us "$jp99")" "$(us "$np99" "(Netty NIO over lo)")" "$(ratio "$jp99" "$np99")" "< 30 µs" "$(verdict "$jp99" lt 30)"
row "1-byte request/response, blocking API with threads (TcpBench, $rr round trips): median" \
    "$(us "$tp50" "$(num "$tp99" && echo "(p99 $tp99 µs)")")" "—" "—" "< 30 µs" "$(verdict "$tp50" lt 30)"
row "bulk TCP, our stack on TAP → Linux (rump net send → socat), offloads on, $bytes bytes" \
    "$(g "$tsend")" "$(g "$veth_on" "(iperf3, veth, offloads on)")" \
    "$(ratio "$tsend" "$veth_on")" "≥ 0.5×" "$(verdict "$(ratio_num "$tsend" "$veth_on")" ge 0.5)"
row "bulk TCP, Linux → our stack on TAP (socat → rump net sink), offloads on, $bytes bytes" \
    "$(g "$tsink")" "$(g "$veth_on" "(iperf3, veth, offloads on)")" \
    "$(ratio "$tsink" "$veth_on")" "≥ 0.5×" "$(verdict "$(ratio_num "$tsink" "$veth_on")" ge 0.5)"
row "bulk TCP over IPv6, our stack on TAP → Linux, against the same over IPv4 (row above)" \
    "$(g "$t6send")" "$(g "$tsend" "(ours over IPv4)")" \
    "$(ratio "$t6send" "$tsend")" "≥ 0.95×" "$(verdict "$(ratio_num "$t6send" "$tsend")" ge 0.95)"
row "bulk TCP over IPv6, Linux → our stack on TAP, against the same over IPv4" \
    "$(g "$t6sink")" "$(g "$tsink" "(ours over IPv4)")" \
    "$(ratio "$t6sink" "$tsink")" "≥ 0.95×" "$(verdict "$(ratio_num "$t6sink" "$tsink")" ge 0.95)"
# A connection as one application holds it is one end; the benchmark holds both ends in one JVM.
row "heap per idle connection, ${held:-$conns} ends held (TcpBench): per end (both ends)" \
    "$(if num "$per_end"; then echo "$per_end B ($per_conn B)"; else echo "not measured"; fi)" \
    "—" "—" "< 4 KiB" "$(verdict "$per_end" lt 4096)"
row "allocation per MiB moved in steady state (NettyBench bulk, jrump)" \
    "$(if num "$alloc"; then echo "$alloc B/MiB"; else echo "not measured"; fi)" \
    "—" "—" "< 1 KiB" "$(verdict "$alloc" lt 1024)"
echo
if num "$nio_bulk"; then echo "Also measured: Netty NIO over lo, bulk, same JVM: $nio_bulk Gbit/s."; fi
if num "$pp50"; then echo "Also measured: 1-byte request/response through the socket API, both kernels polled by one thread (TcpBench rrpoll): median $pp50 µs, p99 $pp99 µs."; fi
skipped=""
for p in linux jvm netty tap tap6; do has "$p" || skipped="$skipped $p"; done
if [ -n "$skipped" ]; then echo "Parts not run (PARTS=$parts):$skipped; their rows say not measured."; fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "Failed: ${failed[*]}; their rows say not measured." >&2
    exit 1
fi
