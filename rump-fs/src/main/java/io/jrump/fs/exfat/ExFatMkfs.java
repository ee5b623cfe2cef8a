package io.jrump.fs.exfat;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.fat.VolumeIo;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Makes an exFAT volume as {@code mkfs.exfat} does: the main and backup boot regions with their
 * checksums, one FAT, the allocation bitmap, the up-case table and the root directory (label,
 * bitmap and up-case entries) in the first clusters of the heap, each with its FAT chain.
 */
public final class ExFatMkfs {
    private static final int SECTOR = 512;

    /**
     * @param clusterBytes cluster size, a power of two from 512 bytes to 32 MiB; 0 for what
     *     mkfs.exfat picks (4 KiB up to 256 MiB, 32 KiB up to 32 GiB, 128 KiB above)
     * @param label volume label, at most 11 UTF-16 units; empty for none
     * @param serial volume serial number
     */
    public record Options(long clusterBytes, String label, long serial) {
        public static Options defaults(long serial) {
            return new Options(0, "", serial);
        }

        public Options withClusterBytes(long b) {
            return new Options(b, label, serial);
        }

        public Options withLabel(String l) {
            return new Options(clusterBytes, l, serial);
        }
    }

    /** What was made: cluster size and count. */
    public record Layout(long clusterBytes, long clusterCount) {
    }

    private ExFatMkfs() {
    }

    public static Layout format(BlockDevice dev, Options o) throws ErrnoException {
        if (dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, dev.name() + ": read-only device");
        }
        long bytes = dev.size();
        if (bytes < 1 << 20) {
            throw new ErrnoException(Errno.EINVAL, "exfat: " + bytes + " bytes: an exFAT volume needs at least 1 MiB");
        }
        long cb = o.clusterBytes() != 0 ? o.clusterBytes()
                : bytes <= 256L << 20 ? 4096 : bytes <= 32L << 30 ? 32768 : 131072;
        if (Long.bitCount(cb) != 1 || cb < SECTOR || cb > 32L << 20) {
            throw new ErrnoException(Errno.EINVAL, "exfat: cluster size " + cb
                    + " is not a power of two from 512 bytes to 32 MiB");
        }
        String label = o.label() == null ? "" : o.label();
        if (label.length() > 11) {
            throw new ErrnoException(Errno.EINVAL, "exfat: label '" + label + "' is longer than 11 UTF-16 units");
        }
        long sectors = bytes / SECTOR;
        int spc = (int) (cb / SECTOR);
        long fatOffset = 128; // 64 KiB: room for both boot regions, aligned as tools align
        long clusters = (sectors - fatOffset) / spc;
        long fatLength;
        long heap;
        while (true) {
            fatLength = ((clusters + 2) * 4 + SECTOR - 1) / SECTOR;
            heap = (fatOffset + fatLength + spc - 1) / spc * spc;
            long fit = (sectors - heap) / spc;
            if (fit >= clusters) {
                break;
            }
            clusters = fit;
        }
        if (clusters < 8 || clusters > 0xFFFF_FFF5L) {
            throw new ErrnoException(Errno.EINVAL, "exfat: " + clusters + " clusters of " + cb + " bytes do not make a volume");
        }
        VolumeIo io = new VolumeIo(dev);
        byte[] upcase = ExFatUpcase.standardCompressed();
        long bitmapBytes = (clusters + 7) / 8;
        long bitmapClusters = (bitmapBytes + cb - 1) / cb;
        long upClusters = (upcase.length + cb - 1) / cb;
        long bitmapFirst = 2;
        long upFirst = bitmapFirst + bitmapClusters;
        long rootFirst = upFirst + upClusters;
        long usedClusters = bitmapClusters + upClusters + 1;
        if (usedClusters > clusters) {
            throw new ErrnoException(Errno.EINVAL, "exfat: the volume is too small for its own metadata");
        }

        // The FAT: media and reserved entries, then a chain for each of the three.
        io.zero(fatOffset * SECTOR, (heap - fatOffset) * SECTOR);
        ByteBuffer fat = ByteBuffer.allocate((int) ((rootFirst + 1) * 4)).order(ByteOrder.LITTLE_ENDIAN);
        fat.putInt(0, 0xFFFFFFF8);
        fat.putInt(4, 0xFFFFFFFF);
        chain(fat, bitmapFirst, bitmapClusters);
        chain(fat, upFirst, upClusters);
        chain(fat, rootFirst, 1);
        io.write(fatOffset * SECTOR, fat);

        // The heap's metadata clusters: bitmap, up-case table, root directory.
        io.zero(heapOffset(heap, 2, spc), usedClusters * cb);
        byte[] bitmap = new byte[(int) bitmapBytes];
        for (long c = 0; c < usedClusters; c++) {
            bitmap[(int) (c / 8)] |= (byte) (1 << (c % 8));
        }
        io.write(heapOffset(heap, bitmapFirst, spc), ByteBuffer.wrap(bitmap));
        io.write(heapOffset(heap, upFirst, spc), ByteBuffer.wrap(upcase));
        ByteBuffer root = ByteBuffer.allocate(96).order(ByteOrder.LITTLE_ENDIAN);
        root.put(0, (byte) ExFatDir.LABEL);
        root.put(1, (byte) label.length());
        for (int i = 0; i < label.length(); i++) {
            root.putChar(2 + 2 * i, label.charAt(i));
        }
        root.put(32, (byte) ExFatDir.BITMAP);
        root.putInt(32 + 20, (int) bitmapFirst);
        root.putLong(32 + 24, bitmapBytes);
        root.put(64, (byte) ExFatDir.UPCASE);
        root.putInt(64 + 4, ExFatUpcase.checksum(upcase));
        root.putInt(64 + 20, (int) upFirst);
        root.putLong(64 + 24, upcase.length);
        io.write(heapOffset(heap, rootFirst, spc), root);

        // The boot region, then its backup: a half-made volume is not mistaken for a good one.
        byte[] region = new byte[12 * SECTOR];
        ByteBuffer b = ByteBuffer.wrap(region).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) 0xEB).put(1, (byte) 0x76).put(2, (byte) 0x90);
        b.put(3, ExFatBoot.NAME);
        b.putLong(72, sectors);
        b.putInt(80, (int) fatOffset);
        b.putInt(84, (int) fatLength);
        b.putInt(88, (int) heap);
        b.putInt(92, (int) clusters);
        b.putInt(96, (int) rootFirst);
        b.putInt(100, (int) o.serial());
        b.putShort(104, (short) 0x0100);
        b.put(108, (byte) 9);
        b.put(109, (byte) Long.numberOfTrailingZeros(spc));
        b.put(110, (byte) 1);
        b.put(111, (byte) 0x80);
        b.put(112, (byte) (usedClusters * 100 / clusters));
        for (int s = 0; s < 9; s++) {
            b.putShort(s * SECTOR + 510, (short) 0xAA55); // boot and extended boot sector signatures
        }
        int sum = ExFatBoot.checksum(region, SECTOR);
        for (int i = 11 * SECTOR; i < 12 * SECTOR; i += 4) {
            b.putInt(i, sum);
        }
        io.write(12L * SECTOR, ByteBuffer.wrap(region));
        io.zero(24L * SECTOR, (fatOffset - 24) * SECTOR);
        io.write(0, ByteBuffer.wrap(region));
        dev.flush();
        return new Layout(cb, clusters);
    }

    private static long heapOffset(long heapSector, long cluster, int spc) {
        return (heapSector + (cluster - 2) * spc) * SECTOR;
    }

    private static void chain(ByteBuffer fat, long first, long count) {
        for (long c = first; c < first + count; c++) {
            fat.putInt((int) (c * 4), c == first + count - 1 ? 0xFFFFFFFF : (int) (c + 1));
        }
    }
}
