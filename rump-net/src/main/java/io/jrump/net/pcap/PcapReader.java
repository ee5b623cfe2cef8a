package io.jrump.net.pcap;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a classic libpcap file of either byte order and either timestamp resolution, for tests
 * and tools. Not thread-safe; blocks on the stream; a truncated or malformed file raises an
 * {@link IOException} naming the record.
 */
public final class PcapReader {
    /** One record: the timestamp in nanoseconds, the frame's original length and the captured bytes. */
    public record Record(long timestampNanos, int originalLength, byte[] data) {}

    private final InputStream in;
    private final ByteOrder order;
    private final boolean nanoseconds;
    private final int snaplen;
    private final int linkType;
    private int index;

    private PcapReader(InputStream in, ByteOrder order, boolean nanoseconds, int snaplen, int linkType) {
        this.in = in;
        this.order = order;
        this.nanoseconds = nanoseconds;
        this.snaplen = snaplen;
        this.linkType = linkType;
    }

    /** Reads the file header. */
    public static PcapReader open(InputStream in) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(readFully(in, PcapWriter.FILE_HEADER_LENGTH, "pcap file header"));
        int magic = h.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        if (magic != PcapWriter.MAGIC_NANOSECONDS && magic != PcapWriter.MAGIC_MICROSECONDS) {
            order = ByteOrder.BIG_ENDIAN;
            magic = Integer.reverseBytes(magic);
            if (magic != PcapWriter.MAGIC_NANOSECONDS && magic != PcapWriter.MAGIC_MICROSECONDS) {
                throw new IOException(String.format(Locale.ROOT, "not a pcap file: magic 0x%08x", h.getInt(0)));
            }
        }
        h.order(order);
        return new PcapReader(in, order, magic == PcapWriter.MAGIC_NANOSECONDS, h.getInt(16), h.getInt(20));
    }

    public int snaplen() {
        return snaplen;
    }

    public int linkType() {
        return linkType;
    }

    public boolean nanosecondTimestamps() {
        return nanoseconds;
    }

    /** The next record, or {@code null} at the end of the file. */
    public Record next() throws IOException {
        byte[] first = in.readNBytes(PcapWriter.RECORD_HEADER_LENGTH);
        if (first.length == 0) {
            return null;
        }
        if (first.length < PcapWriter.RECORD_HEADER_LENGTH) {
            throw new EOFException("pcap record " + index + ": header truncated");
        }
        ByteBuffer h = ByteBuffer.wrap(first).order(order);
        long seconds = Integer.toUnsignedLong(h.getInt(0));
        long fraction = Integer.toUnsignedLong(h.getInt(4));
        int captured = h.getInt(8);
        int original = h.getInt(12);
        if (captured < 0 || original < captured || (snaplen > 0 && captured > snaplen)) {
            throw new IOException("pcap record " + index + ": captured length " + captured + ", original "
                    + original + ", snaplen " + snaplen);
        }
        byte[] data = readFully(in, captured, "pcap record " + index);
        index++;
        return new Record(seconds * 1_000_000_000L + (nanoseconds ? fraction : fraction * 1000), original, data);
    }

    /** All remaining records. */
    public List<Record> readAll() throws IOException {
        List<Record> all = new ArrayList<>();
        for (Record r = next(); r != null; r = next()) {
            all.add(r);
        }
        return all;
    }

    private static byte[] readFully(InputStream in, int n, String what) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException(what + ": " + b.length + " of " + n + " bytes");
        }
        return b;
    }
}
