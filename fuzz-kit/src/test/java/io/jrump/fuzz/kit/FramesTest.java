package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.wire.Checksum;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class FramesTest {
    private static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    @Test
    void fixedChecksumsVerifyAndUnfixedOnesAreLeftZero() {
        byte[] seg = Frames.tcp(1234, 80, 1, 0, Frames.SYN, 65535, new byte[] {1, 2, 3});
        byte[] fixed = Frames.ipv4(A, B, Frames.TCP, 64, seg, true);
        assertTrue(Checksum.verifies(Checksum.add(0, ByteBuffer.wrap(fixed, 0, 20))), "IPv4 header checksum");
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(A, B, Frames.TCP, seg.length),
                ByteBuffer.wrap(fixed, 20, seg.length))), "TCP checksum");
        byte[] raw = Frames.ipv4(A, B, Frames.TCP, 64, seg, false);
        assertEquals(0, ByteBuffer.wrap(raw).getShort(10));
        assertEquals(0, ByteBuffer.wrap(raw).getShort(20 + 16));

        Ipv6Address s = Ipv6Address.parse("2001:db8::1");
        Ipv6Address d = Ipv6Address.parse("2001:db8::2");
        byte[] udp = Frames.udp(5, 7, new byte[] {9});
        byte[] p6 = Frames.ipv6(s, d, Frames.UDP, 64, udp, true);
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(s, d, Frames.UDP, (long) udp.length),
                ByteBuffer.wrap(p6, 40, udp.length))), "UDP over IPv6 checksum");
    }

    @Test
    void multicastAddressesGetMulticastMacs() {
        MacAddress mac = MacAddress.of(0x0200_0000_0001L);
        assertEquals(MacAddress.of(0x3333_0000_0001L), Frames.destinationMac(Ipv6Address.parse("ff02::1"), mac));
        assertEquals(MacAddress.BROADCAST, Frames.destinationMac(Ipv4Address.BROADCAST, mac));
        assertEquals(mac, Frames.destinationMac(A, mac));
        byte[] f = Frames.ethernet(mac, Frames.FUZZER_MAC, Frames.ETHERTYPE_IPV4, new byte[] {1});
        assertEquals(15, f.length);
        assertEquals(Frames.ETHERTYPE_IPV4, ByteBuffer.wrap(f).getShort(12) & 0xffff);
    }
}
