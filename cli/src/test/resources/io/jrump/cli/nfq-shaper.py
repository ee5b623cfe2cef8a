#!/usr/bin/env python3
"""A netem stand-in for kernels without sch_netem: packets that iptables sends to an NFQUEUE
are dropped, delayed and reordered here, then handed back to the kernel by verdict.
Usage: nfq-shaper.py --queue N [--loss 0.02] [--delay-ms 5] [--reorder 0.10] [--seed S]
Runs until killed (SIGTERM); prints 'ready' once bound, and counts on exit."""
import argparse, heapq, os, random, select, signal, socket, struct, sys, time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2

def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)

def message(msg, queue, attrs, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, 0) + body

def messages(data):
    off = 0
    while off + 16 <= len(data):
        length, kind, flags, seq, pid = struct.unpack_from("=IHHII", data, off)
        if length < 16 or off + length > len(data):
            return
        yield kind, data[off + 16:off + length]
        off += (length + 3) & ~3

def attrs(payload):
    off = 4  # after nfgenmsg
    while off + 4 <= len(payload):
        n, kind = struct.unpack_from("=HH", payload, off)
        if n < 4 or off + n > len(payload):
            return
        yield kind & 0x7fff, payload[off + 4:off + n]
        off += (n + 3) & ~3

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--queue", type=int, required=True)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    def request(msg, attrlist):
        s.send(message(msg, a.queue, attrlist, NLM_F_REQUEST | NLM_F_ACK))
        for kind, body in messages(s.recv(65536)):
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("=i", body)[0]
                if err != 0:
                    sys.exit("nfqueue config failed: " + os.strerror(-err))
    request(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, socket.htons(socket.AF_INET)))])
    request(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META) + b"\0\0\0")])
    counts = {"seen": 0, "dropped": 0, "reordered": 0}
    held = []  # (release time, order, packet id)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    def verdict(pid, v):
        s.send(message(NFQNL_MSG_VERDICT, a.queue, [attr(NFQA_VERDICT_HDR, struct.pack(">II", v, pid))]))
    print("ready", flush=True)
    order = 0
    while not stop:
        now = time.monotonic()
        while held and held[0][0] <= now:
            verdict(heapq.heappop(held)[2], NF_ACCEPT)
        timeout = max(0.0, held[0][0] - now) if held else 0.2
        try:
            ready, _, _ = select.select([s], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        for kind, body in messages(s.recv(1 << 16)):
            if kind != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                continue
            for k, v in attrs(body):
                if k == NFQA_PACKET_HDR and len(v) >= 4:
                    pid = struct.unpack_from(">I", v)[0]
                    counts["seen"] += 1
                    if rnd.random() < a.loss:
                        counts["dropped"] += 1
                        verdict(pid, NF_DROP)
                    elif rnd.random() < a.reorder:
                        counts["reordered"] += 1  # as netem: sent at once, ahead of the delayed ones
                        verdict(pid, NF_ACCEPT)
                    else:
                        order += 1
                        heapq.heappush(held, (time.monotonic() + a.delay_ms / 1000, order, pid))
    for _, _, pid in held:
        verdict(pid, NF_ACCEPT)
    print(" ".join(f"{k} {v}" for k, v in counts.items()), flush=True)

main()
