package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv6Address;
import io.jrump.net.wire.Ipv6ExtensionHeader.FragmentHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.Option;
import io.jrump.net.wire.Ipv6ExtensionHeader.OptionsHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.RoutingHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.UnknownOptionAction;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Round trips of every IPv6 record and the checks each parser makes on hostile input. */
class Ipv6Test {
    /** Everything a frame holds, parsed; the ICMPv6 message only if the chain is complete. */
    record Parsed(Ipv6Repr ip, Ipv6HeaderChain chain, Icmpv6Repr icmp) {}

    static Parsed parse(ByteBuf ipv6) throws ErrnoException {
        Ipv6Packet p = Ipv6Packet.parse(ipv6);
        Ipv6Repr ip = Ipv6Repr.parse(p);
        Ipv6HeaderChain chain = Ipv6HeaderChain.walk(p, Ipv6HeaderChain.DEFAULT_MAX_HEADERS, Set.of(Option.ROUTER_ALERT));
        Icmpv6Repr icmp = null;
        if (chain.problem() == null && chain.complete() && chain.upperLayer().equals(IpProtocol.ICMPV6)) {
            icmp = Icmpv6Repr.parse(Icmpv6Packet.parse(p.buffer(), chain.upperLayerIndex(), chain.upperLayerLength()), ip);
        }
        return new Parsed(ip, chain, icmp);
    }

    static ErrnoException refused(ByteBuf ipv6) {
        return assertThrows(ErrnoException.class, () -> parse(ipv6));
    }

    static ByteBuf ipv6Of(ByteBuf frame) throws ErrnoException {
        return EthernetFrame.parse(frame).payload();
    }

    /** Re-fills the ICMPv6 checksum of a packet (no extension headers) after a test changed it. */
    static ByteBuf fixChecksum(ByteBuf ipv6) throws ErrnoException {
        Ipv6Packet p = Ipv6Packet.parse(ipv6);
        int at = p.payloadIndex();
        ipv6.setShort(at + 2, 0);
        long sum = Checksum.pseudoHeader(p.source(), p.destination(), 58, p.payloadLength());
        ipv6.setShort(at + 2, Checksum.finish(Checksum.add(sum, ipv6, at, p.payloadLength())));
        return ipv6;
    }

    static ByteBuf copy(ByteBuf b) {
        return Unpooled.copiedBuffer(b);
    }

    @Test
    void everyEmittedFrameParsesAndEmitsBackByteForByte() throws ErrnoException {
        for (Map.Entry<String, ByteBuf> e : Ipv6Frames.frames().entrySet()) {
            ByteBuf ipv6 = ipv6Of(e.getValue());
            Parsed p = parse(ipv6);
            assertNull(p.chain().problem(), e.getKey());
            List<Ipv6ExtensionHeader> headers = p.chain().headers();
            ByteBuf again = Unpooled.buffer(ipv6.readableBytes()).writerIndex(ipv6.readableBytes());
            p.ip().emit(again, 0);
            int at = Ipv6Packet.HEADER_LENGTH;
            for (Ipv6ExtensionHeader h : headers) {
                h.emit(again, at);
                at += h.bufferLength();
            }
            if (p.icmp() != null) {
                assertEquals(p.chain().upperLayerIndex() - ipv6.readerIndex(), at, e.getKey());
                p.icmp().emit(again, at, p.ip().source(), p.ip().destination());
            } else {
                again.setBytes(at, ipv6, p.chain().upperLayerIndex(), p.chain().upperLayerLength());
            }
            assertEquals(ByteBufUtil.hexDump(ipv6), ByteBufUtil.hexDump(again), e.getKey());
            assertEquals(p, parse(again), e.getKey());
        }
    }

    @Test
    void readsTheFieldsOfEachMessage() throws ErrnoException {
        Map<String, ByteBuf> f = Ipv6Frames.frames();
        Parsed ra = parse(ipv6Of(f.get("router-advertisement")));
        Icmpv6Repr.RouterAdvertisement adv = assertInstanceOf(Icmpv6Repr.RouterAdvertisement.class, ra.icmp());
        assertEquals(64, adv.curHopLimit());
        assertFalse(adv.managed());
        assertTrue(adv.otherConfig());
        assertEquals(1800, adv.routerLifetime());
        assertEquals(30_000, adv.reachableTime());
        assertEquals(new NdpOption.PrefixInformation(64, true, true, 86400, 14400, Ipv6Address.parse("2001:db8::")),
                adv.options().get(2));
        assertEquals(new NdpOption.Rdnss(600, List.of(Ipv6Address.parse("2001:db8::53"), Ipv6Address.parse("2001:db8::54"))),
                adv.options().get(3));
        Icmpv6Repr.NeighborAdvertisement na = assertInstanceOf(Icmpv6Repr.NeighborAdvertisement.class,
                parse(ipv6Of(f.get("neighbor-advertisement"))).icmp());
        assertTrue(na.router() && na.solicited() && na.override());
        Icmpv6Repr.PacketTooBig ptb = assertInstanceOf(Icmpv6Repr.PacketTooBig.class, parse(ipv6Of(f.get("packet-too-big"))).icmp());
        assertEquals(1280, ptb.mtu());
        Icmpv6Repr.ParameterProblem pp = assertInstanceOf(Icmpv6Repr.ParameterProblem.class,
                parse(ipv6Of(f.get("parameter-problem"))).icmp());
        assertEquals(6, pp.pointer());
        Icmpv6Repr.Mldv2Report mld = assertInstanceOf(Icmpv6Repr.Mldv2Report.class, parse(ipv6Of(f.get("mldv2-report"))).icmp());
        assertEquals(2, mld.records().get(1).sources().size());
        Parsed chain = parse(ipv6Of(f.get("extension-chain")));
        assertEquals(3, chain.chain().headers().size());
        assertEquals(IpProtocol.ICMPV6, chain.chain().upperLayer());
        assertEquals(40 + 8 + 8 + 8, chain.chain().upperLayerIndex());
        assertInstanceOf(Icmpv6Repr.Echo.class, chain.icmp());
        Parsed atomic = parse(ipv6Of(f.get("atomic-fragment")));
        assertTrue(atomic.chain().fragment().isAtomic());
        assertTrue(atomic.chain().complete());
        assertInstanceOf(Icmpv6Repr.Echo.class, atomic.icmp());
    }

    @Test
    void fragmentsAreRecognisedAndTheWalkStopsAtANonFirstOne() throws ErrnoException {
        List<ByteBuf> frags = Ipv6Frames.fragments(Ipv6Frames.HOST, Ipv6Frames.PEER, Ipv6Frames.echoRequest(3000), 7, 1280);
        assertEquals(3, frags.size());
        Ipv6HeaderChain first = parse(frags.get(0)).chain();
        assertEquals(new FragmentHeader(IpProtocol.ICMPV6, 0, true, 7), first.fragment());
        assertFalse(first.complete());
        Ipv6HeaderChain last = parse(frags.get(2)).chain();
        assertEquals(new FragmentHeader(IpProtocol.ICMPV6, 2464, false, 7), last.fragment());
        assertEquals(IpProtocol.ICMPV6, last.upperLayer());
        assertEquals(48, last.upperLayerIndex());
        // A non-first fragment whose data looks like more headers: the walk does not read them.
        ByteBuf odd = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_FRAGMENT,
                List.of(new FragmentHeader(IpProtocol.IPV6_DESTINATION_OPTIONS, 8, false, 1)), Unpooled.wrappedBuffer(new byte[] {58, 99}));
        Ipv6HeaderChain c = parse(odd).chain();
        assertEquals(1, c.headers().size());
        assertEquals(IpProtocol.IPV6_DESTINATION_OPTIONS, c.upperLayer());
    }

    @Test
    void theFixedHeaderIsChecked() throws ErrnoException {
        ByteBuf good = ipv6Of(Ipv6Frames.frames().get("echo-request"));
        assertEquals(Errno.EBADMSG, assertThrows(ErrnoException.class, () -> Ipv6Packet.parse(good.slice(0, 39))).errno());
        ByteBuf v4 = copy(good);
        v4.setByte(0, 0x45);
        assertEquals(Errno.EBADMSG, refused(v4).errno());
        ByteBuf longer = copy(good);
        longer.setShort(4, good.readableBytes() - 40 + 1);
        assertTrue(refused(longer).getMessage().contains("Payload Length"));
        // Bytes past Payload Length (Ethernet padding) are outside the packet.
        ByteBuf padded = Unpooled.buffer().writeBytes(good.duplicate()).writeZero(10);
        assertEquals(parse(good), parse(padded));
        ByteBuf multicastSource = copy(good);
        multicastSource.setByte(8, 0xff);
        assertTrue(refused(multicastSource).getMessage().contains("multicast"));
        Ipv6Packet p = Ipv6Packet.parse(good);
        assertEquals(6, p.version());
        assertEquals("IPv6 2001:db8::1 > 2001:db8::2 ICMPv6 hlim 64 plen 40", p.toString());
        Ipv6Repr tc = new Ipv6Repr(Ipv6Frames.HOST, Ipv6Frames.PEER, IpProtocol.UDP, 0, 1, 0xb8, 0xabcde);
        ByteBuf b = Unpooled.buffer(40).writerIndex(40);
        tc.emit(b, 0);
        assertEquals(tc, Ipv6Repr.parse(Ipv6Packet.parse(b)));
        assertEquals("6b8abcde", ByteBufUtil.hexDump(b, 0, 4));
        assertThrows(IllegalArgumentException.class,
                () -> new Ipv6Repr(Ipv6Frames.HOST, Ipv6Frames.PEER, IpProtocol.UDP, 0, 1, 0, 0x100000));
    }

    private static ByteBuf withDestinationOptions(byte[] headerBytes) {
        ByteBuf icmp = Unpooled.buffer(8).writerIndex(8);
        new Icmpv6Repr.Echo(true, 1, 1, Unpooled.EMPTY_BUFFER).emit(icmp, 0, Ipv6Frames.HOST, Ipv6Frames.PEER);
        ByteBuf payload = Unpooled.buffer().writeBytes(headerBytes).writeBytes(icmp);
        return Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_DESTINATION_OPTIONS, List.of(), payload);
    }

    @Test
    void optionsAreWalkedAndTheirLengthsChecked() throws ErrnoException {
        // Pad1, PadN(2), an option to skip (type 0x07, 1 byte).
        Parsed ok = parse(withDestinationOptions(new byte[] {58, 0, 0, 1, 0, 0x07, 1, 9}));
        OptionsHeader h = (OptionsHeader) ok.chain().headers().get(0);
        assertEquals(List.of(new Option(0x07, Unpooled.wrappedBuffer(new byte[] {9}))), h.options());
        assertEquals(5, h.options().get(0).offsetInHeader());
        assertInstanceOf(Icmpv6Repr.Echo.class, ok.icmp());
        // An option whose length runs past the header.
        assertTrue(refused(withDestinationOptions(new byte[] {58, 0, 0x07, 5, 0, 0, 0, 0})).getMessage().contains("runs past"));
        // An option type in the last byte, with no room for its length.
        assertTrue(refused(withDestinationOptions(new byte[] {58, 0, 1, 3, 0, 0, 0, 0x07})).getMessage().contains("no room"));
        // Hdr Ext Len past the payload.
        assertTrue(refused(withDestinationOptions(new byte[] {58, 2, 1, 4, 0, 0, 0, 0})).getMessage().contains("Hdr Ext Len"));
        // Fewer than 8 bytes left for a header.
        ByteBuf cut = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_DESTINATION_OPTIONS, List.of(),
                Unpooled.wrappedBuffer(new byte[] {58, 0, 1, 2}));
        assertEquals(Errno.EBADMSG, refused(cut).errno());
    }

    /** RFC 8200 §4.2: the two high bits of an unknown option's type say what to do; the pointer is the type byte's offset. */
    @ParameterizedTest
    @CsvSource({"0x07, SKIP", "0x47, DISCARD", "0x87, DISCARD_SEND_PARAMETER_PROBLEM",
        "0xc7, DISCARD_SEND_PARAMETER_PROBLEM_UNLESS_MULTICAST"})
    void unknownOptionsAreReportedByTheirActionBits(String typeHex, UnknownOptionAction action) throws ErrnoException {
        int type = Integer.decode(typeHex);
        ByteBuf p = withDestinationOptions(new byte[] {58, 0, 1, 0, (byte) type, 0, 0, 0});
        Ipv6HeaderChain c = Ipv6HeaderChain.walk(Ipv6Packet.parse(p));
        if (action == UnknownOptionAction.SKIP) {
            assertNull(c.problem());
        } else {
            assertEquals(new Ipv6HeaderChain.Problem(action, Ipv6HeaderChain.UNRECOGNIZED_OPTION, 40 + 4,
                    "unrecognised option " + type), c.problem());
        }
        // An option the caller knows is no problem.
        assertNull(Ipv6HeaderChain.walk(Ipv6Packet.parse(p), 8, Set.of(type)).problem());
    }

    @Test
    void theChainIsBounded() throws ErrnoException {
        List<Ipv6ExtensionHeader> many = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            many.add(new OptionsHeader(false, i < 8 ? IpProtocol.IPV6_DESTINATION_OPTIONS : IpProtocol.ICMPV6, List.of()));
        }
        ByteBuf nine = Ipv6Frames.icmp(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, many, Ipv6Frames.echoRequest(0));
        ErrnoException e = assertThrows(ErrnoException.class, () -> Ipv6HeaderChain.walk(Ipv6Packet.parse(nine)));
        assertEquals(Errno.EBADMSG, e.errno());
        assertTrue(e.getMessage().contains("past 8 headers"), e.getMessage());
        assertEquals(9, Ipv6HeaderChain.walk(Ipv6Packet.parse(nine), 9, Set.of()).headers().size());
        // A chain whose headers all name each other ("a loop") ends at the payload's end.
        ByteBuf loop = Unpooled.buffer();
        for (int i = 0; i < 4; i++) {
            loop.writeBytes(new byte[] {60, 0, 1, 4, 0, 0, 0, 0});
        }
        ByteBuf looping = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_DESTINATION_OPTIONS, List.of(), loop);
        assertTrue(assertThrows(ErrnoException.class, () -> Ipv6HeaderChain.walk(Ipv6Packet.parse(looping))).getMessage()
                .contains("needs 8 bytes, 0 left"));
        // A hop-by-hop header after another header: Parameter Problem code 1 at the Next Header that named it.
        ByteBuf late = Ipv6Frames.icmp(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, List.of(
                new OptionsHeader(false, IpProtocol.HOP_BY_HOP, List.of()),
                new OptionsHeader(true, IpProtocol.ICMPV6, List.of())), Ipv6Frames.echoRequest(0));
        Ipv6HeaderChain.Problem p = Ipv6HeaderChain.walk(Ipv6Packet.parse(late)).problem();
        assertEquals(Ipv6HeaderChain.UNRECOGNIZED_NEXT_HEADER, p.code());
        assertEquals(40, p.pointer());
        // Two fragment headers.
        ByteBuf twice = Ipv6Frames.icmp(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, List.of(
                new FragmentHeader(IpProtocol.IPV6_FRAGMENT, 0, false, 1),
                new FragmentHeader(IpProtocol.ICMPV6, 0, false, 1)), Ipv6Frames.echoRequest(0));
        assertEquals(UnknownOptionAction.DISCARD, Ipv6HeaderChain.walk(Ipv6Packet.parse(twice)).problem().action());
        ByteBuf fragCut = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_FRAGMENT, List.of(),
                Unpooled.wrappedBuffer(new byte[] {58, 0, 0, 0}));
        assertEquals(Errno.EBADMSG, refused(fragCut).errno());
    }

    @Test
    void routingHeadersWithSegmentsLeftAreRefusedAndTypeZeroIsNeverSent() throws ErrnoException {
        RoutingHeader type0 = new RoutingHeader(IpProtocol.ICMPV6, 0, 1, Unpooled.wrappedBuffer(new byte[20]));
        assertThrows(IllegalStateException.class, () -> type0.emit(Unpooled.buffer(24).writerIndex(24), 0));
        // Type 0 with one segment left, written by hand (RFC 2460 §4.4 layout: reserved + one address).
        ByteBuf rh0 = Unpooled.buffer().writeBytes(new byte[] {58, 2, 0, 1}).writeZero(4).writeBytes(Ipv6Frames.FAR.toBytes());
        ByteBuf icmp = Unpooled.buffer(8).writerIndex(8);
        new Icmpv6Repr.Echo(true, 1, 1, Unpooled.EMPTY_BUFFER).emit(icmp, 0, Ipv6Frames.HOST, Ipv6Frames.PEER);
        ByteBuf p = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.IPV6_ROUTING, List.of(),
                Unpooled.buffer().writeBytes(rh0).writeBytes(icmp));
        Ipv6HeaderChain c = Ipv6HeaderChain.walk(Ipv6Packet.parse(p));
        assertEquals(UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM, c.problem().action());
        assertEquals(Ipv6HeaderChain.ERRONEOUS_HEADER_FIELD, c.problem().code());
        assertEquals(42, c.problem().pointer(), "points at the Routing Type");
        assertTrue(c.problem().reason().contains("RFC 5095"));
        // Segments Left 0: the header is ignored and the packet goes on.
        p.setByte(43, 0);
        Parsed ok = parse(p);
        assertNull(ok.chain().problem());
        assertInstanceOf(Icmpv6Repr.Echo.class, ok.icmp());
        // Another unknown type with segments left is refused the same way.
        p.setByte(42, 200);
        p.setByte(43, 3);
        assertEquals(42, Ipv6HeaderChain.walk(Ipv6Packet.parse(p)).problem().pointer());
    }

    @Test
    void icmpv6ChecksumsCoverThePseudoHeader() throws ErrnoException {
        ByteBuf good = copy(ipv6Of(Ipv6Frames.frames().get("echo-request")));
        ByteBuf flipped = copy(good);
        flipped.setByte(60, flipped.getByte(60) ^ 1);
        assertTrue(refused(flipped).getMessage().contains("Checksum"));
        // The same message with another destination: only the pseudo-header differs.
        ByteBuf moved = copy(good);
        moved.setByte(39, 3);
        assertTrue(refused(moved).getMessage().contains("Checksum"));
        // Known good value: RFC 1071 over pseudo-header + message by hand.
        Ipv6Packet p = Ipv6Packet.parse(good);
        long sum = 0;
        ByteBuf pseudo = Unpooled.buffer().writeBytes(p.source().toBytes()).writeBytes(p.destination().toBytes())
                .writeInt(p.payloadLength()).writeMedium(0).writeByte(58);
        sum = Checksum.add(sum, pseudo, 0, pseudo.readableBytes());
        sum = Checksum.add(sum, good, 40, p.payloadLength());
        assertTrue(Checksum.verifies(sum));
        assertEquals(Checksum.fold(Checksum.sum(pseudo, 0, 40)),
                Checksum.fold(Checksum.pseudoHeader(p.source(), p.destination(), 58, p.payloadLength())));
    }

    @Test
    void icmpv6TypesCodesAndLengthsAreChecked() throws ErrnoException {
        ByteBuf good = copy(ipv6Of(Ipv6Frames.frames().get("echo-request")));
        ByteBuf code = copy(good);
        code.setByte(41, 1);
        assertTrue(refused(fixChecksum(code)).getMessage().contains("Code 1"));
        ByteBuf unknown = copy(good);
        unknown.setByte(40, 200);
        assertEquals(Errno.EPROTONOSUPPORT, refused(fixChecksum(unknown)).errno());
        ByteBuf tooShort = Ipv6Frames.packet(Ipv6Frames.HOST, Ipv6Frames.PEER, 64, IpProtocol.ICMPV6, List.of(),
                Unpooled.wrappedBuffer(new byte[] {(byte) 128, 0, 0, 0}));
        assertTrue(refused(tooShort).getMessage().contains("shorter than 8"));
        for (int[] typeMax : new int[][] {{1, 7}, {2, 0}, {3, 1}, {4, 3}}) {
            ByteBuf e = copy(ipv6Of(Ipv6Frames.frames().get("time-exceeded")));
            e.setByte(40, typeMax[0]);
            e.setByte(41, typeMax[1]);
            assertTrue(parse(fixChecksum(e)).icmp() != null);
            e.setByte(41, typeMax[1] + 1);
            assertEquals(Errno.EBADMSG, refused(fixChecksum(e)).errno(), "type " + typeMax[0]);
        }
        assertThrows(IllegalArgumentException.class, () -> new Icmpv6Repr.TimeExceeded(0, Unpooled.buffer(1233).writerIndex(1233)));
    }

    private static ByteBuf ndp(String name) throws ErrnoException {
        return copy(ipv6Of(Ipv6Frames.frames().get(name)));
    }

    @Test
    void ndpMessagesAreCheckedAsRfc4861Asks() throws ErrnoException {
        ByteBuf hop = ndp("neighbor-solicitation");
        hop.setByte(7, 254);
        assertTrue(refused(hop).getMessage().contains("Hop Limit 254"));
        ByteBuf code = ndp("router-solicitation");
        code.setByte(41, 1);
        assertEquals(Errno.EBADMSG, refused(fixChecksum(code)).errno());
        ByteBuf mcTarget = ndp("neighbor-solicitation");
        mcTarget.setByte(48, 0xff);
        assertTrue(refused(fixChecksum(mcTarget)).getMessage().contains("multicast"));
        ByteBuf raGlobal = Ipv6Frames.icmp(Ipv6Frames.HOST, Ipv6Address.ALL_NODES, 255,
                new Icmpv6Repr.RouterAdvertisement(64, false, false, 0, 0, 0, List.of()));
        assertTrue(refused(raGlobal).getMessage().contains("not link-local"));
        ByteBuf dadWithSlla = Ipv6Frames.icmp(Ipv6Address.UNSPECIFIED, Ipv6Frames.HOST.solicitedNode(), 255,
                new Icmpv6Repr.NeighborSolicitation(Ipv6Frames.HOST, List.of(new NdpOption.SourceLinkLayerAddress(Ipv6Frames.HOST_MAC))));
        assertTrue(refused(dadWithSlla).getMessage().contains("source link-layer"));
        ByteBuf dadUnicast = Ipv6Frames.icmp(Ipv6Address.UNSPECIFIED, Ipv6Frames.HOST, 255,
                new Icmpv6Repr.NeighborSolicitation(Ipv6Frames.HOST, List.of()));
        assertTrue(refused(dadUnicast).getMessage().contains("solicited-node"));
        ByteBuf solicitedToAll = Ipv6Frames.icmp(Ipv6Frames.PEER, Ipv6Address.ALL_NODES, 255,
                new Icmpv6Repr.NeighborAdvertisement(false, true, false, Ipv6Frames.PEER, List.of()));
        assertTrue(refused(solicitedToAll).getMessage().contains("Solicited"));
        ByteBuf shortRa = Ipv6Frames.packet(Ipv6Frames.ROUTER_LL, Ipv6Address.ALL_NODES, 255, IpProtocol.ICMPV6, List.of(),
                Unpooled.wrappedBuffer(new byte[] {(byte) 134, 0, 0, 0, 64, 0, 0, 0}));
        assertTrue(refused(fixChecksum(shortRa)).getMessage().contains("shorter than 16"));
        ByteBuf redirectGlobal = Ipv6Frames.icmp(Ipv6Frames.PEER, Ipv6Frames.HOST, 255,
                new Icmpv6Repr.Redirect(Ipv6Frames.ROUTER_LL, Ipv6Frames.FAR, List.of()));
        assertTrue(refused(redirectGlobal).getMessage().contains("not link-local"));
    }

    /** The RA's options start at 56 (40 + 16): SLLA 56, MTU 64, prefix 72, RDNSS 104. */
    @ParameterizedTest
    @CsvSource({
        "57, 0, Length 0",
        "57, 40, runs past",
        "57, 2, not 8",
        "65, 2, not 8",
        "73, 3, not 32",
        "74, 129, above 128",
        "105, 2, RDNSS of 2 units",
        "105, 4, RDNSS of 4 units",
    })
    void ndpOptionLengthsAreChecked(int index, int value, String message) throws ErrnoException {
        ByteBuf ra = ndp("router-advertisement");
        ra.setByte(index, value);
        ErrnoException e = refused(fixChecksum(ra));
        assertEquals(Errno.EBADMSG, e.errno());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void unknownNdpOptionsAreKeptAndEmittedAgain() throws ErrnoException {
        NdpOption.Unknown nonce = new NdpOption.Unknown(14, Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5, 6}));
        ByteBuf ns = Ipv6Frames.icmp(Ipv6Frames.HOST, Ipv6Frames.PEER.solicitedNode(), 255,
                new Icmpv6Repr.NeighborSolicitation(Ipv6Frames.PEER, List.of(nonce)));
        assertEquals(List.of(nonce), ((Icmpv6Repr.NeighborSolicitation) parse(ns).icmp()).options());
    }

    @Test
    void mldv2CountsAreChecked() throws ErrnoException {
        // The report starts at 48 (behind the 8-byte hop-by-hop header): records at 56, the second at 76.
        ByteBuf count = ndp("mldv2-report");
        count.setShort(54, 3); // three records' minimum fits in the 72 bytes, the third is not there
        assertTrue(refusedMld(count).contains("record 2 at offset 80: 20 bytes needed, 0 left"));
        ByteBuf four = ndp("mldv2-report");
        four.setShort(54, 4);
        assertTrue(refusedMld(four).contains("cannot fit"));
        ByteBuf sources = ndp("mldv2-report");
        sources.setShort(78, 3);
        assertTrue(refusedMld(sources).contains("run past"));
        ByteBuf aux = ndp("mldv2-report");
        aux.setByte(77, 1);
        assertTrue(refusedMld(aux).contains("run past"));
        ByteBuf type = ndp("mldv2-report");
        type.setByte(56, 7);
        assertTrue(refusedMld(type).contains("Record Type 7"));
        ByteBuf unicast = ndp("mldv2-report");
        unicast.setByte(60, 0x20);
        assertTrue(refusedMld(unicast).contains("not multicast"));
        ByteBuf thousands = ndp("mldv2-report");
        thousands.setShort(54, 0xffff);
        assertTrue(refusedMld(thousands).contains("cannot fit"));
    }

    private static String refusedMld(ByteBuf ipv6) throws ErrnoException {
        int at = 48;
        Ipv6Packet p = Ipv6Packet.parse(ipv6);
        ipv6.setShort(at + 2, 0);
        long sum = Checksum.pseudoHeader(p.source(), p.destination(), 58, p.payloadLength() - 8);
        ipv6.setShort(at + 2, Checksum.finish(Checksum.add(sum, ipv6, at, p.payloadLength() - 8)));
        ErrnoException e = refused(ipv6);
        assertEquals(Errno.EBADMSG, e.errno());
        return e.getMessage();
    }
}
