package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

/**
 * The internal journal's superblock (block 0 of the journal inode, big-endian), checked as
 * e2fsck's journal load checks it before pass 1: magic and block type (v1 or v2), the block size
 * against the filesystem's, {@code s_maxlen} against the inode's length (longer is "journal too
 * short"), no unknown incompatible or read-only feature bit,
 * at most one user, and with csum v2/v3 the checksum type and the superblock's own CRC32C.
 * ({@code s_first} is not checked: e2fsck -fn calls an empty journal clean whatever it says.)
 */
final class JournalChecks {
    private static final int KNOWN_INCOMPAT = Journal.INCOMPAT_REVOKE | Journal.INCOMPAT_64BIT
            | Journal.INCOMPAT_ASYNC_COMMIT | Journal.INCOMPAT_CSUM_V2 | Journal.INCOMPAT_CSUM_V3
            | Journal.INCOMPAT_FAST_COMMIT;
    private static final int KNOWN_RO_COMPAT = 0;
    private static final int CSUM_TYPE_CRC32C = 4;

    private JournalChecks() {
    }

    static void check(ExtFs fs, Consumer<String> report) throws ErrnoException {
        Superblock sb = fs.superblock();
        if (!sb.hasJournal() || sb.journalInum() == 0) {
            return;
        }
        String where = "journal inode " + sb.journalInum();
        Inode journal;
        ByteBuffer jsb;
        try {
            journal = fs.inode(sb.journalInum());
            ExtFs.Mapping m = fs.map(journal, 0);
            if (m.physical() == 0) {
                report.accept(where + ": its first block (the journal superblock) is a hole");
                return;
            }
            jsb = fs.block(m.physical(), "journal superblock").order(ByteOrder.BIG_ENDIAN);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            report.accept(e.detail());
            return;
        }
        int type = jsb.getInt(4);
        if (jsb.getInt(0) != Journal.MAGIC || (type != Journal.SUPERBLOCK_V1 && type != Journal.SUPERBLOCK_V2)) {
            report.accept(where + ": journal superblock has a bad magic (0x" + Integer.toHexString(jsb.getInt(0))
                    + ") or block type " + type);
            return;
        }
        long blockSize = Integer.toUnsignedLong(jsb.getInt(12));
        if (blockSize != sb.blockSize()) {
            report.accept(where + ": journal superblock's block size " + blockSize + " is not the filesystem's "
                    + sb.blockSize());
            return;
        }
        long blocks = journal.size() / sb.blockSize();
        long maxLen = Integer.toUnsignedLong(jsb.getInt(16));
        if (maxLen > blocks) {
            report.accept(where + ": journal superblock's s_maxlen " + maxLen + " is longer than the journal (" + blocks
                    + " blocks)");
            return;
        }
        if (type != Journal.SUPERBLOCK_V2) {
            return;
        }
        int incompat = jsb.getInt(40);
        int roCompat = jsb.getInt(44);
        if ((incompat & ~KNOWN_INCOMPAT) != 0 || (roCompat & ~KNOWN_RO_COMPAT) != 0) {
            report.accept(String.format("%s: journal superblock has unknown features (incompat 0x%x, ro_compat 0x%x)",
                    where, incompat & ~KNOWN_INCOMPAT, roCompat & ~KNOWN_RO_COMPAT));
            return;
        }
        long users = Integer.toUnsignedLong(jsb.getInt(64));
        if (users > 1) {
            report.accept(where + ": journal superblock names " + users + " users; an internal journal has one");
            return;
        }
        if ((incompat & (Journal.INCOMPAT_CSUM_V2 | Journal.INCOMPAT_CSUM_V3)) != 0) {
            ByteBuffer copy = ByteBuffer.allocate(1024).order(ByteOrder.BIG_ENDIAN);
            copy.put(0, jsb, 0, 1024);
            copy.putInt(0xFC, 0);
            int crc = Crc32c.update(~0, copy, 0, 1024);
            if ((jsb.get(0x50) & 0xff) != CSUM_TYPE_CRC32C) {
                report.accept(where + ": journal superblock's checksum type is " + (jsb.get(0x50) & 0xff) + ", not crc32c");
            } else if (crc != jsb.getInt(0xFC)) {
                report.accept(String.format("%s: journal superblock checksum 0x%08x, expected 0x%08x", where,
                        jsb.getInt(0xFC), crc));
            }
        }
    }
}
