package io.jrump.fuzz.kit.meta;

import io.jrump.fuzz.kit.meta.MetadataMap.Region;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The partition tables of a disk image of 512-byte sectors: the MBR (boot code left out: its
 * 64-byte partition table and signature), each EBR of an extended partition's chain, and for a
 * GPT the primary and backup headers and, of each entry array, the entries in use plus the one
 * after them (so that mutations can add a partition). The disk's contents are left out.
 */
public final class PartitionMetadata {
    private static final int SECTOR = 512;
    private static final long SIGNATURE = 0x5452415020494645L; // "EFI PART"

    private PartitionMetadata() {
    }

    /** The map of {@code image}, a disk with an MBR (protective, for a GPT) in sector 0. */
    public static MetadataMap map(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        List<Region> regions = new ArrayList<>();
        regions.add(new Region(446, 66, "MBR partition table and signature"));
        for (int i = 0; i < 4; i++) {
            int type = image[446 + 16 * i + 4] & 0xff;
            long start = Integer.toUnsignedLong(b.getInt(446 + 16 * i + 8));
            if (type == 0x05 || type == 0x0f || type == 0x85) {
                ebrs(b, start, regions);
            }
        }
        if (image.length >= 2 * SECTOR && b.getLong(SECTOR) == SIGNATURE) {
            long primary = 1;
            long backup = b.getLong(SECTOR + 32);
            gpt(b, primary, "primary", regions);
            if (backup > 0 && (backup + 1) * SECTOR <= image.length && b.getLong((int) (backup * SECTOR)) == SIGNATURE) {
                gpt(b, backup, "backup", regions);
            }
        }
        return MetadataMap.of(regions, image.length);
    }

    private static void ebrs(ByteBuffer b, long extendedStart, List<Region> regions) {
        long at = extendedStart;
        for (int n = 0; n < 64 && at > 0 && (at + 1) * SECTOR <= b.capacity(); n++) {
            regions.add(new Region(at * SECTOR + 446, 66, "EBR " + n + " at sector " + at));
            int next = (int) (at * SECTOR + 446 + 16);
            long link = Integer.toUnsignedLong(b.getInt(next + 8));
            if (link == 0) {
                return;
            }
            at = extendedStart + link;
        }
    }

    private static void gpt(ByteBuffer b, long lba, String which, List<Region> regions) {
        int h = (int) (lba * SECTOR);
        int headerSize = Math.max(92, Math.min(SECTOR, b.getInt(h + 12)));
        regions.add(new Region(h, headerSize, "GPT " + which + " header"));
        long entries = b.getLong(h + 72);
        int count = b.getInt(h + 80);
        int size = b.getInt(h + 84);
        int used = 0;
        for (int i = 0; i < count && (entries * SECTOR + (long) (i + 1) * size) <= b.capacity(); i++) {
            int e = (int) (entries * SECTOR + (long) i * size);
            if (b.getLong(e) != 0 || b.getLong(e + 8) != 0) {
                used = i + 1;
            }
        }
        int listed = Math.min(count, used + 1);
        regions.add(new Region(entries * SECTOR, listed * size, "GPT " + which + " entries 1-" + listed));
    }

    /**
     * Rewrites the CRC32s of both GPT headers (the entry array's and the header's own), each
     * header found where the protective MBR's disk has it: LBA 1, and the backup at the primary's
     * alternate LBA or else the last sector. A header without the signature, or whose fields
     * point outside the image, stays as it is.
     */
    public static void fixChecksums(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long last = image.length / SECTOR - 1;
        long alternate = last;
        if (image.length >= 2 * SECTOR && b.getLong(SECTOR) == SIGNATURE) {
            alternate = b.getLong(SECTOR + 32);
            seal(b, 1);
        }
        if (alternate > 1 && alternate <= last && b.getLong((int) (alternate * SECTOR)) == SIGNATURE) {
            seal(b, alternate);
        } else if (alternate != last && last > 1 && b.getLong((int) (last * SECTOR)) == SIGNATURE) {
            seal(b, last);
        }
    }

    private static void seal(ByteBuffer b, long lba) {
        int h = (int) (lba * SECTOR);
        int headerSize = b.getInt(h + 12);
        long entries = b.getLong(h + 72);
        long count = Integer.toUnsignedLong(b.getInt(h + 80));
        long entrySize = Integer.toUnsignedLong(b.getInt(h + 84));
        // Both factors bounded by the image first: their product could pass 2^63 and turn negative.
        long arrayBytes = count <= b.capacity() && entrySize <= b.capacity() ? count * entrySize : Long.MAX_VALUE;
        if (entries > 0 && entries < b.capacity() / SECTOR && arrayBytes <= b.capacity() - entries * SECTOR) {
            CRC32 crc = new CRC32();
            crc.update(b.array(), (int) (entries * SECTOR), (int) arrayBytes);
            b.putInt(h + 88, (int) crc.getValue());
        }
        if (headerSize >= 92 && headerSize <= SECTOR) {
            b.putInt(h + 16, 0);
            CRC32 crc = new CRC32();
            crc.update(b.array(), h, headerSize);
            b.putInt(h + 16, (int) crc.getValue());
        }
    }
}
