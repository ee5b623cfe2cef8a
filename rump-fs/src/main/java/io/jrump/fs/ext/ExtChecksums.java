package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Rewrites every metadata_csum checksum of an ext4 filesystem to match its metadata as it now
 * stands: superblock, group descriptors, bitmaps, inodes, directory blocks, extent blocks and
 * xattr blocks. A tool for fuzzing — a mutated image gets past the checksum gates so that the
 * code behind them is exercised — and for images edited by hand on purpose. It trusts nothing it
 * reads (every pointer is bounds-checked, a structure it cannot follow is skipped), but it makes
 * corruption look valid: never run it on a filesystem you want checked.
 */
public final class ExtChecksums {
    private ExtChecksums() {
    }

    /** Rewrites the checksums; returns how many structures it sealed (0 without metadata_csum). */
    public static int rewrite(BlockDevice dev) throws ErrnoException {
        ByteBuffer raw = ByteBuffer.allocate(Superblock.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(Superblock.OFFSET, raw);
        if ((raw.getShort(56) & 0xffff) != Superblock.MAGIC
                || (raw.getInt(100) & Superblock.RO_COMPAT_METADATA_CSUM) == 0) {
            return 0;
        }
        raw.putInt(1020, Crc32c.update(~0, raw, 0, 1020));
        dev.write(Superblock.OFFSET, raw.clear());
        Superblock sb = Superblock.parse(raw, dev.size(), dev.name());
        int sealed = 1 + sealGroups(dev, sb);
        ExtFs fs = ExtFs.open(dev);
        for (long ino = 1; ino <= sb.inodesCount(); ino++) {
            try {
                sealed += sealInodeAndItsBlocks(dev, fs, sb, ino);
            } catch (ErrnoException e) {
                // A structure it cannot follow stays as it is: the fuzz target meets it as corruption.
            }
        }
        dev.flush();
        return sealed;
    }

    /** Bitmap checksums into the descriptors, then the descriptors' own. */
    private static int sealGroups(BlockDevice dev, Superblock sb) throws ErrnoException {
        long bytes = sb.groupCount() * GdtLayout.descSize(sb);
        long gdtBlocks = GdtLayout.descBlocks(sb);
        if (bytes > (64 << 20)) {
            return 0;
        }
        ByteBuffer gdt = ByteBuffer.allocate((int) (gdtBlocks * sb.blockSize())).order(ByteOrder.LITTLE_ENDIAN);
        try {
            ExtFs.readDescriptorBlocks(dev, sb, gdt);
        } catch (ErrnoException e) {
            return 0; // a table outside the filesystem stays as it is
        }
        GroupDescriptors gd = new GroupDescriptors(sb, gdt);
        ByteBuffer block = ByteBuffer.allocate(sb.blockSize());
        for (long g = 0; g < sb.groupCount(); g++) {
            long bb = gd.word(g, GroupDescriptors.BLOCK_BITMAP);
            if ((gd.flags(g) & GroupDescriptors.BLOCK_UNINIT) == 0 && bb > 0 && bb < sb.blocksCount()) {
                dev.read(bb * sb.blockSize(), block.clear());
                gd.setBitmapChecksum(g, GroupDescriptors.BLOCK_BITMAP_CSUM,
                        Crc32c.update(sb.checksumSeed(), block, 0, (int) Math.min(sb.blockSize(), sb.clustersPerGroup() / 8)));
            }
            long ib = gd.word(g, GroupDescriptors.INODE_BITMAP);
            if ((gd.flags(g) & GroupDescriptors.INODE_UNINIT) == 0 && ib > 0 && ib < sb.blocksCount()) {
                dev.read(ib * sb.blockSize(), block.clear());
                gd.setBitmapChecksum(g, GroupDescriptors.INODE_BITMAP_CSUM,
                        Crc32c.update(sb.checksumSeed(), block, 0, (int) Math.min(sb.blockSize(), sb.inodesPerGroup() / 8)));
            }
            gd.setFlags(g, gd.flags(g)); // marks it changed, so it is sealed below
        }
        int n = gd.sealChanged().cardinality();
        for (long k = 0; k < gdtBlocks; k++) {
            dev.write(GdtLayout.primary(sb, k) * sb.blockSize(),
                    gdt.slice((int) (k * sb.blockSize()), sb.blockSize()));
        }
        return n;
    }

    private static int sealInodeAndItsBlocks(BlockDevice dev, ExtFs fs, Superblock sb, long ino) throws ErrnoException {
        long group = (ino - 1) / sb.inodesPerGroup();
        if ((fs.groupFlags(group) & GroupDescriptors.INODE_UNINIT) != 0) {
            return 0;
        }
        long byteInTable = (ino - 1) % sb.inodesPerGroup() * sb.inodeSize();
        long tableBlock = fs.inodeTable(group) + byteInTable / sb.blockSize();
        if (tableBlock <= 0 || tableBlock >= sb.blocksCount()) {
            return 0;
        }
        int bs = sb.blockSize();
        ByteBuffer table = ByteBuffer.allocate(bs).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(tableBlock * bs, table);
        int at = (int) (byteInTable % bs);
        ByteBuffer inode = ByteBuffer.allocate(sb.inodeSize()).order(ByteOrder.LITTLE_ENDIAN);
        inode.put(0, table, at, sb.inodeSize());
        sealInode(sb, ino, inode);
        table.put(at, inode, 0, sb.inodeSize());
        dev.write(tableBlock * bs, table.clear());
        RawInode raw = new RawInode(ino, inode.array());
        if (raw.links() == 0 || raw.mode() == 0) {
            return 1;
        }
        int sealed = 1;
        int seed = fs.inodeSeed(ino, raw.generation());
        Inode parsed = raw.parsed();
        if (parsed.usesExtents()) {
            sealed += sealExtentBlocks(dev, sb, raw.iblock(), seed, 0);
        }
        if (parsed.isDir() && !parsed.hasInlineData() && parsed.size() / bs <= 1 << 16) {
            ByteBuffer b = ByteBuffer.allocate(bs).order(ByteOrder.LITTLE_ENDIAN);
            for (long lb = 0; lb < parsed.size() / bs; lb++) {
                long p = fs.map(parsed, lb).physical();
                if (p <= 0 || p >= sb.blocksCount()) {
                    continue;
                }
                dev.read(p * bs, b.clear());
                if ((parsed.flags() & RawInode.INDEX_FL) != 0 && ExtFs.isIndexBlock(b, lb, bs)) {
                    if (sealDxTail(seed, b, lb, bs)) {
                        dev.write(p * bs, b.clear());
                        sealed++;
                    }
                } else if (ExtFs.hasDirTail(b, bs)) {
                    b.putInt(bs - 4, Crc32c.update(seed, b, 0, bs - DirWriter.TAIL));
                    dev.write(p * bs, b.clear());
                    sealed++;
                }
            }
        }
        long acl = raw.fileAcl();
        if (acl > 0 && acl < sb.blocksCount()) {
            ByteBuffer b = ByteBuffer.allocate(bs).order(ByteOrder.LITTLE_ENDIAN);
            dev.read(acl * bs, b);
            if (b.getInt(0) == Xattrs.MAGIC) {
                b.putInt(16, xattrBlockChecksum(sb, acl, b));
                dev.write(acl * bs, b.clear());
                sealed++;
            }
        }
        return sealed;
    }

    /**
     * Seals the dx_tail of an htree index block — the root (logical block 0, count/limit after
     * its 8-byte dx_root_info) or an interior node (count/limit after the empty record) — if its
     * limit leaves room for the tail and its count is within the limit; returns whether it did.
     */
    static boolean sealDxTail(int seed, ByteBuffer b, long logical, int bs) {
        int countOffset = logical == 0 ? 32 : 8;
        int limit = b.getShort(countOffset) & 0xffff;
        int count = b.getShort(countOffset + 2) & 0xffff;
        int tail = countOffset + limit * 8;
        if (count > limit || tail + 8 > bs) {
            return false;
        }
        b.putInt(tail + 4, dxChecksum(seed, b, countOffset, count, tail));
        return true;
    }

    /** The CRC32C of a dx block: its entries up to {@code count}, then the dx_tail's reserved word, then a zero checksum. */
    static int dxChecksum(int seed, ByteBuffer b, int countOffset, int count, int tail) {
        int crc = Crc32c.update(seed, b, 0, countOffset + count * 8);
        crc = Crc32c.update(crc, b, tail, 4);
        return Crc32c.updateInt(crc, 0);
    }

    /** Seals the extent blocks under {@code node} (depth-first, at most five levels). */
    private static int sealExtentBlocks(BlockDevice dev, Superblock sb, ByteBuffer node, int seed, int level)
            throws ErrnoException {
        int entries = node.getShort(2) & 0xffff;
        int depth = node.getShort(6) & 0xffff;
        if ((node.getShort(0) & 0xffff) != ExtFs.EXTENT_MAGIC || depth == 0 || level > ExtFs.MAX_EXTENT_DEPTH
                || 12 + 12L * entries > node.capacity()) {
            return 0;
        }
        int sealed = 0;
        int bs = sb.blockSize();
        for (int i = 0; i < entries; i++) {
            int at = 12 + 12 * i;
            long child = ((long) (node.getShort(at + 8) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 4));
            if (child <= 0 || child >= sb.blocksCount()) {
                continue;
            }
            ByteBuffer b = ByteBuffer.allocate(bs).order(ByteOrder.LITTLE_ENDIAN);
            dev.read(child * bs, b);
            int max = b.getShort(4) & 0xffff;
            if ((b.getShort(0) & 0xffff) == ExtFs.EXTENT_MAGIC && 12 + 12L * max + 4 <= bs) {
                b.putInt(12 + 12 * max, Crc32c.update(seed, b, 0, 12 + 12 * max));
                dev.write(child * bs, b.clear());
                sealed++;
                sealed += sealExtentBlocks(dev, sb, b, seed, level + 1);
            }
        }
        return sealed;
    }

    /** Whether an inode at {@code offset} has room for i_checksum_hi (its extra size reaches it). */
    static boolean hasInodeChecksumHi(Superblock sb, ByteBuffer b, int offset) {
        return sb.inodeSize() > 128 && (b.getShort(offset + 128) & 0xffff) >= 4;
    }

    /** The CRC32C an inode at {@code offset} should carry: seed, number, generation, the inode with its checksum fields zeroed. */
    static int inodeChecksum(Superblock sb, long number, ByteBuffer b, int offset) {
        int size = sb.inodeSize();
        ByteBuffer copy = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(0, b, offset, size);
        copy.putShort(124, (short) 0);
        if (hasInodeChecksumHi(sb, copy, 0)) {
            copy.putShort(130, (short) 0);
        }
        int crc = Crc32c.updateInt(sb.checksumSeed(), (int) number);
        crc = Crc32c.updateInt(crc, copy.getInt(100));
        return Crc32c.update(crc, copy, 0, size);
    }

    /** Sets an inode's checksum (i_checksum_lo, and _hi when the extra space holds it). */
    static void sealInode(Superblock sb, long number, ByteBuffer b) {
        if (!sb.hasMetadataCsum()) {
            return;
        }
        int crc = inodeChecksum(sb, number, b, 0);
        b.putShort(124, (short) crc);
        if (hasInodeChecksumHi(sb, b, 0)) {
            b.putShort(130, (short) (crc >>> 16));
        }
    }

    /** An xattr block's CRC32C: seeded with the block number, not an inode (blocks can be shared), its field zeroed. */
    static int xattrBlockChecksum(Superblock sb, long block, ByteBuffer b) {
        ByteBuffer copy = ByteBuffer.allocate(b.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(0, b, 0, b.capacity());
        copy.putInt(16, 0);
        int crc = Crc32c.updateInt(Crc32c.updateInt(sb.checksumSeed(), (int) block), (int) (block >>> 32));
        return Crc32c.update(crc, copy, 0, copy.capacity());
    }
}
