package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static io.jrump.net.wire.TcpSegment.SYN;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.wire.ArpPacket;
import io.jrump.net.wire.ArpRepr;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Packet;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpSegment;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP endpoint played by the test, packetdrill-style: a raw port on a simulated link that
 * answers ARP and sends exactly the segments a test writes, while everything the stack under
 * test sends back is collected for the test to check. The stack is at {@link #US}, the peer at
 * {@link #PEER}; the peer's segments carry no options unless asked (no window scaling, SACK or
 * timestamps), so sequence and window arithmetic in a test reads as plain numbers.
 *
 * <p>Not thread-safe: one test thread drives the world.
 */
final class ScriptedPeer {
    static final Ipv4Address US = Ipv4Address.parse("198.18.0.2");
    static final Ipv4Address PEER = Ipv4Address.parse("198.18.0.1");
    static final int PEER_PORT = 40000;
    static final int PORT = 80;

    final SimWorld world;
    final NetStack stack;
    private final HostNic nic;
    private final MacAddress mac = MacAddress.parse("02:00:00:00:00:01");
    private MacAddress stackMac;
    private final List<TcpRepr> received = new ArrayList<>();
    private int ipId;

    ScriptedPeer(long seed) throws ErrnoException {
        world = new SimWorld(seed);
        world.link("lan").setDelay(100_000, 0); // 0.1 ms each way
        SimHost host = world.newHost("us");
        stack = new NetStack();
        RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack)));
        stack.addInterface("lan", NicOptions.mtu(1500));
        stack.addAddress("lan", US, 24);
        nic = world.newHost("peer").networkInterfaces().open("lan", NicOptions.mtu(1500), this::frame);
        world.runFor(Duration.ofMillis(1)); // the stack's gratuitous ARP
    }

    Sockets sockets() {
        return stack.sockets();
    }

    private void frame(ByteBuffer bytes) {
        try {
            ByteBuf buf = Unpooled.wrappedBuffer(bytes);
            EthernetFrame eth = EthernetFrame.parse(buf);
            if (eth.etherType().equals(EtherType.ARP)) {
                ArpRepr arp = ArpRepr.parse(ArpPacket.parse(eth.payload()));
                stackMac = arp.senderHardwareAddress();
                if (arp.operation() == ArpRepr.Operation.REQUEST && arp.targetProtocolAddress().equals(PEER)) {
                    ArpRepr reply = new ArpRepr(ArpRepr.Operation.REPLY, mac, PEER, arp.senderHardwareAddress(),
                            arp.senderProtocolAddress());
                    ByteBuf out = Unpooled.buffer(14 + reply.bufferLength());
                    out.writerIndex(14 + reply.bufferLength());
                    new EthernetRepr(arp.senderHardwareAddress(), mac, EtherType.ARP).emit(out, 0);
                    reply.emit(out, 14);
                    nic.send(out.nioBuffer());
                }
                return;
            }
            if (!eth.etherType().equals(EtherType.IPV4)) {
                return;
            }
            stackMac = eth.source();
            Ipv4Packet ip = Ipv4Packet.parse(eth.payload());
            Ipv4Repr ipRepr = Ipv4Repr.parse(ip);
            if (ipRepr.protocol().equals(IpProtocol.TCP)) {
                TcpRepr t = TcpRepr.parse(TcpSegment.parse(ip.payload()), ipRepr.source(), ipRepr.destination());
                // Keep the payload: the frame's buffer is the host's, reused after this call.
                received.add(new TcpRepr(t.sourcePort(), t.destinationPort(), t.sequenceNumber(),
                        t.acknowledgmentNumber(), t.flags(), t.window(), t.urgentPointer(), t.maxSegmentSize(),
                        t.windowScale(), t.sackPermitted(), t.timestamps(), t.sackBlocks(),
                        Unpooled.copiedBuffer(t.payload())));
            }
        } catch (ErrnoException e) {
            throw new AssertionError("the stack sent a malformed frame", e);
        }
    }

    /** Sends one segment to the stack, from the peer's port to {@link #PORT}. */
    void send(TcpRepr seg) throws ErrnoException {
        if (stackMac == null) {
            throw new IllegalStateException("the stack has not shown its MAC yet");
        }
        Ipv4Repr ip = Ipv4Repr.of(PEER, US, IpProtocol.TCP, seg.bufferLength(), 64, ++ipId & 0xffff);
        int length = 14 + ip.totalLength();
        ByteBuf out = Unpooled.buffer(length);
        out.writerIndex(length);
        new EthernetRepr(stackMac, mac, EtherType.IPV4).emit(out, 0);
        ip.emit(out, 14);
        seg.emit(out, 14 + ip.headerLength(), PEER, US);
        nic.send(out.nioBuffer());
    }

    /** A segment from the peer without options. */
    static TcpRepr segment(int seq, int ack, int flags, int window, int length) {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) {
            data[i] = (byte) (seq + i);
        }
        return TcpRepr.of(PEER_PORT, PORT, seq, ack, flags, window, Unpooled.wrappedBuffer(data));
    }

    /** Runs the world for {@code millis} of virtual time and returns what the stack sent meanwhile. */
    List<TcpRepr> run(long millis) {
        world.runFor(Duration.ofMillis(millis));
        return take();
    }

    /** What the stack sent since the last call. */
    List<TcpRepr> take() {
        List<TcpRepr> out = List.copyOf(received);
        received.clear();
        return out;
    }

    /**
     * A connection to the stack's listener on {@link #PORT}, opened by the peer with {@code window}
     * and MSS 1000 and no other options; returns the accepted descriptor and the sequence numbers.
     */
    Connection open(int window, int receiveBuffer) throws ErrnoException {
        return open(window, receiveBuffer, -1, false);
    }

    /**
     * As {@link #open(int, int)}, the peer's SYN also offering window scaling with {@code windowScale}
     * (-1: not offered) and, if {@code timestamps}, the Timestamps option (its TSval is then the
     * virtual time in ms; {@link #segment(Connection, int, int, int, int)} adds it to every segment).
     */
    Connection open(int window, int receiveBuffer, int windowScale, boolean timestamps) throws ErrnoException {
        Sockets s = stack.sockets();
        int listener = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        if (receiveBuffer > 0) {
            s.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer / 2);
        }
        s.bind(listener, new Sockets.SocketAddress(Ipv4Address.ANY, PORT));
        s.listen(listener, 4);
        // Learn the stack's MAC the way a host would: ask for it.
        ArpRepr who = new ArpRepr(ArpRepr.Operation.REQUEST, mac, PEER, MacAddress.of(0L), US);
        ByteBuf out = Unpooled.buffer(14 + who.bufferLength());
        out.writerIndex(14 + who.bufferLength());
        new EthernetRepr(MacAddress.BROADCAST, mac, EtherType.ARP).emit(out, 0);
        who.emit(out, 14);
        nic.send(out.nioBuffer());
        run(1);
        int iss = 1_000_000;
        send(new TcpRepr(PEER_PORT, PORT, iss, 0, SYN, window, 0, 1000, windowScale, false,
                timestamps ? new TcpRepr.Timestamps(tsNow(), 0) : null, List.of(), Unpooled.EMPTY_BUFFER));
        TcpRepr synAck = only(run(1));
        if (!synAck.hasFlags(SYN | ACK)) {
            throw new AssertionError("expected a SYN-ACK, got " + synAck);
        }
        Connection c = new Connection(-1, iss + 1, synAck.sequenceNumber() + 1, synAck.window());
        c.timestamps = timestamps;
        c.stackScale = synAck.windowScale() >= 0 && windowScale >= 0 ? synAck.windowScale() : 0;
        c.tsRecent = synAck.timestamps() != null ? synAck.timestamps().value() : 0;
        send(segment(c, c.peerNxt, c.peerRcvNxt, ACK, window, 0));
        run(1);
        c.fd = s.accept(listener);
        return c;
    }

    /** The peer's timestamp clock: virtual milliseconds. */
    int tsNow() {
        return (int) (world.now() / 1_000_000L);
    }

    /** A segment from the peer on {@code c}: with the Timestamps option if the connection has it. */
    TcpRepr segment(Connection c, int seq, int ack, int flags, int window, int length) {
        TcpRepr plain = segment(seq, ack, flags, window, length);
        if (!c.timestamps) {
            return plain;
        }
        return new TcpRepr(PEER_PORT, PORT, seq, ack, flags, window, 0, -1, -1, false,
                new TcpRepr.Timestamps(tsNow(), c.tsRecent), List.of(), plain.payload());
    }

    static TcpRepr only(List<TcpRepr> segments) {
        if (segments.size() != 1) {
            throw new AssertionError("expected one segment, got " + segments);
        }
        return segments.get(0);
    }

    /** The connection's descriptor on the stack, and the peer's view: its SND.NXT and RCV.NXT. */
    static final class Connection {
        int fd;
        int peerNxt;
        int peerRcvNxt;
        int window;
        boolean timestamps;
        int tsRecent;
        int stackScale; // the shift of the stack's window field

        Connection(int fd, int peerNxt, int peerRcvNxt, int window) {
            this.fd = fd;
            this.peerNxt = peerNxt;
            this.peerRcvNxt = peerRcvNxt;
            this.window = window;
        }
    }
}
