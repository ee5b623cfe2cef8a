package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.socket.PortTable;
import io.jrump.net.wire.IcmpRepr;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.IpRepr;
import io.jrump.net.wire.QuotedDatagram;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * UDP (RFC 768) and ICMP echo sockets: ports, delivery to the bound socket (every bound socket
 * for a broadcast), sending with the pseudo-header checksum, and errors from ICMP unreachables
 * reported to connected sockets as {@code ECONNREFUSED}. Runs on the event loop.
 */
final class Udp {
    static final int MAX_PAYLOAD = 65507;
    /** 65,535 bytes of IPv6 payload less the UDP header (no jumbograms). */
    static final int MAX_PAYLOAD_V6 = 65527;

    private final NetStack stack;
    final PortTable<DatagramSocket> ports;
    final PortTable<DatagramSocket> echoIds;

    Udp(NetStack stack) {
        this.stack = stack;
        this.ports = new PortTable<>(() -> (int) stack.host().random().nextLong());
        this.echoIds = new PortTable<>(() -> (int) stack.host().random().nextLong());
    }

    private PortTable<DatagramSocket> table(DatagramSocket s) {
        return s.isPing() ? echoIds : ports;
    }

    void bind(DatagramSocket s, IpAddress address, int port) throws ErrnoException {
        if (s.bound()) {
            throw new ErrnoException(Errno.EINVAL, "socket is already bound to port " + s.localPort);
        }
        s.localPort = table(s).bind(s, address, port, s.reuseAddress, s.v6Only, p -> true);
        s.localAddress = address;
    }

    void unbind(DatagramSocket s) {
        if (s.bound()) {
            table(s).unbind(s, s.localPort);
        }
    }

    /** Delivers a received datagram; false if no socket wanted it. */
    boolean deliver(IpRepr ip, UdpRepr udp) {
        ByteBuf p = udp.payload();
        byte[] data = new byte[p.readableBytes()];
        p.getBytes(p.readerIndex(), data);
        DatagramSocket.Datagram d = new DatagramSocket.Datagram(ip.source(), udp.sourcePort(), data);
        boolean any = false;
        if (ip.destination().isBroadcast() || ip.destination().isMulticast() || !isUnicastFor(ip.destination())) {
            for (DatagramSocket s : ports.all(ip.destination(), udp.destinationPort())) {
                any |= offer(s, d);
            }
            return any;
        }
        DatagramSocket s = ports.lookup(ip.destination(), udp.destinationPort());
        return s != null && offer(s, d);
    }

    private boolean isUnicastFor(IpAddress dst) {
        return stack.isLocal(dst);
    }

    private boolean offer(DatagramSocket s, DatagramSocket.Datagram d) {
        if (s.connected() && (!s.peer.equals(d.from()) || s.peerPort != d.port())) {
            return false;
        }
        if (!s.enqueue(d)) {
            stack.statsCounter().count("udp.drop.receive_buffer_full");
        }
        return true;
    }

    /**
     * An echo reply of either family ({@code identifier}, and the whole ICMP or ICMPv6 message):
     * queued for the ping socket of that family whose identifier it carries.
     */
    void echoReplyIn(IpAddress from, int identifier, ByteBuf message) {
        DatagramSocket s = echoIds.lookup(IpAddress.unspecified(from.version()), identifier);
        if (s == null) {
            stack.statsCounter().count("icmp.drop.no_echo_socket");
            return;
        }
        byte[] data = new byte[message.readableBytes()];
        message.getBytes(message.readerIndex(), data);
        if (!s.enqueue(new DatagramSocket.Datagram(from, 0, data))) {
            stack.statsCounter().count("icmp.drop.receive_buffer_full");
        }
    }

    /**
     * An ICMP unreachable quoting one of our UDP datagrams: the connected socket that sent it
     * learns of it. The parser has checked the quote (an IPv4 header and 8 bytes).
     */
    void unreachableIn(IcmpRepr.DestinationUnreachable u) {
        QuotedDatagram q = u.quoted();
        if (!q.protocol().equals(IpProtocol.UDP)) {
            return;
        }
        unreachable(q.source(), q.sourcePort(), q.destination(), q.destinationPort(),
                u.code() == IcmpRepr.DestinationUnreachable.PORT_UNREACHABLE ? Errno.ECONNREFUSED : Errno.EHOSTUNREACH);
    }

    /** An ICMP or ICMPv6 error about our datagram {@code from:fromPort → to:toPort}: its connected socket gets {@code errno}. */
    void unreachable(IpAddress from, int fromPort, IpAddress to, int toPort, Errno errno) {
        DatagramSocket s = ports.lookup(from, fromPort);
        if (s != null && s.connected() && s.peer.equals(to) && s.peerPort == toPort) {
            s.error(new ErrnoException(errno, Sockets.SocketAddress.format(to, toPort)));
        }
    }

    /** Sends one datagram from {@code s} (bound now if it is not) to {@code to:port}. */
    int send(DatagramSocket s, byte[] data, IpAddress to, int port) throws ErrnoException {
        if (data.length > (to.version() == 6 ? MAX_PAYLOAD_V6 : MAX_PAYLOAD)) {
            throw new ErrnoException(Errno.EMSGSIZE, data.length + " bytes in one datagram");
        }
        if (to.isBroadcast() && !s.broadcast) {
            throw new ErrnoException(Errno.EACCES, "broadcast without SO_BROADCAST");
        }
        IpAddress source = stack.sourceFor(to); // ENETUNREACH before anything is bound
        if (!s.bound()) {
            bind(s, IpAddress.unspecified(s.family), 0);
        }
        IpAddress from = s.localAddress.isUnspecified() ? source : s.localAddress;
        if (from.version() != to.version()) {
            throw new ErrnoException(Errno.EINVAL, "a socket bound to " + from + " cannot send to " + to);
        }
        if (s.isPing()) {
            return sendEcho(s, data, from, to);
        }
        UdpRepr udp = new UdpRepr(s.localPort, port, Unpooled.wrappedBuffer(data));
        ByteBuf b = Unpooled.buffer(udp.bufferLength());
        udp.emit(b, 0, from, to);
        b.writerIndex(udp.bufferLength());
        stack.statsCounter().count("udp.out");
        stack.ipOut(from, to, IpProtocol.UDP, b, NetStack.DEFAULT_TTL);
        return data.length;
    }

    /**
     * Ping sockets: the caller gives an ICMP echo request (type 8) or, on an ICMPv6 one, an ICMPv6
     * echo request (type 128); the identifier becomes the socket's, the checksum the stack's.
     */
    private int sendEcho(DatagramSocket s, byte[] message, IpAddress from, IpAddress to) throws ErrnoException {
        boolean v6 = s.protocol == Sockets.IPPROTO_ICMPV6;
        int type = v6 ? 128 : 8;
        if (message.length < 8 || (message[0] & 0xff) != type || message[1] != 0) {
            throw new ErrnoException(Errno.EINVAL, "a ping socket sends " + (v6 ? "ICMPv6" : "ICMP") + " echo requests (type "
                    + type + ", code 0)");
        }
        int seq = (message[6] & 0xff) << 8 | message[7] & 0xff;
        ByteBuf data = Unpooled.wrappedBuffer(message, 8, message.length - 8);
        if (v6) {
            stack.statsCounter().count("icmp6.out.echo_request");
            stack.ipv6().sendIcmp((Ipv6Address) from, (Ipv6Address) to, new Icmpv6Repr.Echo(true, s.localPort, seq, data));
            return message.length;
        }
        IcmpRepr.EchoRequest req = new IcmpRepr.EchoRequest(s.localPort, seq, data);
        ByteBuf b = Unpooled.buffer(req.bufferLength());
        req.emit(b, 0);
        b.writerIndex(req.bufferLength());
        stack.statsCounter().count("icmp.out.echo_request");
        stack.ipOut(from, to, IpProtocol.ICMP, b, NetStack.DEFAULT_TTL);
        return message.length;
    }

    static int headerLength() {
        return UdpDatagram.HEADER_LENGTH;
    }
}
