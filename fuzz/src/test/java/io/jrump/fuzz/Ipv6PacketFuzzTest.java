package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.wire.Checksum;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.Icmpv6Packet;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6ExtensionHeader;
import io.jrump.net.wire.Ipv6HeaderChain;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Set;

/**
 * Arbitrary bytes as an Ethernet frame carrying IPv6: the fixed header, the extension header
 * chain walk and the ICMPv6 (error, echo, NDP, MLDv2) parsers either accept or fail with a
 * defined errno ({@code EBADMSG}, {@code EPROTONOSUPPORT}), never an unchecked exception; what
 * parsed is emitted again and parses back to the same record. Each input is tried as is and with
 * its ICMPv6 checksum repaired, so mutations get past it. Seeds are the frames rump-net's
 * Ipv6TsharkTest writes (and tshark decodes cleanly): every ICMPv6/NDP/MLDv2 message, an
 * extension header chain, an atomic fragment and three fragments of an echo request.
 */
class Ipv6PacketFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EBADMSG, Errno.EPROTONOSUPPORT);

    @FuzzTest(maxDuration = "60s")
    void parsing(byte[] input) throws ErrnoException {
        parse(Unpooled.wrappedBuffer(input));
        parse(withChecksumRepaired(input));
    }

    private static void parse(ByteBuf frame) throws ErrnoException {
        try {
            EthernetFrame f = EthernetFrame.parse(frame);
            if (!f.etherType().equals(EtherType.IPV6)) {
                return;
            }
            ByteBuf bytes = f.payload();
            Ipv6Packet p = Ipv6Packet.parse(bytes);
            Ipv6Repr ip = Ipv6Repr.parse(p);
            ByteBuf h = emitted(ip.totalLength(), b -> ip.emit(b, 0)); // the payload left zero
            assertEquals(ip, Ipv6Repr.parse(Ipv6Packet.parse(h)));
            Ipv6HeaderChain chain = Ipv6HeaderChain.walk(p, Ipv6HeaderChain.DEFAULT_MAX_HEADERS, Set.of(5));
            for (Ipv6ExtensionHeader x : chain.headers()) {
                ByteBuf b = emittedHeader(x);
                if (b != null) {
                    assertEquals(x, reparse(x, b));
                }
            }
            if (chain.problem() != null || !chain.complete() || !chain.upperLayer().equals(IpProtocol.ICMPV6)) {
                return;
            }
            Icmpv6Repr m = Icmpv6Repr.parse(Icmpv6Packet.parse(bytes, chain.upperLayerIndex(), chain.upperLayerLength()), ip);
            ByteBuf b = emitted(m.bufferLength(), x -> m.emit(x, 0, ip.source(), ip.destination()));
            assertEquals(m, Icmpv6Repr.parse(Icmpv6Packet.parse(b), ip));
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
    }

    /** The header emitted on its own, or null for a routing header of type 0 (never sent). */
    private static ByteBuf emittedHeader(Ipv6ExtensionHeader x) {
        if (x instanceof Ipv6ExtensionHeader.RoutingHeader r && r.routingType() == 0) {
            return null;
        }
        return emitted(x.bufferLength(), b -> x.emit(b, 0));
    }

    private static Ipv6ExtensionHeader reparse(Ipv6ExtensionHeader x, ByteBuf b) throws ErrnoException {
        if (x instanceof Ipv6ExtensionHeader.OptionsHeader o) {
            return Ipv6ExtensionHeader.OptionsHeader.parse(o.hopByHop(), b, 0, b.capacity());
        } else if (x instanceof Ipv6ExtensionHeader.RoutingHeader) {
            return Ipv6ExtensionHeader.RoutingHeader.parse(b, 0, b.capacity());
        }
        return Ipv6ExtensionHeader.FragmentHeader.parse(b, 0, b.capacity());
    }

    /** A copy with the ICMPv6 checksum recomputed, as far as the headers parse; otherwise the copy as is. */
    static ByteBuf withChecksumRepaired(byte[] input) {
        ByteBuf frame = Unpooled.wrappedBuffer(input.clone());
        try {
            EthernetFrame f = EthernetFrame.parse(frame);
            if (!f.etherType().equals(EtherType.IPV6)) {
                return frame;
            }
            ByteBuf bytes = f.payload();
            Ipv6Packet p = Ipv6Packet.parse(bytes);
            Ipv6HeaderChain chain = Ipv6HeaderChain.walk(p);
            int n = chain.upperLayerLength();
            int at = chain.upperLayerIndex();
            if (chain.upperLayer().equals(IpProtocol.ICMPV6) && chain.complete() && n >= 4) {
                bytes.setShort(at + 2, 0);
                long sum = Checksum.pseudoHeader(p.source(), p.destination(), 58, n);
                bytes.setShort(at + 2, Checksum.finish(Checksum.add(sum, bytes, at, n)));
            }
        } catch (ErrnoException e) {
            // repaired as far as it parsed
        }
        return frame;
    }

    private interface Emitter {
        void emit(ByteBuf buf);
    }

    private static ByteBuf emitted(int length, Emitter e) {
        ByteBuf b = Unpooled.buffer(length).writerIndex(length);
        e.emit(b);
        return b;
    }
}
