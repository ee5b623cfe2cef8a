package io.jrump.blk.part;

import io.jrump.hypercall.HostRandom;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * A GUID as GPT stores it: the first three fields little-endian, the last eight bytes as they are
 * (UEFI spec, appendix A). Immutable; prints upper-case as sfdisk and sgdisk do.
 */
public record Guid(long high, long low) {
    public static final Guid ZERO = new Guid(0, 0);

    /** Reads the 16 on-disk bytes at an absolute index. */
    public static Guid read(ByteBuffer buf, int index) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long d1 = Integer.toUnsignedLong(b.getInt(index));
        long d2 = Short.toUnsignedLong(b.getShort(index + 4));
        long d3 = Short.toUnsignedLong(b.getShort(index + 6));
        long high = (d1 << 32) | (d2 << 16) | d3;
        long low = buf.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(index + 8);
        return new Guid(high, low);
    }

    /** Writes the 16 on-disk bytes at an absolute index. */
    public void write(ByteBuffer buf, int index) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(index, (int) (high >>> 32));
        b.putShort(index + 4, (short) (high >>> 16));
        b.putShort(index + 6, (short) high);
        buf.duplicate().order(ByteOrder.BIG_ENDIAN).putLong(index + 8, low);
    }

    /** Parses {@code 0FC63DAF-8483-4772-8E79-3D69D8477DE4} (either case). */
    public static Guid parse(String text) {
        String t = text.trim();
        if (!t.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
            throw new IllegalArgumentException("not a GUID: " + text);
        }
        String hex = t.replace("-", "");
        return new Guid(Long.parseUnsignedLong(hex.substring(0, 16), 16), Long.parseUnsignedLong(hex.substring(16), 16));
    }

    /** A random (version 4) GUID from the host's randomness. */
    public static Guid random(HostRandom random) {
        long high = (random.nextLong() & ~0xf000L) | 0x4000L;
        long low = (random.nextLong() & 0x3fff_ffff_ffff_ffffL) | 0x8000_0000_0000_0000L;
        return new Guid(high, low);
    }

    public boolean isZero() {
        return high == 0 && low == 0;
    }

    @Override
    public String toString() {
        String h = String.format("%016X", high);
        String l = String.format("%016X", low);
        return (h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12) + "-" + l.substring(0, 4) + "-"
                + l.substring(4)).toUpperCase(Locale.ROOT);
    }
}
