package io.jrump.fuzz.kit.meta;

import io.jrump.fuzz.kit.meta.MetadataMap.Region;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The metadata of a FAT12/16/32 image: the boot sector (BPB; boot code left out), the FAT32
 * FSInfo sector, every FAT copy, the FAT12/16 root directory region, and every directory's
 * clusters (found by walking the tree from the root, following the first FAT's chains). File
 * data clusters are left out. FAT has no checksums: {@link ChecksumFixer#NONE} goes with it.
 */
public final class FatMetadata {
    private final ByteBuffer img;
    private final int bytesPerSector;
    private final int clusterBytes;
    private final long fatStart;
    private final long dataStart;
    private final int fatBits;
    private final long clusters;
    private final List<Region> regions = new ArrayList<>();

    private FatMetadata(byte[] image) {
        img = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        bytesPerSector = img.getShort(11) & 0xffff;
        clusterBytes = bytesPerSector * (img.get(13) & 0xff);
        int reserved = img.getShort(14) & 0xffff;
        int fats = img.get(16) & 0xff;
        int rootEntries = img.getShort(17) & 0xffff;
        long totalSectors = (img.getShort(19) & 0xffff) != 0 ? img.getShort(19) & 0xffff : Integer.toUnsignedLong(img.getInt(32));
        long fatSectors = (img.getShort(22) & 0xffff) != 0 ? img.getShort(22) & 0xffff : Integer.toUnsignedLong(img.getInt(36));
        long rootSectors = (rootEntries * 32L + bytesPerSector - 1) / bytesPerSector;
        fatStart = (long) reserved * bytesPerSector;
        dataStart = fatStart + fats * fatSectors * bytesPerSector + rootSectors * bytesPerSector;
        clusters = (totalSectors * bytesPerSector - dataStart) / clusterBytes;
        fatBits = rootEntries == 0 ? 32 : clusters < 4085 ? 12 : 16;
        regions.add(new Region(0, 62, "FAT boot sector (BPB)"));
        regions.add(new Region(510, 2, "FAT boot sector signature"));
        if (fatBits == 32) {
            regions.add(new Region(0, 90, "FAT32 boot sector (BPB)"));
            int info = img.getShort(48) & 0xffff;
            if (info > 0 && info < reserved) {
                regions.add(new Region((long) info * bytesPerSector, bytesPerSector, "FAT32 FSInfo sector"));
            }
        }
        for (int f = 0; f < fats; f++) {
            regions.add(new Region(fatStart + f * fatSectors * bytesPerSector, (int) (fatSectors * bytesPerSector), "FAT " + (f + 1)));
        }
        if (fatBits != 32) {
            regions.add(new Region(dataStart - rootSectors * bytesPerSector, rootEntries * 32, "root directory"));
        }
    }

    /** The map of {@code image}, a FAT filesystem (boot sector with a BPB at 0). */
    public static MetadataMap map(byte[] image) {
        FatMetadata m = new FatMetadata(image);
        if (m.bytesPerSector < 512 || m.clusterBytes == 0 || m.clusters <= 0) {
            throw new IllegalArgumentException("not a FAT image: no usable BPB at 0");
        }
        if (m.fatBits == 32) {
            m.directory(Integer.toUnsignedLong(m.img.getInt(44)), "/", 0);
        } else {
            long root = m.dataStart - (m.img.getShort(17) & 0xffff) * 32L / m.bytesPerSector * m.bytesPerSector;
            m.entries(root, (m.img.getShort(17) & 0xffff) * 32, "/", 0);
        }
        return MetadataMap.of(m.regions, image.length);
    }

    private void directory(long first, String path, int depth) {
        List<Long> chain = chain(first);
        for (int k = 0; k < chain.size(); k++) {
            long at = dataStart + (chain.get(k) - 2) * clusterBytes;
            regions.add(new Region(at, clusterBytes, "directory cluster " + k + " of " + path));
        }
        for (long c : chain) {
            entries(dataStart + (c - 2) * clusterBytes, clusterBytes, path, depth);
        }
    }

    private void entries(long at, int length, String path, int depth) {
        for (int e = 0; e + 32 <= length && at + e + 32 <= img.capacity(); e += 32) {
            int p = (int) (at + e);
            int first = img.get(p) & 0xff;
            int attr = img.get(p + 11) & 0xff;
            if (first == 0) {
                return;
            }
            if (first == 0xe5 || attr == 0x0f || (attr & 0x10) == 0 || first == '.' || depth > 16) {
                continue;
            }
            long cluster = (img.getShort(p + 26) & 0xffff) | (fatBits == 32 ? (long) (img.getShort(p + 20) & 0xffff) << 16 : 0);
            directory(cluster, path + new String(img.array(), p, 8).trim() + "/", depth + 1);
        }
    }

    private List<Long> chain(long first) {
        List<Long> out = new ArrayList<>();
        long c = first;
        while (c >= 2 && c < clusters + 2 && out.size() < 4096 && !out.contains(c)) {
            out.add(c);
            c = next(c);
        }
        return out;
    }

    private long next(long c) {
        return switch (fatBits) {
            case 12 -> {
                int at = (int) (fatStart + c * 3 / 2);
                int v = img.getShort(at) & 0xffff;
                yield (c & 1) != 0 ? v >> 4 : v & 0xfff;
            }
            case 16 -> img.getShort((int) (fatStart + c * 2)) & 0xffff;
            default -> img.getInt((int) (fatStart + c * 4)) & 0x0fffffffL;
        };
    }
}
