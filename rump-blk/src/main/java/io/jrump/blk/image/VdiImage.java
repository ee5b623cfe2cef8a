package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A VirtualBox VDI image, read: header version 1.1, static (every block allocated) and dynamic
 * (a block map; unallocated and zero blocks read as zeros). Undo and differencing images and
 * writing are refused ({@code EOPNOTSUPP}). Every header field is checked before use: sector
 * size 512, a power-of-two block size, the block map and the data area inside the file, a block
 * count that covers the disk (the map is read whole only then, so its size is bounded by the
 * file's), and every allocated entry pointing at a block that lies in the file. Thread-safe.
 */
public final class VdiImage extends BlockMapImage {
    private static final int SIGNATURE = 0xbeda107f;
    private static final int VERSION_1_1 = 0x00010001;
    private static final int TYPE_DYNAMIC = 1;
    private static final int TYPE_STATIC = 2;
    private static final long UNALLOCATED = 0xFFFF_FFFFL;
    private static final long ZERO = 0xFFFF_FFFEL;

    private final int blockSize;
    private final long dataOffset;
    private final int[] map;

    private VdiImage(ImageFile file, long size, int blockSize, long dataOffset, int[] map, HostClock clock) {
        super(file, "VDI", size, blockSize, true, clock);
        this.blockSize = blockSize;
        this.dataOffset = dataOffset;
        this.map = map;
    }

    /**
     * Opens a VDI read-only.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the field for a damaged header or block map,
     *     {@code EOPNOTSUPP} for an undo or differencing image or a read-write open
     */
    public static VdiImage open(ImageFile file, boolean readOnly, HostClock clock) throws ErrnoException {
        String n = file.name();
        if (!readOnly) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing VDI images is not supported yet; open it read-only");
        }
        long fileSize = file.size();
        if (fileSize < 0x190) {
            throw corrupt(n, "file of " + fileSize + " bytes is shorter than the header");
        }
        ByteBuffer h = ByteBuffer.allocate(0x190).order(ByteOrder.LITTLE_ENDIAN);
        file.read(0, h);
        if (h.getInt(0x40) != SIGNATURE) {
            throw corrupt(n, "no signature 0xbeda107f at byte 0x40");
        }
        int version = h.getInt(0x44);
        if (version != VERSION_1_1) {
            throw new ErrnoException(Errno.EOPNOTSUPP, String.format("%s: VDI header version %d.%d is not supported (1.1 is)",
                    n, version >>> 16, version & 0xffff));
        }
        int type = h.getInt(0x4c);
        if (type != TYPE_DYNAMIC && type != TYPE_STATIC) {
            if (type == 3 || type == 4) {
                throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VDI " + (type == 3 ? "undo" : "differencing")
                        + " images are not supported yet");
            }
            throw corrupt(n, "image type " + type + " at byte 0x4c (1 dynamic, 2 static)");
        }
        long blocksAt = Integer.toUnsignedLong(h.getInt(0x154));
        long dataAt = Integer.toUnsignedLong(h.getInt(0x158));
        int sectorSize = h.getInt(0x168);
        long diskSize = h.getLong(0x170);
        long blockSize = Integer.toUnsignedLong(h.getInt(0x178));
        long blockExtra = Integer.toUnsignedLong(h.getInt(0x17c));
        long blocks = Integer.toUnsignedLong(h.getInt(0x180));
        if (sectorSize != 512) {
            throw corrupt(n, "sector size " + sectorSize + " at byte 0x168 (512 is defined)");
        }
        if (blockSize < 512 || blockSize > (256L << 20) || Long.bitCount(blockSize) != 1) {
            throw corrupt(n, "block size " + blockSize + " at byte 0x178 is not a power of two from 512 B to 256 MiB");
        }
        if (blockExtra != 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VDI blocks with " + blockExtra + " extra bytes are not supported");
        }
        if (diskSize < 0 || diskSize % 512 != 0) {
            throw corrupt(n, "disk size " + diskSize + " at byte 0x170 is not a whole number of sectors");
        }
        long needed = (diskSize + blockSize - 1) / blockSize;
        if (blocks < needed) {
            throw corrupt(n, blocks + " blocks at byte 0x180 cannot hold " + diskSize + " bytes in blocks of " + blockSize);
        }
        if (blocks > Integer.MAX_VALUE / 4 || blocksAt > fileSize || blocks * 4 > fileSize - blocksAt) {
            throw corrupt(n, "block map of " + blocks + " entries at byte " + blocksAt + " runs past the file's "
                    + fileSize + " bytes");
        }
        if (dataAt > fileSize) {
            throw corrupt(n, "data offset " + dataAt + " at byte 0x158 lies past the file's end");
        }
        ByteBuffer m = ByteBuffer.allocate((int) (needed * 4)).order(ByteOrder.LITTLE_ENDIAN);
        file.read(blocksAt, m);
        int[] map = new int[(int) needed];
        m.asIntBuffer().get(map);
        for (int i = 0; i < map.length; i++) {
            long e = Integer.toUnsignedLong(map[i]);
            if (e != UNALLOCATED && e != ZERO && dataAt + (e + 1) * blockSize > fileSize) {
                throw corrupt(n, "block map entry " + i + " names block " + e + ", past the file's end");
            }
        }
        return new VdiImage(file, diskSize, (int) blockSize, dataAt, map, clock);
    }

    private static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VDI " + what);
    }

    @Override
    long blockOffset(int block) {
        long e = Integer.toUnsignedLong(map[block]);
        return e == UNALLOCATED || e == ZERO ? ZEROS : dataOffset + e * blockSize;
    }
}
