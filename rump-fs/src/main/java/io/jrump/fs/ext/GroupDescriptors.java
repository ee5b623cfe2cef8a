package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/**
 * The group descriptor table ({@code struct ext4_group_desc} × groups) held in memory: field
 * access with the 32/64-bit halves joined, the descriptor checksums (metadata_csum's CRC32C or
 * gdt_csum's CRC16), and which descriptors changed since the last commit.
 */
final class GroupDescriptors {
    static final int INODE_UNINIT = 0x1;
    static final int BLOCK_UNINIT = 0x2;
    static final int INODE_ZEROED = 0x4;

    // Offsets of the low halves; the high halves sit at +0x20 (32-bit fields) in 64-byte descriptors.
    static final int BLOCK_BITMAP = 0x0;
    static final int INODE_BITMAP = 0x4;
    static final int INODE_TABLE = 0x8;
    static final int FREE_BLOCKS = 0xC;
    static final int FREE_INODES = 0xE;
    static final int USED_DIRS = 0x10;
    static final int FLAGS = 0x12;
    static final int BLOCK_BITMAP_CSUM = 0x18;
    static final int INODE_BITMAP_CSUM = 0x1A;
    static final int ITABLE_UNUSED = 0x1C;
    static final int CHECKSUM = 0x1E;

    private final Superblock sb;
    private final ByteBuffer table;
    private final int descSize;
    private final BitSet changed = new BitSet();
    /** While an operation runs: each touched descriptor's bytes before it, to undo a failed operation. */
    private java.util.Map<Integer, byte[]> undo;
    private BitSet changedBefore;

    GroupDescriptors(Superblock sb, ByteBuffer table) {
        this.sb = sb;
        this.table = table.order(ByteOrder.LITTLE_ENDIAN);
        this.descSize = sb.has64bit() ? sb.descSize() : 32;
    }

    int descSize() {
        return descSize;
    }

    ByteBuffer table() {
        return table;
    }

    private int at(long group) {
        return (int) (group * descSize);
    }

    void begin() {
        undo = new java.util.HashMap<>();
        changedBefore = (BitSet) changed.clone();
    }

    void end() {
        undo = null;
    }

    void rollback() {
        if (undo != null) {
            undo.forEach((g, bytes) -> table.put(at(g), bytes));
            changed.clear();
            changed.or(changedBefore);
            undo = null;
        }
    }

    /** Called before a descriptor changes. */
    private void touch(long group) {
        changed.set((int) group);
        if (undo != null && !undo.containsKey((int) group)) {
            byte[] bytes = new byte[descSize];
            table.get(at(group), bytes);
            undo.put((int) group, bytes);
        }
    }

    private boolean wide() {
        return descSize >= 64;
    }

    /** A 32-bit field (block numbers) widened with its high half. */
    long word(long group, int lo) {
        long v = Integer.toUnsignedLong(table.getInt(at(group) + lo));
        return wide() ? v | (Integer.toUnsignedLong(table.getInt(at(group) + lo + 0x20)) << 32) : v;
    }

    /** A 16-bit field (counts) widened with its high half. */
    long half(long group, int lo) {
        long v = table.getShort(at(group) + lo) & 0xffff;
        return wide() ? v | ((long) (table.getShort(at(group) + lo + 0x20) & 0xffff) << 16) : v;
    }

    void setHalf(long group, int lo, long value) {
        touch(group);
        table.putShort(at(group) + lo, (short) value);
        if (wide()) {
            table.putShort(at(group) + lo + 0x20, (short) (value >>> 16));
        }
    }

    int flags(long group) {
        return table.getShort(at(group) + FLAGS) & 0xffff;
    }

    void setFlags(long group, int flags) {
        touch(group);
        table.putShort(at(group) + FLAGS, (short) flags);
    }

    /** Stores a bitmap checksum: the low 16 bits, and the high 16 in 64-byte descriptors. */
    void setBitmapChecksum(long group, int lo, int crc) {
        touch(group);
        table.putShort(at(group) + lo, (short) crc);
        if (wide()) {
            table.putShort(at(group) + lo + 0x20, (short) (crc >>> 16));
        }
    }

    /** The checksum a descriptor should carry; 0 when the filesystem has neither checksum feature. */
    int checksum(long group) {
        ByteBuffer d = ByteBuffer.allocate(descSize).order(ByteOrder.LITTLE_ENDIAN);
        d.put(0, table, at(group), descSize);
        if (sb.hasMetadataCsum()) {
            d.putShort(CHECKSUM, (short) 0);
            return Crc32c.update(Crc32c.updateInt(sb.checksumSeed(), (int) group), d, 0, descSize) & 0xffff;
        }
        if ((sb.featureRoCompat() & Superblock.RO_COMPAT_GDT_CSUM) != 0) {
            int crc = Crc16.update(0xffff, ByteBuffer.wrap(sb.uuid()), 0, 16);
            crc = Crc16.updateInt(crc, (int) group);
            crc = Crc16.update(crc, d, 0, CHECKSUM);
            return Crc16.update(crc, d, CHECKSUM + 2, descSize - CHECKSUM - 2);
        }
        return 0;
    }

    boolean hasChecksums() {
        return sb.hasMetadataCsum() || (sb.featureRoCompat() & Superblock.RO_COMPAT_GDT_CSUM) != 0;
    }

    void verify(String device) throws ErrnoException {
        if (!hasChecksums()) {
            return;
        }
        for (long g = 0; g < sb.groupCount(); g++) {
            int stored = table.getShort(at(g) + CHECKSUM) & 0xffff;
            int crc = checksum(g);
            if (crc != stored) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("%s: group descriptor %d: checksum 0x%04x, expected 0x%04x",
                        device, g, stored, crc));
            }
        }
    }

    /** Seals the changed descriptors with their checksums; returns which groups changed, and forgets them. */
    BitSet sealChanged() {
        BitSet out = (BitSet) changed.clone();
        for (int g = out.nextSetBit(0); g >= 0; g = out.nextSetBit(g + 1)) {
            if (hasChecksums()) {
                table.putShort(at(g) + CHECKSUM, (short) checksum(g));
            }
        }
        changed.clear();
        return out;
    }
}
