package io.jrump.fs.fat;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Makes a FAT12, FAT16 or FAT32 volume as mkfs.fat (dosfstools 4.2) makes one: FAT32 from 512
 * MiB up, else FAT16 unless the clusters are few enough for FAT12; 2 KiB clusters on FAT12/16
 * (doubled until FAT16 can address them all), Microsoft's size table on FAT32 (4 KiB up to 8
 * GiB); two FATs; 512 root entries; on FAT32 32 reserved sectors with FSInfo in sector 1 and the
 * backup boot sector in 6; the data area aligned to a cluster. {@code fsck.fat -n} finds nothing
 * to fix on the result.
 */
public final class FatMkfs {
    private static final long MIB = 1 << 20;

    /**
     * @param type FAT12, FAT16, FAT32, or null to choose by size
     * @param sectorsPerCluster a power of two up to 128, or 0 to choose
     * @param label up to 11 characters of the volume label, or empty for none ("NO NAME")
     * @param volumeId the 32-bit volume serial number
     */
    public record Options(FatType type, int sectorsPerCluster, String label, long volumeId) {
        public static Options defaults(long volumeId) {
            return new Options(null, 0, "", volumeId);
        }

        public Options withType(FatType t) {
            return new Options(t, sectorsPerCluster, label, volumeId);
        }

        public Options withSectorsPerCluster(int n) {
            return new Options(type, n, label, volumeId);
        }

        public Options withLabel(String l) {
            return new Options(type, sectorsPerCluster, l, volumeId);
        }
    }

    /** The layout chosen for a device. */
    public record Layout(FatType type, int bytesPerSector, int sectorsPerCluster, int reserved, int rootEntries,
                  long fatSectors, long totalSectors, long clusters, int media) {
    }

    private FatMkfs() {
    }

    /**
     * Formats {@code dev}: everything on it is lost.
     *
     * @throws ErrnoException {@code EINVAL} if the device is too small or too large for the type
     *     asked, or an option is out of range
     */
    public static Layout format(BlockDevice dev, Options o) throws ErrnoException {
        if (dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, dev.name() + ": read-only");
        }
        checkLabel(o.label());
        Layout l = layout(dev.size(), Math.max(512, dev.sectorSize()), o);
        VolumeIo io = new VolumeIo(dev);
        int bps = l.bytesPerSector;
        // Reserved area, FATs and the root directory start zeroed.
        long metaSectors = l.reserved + 2 * l.fatSectors + (long) l.rootEntries * 32 / bps;
        io.zero(0, metaSectors * bps);
        ByteBuffer boot = bootSector(l, o);
        io.write(0, boot.duplicate());
        if (l.type == FatType.FAT32) {
            io.write(6L * bps, boot.duplicate());
            ByteBuffer info = fsInfo(l);
            io.write(bps, info.duplicate());
            io.write(7L * bps, info.duplicate());
        }
        // FAT[0] holds the media byte, FAT[1] end of chain; on FAT32 FAT[2] ends the root directory.
        byte[] head = new byte[12];
        switch (l.type) {
            case FAT12 -> {
                head[0] = (byte) l.media;
                head[1] = (byte) 0xFF;
                head[2] = (byte) 0xFF;
            }
            case FAT16 -> {
                head[0] = (byte) l.media;
                head[1] = (byte) 0xFF;
                head[2] = (byte) 0xFF;
                head[3] = (byte) 0xFF;
            }
            case FAT32 -> {
                ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
                h.putInt(0, 0x0FFFFF00 | l.media);
                h.putInt(4, 0x0FFFFFFF);
                h.putInt(8, 0x0FFFFFFF);
            }
        }
        int headLength = l.type == FatType.FAT32 ? 12 : l.type == FatType.FAT16 ? 4 : 3;
        for (int n = 0; n < 2; n++) {
            io.write(((long) l.reserved + n * l.fatSectors) * bps, ByteBuffer.wrap(head, 0, headLength));
        }
        long dataStart = (long) (l.reserved + 2 * l.fatSectors) * bps + (long) l.rootEntries * 32;
        long clusterBytes = (long) bps * l.sectorsPerCluster;
        if (l.type == FatType.FAT32) {
            io.zero(dataStart, clusterBytes); // cluster 2, the root directory
        }
        String label = label(o.label());
        if (!label.isBlank()) {
            byte[] entry = new byte[32];
            byte[] name = label.getBytes(ShortName.OEM);
            System.arraycopy(name, 0, entry, 0, 11);
            entry[11] = RawEntry.ATTR_VOLUME_ID;
            long root = l.type == FatType.FAT32 ? dataStart : (long) (l.reserved + 2 * l.fatSectors) * bps;
            io.write(root, ByteBuffer.wrap(entry));
        }
        dev.flush();
        return l;
    }

    static Layout layout(long deviceBytes, int bytesPerSector, Options o) throws ErrnoException {
        long total = deviceBytes / bytesPerSector;
        if (total > 0xFFFF_FFFFL) {
            throw new ErrnoException(Errno.EINVAL, "vfat: " + deviceBytes + " bytes are more than FAT's 2^32 sectors");
        }
        boolean floppy = deviceBytes == 1440 * 1024 && bytesPerSector == 512;
        FatType type = o.type() != null ? o.type() : deviceBytes >= 512 * MIB ? FatType.FAT32 : null;
        int media = floppy ? 0xF0 : 0xF8;
        int rootEntries = floppy ? 224 : 512;
        if (o.sectorsPerCluster() != 0 && (o.sectorsPerCluster() > 128 || Integer.bitCount(o.sectorsPerCluster()) != 1)) {
            throw new ErrnoException(Errno.EINVAL, "vfat: sectors per cluster " + o.sectorsPerCluster()
                    + " is not a power of two up to 128");
        }
        if (type == FatType.FAT32) {
            int spc = o.sectorsPerCluster() != 0 ? o.sectorsPerCluster() : fat32ClusterSectors(deviceBytes, bytesPerSector);
            Layout l = fit(FatType.FAT32, bytesPerSector, spc, 32, 0, total, media);
            if (l.clusters < 65525 && o.type() == null) {
                return l; // as mkfs.fat: small FAT32 volumes are made, Linux and Windows mount them
            }
            if (l.clusters > BootSector.MAX_FAT32_CLUSTERS) {
                throw new ErrnoException(Errno.EINVAL, "vfat: too many clusters for FAT32; use larger clusters");
            }
            return l;
        }
        int spc = o.sectorsPerCluster() != 0 ? o.sectorsPerCluster() : floppy ? 1 : Math.max(1, 2048 / bytesPerSector);
        while (true) {
            Layout l = fit(type == null ? FatType.FAT16 : type, bytesPerSector, spc, 1, rootEntries, total, media);
            FatType t = type != null ? type : l.clusters <= BootSector.MAX_FAT12_CLUSTERS ? FatType.FAT12 : FatType.FAT16;
            if (t != l.type) {
                l = fit(t, bytesPerSector, spc, 1, rootEntries, total, media);
            }
            long max = t == FatType.FAT12 ? BootSector.MAX_FAT12_CLUSTERS : BootSector.MAX_FAT16_CLUSTERS;
            if (l.clusters <= max) {
                if (t == FatType.FAT16 && l.clusters <= BootSector.MAX_FAT12_CLUSTERS) {
                    // Linux would read this as FAT12 (it counts clusters): refuse rather than make it.
                    throw new ErrnoException(Errno.EINVAL, "vfat: " + l.clusters + " clusters are too few for FAT16"
                            + " (Linux reads fewer than 4085 as FAT12); use --fat 12 or smaller clusters");
                }
                return l;
            }
            if (o.sectorsPerCluster() != 0 || spc >= 128) {
                throw new ErrnoException(Errno.EINVAL, "vfat: " + l.clusters + " clusters are too many for "
                        + t.label + "; use larger clusters or FAT32");
            }
            spc *= 2;
        }
    }

    /** Microsoft's table (fatgen103, 4.1): cluster size by volume size. */
    private static int fat32ClusterSectors(long bytes, int bps) {
        long kib;
        if (bytes <= 260 * MIB) {
            return 1; // 512-byte clusters, or one sector if sectors are larger
        } else if (bytes <= 8192 * MIB) {
            kib = 4;
        } else if (bytes <= 16384 * MIB) {
            kib = 8;
        } else if (bytes <= 32768 * MIB) {
            kib = 16;
        } else {
            kib = 32;
        }
        return (int) Math.max(1, kib * 1024 / bps);
    }

    /**
     * The smallest FAT that addresses the clusters left beside it, found by iterating (a larger
     * FAT leaves fewer clusters, so the need only falls), the data area aligned to a cluster.
     */
    private static Layout fit(FatType type, int bps, int spc, int minReserved, int rootEntries, long total, int media)
            throws ErrnoException {
        long rootSectors = (long) rootEntries * 32 / bps;
        long fatSectors = 1;
        for (int round = 0; round < 64; round++) {
            long meta = minReserved + 2 * fatSectors + rootSectors;
            int reserved = (int) (minReserved + (spc - meta % spc) % spc);
            long data = total - (reserved + 2 * fatSectors + rootSectors);
            if (data < spc) {
                throw new ErrnoException(Errno.EINVAL, "vfat: " + total * bps + " bytes are too small for " + type.label);
            }
            long clusters = data / spc;
            long need = ((clusters + 2) * type.entryBits + 8L * bps - 1) / (8L * bps);
            if (need <= fatSectors) {
                return new Layout(type, bps, spc, reserved, rootEntries, fatSectors, total, clusters, media);
            }
            fatSectors = need;
        }
        throw new ErrnoException(Errno.EINVAL, "vfat: no FAT size fits " + total + " sectors");
    }

    private static ByteBuffer bootSector(Layout l, Options o) {
        ByteBuffer b = ByteBuffer.allocate(l.bytesPerSector).order(ByteOrder.LITTLE_ENDIAN);
        boolean fat32 = l.type == FatType.FAT32;
        b.put(0, (byte) 0xEB).put(1, (byte) (fat32 ? 0x58 : 0x3C)).put(2, (byte) 0x90);
        b.put(3, "MSWIN4.1".getBytes(StandardCharsets.US_ASCII));
        b.putShort(11, (short) l.bytesPerSector);
        b.put(13, (byte) l.sectorsPerCluster);
        b.putShort(14, (short) l.reserved);
        b.put(16, (byte) 2);
        b.putShort(17, (short) l.rootEntries);
        if (l.totalSectors < 65536 && !fat32) {
            b.putShort(19, (short) l.totalSectors);
        } else {
            b.putInt(32, (int) l.totalSectors);
        }
        b.put(21, (byte) l.media);
        b.putShort(24, (short) 63); // sectors per track and heads: unused by anything that reads LBA
        b.putShort(26, (short) 255);
        int ext;
        if (fat32) {
            b.putInt(36, (int) l.fatSectors);
            b.putInt(44, 2); // root directory cluster
            b.putShort(48, (short) 1); // FSInfo
            b.putShort(50, (short) 6); // backup boot sector
            ext = 64;
        } else {
            b.putShort(22, (short) l.fatSectors);
            ext = 36;
        }
        b.put(ext, (byte) 0x80); // drive number
        b.put(ext + 2, (byte) 0x29); // extended boot signature: id, label and type follow
        b.putInt(ext + 3, (int) o.volumeId());
        b.put(ext + 7, label(o.label()).isBlank() ? "NO NAME    ".getBytes(StandardCharsets.US_ASCII)
                : label(o.label()).getBytes(ShortName.OEM));
        b.put(ext + 18, String.format(Locale.ROOT, "%-8s", l.type.label).getBytes(StandardCharsets.US_ASCII));
        // Boot code: print nothing, wait for a key, try the next boot device (int 18h).
        int code = ext + 26;
        b.put(code, new byte[] {(byte) 0xFA, (byte) 0x31, (byte) 0xC0, (byte) 0xCD, (byte) 0x16, (byte) 0xCD, (byte) 0x18,
            (byte) 0xF4, (byte) 0xEB, (byte) 0xFD});
        b.put(510, (byte) 0x55).put(511, (byte) 0xAA);
        return b;
    }

    private static ByteBuffer fsInfo(Layout l) {
        ByteBuffer b = ByteBuffer.allocate(l.bytesPerSector).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x41615252);
        b.putInt(484, 0x61417272);
        b.putInt(488, (int) (l.clusters - 1)); // all free but the root directory's cluster
        b.putInt(492, 3);
        b.putInt(508, 0xAA550000);
        return b;
    }

    private static void checkLabel(String label) throws ErrnoException {
        if (label.length() > 11) {
            throw new ErrnoException(Errno.EINVAL, "vfat: label '" + label + "' is longer than 11 characters");
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (c < 0x20 || "\"*+,./:;<=>?[\\]|".indexOf(c) >= 0 || !ShortName.OEM.newEncoder().canEncode(c)) {
                throw new ErrnoException(Errno.EINVAL, String.format(Locale.ROOT,
                        "vfat: label '%s' holds character U+%04X, which a FAT label cannot", label, (int) c));
            }
        }
    }

    /** The label padded to 11 OEM characters, upper case as DOS stores it. */
    static String label(String label) {
        String up = label.toUpperCase(Locale.ROOT);
        if (up.length() > 11) {
            up = up.substring(0, 11);
        }
        return String.format(Locale.ROOT, "%-11s", up);
    }
}
