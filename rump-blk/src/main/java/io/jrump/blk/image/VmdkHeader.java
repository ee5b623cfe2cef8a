package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 512-byte header of a VMDK hosted sparse extent ("KDMV", Virtual Disk Format 1.1 §
 * "Hosted Sparse Extent Header"), little-endian. Offsets and sizes are in 512-byte sectors.
 * {@link #parse} checks every field before anything is sized from it.
 */
record VmdkHeader(int version, int flags, long capacity, long grainSize, long descriptorOffset, long descriptorSize,
        int gtesPerGt, long rgdOffset, long gdOffset, long overhead, int compressAlgorithm) {
    static final int MAGIC = 0x564d444b; // "KDMV" read little-endian
    static final int FLAG_NEWLINE_TEST = 1;
    static final int FLAG_REDUNDANT_GD = 1 << 1;
    static final int FLAG_ZERO_GRAIN = 1 << 2;
    static final int FLAG_COMPRESSED = 1 << 16;
    static final int FLAG_MARKERS = 1 << 17;
    /** gdOffset of a stream whose grain directory is written after the grains; the footer holds the real one. */
    static final long GD_AT_END = -1;
    static final int DEFLATE = 1;
    /** Largest grain read: 1 MiB (VMware and qemu write 64 KiB); a compressed grain is inflated into this. */
    static final long MAX_GRAIN_SECTORS = 2048;
    /** Largest grain table: 4096 entries (the format writes 512). */
    static final int MAX_GTES = 4096;
    /** Largest embedded descriptor: 1 MiB, as for a descriptor file. */
    static final long MAX_DESCRIPTOR_SECTORS = 2048;

    boolean compressed() {
        return (flags & FLAG_COMPRESSED) != 0;
    }

    boolean markers() {
        return (flags & FLAG_MARKERS) != 0;
    }

    boolean zeroGrains() {
        return (flags & FLAG_ZERO_GRAIN) != 0;
    }

    boolean redundant() {
        return (flags & FLAG_REDUNDANT_GD) != 0 && rgdOffset != 0;
    }

    long grainBytes() {
        return grainSize * 512;
    }

    long grains() {
        return (capacity + grainSize - 1) / grainSize;
    }

    long tables() {
        return (grains() + gtesPerGt - 1) / gtesPerGt;
    }

    /** The same header with another grain-directory offset (a stream's footer). */
    VmdkHeader withGdOffset(long gd) {
        return new VmdkHeader(version, flags, capacity, grainSize, descriptorOffset, descriptorSize, gtesPerGt,
                rgdOffset, gd, overhead, compressAlgorithm);
    }

    /**
     * Reads and checks the header at {@code at} (0, or a stream's footer).
     *
     * @param where what to call it in messages ("header", "footer")
     */
    static VmdkHeader parse(ImageFile file, long at, String where) throws ErrnoException {
        String n = file.name();
        if (at < 0 || file.size() - at < 512) {
            throw corrupt(n, where + " at 0x" + Long.toHexString(Math.max(at, 0)) + ": file of " + file.size()
                    + " bytes is too short for it");
        }
        ByteBuffer h = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        file.read(at, h);
        if (h.getInt(0) != MAGIC) {
            throw corrupt(n, where + " at 0x" + Long.toHexString(at) + ": no magic \"KDMV\"");
        }
        int version = h.getInt(4);
        if (version < 1 || version > 3) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VMDK sparse extent version " + version
                    + " is not supported (1 to 3 are)");
        }
        int flags = h.getInt(8);
        VmdkHeader v = new VmdkHeader(version, flags, h.getLong(12), h.getLong(20), h.getLong(28), h.getLong(36),
                h.getInt(44), h.getLong(48), h.getLong(56), h.getLong(64), h.getShort(77) & 0xffff);
        String f = where + " field ";
        if ((flags & FLAG_NEWLINE_TEST) != 0
                && (h.get(73) != '\n' || h.get(74) != ' ' || h.get(75) != '\r' || h.get(76) != '\n')) {
            throw corrupt(n, where + ": newline test characters at 0x49..0x4c are damaged"
                    + " (was the file copied in text mode?)");
        }
        if (v.grainSize < 1 || v.grainSize > MAX_GRAIN_SECTORS || Long.bitCount(v.grainSize) != 1) {
            throw corrupt(n, f + "grainSize " + v.grainSize + " at 0x14 is not a power of two from 1 to "
                    + MAX_GRAIN_SECTORS + " sectors");
        }
        if (v.capacity < 0 || v.capacity > Long.MAX_VALUE / 512 / 2) {
            throw corrupt(n, f + "capacity " + v.capacity + " sectors at 0xc is not a disk size");
        }
        if (v.gtesPerGt < 1 || v.gtesPerGt > MAX_GTES) {
            throw corrupt(n, f + "numGTEsPerGT " + Integer.toUnsignedString(v.gtesPerGt) + " at 0x2c is not from 1 to "
                    + MAX_GTES);
        }
        if (v.grains() > Integer.MAX_VALUE) {
            throw corrupt(n, f + "capacity " + v.capacity + " sectors at 0xc makes " + v.grains() + " grains, more than "
                    + Integer.MAX_VALUE);
        }
        if (v.descriptorSize < 0 || v.descriptorSize > MAX_DESCRIPTOR_SECTORS) {
            throw corrupt(n, f + "descriptorSize " + v.descriptorSize + " at 0x24 is over " + MAX_DESCRIPTOR_SECTORS
                    + " sectors");
        }
        if (v.compressed() && v.compressAlgorithm != DEFLATE) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VMDK compression algorithm " + v.compressAlgorithm
                    + " is not supported (1, deflate, is)");
        }
        return v;
    }

    /** "COWD" read little-endian: an ESX sparse extent (vmfsSparse). */
    static final int COWD_MAGIC = 0x44574f43;
    /** Grain-table entries in a COWD extent: fixed by the format. */
    static final int COWD_GTES = 4096;

    /**
     * Reads and checks the header of an ESX sparse extent ("COWD", version 1): 32-bit fields for
     * the capacity, grain size, grain directory sector and entry count; grain tables of 4096
     * entries, no redundant directory, no compression, no embedded descriptor.
     */
    static VmdkHeader parseCowd(ImageFile file) throws ErrnoException {
        String n = file.name();
        if (file.size() < 512) {
            throw corrupt(n, "COWD header: file of " + file.size() + " bytes is too short for it");
        }
        ByteBuffer h = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        file.read(0, h);
        if (h.getInt(0) != COWD_MAGIC) {
            throw corrupt(n, "COWD header: no magic \"COWD\"");
        }
        int version = h.getInt(4);
        if (version != 1) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VMDK COWD extent version " + version
                    + " is not supported (1 is)");
        }
        long capacity = Integer.toUnsignedLong(h.getInt(12));
        long grain = Integer.toUnsignedLong(h.getInt(16));
        long gd = Integer.toUnsignedLong(h.getInt(20));
        long gdEntries = Integer.toUnsignedLong(h.getInt(24));
        if (grain < 1 || grain > MAX_GRAIN_SECTORS || Long.bitCount(grain) != 1) {
            throw corrupt(n, "COWD header field granularity " + grain + " at 0x10 is not a power of two from 1 to "
                    + MAX_GRAIN_SECTORS + " sectors");
        }
        VmdkHeader v = new VmdkHeader(version, 0, capacity, grain, 0, 0, COWD_GTES, 0, gd, 0, 0);
        if (gdEntries < v.tables()) {
            throw corrupt(n, "COWD header: " + gdEntries + " grain directory entries at 0x18 cannot map " + capacity
                    + " sectors in grains of " + grain + " (" + v.tables() + " needed)");
        }
        return v;
    }

    /** The header as it lies in the file. */
    ByteBuffer encode() {
        ByteBuffer h = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, MAGIC).putInt(4, version).putInt(8, flags).putLong(12, capacity).putLong(20, grainSize)
                .putLong(28, descriptorOffset).putLong(36, descriptorSize).putInt(44, gtesPerGt).putLong(48, rgdOffset)
                .putLong(56, gdOffset).putLong(64, overhead);
        h.put(73, (byte) '\n').put(74, (byte) ' ').put(75, (byte) '\r').put(76, (byte) '\n');
        h.putShort(77, (short) compressAlgorithm);
        return h;
    }

    static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VMDK " + what);
    }
}
