package io.jrump.net.pcap;

import io.netty.buffer.ByteBuf;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * Writes Ethernet frames to a classic libpcap file: the nanosecond-resolution variant (magic
 * 0xa1b23c4d), version 2.4, link type {@link #LINKTYPE_ETHERNET}, in little-endian byte order,
 * which readers detect from the magic.
 *
 * <p>Timestamps come from the caller in nanoseconds since the epoch (components never read
 * clocks). Thread-safe: records from several threads are written whole, one after another. Blocks
 * while the channel writes; fails with the channel's {@link IOException}. Does not close the
 * channel unless {@link #close} is called.
 */
public final class PcapWriter implements Closeable {
    public static final int MAGIC_NANOSECONDS = 0xa1b23c4d;
    public static final int MAGIC_MICROSECONDS = 0xa1b2c3d4;
    public static final int VERSION_MAJOR = 2;
    public static final int VERSION_MINOR = 4;
    public static final int LINKTYPE_ETHERNET = 1;
    public static final int DEFAULT_SNAPLEN = 262144;
    static final int FILE_HEADER_LENGTH = 24;
    static final int RECORD_HEADER_LENGTH = 16;

    private final WritableByteChannel channel;
    private final int snaplen;

    private PcapWriter(WritableByteChannel channel, int snaplen) {
        this.channel = channel;
        this.snaplen = snaplen;
    }

    /** Writes the file header and returns a writer that keeps frames up to {@code snaplen} bytes. */
    public static PcapWriter open(WritableByteChannel channel, int snaplen) throws IOException {
        if (snaplen <= 0) {
            throw new IllegalArgumentException("snaplen " + snaplen);
        }
        PcapWriter w = new PcapWriter(channel, snaplen);
        ByteBuffer h = ByteBuffer.allocate(FILE_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(MAGIC_NANOSECONDS).putShort((short) VERSION_MAJOR).putShort((short) VERSION_MINOR);
        h.putInt(0); // thiszone: timestamps are UTC
        h.putInt(0); // sigfigs
        h.putInt(snaplen).putInt(LINKTYPE_ETHERNET);
        w.writeFully(h.flip());
        return w;
    }

    public static PcapWriter open(WritableByteChannel channel) throws IOException {
        return open(channel, DEFAULT_SNAPLEN);
    }

    /**
     * Appends one record: the frame in {@code frame}'s readable bytes (cut to the snaplen), which
     * are not consumed.
     *
     * @param timestampNanos nanoseconds since 1970-01-01T00:00Z, not negative
     */
    public void write(long timestampNanos, ByteBuf frame) throws IOException {
        if (timestampNanos < 0) {
            throw new IllegalArgumentException("timestamp " + timestampNanos);
        }
        int length = frame.readableBytes();
        int captured = Math.min(length, snaplen);
        ByteBuffer r = ByteBuffer.allocate(RECORD_HEADER_LENGTH + captured).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt((int) (timestampNanos / 1_000_000_000L)); // ts_sec, unsigned 32 bits: good until 2106
        r.putInt((int) (timestampNanos % 1_000_000_000L)); // ts_nsec
        r.putInt(captured).putInt(length);
        frame.getBytes(frame.readerIndex(), r.array(), RECORD_HEADER_LENGTH, captured);
        r.position(r.limit());
        synchronized (this) {
            writeFully(r.flip());
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    public int snaplen() {
        return snaplen;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
