package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * One VMDK sparse extent — hosted ("KDMV") or, read-only, ESX ("COWD"): a grain directory of grain tables of grains; a grain
 * is a block of {@link BlockMapImage}. Reads plain grains, zero grains (table entry 1 with the
 * zeroed-grain flag) and, in a streamOptimized extent, deflate-compressed grains behind their
 * grain markers; unallocated grains read as zeros. Writes allocate grains (and, when a
 * directory entry is empty, grain tables) at the end of the file and record them in both the
 * primary and the redundant tables; compressed extents are not written in place.
 *
 * <p>The header and every grain-directory entry are checked at open; a grain table is read and
 * its entries checked when first used, and kept in a small cache, so opening a large disk reads
 * only its directory. Thread-safe as {@link BlockMapImage}.
 */
final class VmdkSparseExtent extends BlockMapImage {
    /** Largest grain directory: 4 Mi tables (128 TiB in 64 KiB grains); it is held in memory. */
    static final long MAX_TABLES = 1 << 22;
    private static final int CACHED_TABLES = 256;
    private static final int MARKER_GRAIN_HEADER = 12;

    private final VmdkHeader h;
    private final int[] gd;
    private final int[] rgd;
    /** A child disk's parent, read where a grain of this extent is unallocated; null for none. */
    private BlockDevice parent;
    /** Where this extent starts in the disk, so in the parent. */
    private long parentBase;
    private final Map<Integer, int[]> tables = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, int[]> eldest) {
            return size() > CACHED_TABLES;
        }
    };
    /** Where the next grain or table goes: the end of the file, sector-aligned. */
    private long end;
    private int inflatedGrain = -1;
    private byte[] inflated;

    private VmdkSparseExtent(ImageFile file, VmdkHeader h, int[] gd, int[] rgd, boolean readOnly, HostClock clock) {
        super(file, "VMDK", h.capacity() * 512, (int) h.grainBytes(), readOnly, clock);
        this.h = h;
        this.gd = gd;
        this.rgd = rgd;
        this.end = (file.size() + 511) / 512 * 512;
    }

    /** Makes unallocated grains read from {@code parent}, from {@code base} on (a child disk's extent). */
    void setParent(BlockDevice parent, long base) {
        this.parent = parent;
        this.parentBase = base;
    }

    VmdkHeader header() {
        return h;
    }

    /**
     * Opens a sparse extent, checking its header (and a stream's footer) and grain directory.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the field or entry for damaged metadata,
     *     {@code EOPNOTSUPP} for a read-write open of a compressed extent
     */
    static VmdkSparseExtent open(ImageFile file, boolean readOnly, HostClock clock) throws ErrnoException {
        String n = file.name();
        long size = file.size();
        ByteBuffer magic = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        if (size >= 4) {
            file.read(0, magic);
        }
        boolean cowd = magic.getInt(0) == VmdkHeader.COWD_MAGIC;
        if (cowd && !readOnly) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing VMDK ESX sparse extents (\"COWD\") is not"
                    + " supported; open it read-only");
        }
        VmdkHeader h = cowd ? VmdkHeader.parseCowd(file) : VmdkHeader.parse(file, 0, "header");
        if (h.gdOffset() == VmdkHeader.GD_AT_END) {
            if (!readOnly) {
                // New grains would go after the footer, which must stay last.
                throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing into a VMDK whose grain directory is in its"
                        + " footer (a stream) is not supported; open it read-only, or convert it");
            }
            h = footer(file, size);
        }
        if (h.compressed() && !h.markers()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VMDK compressed grains without grain markers are not supported");
        }
        if (!readOnly && h.compressed()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing into a compressed (streamOptimized) VMDK is not"
                    + " supported; open it read-only, or convert it");
        }
        if (!readOnly && !cowd && h.version() == 3) {
            // Version 3 adds changed block tracking, which writing here would not keep up to date (qemu reads only too).
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": writing VMDK version 3 sparse extents is not supported; open it"
                    + " read-only");
        }
        if (h.tables() > MAX_TABLES) {
            throw VmdkHeader.corrupt(n, "capacity " + h.capacity() + " sectors in grains of " + h.grainSize()
                    + " sectors needs " + h.tables() + " grain tables, more than the " + MAX_TABLES + " read");
        }
        int[] gd = directory(file, h, h.gdOffset(), "grain directory");
        int[] rgd = h.redundant() ? directory(file, h, h.rgdOffset(), "redundant grain directory") : null;
        if (h.descriptorSize() > 0 && (h.descriptorOffset() < 1
                || h.descriptorOffset() > size / 512 || h.descriptorSize() > size / 512 - h.descriptorOffset())) {
            throw VmdkHeader.corrupt(n, "embedded descriptor of " + h.descriptorSize() + " sectors at sector "
                    + h.descriptorOffset() + " runs past the end of the file (0x" + Long.toHexString(size) + ")");
        }
        return new VmdkSparseExtent(file, h, gd, rgd, readOnly, clock);
    }

    /** A stream's footer: marker, header copy holding the real gdOffset, end-of-stream marker. */
    private static VmdkHeader footer(ImageFile file, long size) throws ErrnoException {
        String n = file.name();
        if (size < 2048 || size % 512 != 0) {
            throw VmdkHeader.corrupt(n, "header says the grain directory is in the footer, but a file of " + size
                    + " bytes has no room for one");
        }
        ByteBuffer m = ByteBuffer.allocate(1536).order(ByteOrder.LITTLE_ENDIAN);
        file.read(size - 1536, m);
        if (m.getInt(12) != 3 || m.getInt(8) != 0) {
            throw VmdkHeader.corrupt(n, "no footer marker at 0x" + Long.toHexString(size - 1536)
                    + " (header gdOffset says the grain directory is in the footer)");
        }
        if (m.getLong(1024) != 0 || m.getLong(1032) != 0) { // its value, size and type are 0, as qemu checks
            throw VmdkHeader.corrupt(n, "no end-of-stream marker at 0x" + Long.toHexString(size - 512));
        }
        VmdkHeader f = VmdkHeader.parse(file, size - 1024, "footer");
        if (f.gdOffset() == VmdkHeader.GD_AT_END) {
            throw VmdkHeader.corrupt(n, "footer at 0x" + Long.toHexString(size - 1024) + " also leaves gdOffset to the end");
        }
        return f;
    }

    private static int[] directory(ImageFile file, VmdkHeader h, long sector, String what) throws ErrnoException {
        String n = file.name();
        long size = file.size();
        long bytes = h.tables() * 4;
        if (bytes == 0) {
            return new int[0]; // a disk of no sectors
        }
        if (sector < 1 || sector > size / 512 || bytes > size - sector * 512) {
            throw VmdkHeader.corrupt(n, what + " of " + h.tables() + " entries at sector " + sector
                    + " runs past the end of the file (0x" + Long.toHexString(size) + ")");
        }
        ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        file.read(sector * 512, b);
        int[] gd = new int[(int) h.tables()];
        b.asIntBuffer().get(gd);
        long gtBytes = (long) h.gtesPerGt() * 4;
        for (int i = 0; i < gd.length; i++) {
            long at = Integer.toUnsignedLong(gd[i]) * 512;
            if (gd[i] != 0 && (at + gtBytes > size)) {
                throw VmdkHeader.corrupt(n, what + " entry " + i + " (at 0x" + Long.toHexString(sector * 512 + i * 4L)
                        + ") points at 0x" + Long.toHexString(at) + ", a grain table running past the end of the file (0x"
                        + Long.toHexString(size) + ")");
            }
        }
        return gd;
    }

    /** The embedded descriptor's text, up to its first NUL; empty when there is none. */
    String descriptorText() throws ErrnoException {
        if (h.descriptorSize() == 0) {
            return "";
        }
        ByteBuffer b = ByteBuffer.allocate((int) (h.descriptorSize() * 512));
        file.read(h.descriptorOffset() * 512, b);
        int len = 0;
        while (len < b.capacity() && b.get(len) != 0) {
            len++;
        }
        return new String(b.array(), 0, len, StandardCharsets.UTF_8);
    }

    /** Grain table {@code t}, read and checked on first use. */
    private int[] table(int t) throws ErrnoException {
        int[] gt = tables.get(t);
        if (gt != null) {
            return gt;
        }
        long at = Integer.toUnsignedLong(gd[t]) * 512;
        ByteBuffer b = ByteBuffer.allocate(h.gtesPerGt() * 4).order(ByteOrder.LITTLE_ENDIAN);
        file.read(at, b);
        gt = new int[h.gtesPerGt()];
        b.asIntBuffer().get(gt);
        for (int e = 0; e < gt.length; e++) {
            long grain = (long) t * h.gtesPerGt() + e;
            long sector = Integer.toUnsignedLong(gt[e]);
            if (sector == 0 || grain >= h.grains() || (sector == 1 && h.zeroGrains())) {
                continue;
            }
            long need = h.compressed() ? MARKER_GRAIN_HEADER : Math.min(h.grainBytes(), size() - grain * h.grainBytes());
            if (!isReadOnly() && sector < h.overhead()) {
                // Writing that grain would write over the header, descriptor or tables.
                throw VmdkHeader.corrupt(name(), "grain table " + t + " (at 0x" + Long.toHexString(at) + ") entry " + e
                        + " points at 0x" + Long.toHexString(sector * 512) + ", inside the metadata (overHead ends at 0x"
                        + Long.toHexString(h.overhead() * 512) + "); not written to");
            }
            if (sector * 512 + need > end) {
                throw VmdkHeader.corrupt(name(), "grain table " + t + " (at 0x" + Long.toHexString(at) + ") entry " + e
                        + " points at 0x" + Long.toHexString(sector * 512) + ", past the end of the file (0x"
                        + Long.toHexString(end) + ")");
            }
        }
        tables.put(t, gt);
        return gt;
    }

    /** The table entry of grain {@code grain}: 0 when its table is absent. */
    private long entry(int grain) throws ErrnoException {
        int t = grain / h.gtesPerGt();
        return gd[t] == 0 ? 0 : Integer.toUnsignedLong(table(t)[grain % h.gtesPerGt()]);
    }

    @Override
    long blockOffset(int block) throws ErrnoException {
        long e = entry(block);
        return e == 0 || (e == 1 && h.zeroGrains()) ? ZEROS : e * 512;
    }

    /** Reads {@code part} from the parent at {@code block}/{@code within}; zeros past the parent's end. */
    private void readParent(int block, int within, ByteBuffer part) throws ErrnoException {
        readParent(parent, parentBase + (long) block * h.grainBytes() + within, part);
    }

    /** A partly written new grain is assembled here (requests are serialized). */
    private ByteBuffer scratch;

    @Override
    void writePiece(int block, int within, ByteBuffer part) throws ErrnoException {
        long e = entry(block);
        boolean zeroGrain = e == 1 && h.zeroGrains();
        if (e != 0 && !zeroGrain) {
            file.write(e * 512 + within, part);
            return;
        }
        boolean fromParent = e == 0 && parent != null;
        if (!fromParent && isZero(part)) {
            return; // already reads as zeros
        }
        if (within == 0 && part.remaining() == blockSize()) {
            place(block, part.duplicate()); // the piece is the whole grain: written as it is
            return;
        }
        // The whole new grain in one write: what the grain read as (zeros, or a child's parent data) with the piece in it.
        if (scratch == null) {
            scratch = ByteBuffer.allocate(blockSize());
        }
        ByteBuffer grain = scratch.clear();
        if (fromParent) {
            readParent(block, 0, grain);
        } else {
            java.util.Arrays.fill(grain.array(), (byte) 0);
        }
        grain.put(within, part, part.position(), part.remaining());
        place(block, grain.clear());
    }

    @Override
    void readPiece(int block, int within, ByteBuffer part) throws ErrnoException {
        if (parent != null && entry(block) == 0) {
            readParent(block, within, part);
            return;
        }
        if (!h.compressed()) {
            super.readPiece(block, within, part);
            return;
        }
        long e = entry(block);
        if (e == 0 || (e == 1 && h.zeroGrains())) {
            while (part.hasRemaining()) {
                part.put((byte) 0);
            }
            return;
        }
        if (inflatedGrain != block) {
            inflated = inflate(block, e * 512);
            inflatedGrain = block;
        }
        part.put(inflated, within, part.remaining());
    }

    /** A compressed grain: marker (LBA, size) then zlib data, inflated to one grain. */
    private byte[] inflate(int grain, long at) throws ErrnoException {
        String where = "compressed grain " + grain + " at 0x" + Long.toHexString(at);
        ByteBuffer m = ByteBuffer.allocate(MARKER_GRAIN_HEADER).order(ByteOrder.LITTLE_ENDIAN);
        file.read(at, m);
        long lba = m.getLong(0);
        long length = Integer.toUnsignedLong(m.getInt(8));
        if (lba != (long) grain * h.grainSize()) {
            throw VmdkHeader.corrupt(name(), where + ": its marker says sector " + lba + ", not "
                    + (long) grain * h.grainSize());
        }
        if (length == 0 || length > 2 * h.grainBytes() + 1024 || at + MARKER_GRAIN_HEADER + length > end) {
            throw VmdkHeader.corrupt(name(), where + ": compressed length " + length
                    + " is empty, too large for a grain, or runs past the end of the file (0x" + Long.toHexString(end) + ")");
        }
        byte[] in = new byte[(int) length];
        file.read(at + MARKER_GRAIN_HEADER, ByteBuffer.wrap(in));
        byte[] out = new byte[(int) h.grainBytes()];
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(in);
            int n = 0;
            while (n < out.length && !inflater.finished()) {
                int got = inflater.inflate(out, n, out.length - n);
                if (got == 0) { // needs input (or a preset dictionary) it will not get
                    throw VmdkHeader.corrupt(name(), where + ": the deflate stream ends before the grain does");
                }
                n += got;
            }
            if (!inflater.finished() && inflater.inflate(new byte[1]) > 0) {
                throw VmdkHeader.corrupt(name(), where + ": inflates to more than a grain of " + out.length + " bytes");
            }
        } catch (DataFormatException ex) {
            throw VmdkHeader.corrupt(name(), where + ": bad deflate data (" + ex.getMessage() + ")");
        } finally {
            inflater.end();
        }
        return out;
    }

    @Override
    long allocateBlock(int block) throws ErrnoException {
        return place(block, ByteBuffer.allocate(blockSize()));
    }

    /**
     * Appends {@code grain} as grain {@code block}'s data and then records it in the grain
     * table (and the redundant one), so that a table entry never points at a grain not written;
     * a missing grain table is appended first.
     */
    private long place(int block, ByteBuffer grain) throws ErrnoException {
        int t = block / h.gtesPerGt();
        int e = block % h.gtesPerGt();
        if (gd[t] == 0) {
            gd[t] = newTable(h.gdOffset(), t);
            tables.put(t, new int[h.gtesPerGt()]);
            if (rgd != null && rgd[t] == 0) {
                rgd[t] = newTable(h.rgdOffset(), t);
            }
        }
        int[] gt = table(t);
        long at = claim(h.grainBytes());
        file.write(at, grain);
        gt[e] = (int) (at / 512);
        putEntry(gd[t], e, gt[e]);
        if (rgd != null && rgd[t] != 0) {
            putEntry(rgd[t], e, gt[e]);
        }
        return at;
    }

    /** Appends an empty grain table and records it in directory entry {@code t} at {@code dirSector}. */
    private int newTable(long dirSector, int t) throws ErrnoException {
        long bytes = ((long) h.gtesPerGt() * 4 + 511) / 512 * 512;
        long at = claim(bytes);
        file.write(at, ByteBuffer.allocate((int) bytes));
        putEntry(dirSector, t, (int) (at / 512));
        return (int) (at / 512);
    }

    private void putEntry(long tableSector, int index, int value) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
        file.write(tableSector * 512 + index * 4L, b);
    }

    /** Reserves {@code bytes} at the end of the file; sector numbers are 32-bit, so the file stops at 2 TiB. */
    private long claim(long bytes) throws ErrnoException {
        long at = end;
        if ((at + bytes) / 512 > 0xffff_ffffL) {
            throw new ErrnoException(Errno.EFBIG, name() + ": a VMDK sparse extent cannot grow past 2 TiB");
        }
        end = at + bytes;
        return at;
    }
}
