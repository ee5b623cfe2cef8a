package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * The orphan file (orphan_file): an inode, named by s_orphan_file_inum, whose blocks each hold
 * an array of inode numbers and end in a tail ({@code ext4_orphan_block_tail}: magic 0x0B10CA04,
 * then a crc32c over the block number and the array, seeded with the file's inode number and
 * generation). The kernel lists there the inodes unlinked while open and the truncates under way,
 * and sets orphan_present while any is listed. A read-write mount finishes them as the orphan
 * list's are finished, empties the blocks and clears orphan_present. This writer itself keeps
 * its orphans on the classic list (s_last_orphan), which ext4 and e2fsck also honour.
 */
final class OrphanFile {
    static final int COMPAT_ORPHAN_FILE = 0x1000;
    static final int RO_COMPAT_ORPHAN_PRESENT = 0x10000;
    static final int MAGIC = 0x0B10CA04;
    /** s_orphan_file_inum in the superblock. */
    private static final int INUM_OFFSET = 0x280;
    private static final int TAIL = 8;
    /** Bounds the file's size: the kernel makes it at most a few hundred blocks. */
    private static final long MAX_BLOCKS = 1 << 16;

    private OrphanFile() {
    }

    /** Finishes every inode the orphan file lists, empties it and clears orphan_present; returns how many. */
    static int process(ExtFs fs) throws ErrnoException {
        Superblock sb = fs.superblock();
        if ((sb.featureRoCompat() & RO_COMPAT_ORPHAN_PRESENT) == 0) {
            return 0;
        }
        fs.clearRoCompat(RO_COMPAT_ORPHAN_PRESENT);
        if ((sb.featureCompat() & COMPAT_ORPHAN_FILE) == 0) {
            return 0; // the flag without the file: nothing can be listed
        }
        long inum = Integer.toUnsignedLong(fs.superblockInt(INUM_OFFSET));
        String where = fs.deviceName() + ": orphan file inode " + inum;
        if (inum == 0 || inum > sb.inodesCount()) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_orphan_file_inum out of range (1 to "
                    + sb.inodesCount() + ")");
        }
        Inode file = fs.inode(inum);
        int bs = sb.blockSize();
        long blocks = file.size() / bs;
        if (!file.isRegular() || file.size() % bs != 0 || blocks > MAX_BLOCKS) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": not a regular file of whole blocks (mode 0"
                    + Integer.toOctalString(file.mode()) + ", " + file.size() + " bytes)");
        }
        int seed = 0;
        if (sb.hasMetadataCsum()) {
            seed = Crc32c.updateInt(Crc32c.updateInt(sb.checksumSeed(), (int) inum), file.generation());
        }
        int perBlock = (bs - TAIL) / 4;
        int done = 0;
        for (long lb = 0; lb < blocks; lb++) {
            ExtFs.Mapping m = fs.map(file, lb);
            if (m.physical() == 0) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": block " + lb + " is a hole");
            }
            long phys = m.physical();
            ByteBuffer b = fs.metaForRead(phys, "orphan file block " + lb);
            if (b.getInt(bs - TAIL) != MAGIC) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("%s: block %d (at %d): tail magic 0x%08x, expected"
                        + " 0x%08x", where, lb, phys, b.getInt(bs - TAIL), MAGIC));
            }
            if (sb.hasMetadataCsum() && b.getInt(bs - 4) != checksum(seed, phys, b, perBlock)) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("%s: block %d (at %d): checksum 0x%08x, expected"
                        + " 0x%08x", where, lb, phys, b.getInt(bs - 4), checksum(seed, phys, b, perBlock)));
            }
            boolean any = false;
            for (int i = 0; i < perBlock; i++) {
                long ino = Integer.toUnsignedLong(b.getInt(i * 4));
                if (ino == 0) {
                    continue;
                }
                if (ino < sb.firstIno() || ino > sb.inodesCount()) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": block " + lb + " entry " + i + " names inode "
                            + ino + " (" + sb.firstIno() + " to " + sb.inodesCount() + ")");
                }
                fs.writer().finishOrphan(ino);
                any = true;
                done++;
            }
            if (any) {
                ByteBuffer w = fs.metaForWrite(phys, "orphan file block " + lb);
                for (int i = 0; i < perBlock; i++) {
                    w.putInt(i * 4, 0);
                }
                if (sb.hasMetadataCsum()) {
                    w.putInt(bs - 4, checksum(seed, phys, w, perBlock));
                }
                fs.commitIfFull();
            }
        }
        return done;
    }

    /** ob_checksum: the block's number (64 bits) then its array of inode numbers. */
    private static int checksum(int seed, long phys, ByteBuffer b, int perBlock) {
        ByteBuffer nr = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, phys);
        return Crc32c.update(Crc32c.update(seed, nr, 0, 8), b, 0, perBlock * 4);
    }
}
