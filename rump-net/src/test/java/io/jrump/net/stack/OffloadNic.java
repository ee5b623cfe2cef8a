package io.jrump.net.stack;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.host.kit.FrameChecks;
import io.jrump.net.wire.Checksum;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A fake NIC with offloads, over a simulation host's NIC: what a virtio device does, in software.
 * On send it records every frame with its {@link FrameOffload}, then either finishes the frame
 * (completes the checksum, cuts a large TCP/IPv4 or TCP/IPv6 segment at the MSS, as TSO does) or, in
 * pass-through mode, sends the large frame whole (the simulated link is opened with a 64 KiB
 * MTU so it carries it). On receive it may flag frames: {@code rxFlagsForLarge} on frames longer
 * than the MTU, {@code rxFlagsForAll} on every frame; {@code corruptTcpChecksum} overwrites the
 * TCP checksum of flagged frames to prove they are not verified.
 */
final class OffloadNic implements HostNic {
    /** One frame the stack sent. */
    record Sent(int length, FrameOffload offload, byte[] frame) {
    }

    final List<Sent> sent = new ArrayList<>();
    private final HostNic inner;
    private final int mtu;
    private final Set<NicOffload> offloads;
    private final boolean passThrough;
    private boolean closed;

    OffloadNic(HostNic inner, int mtu, Set<NicOffload> offloads, boolean passThrough) {
        this.inner = inner;
        this.mtu = mtu;
        this.offloads = offloads;
        this.passThrough = passThrough;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public MacAddress mac() {
        return inner.mac();
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public Set<NicOffload> offloads() {
        return offloads;
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        send(frame, FrameOffload.NONE);
    }

    @Override
    public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame, offload);
        byte[] b = new byte[frame.remaining()];
        frame.duplicate().get(b);
        sent.add(new Sent(b.length, offload, b.clone()));
        if (passThrough && offload.needsSegmentation()) {
            inner.send(ByteBuffer.wrap(b));
            return;
        }
        if (offload.needsSegmentation()) {
            for (byte[] s : segment(b, offload)) {
                inner.send(ByteBuffer.wrap(s));
            }
            return;
        }
        if (offload.needsChecksum()) {
            complete(Unpooled.wrappedBuffer(b), offload.checksumStart(), offload.checksumOffset(), b.length);
        }
        inner.send(ByteBuffer.wrap(b));
    }

    /** NEEDS_CSUM: sum from the start to the end, the field (holding the pseudo-header sum) included. */
    static void complete(ByteBuf f, int start, int offset, int end) {
        f.setShort(start + offset, Checksum.compute(f, start, end - start));
    }

    /** TSO as Linux's tcp_gso_segment does it: same headers, seq and IP id advanced, PSH/FIN on the last only. */
    static List<byte[]> segment(byte[] big, FrameOffload o) {
        List<byte[]> out = new ArrayList<>();
        int hdr = o.headerLength();
        int ip = 14;
        int tcp = o.checksumStart();
        int payload = big.length - hdr;
        boolean v6 = (big[12] & 0xff) == 0x86 && (big[13] & 0xff) == 0xdd;
        int id = ((big[ip + 4] & 0xff) << 8) | (big[ip + 5] & 0xff);
        ByteBuf whole = Unpooled.wrappedBuffer(big);
        int tcpLenWhole = big.length - tcp;
        // The field holds the pseudo-header sum for the whole length: take the length back out.
        long pseudoNoLen = (whole.getUnsignedShort(tcp + 16) + 0xffff - tcpLenWhole) & 0xffffffffL;
        for (int off = 0, k = 0; off < payload; off += o.segmentSize(), k++) {
            int n = Math.min(o.segmentSize(), payload - off);
            boolean last = off + n == payload;
            ByteBuf s = Unpooled.buffer(hdr + n);
            s.writeBytes(big, 0, hdr).writeBytes(big, hdr + off, n);
            if (v6) { // Payload Length: everything after the fixed header; no id, no header checksum
                s.setShort(ip + 4, hdr - ip - 40 + n);
            } else {
                s.setShort(ip + 2, hdr - ip + n);
                s.setShort(ip + 4, id + k);
                s.setShort(ip + 10, 0);
                s.setShort(ip + 10, Checksum.compute(s, ip, tcp - ip));
            }
            s.setInt(tcp + 4, whole.getInt(tcp + 4) + off);
            if (!last) {
                s.setByte(tcp + 13, s.getByte(tcp + 13) & ~0x09); // PSH and FIN only on the last
            }
            s.setShort(tcp + 16, Checksum.fold(pseudoNoLen + (hdr - tcp + n)));
            complete(s, tcp, 16, hdr + n);
            byte[] b = new byte[hdr + n];
            s.getBytes(0, b);
            out.add(b);
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
        inner.close();
    }

    /**
     * What the fake NIC does to frames it receives; {@code corruptTcpChecksum}: a flagged frame's
     * TCP checksum (IPv4 and IPv6), and an IPv6 UDP one, is spoilt (as a partial sum would be).
     */
    record Rx(Set<NicOffload> offloads, boolean passThrough, int rxFlagsForLarge, int rxFlagsForAll,
            boolean corruptTcpChecksum) {
        static Rx plain(Set<NicOffload> offloads) {
            return new Rx(offloads, false, 0, 0, false);
        }
    }

    /**
     * A host that is {@code host} but for its NICs, which are {@link OffloadNic}s doing {@code rx};
     * {@code nics} collects them.
     */
    static Hypercalls wrap(Hypercalls host, Rx rx, List<OffloadNic> nics) {
        NetworkInterfaces interfaces = (name, options, receiver) -> {
            int mtu = options.mtuOrDefault();
            HostNic inner = host.networkInterfaces().open(name, new NicOptions(NicOptions.MAX_MTU, options.mac()),
                    frame -> deliver(receiver, frame, mtu, rx));
            Set<NicOffload> granted = options.offloads().containsAll(rx.offloads()) ? rx.offloads() : NicOffload.NONE;
            OffloadNic nic = new OffloadNic(inner, mtu, granted, rx.passThrough());
            nics.add(nic);
            return nic;
        };
        return new ForwardingHypercalls(host) {
            @Override
            public NetworkInterfaces networkInterfaces() {
                return interfaces;
            }
        };
    }

    private static void deliver(FrameReceiver receiver, ByteBuffer frame, int mtu, Rx rx) {
        boolean large = frame.remaining() > mtu + ETHERNET_HEADER + VLAN_TAG;
        int flags = rx.rxFlagsForAll() | (large ? rx.rxFlagsForLarge() : 0);
        if (flags != 0 && rx.corruptTcpChecksum() && frame.remaining() >= 54 && frame.get(frame.position() + 23) == 6) {
            ByteBuffer copy = ByteBuffer.allocate(frame.remaining());
            copy.put(frame.duplicate()).flip();
            int ihl = (copy.get(14) & 0x0f) * 4;
            copy.putShort(14 + ihl + 16, (short) 0xdead);
            frame = copy.asReadOnlyBuffer();
        }
        int next = frame.remaining() >= 62 ? frame.get(frame.position() + 20) : -1;
        boolean ipv6 = frame.remaining() >= 62 && frame.getShort(frame.position() + 12) == (short) 0x86dd;
        if (flags != 0 && rx.corruptTcpChecksum() && ipv6 && (next == 6 || next == 17)) {
            // What a Linux TAP hands over with NEEDS_CSUM: a field that does not verify.
            ByteBuffer copy = ByteBuffer.allocate(frame.remaining());
            copy.put(frame.duplicate()).flip();
            copy.putShort(54 + (next == 6 ? 16 : 6), (short) 0xdead);
            frame = copy.asReadOnlyBuffer();
        }
        receiver.frameReceived(frame, flags);
    }
}
