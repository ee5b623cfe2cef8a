package io.jrump.net.dns;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A checked view over a DNS message (RFC 1035 §4.1). {@link #parse} checks the 12-byte header and
 * that the four section counts could fit in the bytes that follow it (a question takes at least 5
 * bytes, a record 11), so no count read here can make a caller allocate more than the message
 * justifies. Names are read with {@link #readName}, which follows compression pointers (§4.1.4)
 * only backwards, each to before the labels it ends, at most {@value #MAX_POINTERS} in a name.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class DnsPacket {
    public static final int HEADER_LENGTH = 12;
    /** The most pointers one name may follow; a name has at most 127 labels. */
    public static final int MAX_POINTERS = 127;
    static final int MIN_QUESTION = 5;
    static final int MIN_RECORD = 11;

    private final ByteBuf buf;
    private final int base;
    private final int length;

    private DnsPacket(ByteBuf buf, int base, int length) {
        this.buf = buf;
        this.base = base;
        this.length = length;
    }

    public static DnsPacket parse(ByteBuf buf) throws DnsFormatException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over the {@code length} bytes at absolute {@code offset}. */
    public static DnsPacket parse(ByteBuf buf, int offset, int length) throws DnsFormatException {
        if (offset < 0 || length < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside a buffer of capacity "
                    + buf.capacity());
        }
        if (length < HEADER_LENGTH) {
            throw new DnsFormatException(DnsFormatError.TRUNCATED_HEADER,
                    "message of " + length + " bytes is shorter than the 12-byte header");
        }
        DnsPacket p = new DnsPacket(buf, offset, length);
        long least = (long) p.questionCount() * MIN_QUESTION
                + ((long) p.answerCount() + p.authorityCount() + p.additionalCount()) * MIN_RECORD;
        if (least > length - HEADER_LENGTH) {
            throw new DnsFormatException(DnsFormatError.COUNT_EXCEEDS_MESSAGE, "counts QD " + p.questionCount()
                    + " AN " + p.answerCount() + " NS " + p.authorityCount() + " AR " + p.additionalCount()
                    + " at offset 4 need at least " + least + " bytes, the message has " + (length - HEADER_LENGTH)
                    + " after its header");
        }
        return p;
    }

    /** The message's length in bytes. */
    public int length() {
        return length;
    }

    public int id() {
        return u16(0);
    }

    public int flags() {
        return u16(2);
    }

    public DnsHeader header() {
        return DnsHeader.of(id(), flags());
    }

    public int questionCount() {
        return u16(4);
    }

    public int answerCount() {
        return u16(6);
    }

    public int authorityCount() {
        return u16(8);
    }

    public int additionalCount() {
        return u16(10);
    }

    int u8(int offset) {
        return buf.getUnsignedByte(base + offset);
    }

    int u16(int offset) {
        return buf.getUnsignedShort(base + offset);
    }

    long u32(int offset) {
        return buf.getUnsignedInt(base + offset);
    }

    byte[] bytes(int offset, int n) {
        byte[] b = new byte[n];
        buf.getBytes(base + offset, b);
        return b;
    }

    /** A name and the offset just after its bytes in place (after its first pointer, if any). */
    record NameAt(DnsName name, int end) {}

    /**
     * Reads the name at {@code offset} (relative to the message). Its bytes in place must end by
     * {@code limit} (the message's or the RDATA's end), or the read fails with {@code overrun};
     * labels reached through pointers may lie anywhere before.
     */
    NameAt readName(int offset, int limit, DnsFormatError overrun, String where) throws DnsFormatException {
        List<String> labels = new ArrayList<>();
        int wire = 1;
        int pos = offset;
        int runStart = offset;
        int end = -1;
        int pointers = 0;
        while (true) {
            int lim = end < 0 ? limit : length;
            if (pos >= lim) {
                throw new DnsFormatException(overrun, where + " name at offset " + offset + " runs past "
                        + (lim == length ? "the end of the message" : "its RDATA") + " at offset " + pos);
            }
            int len = u8(pos);
            if (len == 0) {
                if (end < 0) {
                    end = pos + 1;
                }
                return new NameAt(new DnsName(labels), end);
            }
            if ((len & 0xc0) == 0xc0) {
                if (pos + 2 > lim) {
                    throw new DnsFormatException(overrun, where + " name at offset " + offset
                            + ": pointer at offset " + pos + " cut off");
                }
                int target = (len & 0x3f) << 8 | u8(pos + 1);
                if (target >= length) {
                    throw new DnsFormatException(DnsFormatError.POINTER_OUT_OF_MESSAGE, where + " name at offset "
                            + offset + ": pointer at offset " + pos + " to " + target + ", past the message's "
                            + length + " bytes");
                }
                if (target >= pos) {
                    throw new DnsFormatException(DnsFormatError.POINTER_FORWARD, where + " name at offset " + offset
                            + ": pointer at offset " + pos + " to " + target + ", not before itself");
                }
                if (target >= runStart) {
                    throw new DnsFormatException(DnsFormatError.COMPRESSION_LOOP, where + " name at offset " + offset
                            + ": pointer at offset " + pos + " to " + target + ", into the labels it ends (from "
                            + runStart + ")");
                }
                if (++pointers > MAX_POINTERS) {
                    throw new DnsFormatException(DnsFormatError.COMPRESSION_LOOP, where + " name at offset " + offset
                            + ": more than " + MAX_POINTERS + " pointers");
                }
                if (end < 0) {
                    end = pos + 2;
                }
                pos = target;
                runStart = target;
                continue;
            }
            if (len > DnsName.MAX_LABEL_LENGTH) {
                throw new DnsFormatException(DnsFormatError.LABEL_TOO_LONG, where + " name at offset " + offset
                        + ": label length byte 0x" + Integer.toHexString(len) + " at offset " + pos
                        + " (over 63; label types 01 and 10 are not supported)");
            }
            if (pos + 1 + len > lim) {
                throw new DnsFormatException(overrun, where + " name at offset " + offset + ": label of " + len
                        + " bytes at offset " + pos + " runs past "
                        + (lim == length ? "the end of the message" : "its RDATA"));
            }
            wire += 1 + len;
            if (wire > DnsName.MAX_WIRE_LENGTH) {
                throw new DnsFormatException(DnsFormatError.NAME_TOO_LONG, where + " name at offset " + offset
                        + " is over 255 bytes at offset " + pos);
            }
            labels.add(buf.toString(base + pos + 1, len, StandardCharsets.ISO_8859_1));
            pos += 1 + len;
        }
    }

    @Override
    public String toString() {
        return "DNS id " + id() + " flags 0x" + Integer.toHexString(flags()) + " QD " + questionCount() + " AN "
                + answerCount() + " NS " + authorityCount() + " AR " + additionalCount() + " length " + length;
    }
}
