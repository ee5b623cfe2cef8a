package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The inside of an xattr block, as e2fsck's pass 1 checks it: one block ({@code h_blocks}), its
 * checksum (metadata_csum), every entry and value inside the block and overlapping nothing else,
 * and each entry's {@code e_hash} (e2fsck takes the hash of the name's bytes as signed chars
 * too, as some kernels computed it).
 */
final class XattrBlockCheck {
    private static final int HEADER = 32;

    private XattrBlockCheck() {
    }

    static void check(ExtFs fs, long blockNr, ByteBuffer block, Consumer<String> report) {
        Superblock sb = fs.superblock();
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        String where = "xattr block " + blockNr;
        if (b.getInt(8) != 1) {
            report.accept(where + " says it spans " + b.getInt(8) + " blocks");
            return;
        }
        if (sb.hasMetadataCsum()) {
            int crc = ExtChecksums.xattrBlockChecksum(sb, blockNr, b);
            if (crc != b.getInt(16)) {
                report.accept(String.format("%s: checksum 0x%08x, expected 0x%08x", where, b.getInt(16), crc));
                return;
            }
        }
        List<Xattrs.Entry> entries;
        try {
            entries = Xattrs.blockEntries(b, where);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EUCLEAN) {
                report.accept(e.detail());
            }
            return; // else a value in an inode (ea_inode), which this check does not follow
        }
        List<int[]> regions = new ArrayList<>(); // [start, end) of what the block holds
        int at = HEADER;
        for (Xattrs.Entry e : entries) {
            int nameLen = b.get(at) & 0xff;
            int size = (16 + nameLen + 3) & ~3;
            int valueOffs = b.getShort(at + 2) & 0xffff;
            int valueSize = b.getInt(at + 8);
            int storedHash = b.getInt(at + 12);
            boolean inValueInode = b.getInt(at + 4) != 0; // ea_inode: e_value_inum, the value is not in this block
            if (valueSize > 0 && !inValueInode) {
                regions.add(new int[] {valueOffs, valueOffs + ((valueSize + 3) & ~3)});
            }
            if (storedHash != Xattrs.entryHash(e) && storedHash != signedHash(e)) {
                report.accept(where + ": entry " + e.fullName() + " has hash 0x" + Integer.toHexString(storedHash)
                        + ", expected 0x" + Integer.toHexString(Xattrs.entryHash(e)));
                return;
            }
            at += size;
        }
        regions.add(new int[] {0, at + 4}); // header, entries and the end marker
        for (int i = 0; i < regions.size(); i++) {
            int[] r = regions.get(i);
            if (r[1] > b.capacity()) {
                report.accept(where + ": a value ends at " + r[1] + ", past the block");
                return;
            }
            for (int k = i + 1; k < regions.size(); k++) {
                int[] o = regions.get(k);
                if (r[0] < o[1] && o[0] < r[1]) {
                    report.accept(where + ": entries and values overlap at offsets " + Math.max(r[0], o[0]));
                    return;
                }
            }
        }
    }

    /** e_hash with the name's bytes taken as signed chars. */
    private static int signedHash(Xattrs.Entry e) {
        int h = 0;
        for (byte c : e.name()) {
            h = (h << 5) ^ (h >>> 27) ^ c;
        }
        return Xattrs.valueHash(h, e.value());
    }
}
