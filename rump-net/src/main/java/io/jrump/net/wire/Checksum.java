package io.jrump.net.wire;

import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.internal.PlatformDependent;

/**
 * The Internet checksum of RFC 1071: the 16-bit one's complement of the one's complement sum
 * of the data taken as big-endian 16-bit words, an odd last byte padded with a zero.
 *
 * <p>Sums are kept unfolded in a {@code long} so that ranges can be added up one after
 * another ({@link #add}); every range but the last must then have an even length, because
 * words are counted from the start of each range. An unfolded sum is only meaningful through
 * {@link #fold} (it adds 32-bit halves, not 16-bit words). The data is read 8 bytes at a time
 * (RFC 1071 §2(B): the sum may be taken over wider words and folded afterwards).
 *
 * <p>Stateless and thread-safe; reads the buffer with absolute gets only.
 */
public final class Checksum {
    private Checksum() {}

    /** The unfolded sum of {@code [index, index + length)} of the buffer added to {@code sum}. */
    public static long add(long sum, ByteBuf buf, int index, int length) {
        Wire.checkRange(buf, index, length);
        int i = index;
        int end = index + length;
        if (length >= 64 && buf.hasMemoryAddress() && PlatformDependent.hasUnsafe()) {
            if (buf.refCnt() == 0) {
                throw new IllegalReferenceCountException(0); // as the buffer's own reads would
            }
            // Straight from memory: through a derived buffer (a slice of a frame) each getLong is
            // a chain of calls and checks; a ByteBuffer view is an object or two per call.
            int words = length & ~7;
            sum += nativeWordsSum(buf.memoryAddress() + index, words);
            i += words;
        }
        // Each 64-bit word adds as two 32-bit halves (each < 2^32), so the long cannot
        // overflow before 2^30 words: more than any ByteBuf holds.
        while (end - i >= 8) {
            long w = buf.getLong(i);
            sum += (w >>> 32) + (w & 0xffff_ffffL);
            i += 8;
        }
        if (end - i >= 4) {
            sum += buf.getUnsignedInt(i);
            i += 4;
        }
        if (end - i >= 2) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (end - i == 1) {
            sum += buf.getUnsignedByte(i) << 8;
        }
        return sum;
    }

    /**
     * The sum of {@code length} bytes (a multiple of 8) at a native address, as 16-bit
     * big-endian words folded to 16 bits. Read in the machine's order: the one's complement
     * sum does not depend on byte order, but for a swap of the bytes of its result (RFC 1071
     * §2(B)), made once after the fold.
     */
    private static long nativeWordsSum(long address, int length) {
        long s = 0;
        for (long a = address, end = address + length; a < end; a += 8) {
            long w = PlatformDependent.getLong(a);
            s += (w >>> 32) + (w & 0xffff_ffffL);
        }
        int folded = fold(s);
        return PlatformDependent.BIG_ENDIAN_NATIVE_ORDER ? folded : Integer.reverseBytes(folded) >>> 16;
    }

    /** The unfolded sum of {@code data}'s remaining bytes (its position unchanged) added to {@code sum}. */
    public static long add(long sum, java.nio.ByteBuffer data) {
        java.nio.ByteBuffer b = data.order() == java.nio.ByteOrder.BIG_ENDIAN ? data : data.duplicate().order(java.nio.ByteOrder.BIG_ENDIAN);
        int i = b.position();
        int end = b.limit();
        while (end - i >= 8) {
            long w = b.getLong(i);
            sum += (w >>> 32) + (w & 0xffff_ffffL);
            i += 8;
        }
        if (end - i >= 4) {
            sum += b.getInt(i) & 0xffff_ffffL;
            i += 4;
        }
        if (end - i >= 2) {
            sum += b.getShort(i) & 0xffff;
            i += 2;
        }
        if (end - i == 1) {
            sum += (b.get(i) & 0xff) << 8;
        }
        return sum;
    }

    /** The unfolded sum of a range on its own. */
    public static long sum(ByteBuf buf, int index, int length) {
        return add(0, buf, index, length);
    }

    /**
     * The sum of the IPv4 pseudo-header of RFC 768 and RFC 9293 §3.1: source, destination, a
     * zero byte, the protocol and the TCP or UDP length.
     */
    public static long pseudoHeader(Ipv4Address src, Ipv4Address dst, int protocol, int length) {
        long sum = (src.bits() >>> 16) + (src.bits() & 0xffff);
        sum += (dst.bits() >>> 16) + (dst.bits() & 0xffff);
        return sum + (protocol & 0xff) + (length & 0xffff);
    }

    /**
     * The sum of the IPv6 pseudo-header of RFC 8200 §8.1: source, destination, the 32-bit
     * upper-layer packet length and the next header value (of the upper layer, not of an
     * extension header).
     */
    public static long pseudoHeader(Ipv6Address src, Ipv6Address dst, int nextHeader, long upperLayerLength) {
        long sum = halves(src.high()) + halves(src.low()) + halves(dst.high()) + halves(dst.low());
        return sum + (upperLayerLength & 0xffff_ffffL) + (nextHeader & 0xff);
    }

    /**
     * The pseudo-header of either family for an upper-layer packet of {@code length} bytes: both
     * addresses must be of one family (IllegalArgumentException otherwise).
     */
    public static long pseudoHeader(IpAddress src, IpAddress dst, int protocol, long length) {
        if (src instanceof Ipv4Address s4 && dst instanceof Ipv4Address d4) {
            return pseudoHeader(s4, d4, protocol, (int) length);
        }
        if (src instanceof Ipv6Address s6 && dst instanceof Ipv6Address d6) {
            return pseudoHeader(s6, d6, protocol, length & 0xffff_ffffL);
        }
        throw new IllegalArgumentException("pseudo-header of " + src + " and " + dst + ": two families");
    }

    private static long halves(long v) {
        return (v >>> 32) + (v & 0xffff_ffffL);
    }

    /** Folds an unfolded sum to 16 bits with end-around carries (RFC 1071 §4.1). */
    public static int fold(long sum) {
        long s = sum;
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    /** The value to store in a checksum field: the complement of the folded sum. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** The checksum of a range on its own, ready to store. */
    public static int compute(ByteBuf buf, int index, int length) {
        return finish(sum(buf, index, length));
    }

    /** Whether a sum taken over data that includes its checksum field verifies (folds to 0xffff). */
    public static boolean verifies(long sum) {
        return fold(sum) == 0xffff;
    }
}
