package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Xattr values kept in inodes of their own (ea_inode): a regular file with EA_INODE_FL, linked
 * from no directory, holding the value as its data. Its i_atime holds the crc32c of the value
 * (seeded as metadata checksums are), and i_ctime (high word) with i_version (low word) a 64-bit
 * count of the entries that point at it. An inode that owns such an entry is charged the value's
 * blocks in its own i_blocks, as ext4 charges them to its quota.
 */
final class EaInodes {
    private final ExtFs fs;
    private final Superblock sb;

    EaInodes(ExtFs fs) {
        this.fs = fs;
        this.sb = fs.superblock();
    }

    static boolean enabled(Superblock sb) {
        return (sb.featureIncompat() & Superblock.INCOMPAT_EA_INODE) != 0;
    }

    /** The value hash kept in i_atime: crc32c seeded with the checksum seed, which ea_inode sets even without metadata_csum. */
    int valueHash(byte[] value) {
        int seed = sb.hasMetadataCsum() ? sb.checksumSeed()
                : Crc32c.update(~0, ByteBuffer.wrap(sb.uuid()), 0, 16);
        return Crc32c.update(seed, ByteBuffer.wrap(value), 0, value.length);
    }

    /**
     * Reads the value of {@code e} from its inode, for the inode {@code owner}: the inode must be
     * one (EA_INODE_FL), of the entry's size, and its hash must match the value — or, as the
     * first form of this feature left them, point back at its owner (i_mtime and i_generation).
     */
    byte[] read(Xattrs.Entry e, RawInode owner, String where) throws ErrnoException {
        long inum = e.valueInum();
        String what = where + ": xattr " + e.fullName() + " in inode " + inum;
        if (inum < sb.firstIno() || inum > sb.inodesCount()) {
            throw new ErrnoException(Errno.EUCLEAN, what + ": no such inode (" + sb.firstIno() + " to "
                    + sb.inodesCount() + ")");
        }
        RawInode raw = fs.readRawInode(inum);
        Inode ea = raw.parsed();
        if ((ea.flags() & Inode.EA_INODE_FL) == 0 || !ea.isRegular()) {
            throw new ErrnoException(Errno.EUCLEAN, what + ": not an xattr value inode (flags 0x"
                    + Integer.toHexString(ea.flags()) + ", mode 0" + Integer.toOctalString(ea.mode()) + ")");
        }
        if (ea.size() != e.valueLen()) {
            throw new ErrnoException(Errno.EUCLEAN, what + ": holds " + ea.size() + " bytes, the entry says "
                    + e.valueLen());
        }
        byte[] v = new byte[e.valueLen()];
        ByteBuffer dst = ByteBuffer.wrap(v);
        while (dst.hasRemaining()) {
            int n = fs.read(ea, dst.position(), dst);
            if (n <= 0) {
                throw new ErrnoException(Errno.EUCLEAN, what + ": data ends at byte " + dst.position());
            }
            dst.position(dst.position() + n);
        }
        int stored = raw.b.getInt(8);
        boolean backPointer = Integer.toUnsignedLong(raw.b.getInt(16)) == owner.number
                && raw.generation() == owner.generation();
        if (valueHash(v) != stored && !backPointer) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: value hash 0x%08x, i_atime says 0x%08x", what,
                    valueHash(v), stored));
        }
        return v;
    }

    /** The entry {@code e} with its value moved into a new inode near {@code owner}, with no references yet. */
    Xattrs.Entry store(Xattrs.Entry e, long owner) throws ErrnoException {
        int hash = valueHash(e.value());
        long inum = fs.writer().createEaInode(owner, e.value());
        RawInode n = fs.readRawInode(inum);
        n.atime(Integer.toUnsignedLong(hash) * 1_000_000_000L);
        refs(n, 0);
        fs.writeInode(n);
        return e.inInode(inum, hash);
    }

    private static long refs(RawInode n) {
        return Integer.toUnsignedLong(n.b.getInt(12)) << 32 | Integer.toUnsignedLong(n.b.getInt(0x24));
    }

    private void refs(RawInode n, long count) {
        n.b.putInt(12, (int) (count >>> 32));
        n.b.putInt(0x24, (int) count);
        int extra = sb.inodeSize() > 128 ? n.b.getShort(128) & 0xffff : 0;
        if (extra >= 8) {
            n.b.putInt(132, 0); // no nanoseconds or epoch bits on the count's high word
        }
        if (extra >= 28) {
            n.b.putInt(0x98, 0); // i_version_hi: the count uses the low word only
        }
    }

    /** Adds {@code by} to the count of references per entry of {@code entries} that keeps its value in an inode. */
    static void count(Map<Long, Long> delta, List<Xattrs.Entry> entries, long by) {
        for (Xattrs.Entry e : entries) {
            if (e.inEaInode()) {
                delta.merge(e.valueInum(), by, Long::sum);
            }
        }
    }

    /** Sectors (i_blocks units) the owner is charged for the values of {@code entries} kept in inodes. */
    static long chargedSectors(List<Xattrs.Entry> entries, int blockSize) {
        long n = 0;
        for (Xattrs.Entry e : entries) {
            if (e.inEaInode()) {
                n += ((long) e.valueLen() + blockSize - 1) / blockSize * (blockSize / 512);
            }
        }
        return n;
    }

    /** Applies changes of reference counts; an inode left with none is freed. */
    void adjust(Map<Long, Long> delta) throws ErrnoException {
        for (Map.Entry<Long, Long> d : delta.entrySet()) {
            if (d.getValue() == 0) {
                continue;
            }
            RawInode n = fs.readRawInode(d.getKey());
            if ((n.flags() & Inode.EA_INODE_FL) == 0) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + d.getKey()
                        + " is referenced as an xattr value but lacks EA_INODE_FL");
            }
            long count = refs(n) + d.getValue();
            if (count < 0) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": xattr value inode " + d.getKey()
                        + " has " + refs(n) + " references, fewer than the " + -d.getValue() + " dropped");
            }
            if (count == 0) {
                fs.writer().freeEaInode(d.getKey());
            } else {
                refs(n, count);
                fs.writeInode(n);
            }
        }
    }
}
