package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The one parser of directory entries ({@code struct ext4_dir_entry_2}: inode, rec_len,
 * name_len, file type, name) in a region of a block — a directory block, or the inline area and
 * system.data of an inline directory. Every header is checked to lie inside the region before
 * it is read, and each record length and name length against the region before it is used; a
 * bad one is {@code EUCLEAN} naming the place ({@code where}: device, inode, block) and the
 * offset. The walk advances by at least 8 bytes a record, so it ends.
 */
final class DirEntries {
    /** The fixed part of an entry before its name. */
    static final int HEADER = 8;
    /** The smallest record in a directory block: a header and a one-byte name, rounded to 4 (the kernel's rule). */
    static final int MIN_BLOCK_RECORD = 12;

    private DirEntries() {
    }

    /**
     * The checked record length of the entry at {@code at} in {@code [at, end)}: its header
     * inside the region, rec_len at least {@code minRecord}, a multiple of 4, not past {@code end}
     * and room for name_len. A rec_len of 0 in a 64 KiB block means 65536, as ext4 stores it.
     */
    static int recordLength(ByteBuffer b, int at, int end, int minRecord, String where) throws ErrnoException {
        if (at + HEADER > end) {
            throw new ErrnoException(Errno.EUCLEAN, where + ", offset " + at + ": entry header cut off at the end ("
                    + end + ")");
        }
        int recLen = b.getShort(at + 4) & 0xffff;
        if (recLen == 0 && end - at == 65536) {
            recLen = 65536;
        }
        int nameLen = b.get(at + 6) & 0xff;
        if (recLen < minRecord || recLen % 4 != 0 || at + recLen > end || nameLen + HEADER > recLen) {
            throw new ErrnoException(Errno.EUCLEAN, where + ", offset " + at + ": bad entry (rec_len " + recLen
                    + ", name_len " + nameLen + ")");
        }
        return recLen;
    }

    /** Adds the in-use entries (inode not 0, name not empty) of {@code [from, to)} to {@code out}. */
    static void parse(ByteBuffer b, int from, int to, int minRecord, String where, List<Dirent> out)
            throws ErrnoException {
        int at = from;
        while (at < to) {
            int recLen = recordLength(b, at, to, minRecord, where);
            long ino = Integer.toUnsignedLong(b.getInt(at));
            int nameLen = b.get(at + 6) & 0xff;
            if (ino != 0 && nameLen > 0) {
                byte[] name = new byte[nameLen];
                b.get(at + HEADER, name);
                out.add(new Dirent(new String(name, StandardCharsets.UTF_8), ino, b.get(at + 7) & 0xff));
            }
            at += recLen;
        }
    }
}
