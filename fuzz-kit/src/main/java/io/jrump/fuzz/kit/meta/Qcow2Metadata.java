package io.jrump.fuzz.kit.meta;

import io.jrump.fuzz.kit.meta.MetadataMap.Region;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The metadata of a qcow2 image file: the header cluster (header, extensions, backing file
 * name), the active L1 table and the L2 tables it points at, the refcount table and its refcount
 * blocks, and the snapshot table with each snapshot's L1 table and their L2 tables. Guest data
 * clusters (compressed or not) are left out, and so are the bitmap directory and bitmap tables
 * (not mapped). qcow2 has no checksums: {@link ChecksumFixer#NONE} goes with it.
 */
public final class Qcow2Metadata {
    private static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;

    private final ByteBuffer img;
    private final int clusterSize;
    private final boolean extendedL2;
    private final List<Region> regions = new ArrayList<>();

    private Qcow2Metadata(byte[] image) {
        img = ByteBuffer.wrap(image); // big-endian, as qcow2
        clusterSize = 1 << img.getInt(20);
        extendedL2 = img.getInt(4) >= 3 && (img.getLong(72) & 0x10) != 0;
    }

    /** The map of {@code image}, a qcow2 file ("QFI\xfb" at 0). */
    public static MetadataMap map(byte[] image) {
        if (image.length < 104 || ByteBuffer.wrap(image).getInt(0) != 0x514649fb) {
            throw new IllegalArgumentException("not a qcow2 image: no magic at 0");
        }
        Qcow2Metadata m = new Qcow2Metadata(image);
        m.walk();
        return MetadataMap.of(m.regions, image.length);
    }

    private void walk() {
        regions.add(new Region(0, clusterSize, "qcow2 header cluster"));
        l1(img.getLong(40), img.getInt(36), "active");
        long refTable = img.getLong(48);
        int refClusters = img.getInt(56);
        if (inImage(refTable, (long) refClusters * clusterSize)) {
            regions.add(new Region(refTable, refClusters * clusterSize, "refcount table"));
            for (int i = 0; i < refClusters * clusterSize / 8; i++) {
                long block = img.getLong((int) (refTable + 8L * i)) & ~0x1ffL;
                if (block != 0 && inImage(block, clusterSize)) {
                    regions.add(new Region(block, clusterSize, "refcount block " + i));
                }
            }
        }
        snapshots(img.getLong(64), img.getInt(60));
    }

    private void l1(long offset, int entries, String which) {
        if (entries <= 0 || !inImage(offset, 8L * entries)) {
            return;
        }
        regions.add(new Region(offset, 8 * entries, "L1 table (" + which + ")"));
        for (int i = 0; i < entries; i++) {
            long l2 = img.getLong((int) (offset + 8L * i)) & OFFSET_MASK;
            if (l2 != 0 && inImage(l2, clusterSize)) {
                regions.add(new Region(l2, clusterSize, "L2 table " + i + " (" + which + (extendedL2 ? ", extended" : "") + ")"));
            }
        }
    }

    private void snapshots(long offset, int count) {
        long at = offset;
        long start = offset;
        for (int i = 0; i < count && i < 64 && inImage(at, 40); i++) {
            long l1 = img.getLong((int) at);
            int l1Size = img.getInt((int) at + 8);
            int idSize = img.getShort((int) at + 12) & 0xffff;
            int nameSize = img.getShort((int) at + 14) & 0xffff;
            long extra = Integer.toUnsignedLong(img.getInt((int) at + 36));
            l1(l1, l1Size, "snapshot " + (i + 1));
            at += 40 + extra + idSize + nameSize;
            at = (at + 7) / 8 * 8;
        }
        long end = Math.min(at, img.capacity()); // the last entry's padding may lie past the file's end
        if (count > 0 && inImage(start, end - start)) {
            regions.add(new Region(start, (int) (end - start), "snapshot table (" + count + " entries)"));
        }
    }

    private boolean inImage(long offset, long length) {
        return offset > 0 && length >= 0 && offset + length <= img.capacity();
    }
}
