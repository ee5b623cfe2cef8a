package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A VirtualBox VDI image, read and write: header version 1.1, static (every block allocated) and
 * dynamic (a block map; unallocated and zero blocks read as zeros, allocated at the end of the
 * data area on first write). Undo and differencing images are refused ({@code EOPNOTSUPP}). Every header field is checked before use: sector
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

    private static final int HEADER = 0x200;

    /** The block size of images {@link #create} makes: VirtualBox's and qemu's. */
    public static final int CREATE_BLOCK_SIZE = 1 << 20;

    private final int blockSize;
    private final long mapOffset;
    private final long dataOffset;
    private final int[] map;
    private final boolean isStatic;
    /** The next data block a write allocates: past every block the map names. */
    private int allocated;

    private VdiImage(ImageFile file, long size, int blockSize, long mapOffset, long dataOffset, int[] map,
            boolean isStatic, int allocated, boolean readOnly, HostClock clock) {
        super(file, "VDI", size, blockSize, readOnly, clock);
        this.blockSize = blockSize;
        this.mapOffset = mapOffset;
        this.dataOffset = dataOffset;
        this.map = map;
        this.isStatic = isStatic;
        this.allocated = allocated;
    }

    /**
     * Opens a VDI.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the field for a damaged header or block map
     *     (and, for a read-write open, two map entries naming one data block), {@code EOPNOTSUPP}
     *     for an undo or differencing image
     */
    public static VdiImage open(ImageFile file, boolean readOnly, HostClock clock) throws ErrnoException {
        String n = file.name();
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
                        + " images are not supported");
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
        if (blocksAt < 0x190 || dataAt < blocksAt + blocks * 4) {
            // Blocks written over the header or the map would corrupt them.
            throw corrupt(n, "block map at byte " + blocksAt + " (" + blocks + " entries) and data area at byte " + dataAt
                    + " overlap each other or the header");
        }
        if (dataAt > fileSize) {
            throw corrupt(n, "data offset " + dataAt + " at byte 0x158 lies past the file's end");
        }
        ByteBuffer m = ByteBuffer.allocate((int) (needed * 4)).order(ByteOrder.LITTLE_ENDIAN);
        file.read(blocksAt, m);
        int[] map = new int[(int) needed];
        m.asIntBuffer().get(map);
        long next = 0;
        java.util.BitSet used = readOnly ? null : new java.util.BitSet();
        for (int i = 0; i < map.length; i++) {
            long e = Integer.toUnsignedLong(map[i]);
            if (e == UNALLOCATED || e == ZERO) {
                continue;
            }
            if (dataAt + (e + 1) * blockSize > fileSize) {
                throw corrupt(n, "block map entry " + i + " names block " + e + ", past the file's end");
            }
            if (used != null) {
                if (used.get((int) e)) {
                    // Writing one would change the other: refuse rather than spread the damage.
                    throw corrupt(n, "block map entry " + i + " names data block " + e + ", which an earlier entry names too");
                }
                used.set((int) e);
            }
            next = Math.max(next, e + 1);
        }
        long headerAllocated = Integer.toUnsignedLong(h.getInt(0x184));
        return new VdiImage(file, diskSize, (int) blockSize, blocksAt, dataAt, map, type == TYPE_STATIC,
                (int) Math.max(next, Math.min(headerAllocated, blocks)), readOnly, clock);
    }

    /** "static" (every block allocated at creation) or "dynamic". */
    public String subformat() {
        return isStatic ? "static" : "dynamic";
    }

    /**
     * Writes a new, empty VDI into an empty file, laid out as qemu-img and VirtualBox do: the
     * 512-byte header, the block map, then the data blocks (1 MiB); a static image has every
     * block allocated (the file sparse), a dynamic one none.
     *
     * @param uuid 16 random bytes, the image's UUID (made a version 4 UUID here)
     */
    public static void create(ImageFile file, long size, boolean fixed, byte[] uuid) throws ErrnoException {
        if (size < 0 || size % 512 != 0) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": VDI size " + size + " is not a whole number of sectors");
        }
        long blocks = (size + CREATE_BLOCK_SIZE - 1) / CREATE_BLOCK_SIZE;
        if (blocks > 0x3fff_ffffL) {
            throw new ErrnoException(Errno.EFBIG, file.name() + ": a VDI of " + size + " bytes needs more than 2^30 blocks");
        }
        int mapBytes = (int) ((blocks * 4 + 511) / 512 * 512);
        long dataAt = HEADER + mapBytes;
        ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        h.put(0, "<<< jrump Virtual Disk Image >>>\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        h.putInt(0x40, SIGNATURE).putInt(0x44, VERSION_1_1).putInt(0x48, 0x180).putInt(0x4c, fixed ? TYPE_STATIC : TYPE_DYNAMIC);
        h.putInt(0x154, HEADER).putInt(0x158, (int) dataAt).putInt(0x168, 512).putLong(0x170, size);
        h.putInt(0x178, CREATE_BLOCK_SIZE).putInt(0x180, (int) blocks).putInt(0x184, fixed ? (int) blocks : 0);
        byte[] id = uuid.clone();
        id[6] = (byte) ((id[6] & 0x0f) | 0x40);
        id[8] = (byte) ((id[8] & 0x3f) | 0x80);
        h.put(0x188, id);
        ByteBuffer m = ByteBuffer.allocate(mapBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blocks; i++) {
            m.putInt(i * 4, fixed ? i : -1);
        }
        file.write(0, h);
        file.write(HEADER, m);
        if (fixed && blocks > 0) {
            file.write(dataAt + blocks * CREATE_BLOCK_SIZE - 512, ByteBuffer.allocate(512));
        }
    }

    private static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VDI " + what);
    }

    @Override
    long blockOffset(int block) {
        long e = Integer.toUnsignedLong(map[block]);
        return e == UNALLOCATED || e == ZERO ? ZEROS : dataOffset + e * blockSize;
    }

    /**
     * Places the block after the last one (its last sector written, so the file covers it and
     * reads as zeros), then the map entry, then the header's count: a crash between leaves an
     * unreferenced block at the end, never an entry naming a block past the file.
     */
    @Override
    long allocateBlock(int block) throws ErrnoException {
        if (allocated >= 0x3fff_ffff) {
            throw new ErrnoException(Errno.ENOSPC, name() + ": VDI block numbers exhausted");
        }
        int index = allocated;
        long at = dataOffset + (long) index * blockSize;
        file.write(at + blockSize - 512, ByteBuffer.allocate(512));
        map[block] = index;
        file.write(mapOffset + 4L * block, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, index));
        allocated = index + 1;
        file.write(0x184, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, allocated));
        return at;
    }
}
