package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A VHD image (Microsoft's "Virtual Hard Disk Image Format Specification"), read: fixed disks
 * (the data, then a 512-byte footer) and dynamic disks (a footer copy, a dynamic header, the
 * block allocation table, blocks of a sector bitmap and data; unallocated blocks read as zeros).
 * Differencing disks and writing are refused ({@code EOPNOTSUPP}). Every field is checked before
 * use: footer and header checksums, the BAT inside the file, block offsets inside the file; the
 * BAT is read whole only when the header's entry count is sane (at most one per block of the
 * virtual size). The virtual size follows qemu's rule, so that both read the same disk: the CHS
 * geometry's size for images from Virtual PC and older qemu, the footer's current size for
 * Hyper-V, disk2vhd, XenServer and newer qemu, and whenever the geometry is the largest CHS can
 * hold. Thread-safe.
 */
public final class VhdImage extends BlockMapImage {
    static final int FOOTER = 512;
    private static final long COOKIE = 0x636f6e6563746978L; // "conectix"
    private static final long SPARSE_COOKIE = 0x6378737061727365L; // "cxsparse"
    private static final int TYPE_FIXED = 2;
    private static final int TYPE_DYNAMIC = 3;
    private static final int TYPE_DIFFERENCING = 4;
    private static final long MAX_CHS_SECTORS = 65535L * 16 * 255;
    private static final long UNALLOCATED = 0xFFFF_FFFFL;

    /** A fixed disk is read as blocks of this size laid out in order. */
    private static final int FIXED_BLOCK = 1 << 20;

    private final boolean fixed;
    private final int bitmapBytes;
    private final int[] bat;

    private VhdImage(ImageFile file, long size, boolean fixed, int blockSize, int[] bat, HostClock clock) {
        super(file, "VHD", size, fixed ? FIXED_BLOCK : blockSize, true, clock);
        this.fixed = fixed;
        this.bitmapBytes = fixed ? 0 : roundUp(blockSize / 512 / 8, 512);
        this.bat = bat;
    }

    /**
     * Opens a VHD read-only.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the structure for a damaged image,
     *     {@code EOPNOTSUPP} for a differencing disk or a read-write open
     */
    public static VhdImage open(ImageFile file, boolean readOnly, HostClock clock) throws ErrnoException {
        String n = file.name();
        if (!readOnly) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing VHD images is not supported yet; open it read-only");
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
        }
        checkChecksum(n, "footer", footer, 64);
        int type = footer.getInt(60);
        long currentSize = footer.getLong(48);
        long virtualSize = virtualSize(footer, currentSize);
        if (type == TYPE_FIXED) {
            if (virtualSize > fileSize - FOOTER) {
                throw corrupt(n, "fixed disk of " + virtualSize + " bytes in a file of " + fileSize + " bytes");
            }
            return new VhdImage(file, virtualSize, true, 0, null, clock);
        }
        if (type == TYPE_DIFFERENCING) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": differencing VHD images are not supported yet");
        }
        if (type != TYPE_DYNAMIC) {
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
        for (int i = 0; i < bat.length; i++) {
            long sector = Integer.toUnsignedLong(bat[i]);
            if (sector != UNALLOCATED && (sector * 512 + bitmap + blockSize > fileSize)) {
                throw corrupt(n, "BAT entry " + i + " places its block at sector " + sector + ", past the file's end");
            }
        }
        return new VhdImage(file, virtualSize, false, (int) blockSize, bat, clock);
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

    private static void checkChecksum(String n, String what, ByteBuffer b, int at) throws ErrnoException {
        long stored = Integer.toUnsignedLong(b.getInt(at));
        long sum = 0;
        for (int i = 0; i < b.capacity(); i++) {
            if (i < at || i >= at + 4) {
                sum += b.get(i) & 0xff;
            }
        }
        long want = ~sum & 0xffff_ffffL;
        if (stored != want) {
            throw corrupt(n, String.format("%s checksum 0x%08x at offset %d, the bytes sum to 0x%08x", what, stored, at, want));
        }
    }

    private static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VHD " + what);
    }

    private static int roundUp(int x, int unit) {
        return (x + unit - 1) / unit * unit;
    }

    /** Whether this is a fixed disk (else dynamic). */
    public boolean isFixed() {
        return fixed;
    }

    @Override
    long blockOffset(int block) {
        if (fixed) {
            return (long) block * FIXED_BLOCK;
        }
        long sector = Integer.toUnsignedLong(bat[block]);
        return sector == UNALLOCATED ? ZEROS : sector * 512 + bitmapBytes;
    }
}
