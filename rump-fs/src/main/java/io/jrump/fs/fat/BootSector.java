package io.jrump.fs.fat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The boot sector of a FAT volume and the BIOS Parameter Block in it (Microsoft's FAT
 * specification, "fatgen103", section 3), validated, with the geometry derived from it: where
 * the FATs, the root directory and the data clusters are, and which FAT it is.
 *
 * <p>The FAT type is decided as Linux's msdos driver decides it: a zero 16-bit FAT size with a
 * 32-bit one makes FAT32, whatever the cluster count (mkfs.fat makes small FAT32 volumes that
 * way); otherwise more than 4084 clusters make FAT16, fewer FAT12. Immutable.
 */
public final class BootSector {
    /** Byte 0x25 (FAT12/16) or 0x41 (FAT32): Linux's "state" byte; bit 0 set while mounted read-write. */
    static final int STATE_DIRTY = 0x01;
    static final int MAX_FAT12_CLUSTERS = 4084;
    static final int MAX_FAT16_CLUSTERS = 65524;
    /** FAT32 entries hold 28 bits; the top values are reserved, bad and end of chain. */
    static final long MAX_FAT32_CLUSTERS = 0x0FFFFFF5L;

    final FatType type;
    final int bytesPerSector;
    final int sectorsPerCluster;
    final int reservedSectors;
    final int fatCount;
    final int rootEntries;
    final long totalSectors;
    final int media;
    final long fatSectors;
    /** FAT32: the root directory's first cluster; 0 on FAT12/16. */
    final long rootCluster;
    /** FAT32: the FSInfo sector, or 0 for none. */
    final int fsInfoSector;
    /** FAT32: the backup boot sector, or 0 for none. */
    final int backupBootSector;
    /** FAT32: bit 7 set means only {@link #activeFat} is used (no mirroring). */
    final int extFlags;
    final long volumeId;
    final String label;
    final int stateOffset;
    final boolean dirty;
    /** The highest valid cluster number: clusters run 2..maxCluster. */
    final long maxCluster;

    private BootSector(ByteBuffer b, FatType type, long clusters) {
        this.type = type;
        bytesPerSector = u16(b, 11);
        sectorsPerCluster = u8(b, 13);
        reservedSectors = u16(b, 14);
        fatCount = u8(b, 16);
        rootEntries = u16(b, 17);
        totalSectors = u16(b, 19) != 0 ? u16(b, 19) : u32(b, 32);
        media = u8(b, 21);
        fatSectors = u16(b, 22) != 0 ? u16(b, 22) : u32(b, 36);
        boolean fat32 = type == FatType.FAT32;
        rootCluster = fat32 ? u32(b, 44) & 0x0FFFFFFFL : 0;
        fsInfoSector = fat32 ? u16(b, 48) : 0;
        backupBootSector = fat32 ? u16(b, 50) : 0;
        extFlags = fat32 ? u16(b, 40) : 0;
        int ext = fat32 ? 64 : 36; // the extended BPB: drive number, state, signature, id, label, type
        stateOffset = ext + 1;
        dirty = (u8(b, stateOffset) & STATE_DIRTY) != 0;
        boolean extended = u8(b, ext + 2) == 0x29 || u8(b, ext + 2) == 0x28;
        volumeId = extended ? u32(b, ext + 3) : 0;
        label = u8(b, ext + 2) == 0x29 ? trimLabel(b, ext + 7) : "";
        maxCluster = clusters + 1;
    }

    /**
     * The boot sector in {@code b} (at least 512 bytes from position 0), checked; the device
     * holds {@code deviceBytes}.
     *
     * @throws ErrnoException {@code EINVAL} if this is no FAT boot sector at all (for probing),
     *     {@code EUCLEAN} naming the field if it is one but a field is impossible
     */
    static BootSector parse(ByteBuffer b, long deviceBytes) throws ErrnoException {
        b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int jump = u8(b, 0);
        boolean signed = u8(b, 510) == 0x55 && u8(b, 511) == 0xAA;
        if (jump != 0xEB && jump != 0xE9 && !signed) {
            throw new ErrnoException(Errno.EINVAL, "no FAT boot sector (no jump instruction, no 55 AA signature)");
        }
        int bps = u16(b, 11);
        if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) {
            throw new ErrnoException(Errno.EINVAL, "no FAT boot sector: bytes per sector " + bps + " at offset 11");
        }
        int spc = u8(b, 13);
        if (spc == 0 || Integer.bitCount(spc) != 1) {
            throw new ErrnoException(Errno.EINVAL, "no FAT boot sector: sectors per cluster " + spc
                    + " at offset 13 is not a power of two");
        }
        int media = u8(b, 21);
        if (media != 0xF0 && media < 0xF8) {
            throw new ErrnoException(Errno.EINVAL, "no FAT boot sector: media descriptor 0x"
                    + Integer.toHexString(media) + " at offset 21");
        }
        // From here it is a FAT boot sector: what is wrong is damage, not another format.
        int reserved = u16(b, 14);
        if (reserved == 0) {
            throw corrupt("reserved sector count 0 at offset 14 (the boot sector itself is reserved)");
        }
        int fats = u8(b, 16);
        if (fats == 0) {
            throw corrupt("FAT count 0 at offset 16");
        }
        long total = u16(b, 19) != 0 ? u16(b, 19) : u32(b, 32);
        if (total == 0) {
            throw corrupt("total sector count 0 (offsets 19 and 32)");
        }
        if (total * bps > deviceBytes) {
            throw corrupt("volume of " + total + " sectors of " + bps + " bytes is larger than the device ("
                    + deviceBytes + " bytes)");
        }
        long fatSize16 = u16(b, 22);
        long fatSize = fatSize16 != 0 ? fatSize16 : u32(b, 36);
        if (fatSize == 0) {
            throw corrupt("FAT size 0 (offsets 22 and 36)");
        }
        boolean fat32 = fatSize16 == 0;
        int rootEntries = u16(b, 17);
        if (fat32 && rootEntries != 0) {
            throw corrupt("FAT32 with " + rootEntries + " fixed root directory entries at offset 17");
        }
        if (!fat32 && rootEntries == 0) {
            throw corrupt("FAT12/16 without root directory entries (offset 17)");
        }
        if ((long) rootEntries * 32 % bps != 0) {
            throw corrupt(rootEntries + " root directory entries at offset 17 do not fill whole " + bps + "-byte sectors");
        }
        long rootSectors = (long) rootEntries * 32 / bps;
        long firstData = reserved + (long) fats * fatSize + rootSectors;
        if (firstData >= total) {
            throw corrupt("the FATs and root directory (" + firstData + " sectors) fill the whole volume of "
                    + total + " sectors");
        }
        long clusters = (total - firstData) / spc;
        if (clusters == 0) {
            throw corrupt("no data clusters in " + total + " sectors");
        }
        FatType type = fat32 ? FatType.FAT32 : clusters > MAX_FAT12_CLUSTERS ? FatType.FAT16 : FatType.FAT12;
        if (type == FatType.FAT16 && clusters > MAX_FAT16_CLUSTERS) {
            throw corrupt(clusters + " clusters are more than FAT16 can address (" + MAX_FAT16_CLUSTERS + ")");
        }
        if (type == FatType.FAT32 && clusters > MAX_FAT32_CLUSTERS) {
            throw corrupt(clusters + " clusters are more than FAT32 can address");
        }
        long fatEntries = fatSize * bps * 8 / type.entryBits;
        if (fatEntries < clusters + 2) {
            throw corrupt("FAT of " + fatSize + " sectors holds " + fatEntries + " entries, fewer than the "
                    + (clusters + 2) + " the volume's clusters need");
        }
        BootSector bs = new BootSector(b, type, clusters);
        if (fat32) {
            if (u16(b, 42) != 0) {
                throw new ErrnoException(Errno.EINVAL, "FAT32 version " + (u16(b, 42) >> 8) + "." + (u16(b, 42) & 0xff)
                        + " at offset 42: only 0.0 is defined");
            }
            if (bs.rootCluster < 2 || bs.rootCluster > bs.maxCluster) {
                throw corrupt("FAT32 root directory cluster " + bs.rootCluster + " at offset 44 is outside 2.."
                        + bs.maxCluster);
            }
            if ((bs.extFlags & 0x80) != 0 && (bs.extFlags & 0x0f) >= fats) {
                throw corrupt("active FAT " + (bs.extFlags & 0x0f) + " at offset 40 of " + fats);
            }
        }
        return bs;
    }

    private static ErrnoException corrupt(String what) {
        return new ErrnoException(Errno.EUCLEAN, "FAT boot sector: " + what);
    }

    long clusterBytes() {
        return (long) bytesPerSector * sectorsPerCluster;
    }

    long clusterCount() {
        return maxCluster - 1;
    }

    /** Byte offset of FAT copy {@code n}. */
    long fatOffset(int n) {
        return ((long) reservedSectors + (long) n * fatSectors) * bytesPerSector;
    }

    long fatBytes() {
        return fatSectors * bytesPerSector;
    }

    /** Byte offset of the fixed root directory of FAT12/16. */
    long rootDirOffset() {
        return fatOffset(fatCount);
    }

    long rootDirBytes() {
        return (long) rootEntries * 32;
    }

    long dataOffset() {
        return rootDirOffset() + rootDirBytes();
    }

    /** Byte offset of cluster {@code c} (2 or more). */
    long clusterOffset(long c) {
        return dataOffset() + (c - 2) * clusterBytes();
    }

    /** Whether FAT copy {@code n} is written: every copy unless FAT32 turned mirroring off. */
    boolean mirrored(int n) {
        return (extFlags & 0x80) == 0 || (extFlags & 0x0f) == n;
    }

    /** The FAT copy read: the first, or FAT32's active one when mirroring is off. */
    int activeFat() {
        return (extFlags & 0x80) != 0 ? extFlags & 0x0f : 0;
    }

    /** One line for {@code probe} and {@code rump image info}. */
    String describe() {
        StringBuilder d = new StringBuilder("vfat (").append(type.label).append("), ")
                .append(clusterBytes()).append("-byte clusters, ").append(clusterCount()).append(" clusters");
        if (!label.isEmpty() && !label.equals("NO NAME")) {
            d.append(", label '").append(label).append('\'');
        }
        if (volumeId != 0) {
            d.append(String.format(", id %04X-%04X", volumeId >>> 16, volumeId & 0xffff));
        }
        if (dirty) {
            d.append(", not cleanly unmounted");
        }
        return d.toString();
    }

    private static String trimLabel(ByteBuffer b, int at) {
        byte[] raw = new byte[11];
        b.get(at, raw);
        String s = new String(raw, ShortName.OEM);
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == 0)) {
            end--;
        }
        return s.substring(0, end);
    }

    static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xff;
    }

    static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xffff;
    }

    static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xffff_ffffL;
    }
}
