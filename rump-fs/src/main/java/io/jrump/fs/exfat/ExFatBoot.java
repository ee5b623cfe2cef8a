package io.jrump.fs.exfat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The exFAT main boot sector (exFAT specification, section 3.1) as read from sector 0, checked
 * field by field, and the boot checksum that sector 11 repeats (section 3.4).
 */
public final class ExFatBoot {
    static final int OFF_VOLUME_FLAGS = 106;
    static final int OFF_PERCENT_IN_USE = 112;
    static final int FLAG_ACTIVE_FAT = 1;
    static final int FLAG_DIRTY = 2;
    static final byte[] NAME = "EXFAT   ".getBytes(StandardCharsets.US_ASCII);

    final long volumeLength; // sectors
    final long fatOffset; // sectors
    final long fatLength; // sectors
    final long clusterHeapOffset; // sectors
    final long clusterCount;
    final long rootCluster;
    final long serial;
    final int volumeFlags;
    final int bytesPerSectorShift;
    final int sectorsPerClusterShift;
    final int numberOfFats;
    final int percentInUse;

    private ExFatBoot(ByteBuffer b) {
        volumeLength = b.getLong(72);
        fatOffset = u32(b, 80);
        fatLength = u32(b, 84);
        clusterHeapOffset = u32(b, 88);
        clusterCount = u32(b, 92);
        rootCluster = u32(b, 96);
        serial = u32(b, 100);
        volumeFlags = b.getShort(106) & 0xffff;
        bytesPerSectorShift = b.get(108) & 0xff;
        sectorsPerClusterShift = b.get(109) & 0xff;
        numberOfFats = b.get(110) & 0xff;
        percentInUse = b.get(112) & 0xff;
    }

    static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xffff_ffffL;
    }

    /** Whether sector 0 says exFAT at all: the jump and the name. Anything else is not ours. */
    static boolean looksLikeExFat(ByteBuffer b) {
        if (b.limit() < 512 || (b.get(0) & 0xff) != 0xEB || (b.get(1) & 0xff) != 0x76 || (b.get(2) & 0xff) != 0x90) {
            return false;
        }
        for (int i = 0; i < 8; i++) {
            if (b.get(3 + i) != NAME[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses and checks sector 0.
     *
     * @throws ErrnoException {@code EINVAL} if it is not exFAT, {@code EUCLEAN} naming the field
     *     if it is exFAT but damaged
     */
    static ExFatBoot parse(ByteBuffer sector0, long deviceBytes) throws ErrnoException {
        ByteBuffer b = sector0.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (!looksLikeExFat(b)) {
            throw new ErrnoException(Errno.EINVAL, "not an exFAT volume");
        }
        for (int i = 11; i < 64; i++) {
            if (b.get(i) != 0) {
                throw bad("MustBeZero", i, "byte " + (b.get(i) & 0xff) + " (a FAT BIOS parameter block?)");
            }
        }
        if ((b.getShort(510) & 0xffff) != 0xAA55) {
            throw bad("BootSignature", 510, String.format("0x%04x, not 0xAA55", b.getShort(510) & 0xffff));
        }
        ExFatBoot s = new ExFatBoot(b);
        if (s.bytesPerSectorShift < 9 || s.bytesPerSectorShift > 12) {
            throw bad("BytesPerSectorShift", 108, s.bytesPerSectorShift + ", not 9..12");
        }
        if (s.sectorsPerClusterShift > 25 - s.bytesPerSectorShift) {
            throw bad("SectorsPerClusterShift", 109, s.sectorsPerClusterShift + ": clusters over 32 MiB");
        }
        if (s.numberOfFats != 1 && s.numberOfFats != 2) {
            throw bad("NumberOfFats", 110, s.numberOfFats + ", not 1 or 2");
        }
        long sectors = deviceBytes >> s.bytesPerSectorShift;
        if (s.volumeLength < (1L << 20 >> s.bytesPerSectorShift) || s.volumeLength > sectors) {
            throw bad("VolumeLength", 72, s.volumeLength + " sectors; the device holds " + sectors);
        }
        if (s.fatOffset < 24 || s.fatLength == 0 || s.fatOffset + s.fatLength * s.numberOfFats > s.clusterHeapOffset) {
            throw bad("FatOffset/FatLength", 80, s.fatOffset + "/" + s.fatLength + " do not fit before the cluster heap at "
                    + s.clusterHeapOffset);
        }
        if (s.clusterCount == 0 || s.clusterCount > 0xFFFF_FFF5L
                || s.clusterHeapOffset + (s.clusterCount << s.sectorsPerClusterShift) > s.volumeLength) {
            throw bad("ClusterCount", 92, s.clusterCount + " clusters from sector " + s.clusterHeapOffset
                    + " overrun the volume of " + s.volumeLength + " sectors");
        }
        if ((s.clusterCount + 2) * 4 > s.fatLength << s.bytesPerSectorShift) {
            throw bad("FatLength", 84, s.fatLength + " sectors cannot hold " + s.clusterCount + " clusters");
        }
        if (s.rootCluster < 2 || s.rootCluster > s.clusterCount + 1) {
            throw bad("FirstClusterOfRootDirectory", 96, s.rootCluster + " is not a cluster of the heap (2.."
                    + (s.clusterCount + 1) + ")");
        }
        if ((s.volumeFlags & FLAG_ACTIVE_FAT) != 0 && s.numberOfFats == 1) {
            throw bad("VolumeFlags", 106, "ActiveFat is the second FAT of a volume with one");
        }
        return s;
    }

    private static ErrnoException bad(String field, int offset, String what) {
        return new ErrnoException(Errno.EUCLEAN, "exFAT boot sector: " + field + " at offset " + offset + " is " + what);
    }

    int sectorBytes() {
        return 1 << bytesPerSectorShift;
    }

    long clusterBytes() {
        return 1L << (bytesPerSectorShift + sectorsPerClusterShift);
    }

    long clusterOffset(long cluster) {
        return (clusterHeapOffset << bytesPerSectorShift) + ((cluster - 2) << (bytesPerSectorShift + sectorsPerClusterShift));
    }

    /** The byte offset of the active FAT. */
    long fatBytesOffset() {
        int active = numberOfFats == 2 ? volumeFlags & FLAG_ACTIVE_FAT : 0;
        return (fatOffset + active * fatLength) << bytesPerSectorShift;
    }

    boolean dirty() {
        return (volumeFlags & FLAG_DIRTY) != 0;
    }

    /**
     * The boot checksum of sectors 0 to 10 ({@code region}, at least 11 sectors): every byte but
     * VolumeFlags and PercentInUse, which change without the checksum being rewritten.
     */
    static int checksum(byte[] region, int sectorBytes) {
        int sum = 0;
        for (int i = 0; i < 11 * sectorBytes; i++) {
            if (i == 106 || i == 107 || i == 112) {
                continue;
            }
            sum = (sum >>> 1 | sum << 31) + (region[i] & 0xff);
        }
        return sum;
    }

    /** Checks that the checksum sector (12 sectors in {@code region}) repeats the checksum of the first 11. */
    static void verifyChecksum(byte[] region, int sectorBytes, String which) throws ErrnoException {
        int sum = checksum(region, sectorBytes);
        ByteBuffer b = ByteBuffer.wrap(region).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 11 * sectorBytes; i < 12 * sectorBytes; i += 4) {
            if (b.getInt(i) != sum) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("exFAT boot checksum: %s sector 11 at offset %d "
                        + "holds 0x%08x; sectors 0-10 sum to 0x%08x", which, i - 11 * sectorBytes, b.getInt(i), sum));
            }
        }
    }

    String describe(String label) {
        return "exfat, " + clusterBytes() + "-byte clusters, " + clusterCount + " clusters"
                + (label == null || label.isEmpty() ? "" : ", label '" + label + "'") + (dirty() ? ", dirty" : "");
    }
}
