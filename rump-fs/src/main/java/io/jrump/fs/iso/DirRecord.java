package io.jrump.fs.iso;

import io.jrump.hypercall.ErrnoException;

/**
 * One directory record (ECMA-119 9.1), its lengths checked against the block it sits in: where
 * it is, its extent, data length, flags, recording date, identifier and System Use field.
 */
record DirRecord(long block, int offset, int length, int extAttrLength, long extent, long dataLength,
                 long recorded, int flags, int unitSize, int gapSize, byte[] name, byte[] systemUse) {
    static final int MIN_LENGTH = 34;
    static final int FLAG_HIDDEN = 0x01;
    static final int FLAG_DIRECTORY = 0x02;
    static final int FLAG_ASSOCIATED = 0x04;
    static final int FLAG_MULTI_EXTENT = 0x80;

    /**
     * The record at {@code off} in {@code b}, a 2048-byte block of the directory at {@code block};
     * its length byte must be non-zero (zero means the rest of the block is padding).
     */
    static DirRecord parse(byte[] b, int off, long block) throws ErrnoException {
        int len = b[off] & 0xff;
        String where = "directory record at block " + block + " offset " + off;
        if (len < MIN_LENGTH) {
            throw IsoErrors.corrupt(where + ": length " + len + " is below the " + MIN_LENGTH + "-byte minimum");
        }
        if (off + len > b.length) {
            throw IsoErrors.corrupt(where + ": length " + len + " runs past the " + b.length + "-byte block");
        }
        int nameLen = b[off + 32] & 0xff;
        if (nameLen == 0) {
            throw IsoErrors.corrupt(where + ": empty file identifier");
        }
        if (33 + nameLen > len) {
            throw IsoErrors.corrupt(where + ": identifier length " + nameLen + " runs past the record length " + len);
        }
        byte[] name = new byte[nameLen];
        System.arraycopy(b, off + 33, name, 0, nameLen);
        int su = 33 + nameLen + ((nameLen & 1) == 0 ? 1 : 0); // a padding byte keeps the System Use field even
        byte[] systemUse = new byte[Math.max(0, len - su)];
        if (systemUse.length > 0) {
            System.arraycopy(b, off + su, systemUse, 0, systemUse.length);
        }
        return new DirRecord(block, off, len, b[off + 1] & 0xff, le32(b, off + 2), le32(b, off + 10),
                IsoTime.short7(b, off + 18), b[off + 25] & 0xff, b[off + 26] & 0xff, b[off + 27] & 0xff, name,
                systemUse);
    }

    /** The little-endian half of a both-endian 32-bit field (7.3.3), unsigned. */
    static long le32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    static int le16(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }

    boolean isDirectory() {
        return (flags & FLAG_DIRECTORY) != 0;
    }

    boolean isDot() {
        return name.length == 1 && name[0] == 0;
    }

    boolean isDotDot() {
        return name.length == 1 && name[0] == 1;
    }

    /** Where the record sits on the device, in bytes: what names a file's inode. */
    long position() {
        return block * IsoDevice.BLOCK + offset;
    }

    /** Where the data starts, past any extended attribute record. */
    long dataBlock() {
        return extent + extAttrLength;
    }

    String where() {
        return "directory record at block " + block + " offset " + offset;
    }
}
