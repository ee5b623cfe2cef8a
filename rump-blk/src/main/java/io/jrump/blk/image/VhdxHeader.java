package io.jrump.blk.image;

import java.nio.ByteBuffer;

/**
 * One of a VHDX file's two 4 KiB headers ([MS-VHDX] 2.2.2): the copy with a valid checksum and the
 * higher sequence number is the current one; an update writes the other copy with the next
 * sequence number, so a torn write leaves the old header current.
 */
record VhdxHeader(long sequence, byte[] fileWriteGuid, byte[] dataWriteGuid, byte[] logGuid, int logVersion,
        int version, long logLength, long logOffset) {

    /** The header in {@code b} (4096 bytes, little-endian), or why it is not one. */
    static Object parse(ByteBuffer b) {
        if (b.getInt(0) != Vhdx.HEAD_SIGNATURE) {
            return String.format("signature 0x%08x is not \"head\"", b.getInt(0));
        }
        int stored = b.getInt(4);
        int want = Vhdx.crc(b, 4);
        if (stored != want) {
            return String.format("checksum 0x%08x, CRC-32C of the header is 0x%08x", stored, want);
        }
        return new VhdxHeader(b.getLong(8), Vhdx.guidAt(b, 16), Vhdx.guidAt(b, 32), Vhdx.guidAt(b, 48),
                b.getShort(64) & 0xffff, b.getShort(66) & 0xffff, Integer.toUnsignedLong(b.getInt(68)), b.getLong(72));
    }

    ByteBuffer encode() {
        ByteBuffer b = Vhdx.le(Vhdx.HEADER_BYTES);
        b.putInt(0, Vhdx.HEAD_SIGNATURE).putLong(8, sequence);
        b.put(16, fileWriteGuid).put(32, dataWriteGuid).put(48, logGuid);
        b.putShort(64, (short) logVersion).putShort(66, (short) version).putInt(68, (int) logLength).putLong(72, logOffset);
        b.putInt(4, Vhdx.crc(b, 4));
        return b;
    }

    VhdxHeader next(byte[] fileWrite, byte[] dataWrite, byte[] log) {
        return new VhdxHeader(sequence + 1, fileWrite, dataWrite, log, logVersion, version, logLength, logOffset);
    }
}
