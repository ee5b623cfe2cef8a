package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    /** Byte at a time, as RFC 1071 §4.1's C code reads it, folded at the end. */
    static int reference(byte[] b, int from, int length) {
        long sum = 0;
        for (int i = 0; i + 1 < length; i += 2) {
            sum += (b[from + i] & 0xff) << 8 | (b[from + i + 1] & 0xff);
        }
        if (length % 2 == 1) {
            sum += (b[from + length - 1] & 0xff) << 8;
        }
        while (sum >>> 16 != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    @Test
    void rfc1071NumericalExampleSumsToDdf2() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 2ddf0, folded ddf2.
        ByteBuf b = Fixtures.buf("0001f203f4f5f6f7");
        assertEquals(0xddf2, Checksum.fold(Checksum.sum(b, 0, 8)));
        assertEquals(0x220d, Checksum.compute(b, 0, 8));
    }

    @Test
    void ipv4HeaderExampleHasChecksumB861() {
        ByteBuf b = Fixtures.buf(Fixtures.IPV4_HEADER_EXAMPLE);
        assertEquals(0xb861, Checksum.compute(b, 0, 20));
        b.setShort(10, 0xb861);
        assertTrue(Checksum.verifies(Checksum.sum(b, 0, 20)));
        b.setShort(10, 0xb862);
        assertFalse(Checksum.verifies(Checksum.sum(b, 0, 20)));
    }

    @Test
    void zeroDataHasChecksumFfff() {
        assertEquals(0xffff, Checksum.compute(Unpooled.buffer(16).writeZero(16), 0, 16));
        assertEquals(0xffff, Checksum.compute(Unpooled.EMPTY_BUFFER, 0, 0));
    }

    @Test
    void matchesByteAtATimeOverRandomDataOfOddAndEvenLengthsAndOffsets() {
        Random r = new Random(1071);
        for (int round = 0; round < 5000; round++) {
            byte[] b = new byte[r.nextInt(300)];
            r.nextBytes(b);
            if (round % 7 == 0) {
                java.util.Arrays.fill(b, (byte) 0xff); // carries everywhere
            }
            int from = b.length == 0 ? 0 : r.nextInt(b.length);
            int length = r.nextInt(b.length - from + 1);
            ByteBuf buf = Unpooled.wrappedBuffer(b);
            assertEquals(reference(b, from, length), Checksum.fold(Checksum.sum(buf, from, length)),
                    "round " + round + " from " + from + " length " + length);
        }
    }

    /** The kinds of buffer frames arrive in: direct (little-endian view too), a slice of a slice, a composite. */
    @Test
    void everyKindOfBufferSumsAsByteAtATime() {
        Random r = new Random(1624);
        for (int round = 0; round < 3000; round++) {
            byte[] b = new byte[64 + r.nextInt(2000)];
            r.nextBytes(b);
            if (round % 11 == 0) {
                java.util.Arrays.fill(b, (byte) 0xff);
            }
            int from = r.nextInt(b.length);
            int length = r.nextInt(b.length - from + 1);
            int want = reference(b, from, length);
            ByteBuf direct = Unpooled.directBuffer(b.length).writeBytes(b);
            // Read through its memory address: at an odd address, and through a slice's.
            ByteBuf directSlice = Unpooled.directBuffer(b.length + 5).writeZero(5).writeBytes(b).slice(5, b.length);
            ByteBuf nested = Unpooled.wrappedBuffer(new byte[3], b).slice(3, b.length).slice(0, b.length);
            int cut = r.nextInt(b.length);
            ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(b, 0, cut), Unpooled.wrappedBuffer(b, cut, b.length - cut));
            java.nio.ByteBuffer little = java.nio.ByteBuffer.wrap(b, from, length).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (ByteBuf buf : new ByteBuf[] {direct, directSlice, nested, composite}) {
                assertEquals(want, Checksum.fold(Checksum.sum(buf, from, length)), "round " + round + " " + buf.getClass().getSimpleName());
            }
            assertEquals(want, Checksum.fold(Checksum.add(0, little)), "round " + round + ", a little-endian ByteBuffer");
            assertEquals(0, little.position(), "the position is left alone");
            direct.release();
            directSlice.release();
        }
    }

    @Test
    void aReleasedDirectBufferIsNotRead() {
        ByteBuf direct = Unpooled.directBuffer(128).writeZero(128);
        direct.release();
        assertThrows(io.netty.util.IllegalReferenceCountException.class, () -> Checksum.sum(direct, 0, 128));
    }

    @Test
    void sumsOfEvenRangesAddUp() {
        Random r = new Random(7);
        for (int round = 0; round < 500; round++) {
            byte[] b = new byte[2 * r.nextInt(100) + r.nextInt(2)];
            r.nextBytes(b);
            int split = 2 * r.nextInt(b.length / 2 + 1);
            ByteBuf buf = Unpooled.wrappedBuffer(b);
            long two = Checksum.add(Checksum.sum(buf, 0, split), buf, split, b.length - split);
            assertEquals(reference(b, 0, b.length), Checksum.fold(two));
        }
    }

    @Test
    void pseudoHeaderMatchesWhatLinuxLoopbackLeftInPartialChecksums() {
        // Loopback leaves CHECKSUM_PARTIAL: the checksum field holds the folded pseudo-header sum.
        Ipv4Address lo = Ipv4Address.LOOPBACK;
        assertEquals(Fixtures.UDP_PARTIAL_CHECKSUM, Checksum.fold(Checksum.pseudoHeader(lo, lo, 17, 19)));
        assertEquals(Fixtures.TCP_SYN_PARTIAL_CHECKSUM, Checksum.fold(Checksum.pseudoHeader(lo, lo, 6, 40)));
        assertEquals(Fixtures.TCP_ACK_PARTIAL_CHECKSUM, Checksum.fold(Checksum.pseudoHeader(lo, lo, 6, 32)));
        assertEquals(Fixtures.TCP_DATA_PARTIAL_CHECKSUM, Checksum.fold(Checksum.pseudoHeader(lo, lo, 6, 159)));
    }

    @Test
    void pseudoHeaderEqualsTheSumOfItsTwelveBytes() {
        Random r = new Random(768);
        for (int i = 0; i < 1000; i++) {
            Ipv4Address s = new Ipv4Address(r.nextInt());
            Ipv4Address d = new Ipv4Address(r.nextInt());
            int proto = r.nextInt(256);
            int len = r.nextInt(65536);
            ByteBuf b = Unpooled.buffer(12).writeInt(s.bits()).writeInt(d.bits()).writeByte(0).writeByte(proto)
                    .writeShort(len);
            assertEquals(Checksum.fold(Checksum.sum(b, 0, 12)), Checksum.fold(Checksum.pseudoHeader(s, d, proto, len)));
        }
    }
}
