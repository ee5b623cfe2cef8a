package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * A VHD image (Microsoft's "Virtual Hard Disk Image Format Specification"), read and write:
 * fixed disks (the data, then a 512-byte footer), dynamic disks (a footer copy, a dynamic header,
 * the block allocation table, blocks of a sector bitmap and data; unallocated blocks read as
 * zeros) and differencing disks (a dynamic disk whose absent blocks, and sectors whose bitmap bit
 * is clear, read from the parent named by the header's locators). Every field is checked before
 * use: footer and header checksums, the BAT inside the file, block offsets inside the file; the
 * BAT is read whole only when the header's entry count is sane (at most one per block of the
 * virtual size). The virtual size follows qemu's rule, so that both read the same disk: the CHS
 * geometry's size for images from Virtual PC, older qemu and jrump, the footer's current size for
 * Hyper-V, disk2vhd, XenServer and newer qemu, and whenever the geometry is the largest CHS can
 * hold. Thread-safe.
 */
public final class VhdImage extends BlockMapImage {
    static final int FOOTER = 512;
    private static final long COOKIE = 0x636f6e6563746978L; // "conectix"
    private static final long SPARSE_COOKIE = 0x6378737061727365L; // "cxsparse"
    static final int TYPE_FIXED = 2;
    static final int TYPE_DYNAMIC = 3;
    static final int TYPE_DIFFERENCING = 4;
    private static final long MAX_CHS_SECTORS = 65535L * 16 * 255;
    private static final long UNALLOCATED = 0xFFFF_FFFFL;
    /** Seconds from the Unix epoch to VHD's, 2000-01-01 00:00:00 UTC. */
    private static final long VHD_EPOCH = 946_684_800L;

    /** A fixed disk is read as blocks of this size laid out in order. */
    private static final int FIXED_BLOCK = 1 << 20;

    /** The block size of dynamic disks {@link #create} makes: the specification's and qemu's default. */
    public static final int CREATE_BLOCK_SIZE = 2 << 20;

    private final int type;
    private final int bitmapBytes;
    private final int[] bat;
    private final long batOffset;
    private final ByteBuffer footer;
    private final BlockDevice parent;
    /** A differencing disk's sector bitmaps, read as blocks are first touched. */
    private final Map<Integer, byte[]> bitmaps = new HashMap<>();
    /** Where the trailing footer lies: the next block goes here and the footer after it. */
    private long end;

    private VhdImage(ImageFile file, long size, int type, int blockSize, int[] bat, long batOffset, ByteBuffer footer,
            BlockDevice parent, boolean readOnly, HostClock clock) {
        super(file, "VHD", size, type == TYPE_FIXED ? FIXED_BLOCK : blockSize, readOnly, clock);
        this.type = type;
        this.bitmapBytes = type == TYPE_FIXED ? 0 : roundUp(blockSize / 512 / 8, 512);
        this.bat = bat;
        this.batOffset = batOffset;
        this.footer = footer;
        this.parent = parent;
        this.end = file.size() - FOOTER;
    }

    /** Opens a VHD; a differencing disk's parent through {@code parents}, read-only. */
    public static VhdImage open(ImageFile file, boolean readOnly, HostClock clock, Qcow2Image.BackingOpener parents,
            int depth) throws ErrnoException {
        String n = file.name();
        if (depth > Qcow2Image.MAX_BACKING_DEPTH) {
            throw new ErrnoException(Errno.ELOOP, n + ": VHD parent chain deeper than " + Qcow2Image.MAX_BACKING_DEPTH);
        }
        long fileSize = file.size();
        if (fileSize < FOOTER) {
            throw corrupt(n, "file of " + fileSize + " bytes is shorter than the 512-byte footer");
        }
        ByteBuffer footer = ByteBuffer.allocate(FOOTER);
        file.read(fileSize - FOOTER, footer);
        if (footer.getLong(0) != COOKIE) {
            // A dynamic disk whose trailing footer is damaged still has its copy at byte 0.
            file.read(0, footer.clear());
            if (footer.getLong(0) != COOKIE) {
                throw corrupt(n, "no footer cookie \"conectix\" at the end or at byte 0");
            }
            if (!readOnly) {
                throw new ErrnoException(Errno.EUCLEAN, n + ": VHD footer at the end is damaged (the copy at byte 0 is"
                        + " good): open it read-only and convert it");
            }
        }
        checkChecksum(n, "footer", footer, 64);
        int type = footer.getInt(60);
        long currentSize = footer.getLong(48);
        long virtualSize = virtualSize(footer, currentSize);
        if (type == TYPE_FIXED) {
            if (virtualSize > fileSize - FOOTER) {
                throw corrupt(n, "fixed disk of " + virtualSize + " bytes in a file of " + fileSize + " bytes");
            }
            return new VhdImage(file, virtualSize, TYPE_FIXED, 0, null, 0, footer, null, readOnly, clock);
        }
        if (type != TYPE_DYNAMIC && type != TYPE_DIFFERENCING) {
            throw corrupt(n, "disk type " + type + " at footer offset 60 (2 fixed, 3 dynamic, 4 differencing)");
        }
        long headerAt = footer.getLong(16);
        if (headerAt < 0 || headerAt > fileSize - 1024) {
            throw corrupt(n, "dynamic header offset " + headerAt + " at footer offset 16 lies outside the file");
        }
        ByteBuffer h = ByteBuffer.allocate(1024);
        file.read(headerAt, h);
        if (h.getLong(0) != SPARSE_COOKIE) {
            throw corrupt(n, "no dynamic header cookie \"cxsparse\" at byte " + headerAt);
        }
        checkChecksum(n, "dynamic header", h, 36);
        long batAt = h.getLong(16);
        long entries = Integer.toUnsignedLong(h.getInt(28));
        long blockSize = Integer.toUnsignedLong(h.getInt(32));
        if (blockSize < 512 || blockSize > (256L << 20) || Long.bitCount(blockSize) != 1) {
            throw corrupt(n, "block size " + blockSize + " at header offset 32 is not a power of two from 512 B to 256 MiB");
        }
        long needed = (virtualSize + blockSize - 1) / blockSize;
        if (entries < needed) {
            throw corrupt(n, "BAT of " + entries + " entries cannot cover " + virtualSize + " bytes in blocks of " + blockSize);
        }
        if (needed > Integer.MAX_VALUE / 4) {
            throw corrupt(n, "disk of " + virtualSize + " bytes needs " + needed + " blocks of " + blockSize
                    + ", more than a BAT held in memory may have");
        }
        if (batAt < 0 || batAt > fileSize || entries * 4 > fileSize - batAt) {
            throw corrupt(n, "BAT of " + entries + " entries at byte " + batAt + " runs past the file's " + fileSize + " bytes");
        }
        ByteBuffer batBytes = ByteBuffer.allocate((int) (needed * 4));
        file.read(batAt, batBytes);
        int[] bat = new int[(int) needed];
        batBytes.asIntBuffer().get(bat);
        int bitmap = roundUp((int) (blockSize / 512 / 8), 512);
        long footerAt = fileSize - FOOTER;
        for (int i = 0; i < bat.length; i++) {
            long sector = Integer.toUnsignedLong(bat[i]);
            if (sector != UNALLOCATED && (sector * 512 + bitmap + blockSize > footerAt)) {
                throw corrupt(n, "BAT entry " + i + " places its block at sector " + sector + ", past the file's end");
            }
        }
        if (!readOnly) {
            checkBlocksApart(n, bat, bitmap + blockSize, new long[][] {{0, 512}, {headerAt, 1024}, {batAt, entries * 4},
                {footerAt, FOOTER}});
        }
        BlockDevice parent = null;
        if (type == TYPE_DIFFERENCING) {
            String parentName = VhdParent.locate(file, h, n);
            parent = parents.open(parentName, "vhd", depth + 1);
            try {
                VhdParent.check(n, h, parent, virtualSize);
            } catch (ErrnoException e) {
                parent.close();
                throw e;
            }
        }
        return new VhdImage(file, virtualSize, type, (int) blockSize, bat, batAt, footer, parent, readOnly, clock);
    }

    /**
     * For a read-write open: no two blocks overlap, and none overlaps a metadata range
     * ({start, length}); writing into one would change the other.
     */
    private static void checkBlocksApart(String n, int[] bat, long blockBytes, long[][] metadata) throws ErrnoException {
        long[] starts = new long[bat.length];
        int count = 0;
        for (int entry : bat) {
            if (Integer.toUnsignedLong(entry) != UNALLOCATED) {
                starts[count++] = Integer.toUnsignedLong(entry) * 512;
            }
        }
        long[] sorted = java.util.Arrays.copyOf(starts, count);
        java.util.Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] - sorted[i - 1] < blockBytes) {
                throw corrupt(n, "blocks at bytes " + sorted[i - 1] + " and " + sorted[i] + " overlap; opening it for"
                        + " writing would change both");
            }
        }
        for (long[] m : metadata) {
            // The first block starting at or past the range's end, and the one before it.
            int i = java.util.Arrays.binarySearch(sorted, m[0] + m[1]);
            int before = (i >= 0 ? i : -i - 1) - 1;
            if (before >= 0 && sorted[before] + blockBytes > m[0]) {
                throw corrupt(n, "block at byte " + sorted[before] + " overlaps metadata at bytes " + m[0] + "-"
                        + (m[0] + m[1] - 1) + "; opening it for writing would overwrite it");
            }
        }
    }

    /** The virtual size as qemu computes it (block/vpc.c's creator-app table). */
    private static long virtualSize(ByteBuffer footer, long currentSize) {
        String creator = new String(new byte[] {footer.get(28), footer.get(29), footer.get(30), footer.get(31)},
                StandardCharsets.ISO_8859_1);
        int cylinders = footer.getShort(56) & 0xffff;
        int heads = footer.get(58) & 0xff;
        int sectors = footer.get(59) & 0xff;
        long chs = (long) cylinders * heads * sectors;
        boolean useChs = !creator.equals("win ") && !creator.equals("qem2") && !creator.equals("d2v ")
                && !creator.equals("CTXS") && !creator.equals("tap\0");
        if (!useChs || chs == MAX_CHS_SECTORS) {
            return currentSize / 512 * 512;
        }
        return chs * 512;
    }

    static void checkChecksum(String n, String what, ByteBuffer b, int at) throws ErrnoException {
        long stored = Integer.toUnsignedLong(b.getInt(at));
        long want = checksum(b, at);
        if (stored != want) {
            throw corrupt(n, String.format("%s checksum 0x%08x at offset %d, the bytes sum to 0x%08x", what, stored, at, want));
        }
    }

    /** The ones' complement of the byte sum, skipping the 4-byte checksum field at {@code at}. */
    static long checksum(ByteBuffer b, int at) {
        long sum = 0;
        for (int i = 0; i < b.capacity(); i++) {
            if (i < at || i >= at + 4) {
                sum += b.get(i) & 0xff;
            }
        }
        return ~sum & 0xffff_ffffL;
    }

    static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VHD " + what);
    }

    static int roundUp(int x, int unit) {
        return (x + unit - 1) / unit * unit;
    }

    /** Whether this is a fixed disk. */
    public boolean isFixed() {
        return type == TYPE_FIXED;
    }

    /** Whether this is a differencing disk (reads what it lacks from its parent). */
    public boolean isDifferencing() {
        return type == TYPE_DIFFERENCING;
    }

    /** A differencing disk's parent as opened (its name), or null. */
    public String parentName() {
        return parent == null ? null : parent.name();
    }

    /** The disk type: "fixed", "dynamic" or "differencing". */
    public String subformat() {
        return type == TYPE_FIXED ? "fixed" : type == TYPE_DYNAMIC ? "dynamic" : "differencing";
    }

    /** The unique id in the footer, which a differencing child names its parent by. */
    byte[] uniqueId() {
        byte[] id = new byte[16];
        footer.get(68, id);
        return id;
    }

    /** The footer's timestamp, seconds since 2000-01-01 UTC; a child records its parent's. */
    int timestamp() {
        return footer.getInt(24);
    }

    @Override
    long blockOffset(int block) {
        if (type == TYPE_FIXED) {
            return (long) block * FIXED_BLOCK;
        }
        long sector = Integer.toUnsignedLong(bat[block]);
        return sector == UNALLOCATED ? ZEROS : sector * 512 + bitmapBytes;
    }

    /**
     * Appends a block where the footer was (its sector bitmap, then data reading as zeros), moves
     * the footer after it, then points the BAT entry at it: a crash between leaves the block
     * unreferenced, never a BAT entry pointing past the file.
     */
    @Override
    long allocateBlock(int block) throws ErrnoException {
        long at = (end + 511) / 512 * 512; // the BAT names sectors: a file of odd length leaves a gap
        if (at / 512 >= UNALLOCATED) {
            throw new ErrnoException(Errno.EFBIG, name() + ": VHD block " + block + " would start past sector 2^32 - 1");
        }
        ByteBuffer bitmap = ByteBuffer.allocate(bitmapBytes);
        if (type == TYPE_DYNAMIC) {
            // Every sector is this disk's: the bitmap only matters to differencing disks.
            while (bitmap.hasRemaining()) {
                bitmap.put((byte) 0xff);
            }
            bitmap.flip();
        } else {
            bitmaps.put(block, new byte[bitmapBytes]);
        }
        file.write(at, bitmap);
        long newEnd = at + bitmapBytes + blockSize();
        file.write(newEnd, footer.duplicate().clear());
        end = newEnd;
        bat[block] = (int) (at / 512);
        ByteBuffer entry = ByteBuffer.allocate(4).putInt(0, bat[block]);
        file.write(batOffset + 4L * block, entry);
        return at + bitmapBytes;
    }

    @Override
    void readPiece(int block, int within, ByteBuffer part) throws ErrnoException {
        if (parent == null) {
            super.readPiece(block, within, part);
            return;
        }
        long blockStart = (long) block * blockSize();
        long at = blockOffset(block);
        if (at == ZEROS) {
            readParent(parent, blockStart + within, part);
            return;
        }
        byte[] bits = bitmap(block);
        // Runs of sectors from one source: this disk where the bit is set, the parent elsewhere.
        int pos = part.position();
        int limit = part.limit();
        while (pos < limit) {
            int sector = (within + pos - part.position()) / 512;
            boolean mine = isSet(bits, sector);
            int runEnd = pos + 512;
            while (runEnd < limit && isSet(bits, sector + (runEnd - pos) / 512) == mine) {
                runEnd += 512;
            }
            ByteBuffer run = part.duplicate().position(pos).limit(runEnd);
            long inBlock = (long) within + (pos - part.position());
            if (mine) {
                file.read(at + inBlock, run);
            } else {
                readParent(parent, blockStart + inBlock, run);
            }
            pos = runEnd;
        }
    }

    @Override
    void writePiece(int block, int within, ByteBuffer part) throws ErrnoException {
        if (parent == null) {
            super.writePiece(block, within, part);
            return;
        }
        long at = blockOffset(block);
        if (at == ZEROS) {
            at = allocateBlock(block);
        }
        file.write(at + within, part);
        byte[] bits = bitmap(block);
        int first = within / 512;
        int last = (within + part.remaining()) / 512 - 1;
        for (int s = first; s <= last; s++) {
            bits[s >>> 3] |= (byte) (0x80 >>> (s & 7));
        }
        // The bitmap after the data: a crash between leaves the sectors reading from the parent.
        int from = first / 8 / 512 * 512;
        int to = roundUp(last / 8 + 1, 512);
        file.write(at - bitmapBytes + from, ByteBuffer.wrap(bits, from, to - from));
    }

    private byte[] bitmap(int block) throws ErrnoException {
        byte[] bits = bitmaps.get(block);
        if (bits == null) {
            bits = new byte[bitmapBytes];
            file.read(blockOffset(block) - bitmapBytes, ByteBuffer.wrap(bits));
            bitmaps.put(block, bits);
        }
        return bits;
    }

    /** Sector bitmaps are big-endian within each byte: bit 7 of byte 0 is sector 0. */
    private static boolean isSet(byte[] bits, int sector) {
        return (bits[sector >>> 3] & (0x80 >>> (sector & 7))) != 0;
    }

    @Override
    public synchronized void close() throws ErrnoException {
        try {
            super.close();
        } finally {
            if (parent != null) {
                parent.close();
            }
        }
    }

    /** CHS geometry by the specification's algorithm: {cylinders, heads, sectors per track}. */
    static int[] geometry(long totalSectors) {
        long total = Math.min(totalSectors, MAX_CHS_SECTORS);
        int spt;
        int heads;
        long cth;
        if (total >= 65535L * 16 * 63) {
            spt = 255;
            heads = 16;
            cth = total / spt;
        } else {
            spt = 17;
            cth = total / spt;
            heads = (int) Math.max(4, (cth + 1023) / 1024);
            if (cth >= heads * 1024L || heads > 16) {
                spt = 31;
                heads = 16;
                cth = total / spt;
            }
            if (cth >= heads * 1024L) {
                spt = 63;
                heads = 16;
                cth = total / spt;
            }
        }
        return new int[] {(int) (cth / heads), heads, spt};
    }

    /**
     * The size a disk of at least {@code size} bytes gets: the smallest CHS geometry that holds
     * it (what Windows and qemu see), or {@code size} itself past CHS's largest.
     */
    static long geometrySize(long size) {
        long sectors = (size + 511) / 512;
        if (sectors >= MAX_CHS_SECTORS) {
            return sectors * 512;
        }
        for (long s = sectors; ; s++) {
            int[] g = geometry(s);
            long chs = (long) g[0] * g[1] * g[2];
            if (chs >= sectors) {
                return chs * 512;
            }
        }
    }

    /**
     * Writes a new, empty VHD into an empty file: {@code fixed} (the zeros then the footer, the
     * file sparse) or dynamic (2 MiB blocks). The disk is {@code size} rounded up to a whole CHS
     * geometry, as Virtual PC and qemu-img make them.
     *
     * @param uniqueId 16 random bytes (the footer's unique id, a child's link to its parent)
     * @param wallNanos the time written in the footer
     */
    public static void create(ImageFile file, long size, boolean fixed, byte[] uniqueId, long wallNanos)
            throws ErrnoException {
        VhdCreate.create(file, size, fixed ? TYPE_FIXED : TYPE_DYNAMIC, uniqueId, wallNanos, null);
    }

    /**
     * Writes a new differencing disk into an empty file, its size and parent link from
     * {@code parent}: reads fall through to the parent until written. {@code relativeName} is the
     * parent's path from the child's directory, {@code absoluteName} its full path; both go into
     * locators, the relative one tried first.
     */
    public static void createDifferencing(ImageFile file, VhdImage parent, String relativeName, String absoluteName,
            byte[] uniqueId, long wallNanos) throws ErrnoException {
        VhdCreate.create(file, parent.size(), TYPE_DIFFERENCING, uniqueId, wallNanos,
                new VhdCreate.ParentLink(parent.uniqueId(), parent.timestamp(), relativeName, absoluteName));
    }

    static long vhdSeconds(long wallNanos) {
        return wallNanos / 1_000_000_000L - VHD_EPOCH;
    }

    static long footerCookie() {
        return COOKIE;
    }

    static long sparseCookie() {
        return SPARSE_COOKIE;
    }
}
