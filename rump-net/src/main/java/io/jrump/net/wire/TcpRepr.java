package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A TCP segment (RFC 9293 §3.1) with the options this stack uses: Maximum Segment Size (RFC 9293
 * §3.2), Window Scale and Timestamps (RFC 7323), SACK-Permitted and SACK (RFC 2018). Other
 * options are skipped by their length on parse and never emitted; the reserved bits are dropped.
 *
 * <p>{@link #emit} lays options out as Linux's {@code tcp_options_write} does (MSS; SACK-permitted
 * or two NOPs, then timestamps; or NOP, NOP, SACK-permitted; NOP, window scale; NOP, NOP, SACK), falling back to a tight layout padded with EOL when that does not
 * fit in 40 bytes, so a segment from another stack may come back with its options rearranged.
 * The payload is a slice of the parsed buffer (valid as long as it is) and compares by content.
 * Immutable if the payload is not written.
 *
 * @param flags          the control bits, {@link TcpSegment#FIN} to {@link TcpSegment#CWR}
 * @param maxSegmentSize the MSS option's value, or -1 without the option
 * @param windowScale    the Window Scale option's shift count as sent (RFC 7323 §2.3 caps its
 *                       use at 14; that is the TCP layer's business), or -1 without the option
 * @param timestamps     the Timestamps option, or {@code null} without it
 * @param sackBlocks     the SACK option's blocks, at most 4; empty without the option
 */
public record TcpRepr(
        int sourcePort,
        int destinationPort,
        int sequenceNumber,
        int acknowledgmentNumber,
        int flags,
        int window,
        int urgentPointer,
        int maxSegmentSize,
        int windowScale,
        boolean sackPermitted,
        Timestamps timestamps,
        List<SackBlock> sackBlocks,
        ByteBuf payload) {

    static final int KIND_EOL = 0;
    static final int KIND_NOP = 1;
    static final int KIND_MSS = 2;
    static final int KIND_WINDOW_SCALE = 3;
    static final int KIND_SACK_PERMITTED = 4;
    static final int KIND_SACK = 5;
    static final int KIND_TIMESTAMPS = 8;
    public static final int MAX_SACK_BLOCKS = 4;

    /** The Timestamps option (RFC 7323 §3): TSval and TSecr, 32 unsigned bits each. */
    public record Timestamps(int value, int echoReply) {
        @Override
        public String toString() {
            return "TS val " + Integer.toUnsignedString(value) + " ecr " + Integer.toUnsignedString(echoReply);
        }
    }

    /**
     * One SACK block (RFC 2018 §3): the sequence number of the first byte received and the one just
     * past the last, so the block holds {@code right - left} bytes, modulo 2^32. The one type for a
     * SACK block, on the wire and in TCP's scoreboard and reassembly queue. Compares by value; says
     * nothing about validity, which the receiver (the scoreboard) checks. Immutable.
     */
    public record SackBlock(int left, int right) {
        /** The bytes in the block, modulo 2^32. */
        public long length() {
            return Integer.toUnsignedLong(right - left);
        }

        /** Whether {@code seq} lies in the block (modulo 2^32). */
        public boolean contains(int seq) {
            return Integer.compareUnsigned(seq - left, right - left) < 0;
        }

        @Override
        public String toString() {
            return Integer.toUnsignedString(left) + ":" + Integer.toUnsignedString(right);
        }
    }

    public TcpRepr {
        Wire.checkU16("source port", sourcePort);
        Wire.checkU16("destination port", destinationPort);
        Wire.checkU8("flags", flags);
        Wire.checkU16("window", window);
        Wire.checkU16("urgent pointer", urgentPointer);
        if (maxSegmentSize < -1 || maxSegmentSize > 0xffff) {
            throw new IllegalArgumentException("MSS " + maxSegmentSize + " out of -1..65535");
        }
        if (windowScale < -1 || windowScale > 0xff) {
            throw new IllegalArgumentException("window scale " + windowScale + " out of -1..255");
        }
        sackBlocks = List.copyOf(sackBlocks);
        if (sackBlocks.size() > MAX_SACK_BLOCKS) {
            throw new IllegalArgumentException(sackBlocks.size() + " SACK blocks, at most 4 fit");
        }
        Objects.requireNonNull(payload, "payload");
        if (tightOptionsLength(maxSegmentSize, windowScale, sackPermitted, timestamps, sackBlocks.size()) > 40) {
            throw new IllegalArgumentException("the options do not fit in 40 bytes");
        }
    }

    /** A segment without options. */
    public static TcpRepr of(int sourcePort, int destinationPort, int sequenceNumber, int acknowledgmentNumber,
            int flags, int window, ByteBuf payload) {
        return new TcpRepr(sourcePort, destinationPort, sequenceNumber, acknowledgmentNumber, flags, window, 0,
                -1, -1, false, null, List.of(), payload);
    }

    /**
     * Verifies the checksum and reads the header and options.
     *
     * @throws ErrnoException {@code EBADMSG} for a bad checksum or a malformed option
     */
    public static TcpRepr parse(TcpSegment segment, IpAddress source, IpAddress destination)
            throws ErrnoException {
        return parse(segment, source, destination, true);
    }

    /**
     * As {@link #parse(TcpSegment, IpAddress, IpAddress)}, verifying the checksum only if
     * {@code verifyChecksum}: a NIC that checked it, or a host stack that left it partial, says not to.
     */
    public static TcpRepr parse(TcpSegment segment, IpAddress source, IpAddress destination,
            boolean verifyChecksum) throws ErrnoException {
        if (verifyChecksum && !segment.verifyChecksum(source, destination)) {
            throw Wire.malformed(String.format(Locale.ROOT, "TCP Checksum 0x%04x at offset 16 does not verify", segment.checksum()));
        }
        // The options are read in place, not through a slice: no object per segment.
        ByteBuf o = segment.buffer();
        int base = segment.optionsIndex();
        int end = base + segment.headerLength() - TcpSegment.MIN_HEADER_LENGTH;
        int mss = -1;
        int scale = -1;
        boolean sackPermitted = false;
        Timestamps ts = null;
        List<SackBlock> sack = List.of();
        int i = base;
        while (i < end) {
            int at = TcpSegment.MIN_HEADER_LENGTH + i - base; // offset within the segment, for messages
            int kind = o.getUnsignedByte(i);
            if (kind == KIND_EOL) {
                break;
            }
            if (kind == KIND_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                throw Wire.malformed("TCP option kind " + kind + " at offset " + at + " has no length byte");
            }
            int len = o.getUnsignedByte(i + 1);
            if (len < 2) {
                throw Wire.malformed("TCP option kind " + kind + " length " + len + " at offset " + (at + 1)
                        + " is below 2");
            }
            if (len > end - i) {
                throw Wire.malformed("TCP option kind " + kind + " length " + len + " at offset " + (at + 1)
                        + " runs past the header");
            }
            switch (kind) {
                case KIND_MSS -> {
                    expectLength(kind, len, 4, at);
                    mss = o.getUnsignedShort(i + 2);
                }
                case KIND_WINDOW_SCALE -> {
                    expectLength(kind, len, 3, at);
                    scale = o.getUnsignedByte(i + 2);
                }
                case KIND_SACK_PERMITTED -> {
                    expectLength(kind, len, 2, at);
                    sackPermitted = true;
                }
                case KIND_TIMESTAMPS -> {
                    expectLength(kind, len, 10, at);
                    ts = new Timestamps(o.getInt(i + 2), o.getInt(i + 6));
                }
                case KIND_SACK -> {
                    if (len < 10 || (len - 2) % 8 != 0) {
                        throw Wire.malformed("TCP SACK option length " + len + " at offset " + (at + 1)
                                + " is not 2 + 8n with n >= 1");
                    }
                    SackBlock[] blocks = new SackBlock[(len - 2) / 8];
                    for (int b = 0; b < blocks.length; b++) {
                        blocks[b] = new SackBlock(o.getInt(i + 2 + 8 * b), o.getInt(i + 6 + 8 * b));
                    }
                    sack = List.of(blocks);
                }
                default -> {
                    // Unknown options are skipped by their length (RFC 9293 §3.1, MUST-6).
                }
            }
            i += len;
        }
        return new TcpRepr(segment.sourcePort(), segment.destinationPort(), segment.sequenceNumber(),
                segment.acknowledgmentNumber(), segment.flags(), segment.window(), segment.urgentPointer(), mss, scale,
                sackPermitted, ts, sack, segment.payload());
    }

    private static void expectLength(int kind, int len, int expected, int at) throws ErrnoException {
        if (len != expected) {
            throw Wire.malformed("TCP option kind " + kind + " length " + len + " at offset " + (at + 1)
                    + " is not " + expected);
        }
    }

    public boolean hasFlags(int mask) {
        return (flags & mask) == mask;
    }

    /** The sequence space the segment occupies: its data, plus one each for SYN and FIN. */
    public int sequenceLength() {
        return payload.readableBytes() + (hasFlags(TcpSegment.SYN) ? 1 : 0) + (hasFlags(TcpSegment.FIN) ? 1 : 0);
    }

    /** The header's length with options and padding: a multiple of 4 in 20..60. */
    public int headerLength() {
        return TcpSegment.MIN_HEADER_LENGTH + optionsLength();
    }

    /** Header plus payload. */
    public int bufferLength() {
        return headerLength() + payload.readableBytes();
    }

    private int optionsLength() {
        int aligned = alignedOptionsLength();
        if (aligned <= 40) {
            return aligned;
        }
        return (tightOptionsLength(maxSegmentSize, windowScale, sackPermitted, timestamps, sackBlocks.size()) + 3) & ~3;
    }

    private int alignedOptionsLength() {
        int n = 0;
        n += maxSegmentSize >= 0 ? 4 : 0;
        n += windowScale >= 0 ? 4 : 0;
        n += timestamps != null ? 12 : sackPermitted ? 4 : 0;
        n += sackBlocks.isEmpty() ? 0 : 4 + 8 * sackBlocks.size();
        return n;
    }

    private static int tightOptionsLength(int mss, int scale, boolean sackPermitted, Timestamps ts, int blocks) {
        return (mss >= 0 ? 4 : 0) + (scale >= 0 ? 3 : 0) + (sackPermitted ? 2 : 0) + (ts != null ? 10 : 0)
                + (blocks > 0 ? 2 + 8 * blocks : 0);
    }

    /** Writes the segment, checksum included, at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset, IpAddress source, IpAddress destination) {
        emit(buf, offset, source, destination, false);
    }

    /**
     * Writes the segment at absolute {@code offset}; with {@code partialChecksum} the Checksum field
     * holds only the pseudo-header sum over this segment's length, folded and not complemented, for
     * a NIC to complete (checksum offload, virtio {@code NEEDS_CSUM}), and the data is not summed.
     */
    public void emit(ByteBuf buf, int offset, IpAddress source, IpAddress destination, boolean partialChecksum) {
        int header = headerLength();
        int length = bufferLength();
        Wire.checkRange(buf, offset, length);
        buf.setShort(offset + TcpSegment.SOURCE_PORT, sourcePort);
        buf.setShort(offset + TcpSegment.DESTINATION_PORT, destinationPort);
        buf.setInt(offset + TcpSegment.SEQUENCE_NUMBER, sequenceNumber);
        buf.setInt(offset + TcpSegment.ACKNOWLEDGMENT_NUMBER, acknowledgmentNumber);
        buf.setByte(offset + TcpSegment.DATA_OFFSET, header / 4 << 4);
        buf.setByte(offset + TcpSegment.FLAGS, flags);
        buf.setShort(offset + TcpSegment.WINDOW, window);
        buf.setShort(offset + TcpSegment.CHECKSUM, 0);
        buf.setShort(offset + TcpSegment.URGENT_POINTER, urgentPointer);
        int end = offset + header;
        int i = alignedOptionsLength() <= 40 ? emitAligned(buf, offset + TcpSegment.MIN_HEADER_LENGTH)
                : emitTight(buf, offset + TcpSegment.MIN_HEADER_LENGTH);
        buf.setZero(i, end - i); // EOL, then zero padding
        buf.setBytes(end, payload, payload.readerIndex(), payload.readableBytes());
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.TCP.value(), length);
        if (partialChecksum) {
            buf.setShort(offset + TcpSegment.CHECKSUM, Checksum.fold(sum));
            return;
        }
        buf.setShort(offset + TcpSegment.CHECKSUM, Checksum.finish(Checksum.add(sum, buf, offset, length)));
    }

    private int emitAligned(ByteBuf buf, int i) {
        if (maxSegmentSize >= 0) {
            i = putMss(buf, i);
        }
        if (timestamps != null) {
            if (sackPermitted) {
                i = putSackPermitted(buf, i);
            } else {
                buf.setByte(i++, KIND_NOP);
                buf.setByte(i++, KIND_NOP);
            }
            i = putTimestamps(buf, i);
        } else if (sackPermitted) {
            buf.setByte(i++, KIND_NOP);
            buf.setByte(i++, KIND_NOP);
            i = putSackPermitted(buf, i);
        }
        if (windowScale >= 0) {
            buf.setByte(i++, KIND_NOP);
            i = putWindowScale(buf, i);
        }
        if (!sackBlocks.isEmpty()) {
            buf.setByte(i++, KIND_NOP);
            buf.setByte(i++, KIND_NOP);
            i = putSack(buf, i);
        }
        return i;
    }

    private int emitTight(ByteBuf buf, int i) {
        if (maxSegmentSize >= 0) {
            i = putMss(buf, i);
        }
        if (windowScale >= 0) {
            i = putWindowScale(buf, i);
        }
        if (sackPermitted) {
            i = putSackPermitted(buf, i);
        }
        if (timestamps != null) {
            i = putTimestamps(buf, i);
        }
        if (!sackBlocks.isEmpty()) {
            i = putSack(buf, i);
        }
        return i;
    }

    private int putMss(ByteBuf buf, int i) {
        buf.setByte(i, KIND_MSS);
        buf.setByte(i + 1, 4);
        buf.setShort(i + 2, maxSegmentSize);
        return i + 4;
    }

    private int putWindowScale(ByteBuf buf, int i) {
        buf.setByte(i, KIND_WINDOW_SCALE);
        buf.setByte(i + 1, 3);
        buf.setByte(i + 2, windowScale);
        return i + 3;
    }

    private int putSackPermitted(ByteBuf buf, int i) {
        buf.setByte(i, KIND_SACK_PERMITTED);
        buf.setByte(i + 1, 2);
        return i + 2;
    }

    private int putTimestamps(ByteBuf buf, int i) {
        buf.setByte(i, KIND_TIMESTAMPS);
        buf.setByte(i + 1, 10);
        buf.setInt(i + 2, timestamps.value());
        buf.setInt(i + 6, timestamps.echoReply());
        return i + 10;
    }

    private int putSack(ByteBuf buf, int i) {
        buf.setByte(i, KIND_SACK);
        buf.setByte(i + 1, 2 + 8 * sackBlocks.size());
        int p = i + 2;
        for (SackBlock b : sackBlocks) {
            buf.setInt(p, b.left());
            buf.setInt(p + 4, b.right());
            p += 8;
        }
        return p;
    }

    /** tcpdump's rendering of the control bits: {@code S} SYN, {@code .} ACK, {@code F P R U E W}. */
    static String flagString(int flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & TcpSegment.FIN) != 0) sb.append('F');
        if ((flags & TcpSegment.SYN) != 0) sb.append('S');
        if ((flags & TcpSegment.RST) != 0) sb.append('R');
        if ((flags & TcpSegment.PSH) != 0) sb.append('P');
        if ((flags & TcpSegment.URG) != 0) sb.append('U');
        if ((flags & TcpSegment.ECE) != 0) sb.append('E');
        if ((flags & TcpSegment.CWR) != 0) sb.append('W');
        if ((flags & TcpSegment.ACK) != 0) sb.append('.');
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /** The options in tcpdump's words, e.g. {@code mss 1460,sackOK,TS val 1 ecr 0,wscale 7}; empty without any. */
    public String optionsString() {
        StringBuilder sb = new StringBuilder();
        if (maxSegmentSize >= 0) sb.append(",mss ").append(maxSegmentSize);
        if (sackPermitted) sb.append(",sackOK");
        if (timestamps != null) sb.append(',').append(timestamps);
        if (windowScale >= 0) sb.append(",wscale ").append(windowScale);
        if (!sackBlocks.isEmpty()) sb.append(",sack ").append(sackBlocks.size()).append(' ').append(sackBlocks);
        return sb.length() == 0 ? "" : sb.substring(1);
    }

    @Override
    public String toString() {
        return describe(Integer.toString(sourcePort), Integer.toString(destinationPort));
    }

    /** The tcpdump-style line with the given renderings of the two endpoints. */
    String describe(String source, String destination) {
        String options = optionsString();
        return "TCP " + source + " > " + destination + " [" + flagString(flags) + "] seq "
                + Integer.toUnsignedString(sequenceNumber)
                + (hasFlags(TcpSegment.ACK) ? " ack " + Integer.toUnsignedString(acknowledgmentNumber) : "")
                + " win " + window + (options.isEmpty() ? "" : " options [" + options + "]")
                + " length " + payload.readableBytes();
    }
}
