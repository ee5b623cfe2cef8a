package io.jrump.blk.image;

import static io.jrump.blk.image.Vhdx.MIB;
import static io.jrump.blk.image.Vhdx.corrupt;
import static io.jrump.blk.image.Vhdx.hex;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostRandom;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * A VHDX image (Microsoft's [MS-VHDX] "Virtual Hard Disk v2"), read and written: fixed and
 * dynamic disks with 512- or 4096-byte logical sectors. Opening reads the file identifier, the
 * current one of the two headers (valid CRC-32C, higher sequence number), the first valid of the
 * two region tables (the BAT and metadata regions; an unknown required region is refused), the
 * metadata items (file parameters, virtual disk size, page 83 data, logical and physical sector
 * size; an unknown required item is refused) and the whole BAT, every field checked against the
 * file. A differencing disk (HasParent) is read over its parent, found by its Parent Locator
 * ({@link VhdxParent}) and checked to be the disk it was made from; writes go to the child, each
 * block made whole from the parent before it is marked present ({@link #allocateBlock}).
 *
 * <p>A log left by a crash (the header's LogGuid set and a valid active sequence in the log) is
 * replayed on a read-write open before anything else is read, then the LogGuid is cleared. A
 * read-only open replays it in memory instead ({@link VhdxLog.Overlay}: every read of the file
 * sees the updates, the file is not written), where qemu refuses to open the image: jrump never
 * reads past a log that still holds updates.
 *
 * <p>Writing ({@link BlockMapImage} cuts requests at block boundaries; all-zero pieces of absent
 * blocks allocate nothing): a block that is not present is placed at the 1 MiB-aligned end of the
 * file as a sparse hole of zeros (the file grown past it and flushed), then recorded in the BAT
 * through the log as the spec requires: a log entry holding the new BAT sector is written and
 * flushed, then the BAT sector itself, then flushed; only then is the data written. A crash
 * before the log entry is stable leaves unreferenced space at the end of the file; after it,
 * replay writes the same BAT sector again, and the block reads as zeros until its data lands —
 * what the absent block read before. The first write of an open sets new FileWriteGuid and
 * DataWriteGuid in the header; {@link #flush} clears the LogGuid again (every BAT write is
 * already stable), so an image at rest has an empty log. Thread-safe: requests are serialized.
 */
public final class VhdxImage extends BlockMapImage {
    static final int NOT_PRESENT = 0;
    static final int UNDEFINED = 1;
    static final int ZERO = 2;
    static final int UNMAPPED = 3;
    /** UNMAPPED in the 0.95 draft of the specification, which qemu still reads as zeros. */
    static final int UNMAPPED_V095 = 5;
    static final int FULLY_PRESENT = 6;
    static final int PARTIALLY_PRESENT = 7;
    /** The BAT is held in memory; a larger one is refused: 64 MiB of entries, 8 TiB of 1 MiB blocks. */
    static final long MAX_BAT_ENTRIES = 1 << 23;
    static final long MAX_VIRTUAL_SIZE = 64L << 40;
    /** Block size of {@link #create(ImageFile, long, boolean, HostRandom)}: Hyper-V's and qemu's default. */
    public static final int DEFAULT_BLOCK_SIZE = 32 << 20;

    private final HostRandom random;
    private final long size;
    private final int logicalSectorSize;
    private final int physicalSectorSize;
    private final byte[] virtualDiskId;
    private final long chunkRatio;
    private final long batOffset;
    private final long[] bat;
    /** The end of the last structure or block in the file: where a fixed-size device allocates. */
    private long dataEnd;
    private VhdxHeader header;
    private int headerSlot;
    private boolean guidsRenewed;
    private long logHead;
    private long logSequence;
    private boolean hasParent;
    private final boolean leaveBlocksAllocated;
    private VhdxImage parent;
    /** A read-only open's replay of a log in memory, or null. */
    private VhdxLog.Overlay overlay;

    private VhdxImage(ImageFile file, boolean readOnly, HostClock clock, HostRandom random, VhdxHeader header,
            int headerSlot, Metadata m, long batOffset, long[] bat) {
        super(file, "VHDX", m.size, m.blockSize, readOnly, clock);
        this.random = random;
        this.header = header;
        this.headerSlot = headerSlot;
        this.size = m.size;
        this.logicalSectorSize = m.logicalSectorSize;
        this.physicalSectorSize = m.physicalSectorSize;
        this.virtualDiskId = m.page83;
        this.chunkRatio = m.chunkRatio();
        this.hasParent = m.hasParent;
        this.leaveBlocksAllocated = m.leaveBlocksAllocated;
        this.batOffset = batOffset;
        this.bat = bat;
    }

    /** What the metadata region says about the disk. */
    private static final class Metadata {
        long size;
        int blockSize;
        int logicalSectorSize;
        int physicalSectorSize;
        boolean leaveBlocksAllocated;
        boolean hasParent;
        byte[] page83;
        ByteBuffer parentLocator;

        long chunkRatio() {
            return (1L << 23) * logicalSectorSize / blockSize;
        }

        long dataBlocks() {
            return (size + blockSize - 1) / blockSize;
        }

        /** Entries in the BAT: a differencing disk's ends with its last chunk's sector-bitmap entry. */
        long batEntries() {
            long blocks = dataBlocks();
            long ratio = chunkRatio();
            return hasParent ? (blocks + ratio - 1) / ratio * (ratio + 1) : blocks + (blocks - 1) / ratio;
        }
    }

    /** A region of the file: the log, the BAT, the metadata. */
    private record Region(String what, long offset, long length) {
        boolean overlaps(long at, long len) {
            return at < offset + length && offset < at + len;
        }
    }

    /**
     * Opens a VHDX image.
     *
     * @param random draws the GUIDs a write sets in the header; may be null for a read-only open
     * @throws ErrnoException {@code EUCLEAN} naming the structure and its offset for a damaged
     *     image, {@code EOPNOTSUPP} for a differencing disk or an unknown required region or item
     */
    public static VhdxImage open(ImageFile file, boolean readOnly, HostClock clock, HostRandom random)
            throws ErrnoException {
        return open(file, readOnly, clock, random, null, 0);
    }

    /**
     * Opens a VHDX image; a differencing disk's parent is opened read-only through
     * {@code parents} (by the path its locator gives, relative to the child's directory), at most
     * 16 deep ({@code ELOOP} beyond, so a chain that loops fails).
     *
     * @param parents opens a parent by name and depth; null refuses differencing disks
     */
    public static VhdxImage open(ImageFile file, boolean readOnly, HostClock clock, HostRandom random,
            Qcow2Image.BackingOpener parents, int depth) throws ErrnoException {
        String n = file.name();
        if (depth > Qcow2Image.MAX_BACKING_DEPTH) {
            throw new ErrnoException(Errno.ELOOP, n + ": VHDX parent chain deeper than " + Qcow2Image.MAX_BACKING_DEPTH);
        }
        if (!readOnly && random == null) {
            throw new ErrnoException(Errno.EINVAL, n + ": a read-write VHDX open needs a source of random GUIDs");
        }
        long fileSize = file.size();
        if (fileSize < MIB) {
            throw corrupt(n, "file of " + fileSize + " bytes is shorter than the 1 MiB header section");
        }
        ByteBuffer id = Vhdx.le(8);
        file.read(0, id);
        if (id.getLong(0) != Vhdx.FILE_SIGNATURE) {
            throw corrupt(n, "file type identifier at 0x0 is not \"vhdxfile\"");
        }
        // The headers: the valid one with the higher sequence number is current.
        VhdxHeader current = null;
        int slot = -1;
        String[] why = new String[2];
        for (int i = 0; i < 2; i++) {
            ByteBuffer b = Vhdx.le(Vhdx.HEADER_BYTES);
            file.read(Vhdx.HEADERS[i], b);
            Object h = VhdxHeader.parse(b);
            if (h instanceof VhdxHeader vh) {
                if (current == null || Long.compareUnsigned(vh.sequence(), current.sequence()) > 0) {
                    current = vh;
                    slot = i;
                }
            } else {
                why[i] = (String) h;
            }
        }
        if (current == null) {
            throw corrupt(n, "both headers are damaged: at 0x10000 " + why[0] + "; at 0x20000 " + why[1]);
        }
        String hn = "header at " + hex(Vhdx.HEADERS[slot]);
        if (current.version() != 1) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX " + hn + " has version " + current.version()
                    + "; jrump reads version 1");
        }
        if (current.logVersion() != 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX " + hn + " has log version " + current.logVersion()
                    + "; jrump reads log version 0");
        }
        Region log = new Region("log", current.logOffset(), current.logLength());
        if (log.offset % MIB != 0 || log.length % MIB != 0 || log.offset < MIB || log.offset > fileSize
                || log.length > fileSize - log.offset) {
            throw corrupt(n, hn + ": log of " + log.length + " bytes at " + hex(log.offset)
                    + " is not 1 MiB aligned after the header section inside the file (" + hex(fileSize) + " bytes)");
        }
        if (!readOnly && log.length == 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX " + hn + " has no log, which writing needs");
        }
        VhdxImage.Opening o = new Opening(file, readOnly, random, current, slot);
        if (!Vhdx.isZero(current.logGuid()) && log.length > 0) {
            o.replayLog();
        }
        VhdxImage img = o.finish(clock, log);
        if (img.hasParent) {
            try {
                if (parents == null) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, n + ": differencing VHDX image: no way to open its parent here");
                }
                VhdxImage parent = VhdxParent.open(n, VhdxParent.parse(n, o.parentLocator), parents, depth);
                if (parent.sectorSize() != img.sectorSize()) {
                    parent.close();
                    throw corrupt(n, "parent " + parent.name() + " has " + parent.sectorSize() + "-byte sectors, the child "
                            + img.sectorSize());
                }
                img.parent = parent;
            } catch (ErrnoException | RuntimeException e) {
                img.hasParent = false; // so that closing it does not look for the parent
                throw e;
            }
        }
        return img;
    }

    /** The state of an open in progress: the header may change when the log is replayed. */
    private static final class Opening {
        final ImageFile file;
        final String n;
        final boolean readOnly;
        final HostRandom random;
        VhdxHeader header;
        int slot;
        ByteBuffer parentLocator;
        VhdxLog.Overlay overlay;

        Opening(ImageFile file, boolean readOnly, HostRandom random, VhdxHeader header, int slot) {
            this.file = file;
            this.n = file.name();
            this.readOnly = readOnly;
            this.random = random;
            this.header = header;
            this.slot = slot;
        }

        void replayLog() throws ErrnoException {
            List<VhdxLog.Entry> active = VhdxLog.findActive(file, header);
            if (readOnly) {
                // Replayed in memory: every later read sees the updates; the file is not written.
                // (A LogGuid with no valid sequence: nothing was committed, qemu opens it too.)
                overlay = active.isEmpty() ? null : new VhdxLog.Overlay(active, file.size());
                return;
            }
            if (!active.isEmpty()) {
                VhdxLog.replay(file, active);
            }
            header = header.next(header.fileWriteGuid(), header.dataWriteGuid(), Vhdx.ZERO_GUID);
            slot = writeHeader(file, header, slot);
        }

        VhdxImage finish(HostClock clock, Region log) throws ErrnoException {
            long fileSize = overlay == null ? file.size() : overlay.size();
            Region[] regions = readRegionTable(fileSize, log);
            Region bat = regions[0];
            Region meta = regions[1];
            Metadata m = readMetadata(meta);
            long[] entries = readBat(m, bat, fileSize, new Region[] {log, bat, meta});
            parentLocator = m.parentLocator;
            VhdxImage img = new VhdxImage(file, readOnly, clock, random, header, slot, m, bat.offset, entries);
            img.overlay = overlay;
            long end = MIB;
            for (Region r : new Region[] {log, bat, meta}) {
                end = Math.max(end, r.offset + r.length);
            }
            long ratio = m.chunkRatio();
            for (int i = 0; i < entries.length; i++) {
                int state = (int) (entries[i] & 7);
                if (state == FULLY_PRESENT || state == PARTIALLY_PRESENT) {
                    long len = (i + 1) % (ratio + 1) == 0 ? MIB : m.blockSize;
                    end = Math.max(end, (entries[i] >>> 20) * MIB + len);
                }
            }
            img.dataEnd = end;
            return img;
        }

        /** Reads the file as the log says it is. */
        private void read(long at, ByteBuffer b) throws ErrnoException {
            if (overlay == null) {
                file.read(at, b);
            } else {
                overlay.read(file, at, b);
            }
        }

        /** The BAT and the metadata region of the first valid region table. */
        private Region[] readRegionTable(long fileSize, Region log) throws ErrnoException {
            String why = null;
            for (long at : Vhdx.REGION_TABLES) {
                ByteBuffer t = Vhdx.le(Vhdx.REGION_TABLE_BYTES);
                file.read(at, t);
                long count = Integer.toUnsignedLong(t.getInt(8));
                String w = null;
                if (t.getInt(0) != Vhdx.REGION_SIGNATURE) {
                    w = String.format("signature 0x%08x is not \"regi\"", t.getInt(0));
                } else if (t.getInt(4) != Vhdx.crc(t, 4)) {
                    w = String.format("checksum 0x%08x, CRC-32C of the table is 0x%08x", t.getInt(4), Vhdx.crc(t, 4));
                } else if (count > Vhdx.MAX_TABLE_ENTRIES) {
                    w = "entry count " + count + " is more than 2047";
                }
                if (w != null) {
                    why = (why == null ? "" : why + "; ") + "at " + hex(at) + " " + w;
                    continue;
                }
                Region bat = null;
                Region meta = null;
                for (int i = 0; i < count; i++) {
                    int e = 16 + 32 * i;
                    byte[] guid = Vhdx.guidAt(t, e);
                    long offset = t.getLong(e + 16);
                    long length = Integer.toUnsignedLong(t.getInt(e + 24));
                    int flags = t.getInt(e + 28);
                    String where = "region table at " + hex(at) + " entry " + i;
                    boolean isBat = Arrays.equals(guid, Vhdx.BAT_REGION);
                    boolean isMeta = Arrays.equals(guid, Vhdx.METADATA_REGION);
                    if (!isBat && !isMeta) {
                        if ((flags & 1) != 0) {
                            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX " + where + " is a required region "
                                    + Vhdx.guidText(guid) + " jrump does not know");
                        }
                        continue;
                    }
                    if ((isBat && bat != null) || (isMeta && meta != null)) {
                        throw corrupt(n, where + " names the " + (isBat ? "BAT" : "metadata") + " region a second time");
                    }
                    if (offset % MIB != 0 || length % MIB != 0 || length == 0 || offset < MIB || offset > fileSize
                            || length > fileSize - offset) {
                        throw corrupt(n, where + ": " + (isBat ? "BAT" : "metadata") + " region of " + length
                                + " bytes at " + hex(offset) + " is not 1 MiB aligned after the header section inside the file ("
                                + hex(fileSize) + " bytes)");
                    }
                    Region r = new Region(isBat ? "BAT" : "metadata", offset, length);
                    if (r.overlaps(log.offset, log.length)) {
                        throw corrupt(n, where + ": " + r.what + " region at " + hex(offset) + " overlaps the log at " + hex(log.offset));
                    }
                    if (isBat) {
                        bat = r;
                    } else {
                        meta = r;
                    }
                }
                if (bat == null || meta == null) {
                    throw corrupt(n, "region table at " + hex(at) + " has no " + (bat == null ? "BAT" : "metadata") + " region");
                }
                if (bat.overlaps(meta.offset, meta.length)) {
                    throw corrupt(n, "region table at " + hex(at) + ": the BAT at " + hex(bat.offset)
                            + " overlaps the metadata region at " + hex(meta.offset));
                }
                return new Region[] {bat, meta};
            }
            throw corrupt(n, "both region tables are damaged: " + why);
        }

        private Metadata readMetadata(Region meta) throws ErrnoException {
            ByteBuffer t = Vhdx.le(Vhdx.KIB64);
            read(meta.offset, t);
            String where = "metadata table at " + hex(meta.offset);
            if (t.getLong(0) != Vhdx.METADATA_SIGNATURE) {
                throw corrupt(n, where + ": signature is not \"metadata\"");
            }
            int count = t.getShort(10) & 0xffff;
            if (count > Vhdx.MAX_TABLE_ENTRIES) {
                throw corrupt(n, where + ": entry count " + count + " is more than 2047");
            }
            Metadata m = new Metadata();
            ByteBuffer params = null;
            ByteBuffer diskSize = null;
            ByteBuffer logical = null;
            ByteBuffer physical = null;
            ByteBuffer page83 = null;
            for (int i = 0; i < count; i++) {
                int e = 32 + 32 * i;
                byte[] guid = Vhdx.guidAt(t, e);
                long offset = Integer.toUnsignedLong(t.getInt(e + 16));
                long length = Integer.toUnsignedLong(t.getInt(e + 20));
                int flags = t.getInt(e + 24);
                boolean user = (flags & 1) != 0;
                boolean required = (flags & 4) != 0;
                String w = where + " entry " + i + " (" + Vhdx.guidText(guid) + ")";
                if (length > MIB || (length > 0 && (offset < Vhdx.KIB64 || offset > meta.length - length))) {
                    throw corrupt(n, w + ": item of " + length + " bytes at " + hex(offset)
                            + " lies outside the metadata region's " + meta.length + " bytes");
                }
                if (user) {
                    continue;
                }
                ByteBuffer item = Vhdx.le((int) length);
                if (length > 0) {
                    read(meta.offset + offset, item);
                }
                if (Arrays.equals(guid, Vhdx.FILE_PARAMETERS)) {
                    params = need(item, 8, w);
                } else if (Arrays.equals(guid, Vhdx.VIRTUAL_DISK_SIZE)) {
                    diskSize = need(item, 8, w);
                } else if (Arrays.equals(guid, Vhdx.LOGICAL_SECTOR_SIZE)) {
                    logical = need(item, 4, w);
                } else if (Arrays.equals(guid, Vhdx.PHYSICAL_SECTOR_SIZE)) {
                    physical = need(item, 4, w);
                } else if (Arrays.equals(guid, Vhdx.PAGE_83)) {
                    page83 = need(item, 16, w);
                } else if (Arrays.equals(guid, Vhdx.PARENT_LOCATOR)) {
                    m.parentLocator = item;
                } else if (required) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX " + w + " is a required metadata item jrump does not know");
                }
            }
            String[] names = {"File Parameters", "Virtual Disk Size", "Logical Sector Size", "Physical Sector Size", "Page 83 Data"};
            ByteBuffer[] items = {params, diskSize, logical, physical, page83};
            for (int i = 0; i < items.length; i++) {
                if (items[i] == null) {
                    throw corrupt(n, where + " has no " + names[i] + " item");
                }
            }
            long block = Integer.toUnsignedLong(params.getInt(0));
            int flags = params.getInt(4);
            if (block < MIB || block > 256 * MIB || Long.bitCount(block) != 1) {
                throw corrupt(n, where + ": File Parameters block size " + block + " is not a power of two from 1 MiB to 256 MiB");
            }
            m.blockSize = (int) block;
            m.leaveBlocksAllocated = (flags & 1) != 0;
            m.hasParent = (flags & 2) != 0;
            m.logicalSectorSize = logical.getInt(0);
            m.physicalSectorSize = physical.getInt(0);
            if (m.logicalSectorSize != 512 && m.logicalSectorSize != 4096) {
                throw corrupt(n, where + ": Logical Sector Size " + Integer.toUnsignedString(m.logicalSectorSize) + " is not 512 or 4096");
            }
            if (m.physicalSectorSize != 512 && m.physicalSectorSize != 4096) {
                throw corrupt(n, where + ": Physical Sector Size " + Integer.toUnsignedString(m.physicalSectorSize) + " is not 512 or 4096");
            }
            m.size = diskSize.getLong(0);
            if (m.size <= 0 || m.size > MAX_VIRTUAL_SIZE || m.size % m.logicalSectorSize != 0) {
                throw corrupt(n, where + ": Virtual Disk Size " + Long.toUnsignedString(m.size)
                        + " is not a multiple of the " + m.logicalSectorSize + "-byte sector up to 64 TiB");
            }
            m.page83 = Vhdx.guidAt(page83, 0);
            if (m.hasParent && m.parentLocator == null) {
                throw corrupt(n, where + ": File Parameters say HasParent but there is no Parent Locator item");
            }
            return m;
        }

        private ByteBuffer need(ByteBuffer item, int bytes, String w) throws ErrnoException {
            if (item.capacity() < bytes) {
                throw corrupt(n, w + ": item of " + item.capacity() + " bytes, " + bytes + " expected");
            }
            return item;
        }

        private long[] readBat(Metadata m, Region batRegion, long fileSize, Region[] regions) throws ErrnoException {
            long ratio = m.chunkRatio();
            long total = m.batEntries();
            if (total > MAX_BAT_ENTRIES) {
                throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX BAT of " + total + " entries; jrump holds at most "
                        + MAX_BAT_ENTRIES);
            }
            if (total * 8 > batRegion.length) {
                throw corrupt(n, "BAT region of " + batRegion.length + " bytes at " + hex(batRegion.offset) + " cannot hold the "
                        + total + " entries a disk of " + m.size + " bytes in blocks of " + m.blockSize + " needs");
            }
            long[] bat = new long[(int) total];
            ByteBuffer chunk = Vhdx.le((int) MIB);
            for (int done = 0; done < total; ) {
                int k = (int) Math.min(MIB / 8, total - done);
                chunk.clear().limit(k * 8);
                read(batRegion.offset + done * 8L, chunk);
                chunk.position(0).limit(k * 8); // the host read may or may not move the position
                chunk.asLongBuffer().get(bat, done, k);
                done += k;
            }
            for (int i = 0; i < total; i++) {
                long e = bat[i];
                int state = (int) (e & 7);
                long at = (e >>> 20) * MIB;
                String w = "BAT entry " + i + " at " + hex(batRegion.offset + i * 8L);
                if ((e & 0xffff8L) != 0) {
                    throw corrupt(n, w + ": reserved bits set in " + hex(e));
                }
                if ((i + 1) % (ratio + 1) == 0) { // a sector-bitmap entry: only used by differencing disks
                    if (state != 0 && state != FULLY_PRESENT) {
                        throw corrupt(n, w + ": sector bitmap state " + state + " (0 not present, 6 present)");
                    }
                    if (state == FULLY_PRESENT && m.hasParent) {
                        inFile(w, "the sector bitmap of chunk " + i / (ratio + 1), at, MIB, fileSize, regions);
                    }
                    continue;
                }
                long block = i - i / (ratio + 1);
                long len = Math.min(m.blockSize, m.size - block * m.blockSize);
                switch (state) {
                    case NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED, UNMAPPED_V095 -> {
                    }
                    case FULLY_PRESENT -> inFile(w, "block " + block, at, len, fileSize, regions);
                    case PARTIALLY_PRESENT -> {
                        if (!m.hasParent) {
                            throw corrupt(n, w + ": block " + block + " is PARTIALLY_PRESENT in a disk without a parent");
                        }
                        inFile(w, "block " + block, at, len, fileSize, regions);
                        long bitmap = (i / (ratio + 1)) * (ratio + 1) + ratio;
                        if (bitmap >= total || (bat[(int) bitmap] & 7) != FULLY_PRESENT) {
                            throw corrupt(n, w + ": block " + block + " is PARTIALLY_PRESENT but the sector bitmap of its chunk"
                                    + " (BAT entry " + bitmap + ") is not present");
                        }
                    }
                    default -> throw corrupt(n, w + ": block " + block + " has the reserved state " + state);
                }
            }
            if (!readOnly) {
                refuseSharedBlocks(m, bat, batRegion);
            }
            return bat;
        }

        /**
         * Two BAT entries placing blocks over each other: writing one would change the other, so a
         * read-write open refuses it (a read-only open still reads such an image).
         */
        private void refuseSharedBlocks(Metadata m, long[] bat, Region batRegion) throws ErrnoException {
            long ratio = m.chunkRatio();
            long[] placed = new long[bat.length];
            int count = 0;
            for (int i = 0; i < bat.length; i++) {
                int state = (int) (bat[i] & 7);
                if (state == FULLY_PRESENT || state == PARTIALLY_PRESENT) {
                    placed[count++] = (bat[i] >>> 20) << 23 | i; // offsets are inside the file: < 2^40 MiB
                }
            }
            Arrays.sort(placed, 0, count);
            for (int k = 1; k < count; k++) {
                int a = (int) (placed[k - 1] & ((1 << 23) - 1));
                int b = (int) (placed[k] & ((1 << 23) - 1));
                long aAt = (bat[a] >>> 20) * MIB;
                long bAt = (bat[b] >>> 20) * MIB;
                long aLen = (a + 1) % (ratio + 1) == 0 ? MIB : m.blockSize;
                if (bAt < aAt + aLen) {
                    throw corrupt(n, "BAT entries " + a + " and " + b + " (at " + hex(batRegion.offset + a * 8L) + " and "
                            + hex(batRegion.offset + b * 8L) + ") place blocks over each other at " + hex(bAt)
                            + "; writing one would change the other (a read-only open reads it)");
                }
            }
        }

        private void inFile(String w, String what, long at, long len, long fileSize, Region[] regions) throws ErrnoException {
            if (at < MIB || at > fileSize - len) {
                throw corrupt(n, w + " places " + what + " at " + hex(at) + ", outside the file (" + hex(fileSize)
                        + " bytes) or in its header section");
            }
            for (Region r : regions) {
                if (r.overlaps(at, len)) {
                    throw corrupt(n, w + " places " + what + " at " + hex(at) + ", over the " + r.what + " at " + hex(r.offset));
                }
            }
        }
    }

    /** Writes {@code h} into the header copy that is not current, flushes; returns the new current slot. */
    private static int writeHeader(ImageFile file, VhdxHeader h, int currentSlot) throws ErrnoException {
        int slot = 1 - currentSlot;
        file.write(Vhdx.HEADERS[slot], h.encode());
        file.flush();
        return slot;
    }

    private byte[] randomGuid() {
        byte[] g = new byte[16];
        random.nextBytes(g);
        g[7] = (byte) ((g[7] & 0x0f) | 0x40); // version 4, as stored (Data3 little-endian)
        g[8] = (byte) ((g[8] & 0x3f) | 0x80);
        return g;
    }

    private void updateHeader(VhdxHeader h) throws ErrnoException {
        headerSlot = writeHeader(file, h, headerSlot);
        header = h;
    }

    // ---- creation ----

    /** {@link #create(ImageFile, long, int, boolean, int, HostRandom)} with 32 MiB blocks and 512-byte sectors. */
    public static void create(ImageFile file, long virtualSize, boolean fixed, HostRandom random) throws ErrnoException {
        create(file, virtualSize, DEFAULT_BLOCK_SIZE, fixed, 512, random);
    }

    /**
     * Writes a new VHDX image of {@code virtualSize} bytes into an empty file (or over a
     * fixed-size device, which it must fit): the file identifier,
     * two headers, two region tables, a 1 MiB log at 1 MiB, the metadata region (1 MiB) after it,
     * then the BAT; a fixed disk then has every block present, in order, after the BAT (the file is
     * grown sparsely, its blocks read as zeros); a dynamic disk has every block in the ZERO state.
     *
     * @param blockSize a power of two from 1 MiB to 256 MiB
     * @param logicalSectorSize 512 or 4096; the physical sector size is the same
     */
    public static void create(ImageFile file, long virtualSize, int blockSize, boolean fixed, int logicalSectorSize,
            HostRandom random) throws ErrnoException {
        create(file, virtualSize, blockSize, MIB, fixed, true, logicalSectorSize, random);
    }

    /**
     * {@link #create(ImageFile, long, int, boolean, int, HostRandom)} with a log of
     * {@code logSize} bytes (1 to 64 MiB, whole MiB; qemu-img's {@code log_size}) and, for a
     * dynamic disk, its blocks in the ZERO state or, {@code blockStateZero} false, NOT_PRESENT
     * (qemu-img's {@code block_state_zero}; both read as zeros).
     */
    static void create(ImageFile file, long virtualSize, int blockSize, long logSize, boolean fixed,
            boolean blockStateZero, int logicalSectorSize, HostRandom random) throws ErrnoException {
        create(file, virtualSize, blockSize, logSize, fixed, blockStateZero, logicalSectorSize, null, random);
    }

    /**
     * Writes a new, empty differencing image of {@code parent} into an empty file: its size,
     * block size and sector size, every block NOT_PRESENT (read from the parent), and a Parent
     * Locator naming the parent by {@code relativePath} (relative to the child's directory; kept
     * with backslashes, as Windows writes it) and {@code absolutePath}, linked to the parent's
     * current DataWriteGuid. Writing to the parent afterwards changes that GUID and breaks the
     * link, as the specification intends.
     */
    public static void createDifferencing(ImageFile file, VhdxImage parent, String relativePath, String absolutePath,
            HostRandom random) throws ErrnoException {
        String rel = relativePath.replace('/', '\\');
        if (!rel.startsWith(".\\") && !rel.startsWith("..\\") && !rel.startsWith("\\")) {
            rel = ".\\" + rel;
        }
        byte[] locator = VhdxParent.encode("parent_linkage", "{" + Vhdx.guidText(parent.dataWriteGuid()) + "}",
                "relative_path", rel, "absolute_win32_path", absolutePath);
        create(file, parent.size(), parent.blockSize(), MIB, false, false, parent.sectorSize(), locator, random);
    }

    private static void create(ImageFile file, long virtualSize, int blockSize, long logSize, boolean fixed,
            boolean blockStateZero, int logicalSectorSize, byte[] parentLocator, HostRandom random) throws ErrnoException {
        String n = file.name();
        if (logSize < MIB || logSize > VhdxLog.MAX_LOG_BYTES || logSize % MIB != 0) {
            throw new ErrnoException(Errno.EINVAL, n + ": log size " + logSize + " is not a whole number of MiB from 1 to 64");
        }
        if (file.isGrowable() && file.size() != 0) {
            throw new ErrnoException(Errno.EEXIST, n + ": a VHDX image is created in an empty file");
        }
        if (logicalSectorSize != 512 && logicalSectorSize != 4096) {
            throw new ErrnoException(Errno.EINVAL, n + ": logical sector size " + logicalSectorSize + " is not 512 or 4096");
        }
        if (blockSize < MIB || blockSize > 256 * MIB || Integer.bitCount(blockSize) != 1) {
            throw new ErrnoException(Errno.EINVAL, n + ": block size " + blockSize + " is not a power of two from 1 MiB to 256 MiB");
        }
        if (virtualSize <= 0 || virtualSize % logicalSectorSize != 0 || virtualSize > MAX_VIRTUAL_SIZE) {
            throw new ErrnoException(Errno.EINVAL, n + ": virtual size " + virtualSize + " is not a multiple of "
                    + logicalSectorSize + " from " + logicalSectorSize + " bytes to 64 TiB");
        }
        long ratio = (1L << 23) * logicalSectorSize / blockSize;
        long blocks = (virtualSize + blockSize - 1) / blockSize;
        long total = parentLocator != null ? (blocks + ratio - 1) / ratio * (ratio + 1) : blocks + (blocks - 1) / ratio;
        if (total > MAX_BAT_ENTRIES) {
            throw new ErrnoException(Errno.EFBIG, n + ": " + virtualSize + " bytes in blocks of " + blockSize
                    + " need " + total + " BAT entries, more than the " + MAX_BAT_ENTRIES + " jrump holds");
        }
        long logOffset = MIB;
        long metaOffset = logOffset + logSize;
        long batOffset = metaOffset + MIB;
        long batLength = Vhdx.roundUp(total * 8, MIB);
        long dataStart = batOffset + batLength;

        ByteBuffer ident = Vhdx.le(Vhdx.KIB64);
        ident.putLong(0, Vhdx.FILE_SIGNATURE).put(8, "jrump".getBytes(StandardCharsets.UTF_16LE));
        file.write(0, ident);

        ByteBuffer regions = Vhdx.le(Vhdx.REGION_TABLE_BYTES);
        regions.putInt(0, Vhdx.REGION_SIGNATURE).putInt(8, 2);
        regions.put(16, Vhdx.BAT_REGION).putLong(32, batOffset).putInt(40, (int) batLength).putInt(44, 1);
        regions.put(48, Vhdx.METADATA_REGION).putLong(64, metaOffset).putInt(72, (int) MIB).putInt(76, 1);
        regions.putInt(4, Vhdx.crc(regions, 4));
        for (long at : Vhdx.REGION_TABLES) {
            file.write(at, regions.duplicate().clear());
        }

        ByteBuffer meta = Vhdx.le(Vhdx.KIB64 + 64 + (parentLocator == null ? 0 : parentLocator.length));
        meta.putLong(0, Vhdx.METADATA_SIGNATURE).putShort(10, (short) (parentLocator == null ? 5 : 6));
        byte[][] items = {Vhdx.FILE_PARAMETERS, Vhdx.VIRTUAL_DISK_SIZE, Vhdx.PAGE_83, Vhdx.LOGICAL_SECTOR_SIZE,
            Vhdx.PHYSICAL_SECTOR_SIZE};
        int[] lengths = {8, 8, 16, 4, 4};
        int itemAt = Vhdx.KIB64;
        for (int i = 0; i < items.length; i++) {
            int e = 32 + 32 * i;
            int flags = i == 0 ? 4 : 6; // IsRequired; the disk's own items also IsVirtualDisk
            meta.put(e, items[i]).putInt(e + 16, itemAt).putInt(e + 20, lengths[i]).putInt(e + 24, flags);
            switch (i) {
                case 0 -> meta.putInt(itemAt, blockSize).putInt(itemAt + 4, (fixed ? 1 : 0) | (parentLocator != null ? 2 : 0));
                case 1 -> meta.putLong(itemAt, virtualSize);
                case 2 -> {
                    byte[] g = new byte[16];
                    random.nextBytes(g);
                    meta.put(itemAt, g);
                }
                default -> meta.putInt(itemAt, logicalSectorSize);
            }
            itemAt += lengths[i];
        }
        if (parentLocator != null) {
            int e = 32 + 32 * items.length;
            meta.put(e, Vhdx.PARENT_LOCATOR).putInt(e + 16, itemAt).putInt(e + 20, parentLocator.length).putInt(e + 24, 4);
            meta.put(itemAt, parentLocator);
        }
        file.write(metaOffset, meta);

        ByteBuffer batBytes = Vhdx.le((int) Math.min(batLength, MIB));
        long next = dataStart;
        for (long done = 0; done < batLength; done += batBytes.capacity()) {
            batBytes.clear();
            for (int k = 0; k < batBytes.capacity() / 8; k++) {
                long i = done / 8 + k;
                long entry = 0;
                if (i < total && (i + 1) % (ratio + 1) != 0) {
                    if (fixed) {
                        entry = (next / MIB) << 20 | FULLY_PRESENT;
                        next += blockSize;
                    } else {
                        entry = blockStateZero ? ZERO : NOT_PRESENT;
                    }
                }
                batBytes.putLong(k * 8, entry);
            }
            file.write(batOffset + done, batBytes);
        }
        long end = fixed ? next : dataStart;
        if (file.isGrowable()) {
            // The log region is zeros; writing the file's last sector makes it that long, sparsely.
            file.write(end - Vhdx.SECTOR, ByteBuffer.allocate(Vhdx.SECTOR));
        } else {
            // A fixed-size device holds old data: the log is zeroed (its entries are found by the
            // LogGuid, which is new, but zeros are plainer), and a fixed disk's blocks.
            if (end > file.size()) {
                throw new ErrnoException(Errno.ENOSPC, n + ": a VHDX image of " + end + " bytes does not fit the device's "
                        + file.size());
            }
            ByteBuffer zeros = ByteBuffer.allocate((int) MIB);
            for (long at = logOffset; at < logOffset + logSize; at += MIB) {
                file.write(at, zeros.duplicate());
            }
            for (long at = dataStart; at < end; at += MIB) {
                file.write(at, zeros.duplicate());
            }
        }
        file.flush();
        byte[] fileWrite = new byte[16];
        byte[] dataWrite = new byte[16];
        random.nextBytes(fileWrite);
        random.nextBytes(dataWrite);
        VhdxHeader h = new VhdxHeader(1, fileWrite, dataWrite, Vhdx.ZERO_GUID, 0, 1, logSize, logOffset);
        file.write(Vhdx.HEADERS[0], h.encode());
        file.write(Vhdx.HEADERS[1], h.next(fileWrite, dataWrite, Vhdx.ZERO_GUID).encode());
        file.flush();
    }

    // ---- the block device ----

    @Override
    long blockOffset(int block) {
        long e = bat[(int) (block + block / chunkRatio)];
        return (e & 7) == FULLY_PRESENT ? (e >>> 20) * MIB : ZEROS;
    }

    @Override
    public int sectorSize() {
        return logicalSectorSize;
    }

    /** "differencing" (it has a parent), "fixed" (LeaveBlockAllocated: every block placed at creation) or "dynamic". */
    public String subformat() {
        return parent != null ? "differencing" : leaveBlocksAllocated ? "fixed" : "dynamic";
    }

    /** The physical sector size the metadata gives (512 or 4096). */
    public int physicalSectorSize() {
        return physicalSectorSize;
    }

    /** The Page 83 Data item: the disk's identity for SCSI (VPD page 0x83), as a GUID. */
    public String virtualDiskId() {
        return Vhdx.guidText(virtualDiskId);
    }

    /** Whether every block is present (a fixed disk, or a dynamic one written full). */
    public boolean isFullyAllocated() {
        for (long b = 0; b * blockSize() < size; b++) {
            if (blockOffset((int) b) == ZEROS) {
                return false;
            }
        }
        return true;
    }

    @Override
    void writePiece(int block, int within, ByteBuffer part) throws ErrnoException {
        if (!guidsRenewed) {
            // [MS-VHDX] 2.2.2: new write GUIDs in the header before the first change to the file.
            updateHeader(header.next(randomGuid(), randomGuid(), header.logGuid()));
            guidsRenewed = true;
        }
        if (parent == null) {
            super.writePiece(block, within, part);
            return;
        }
        // A differencing disk: zeros written over the parent's data must be kept too.
        long at = blockOffset(block);
        if (at == ZEROS) {
            at = allocateBlock(block);
        }
        file.write(at + within, part);
    }

    /**
     * Places block {@code block} at the 1 MiB-aligned end of the file, as a sparse hole of zeros
     * (the file is grown past it and flushed), then records it through the log. Until the BAT
     * entry is stable the block is unreferenced space; from then on it reads as zeros until the
     * caller's data lands: what the absent block read before.
     */
    @Override
    long allocateBlock(int block) throws ErrnoException {
        long index = block + block / chunkRatio;
        int state = (int) (bat[(int) index] & 7);
        boolean partial = state == PARTIALLY_PRESENT;
        long at;
        boolean fresh; // past the end of the file: a hole that reads as zeros
        if (partial) {
            at = (bat[(int) index] >>> 20) * MIB;
            fresh = false;
        } else if (file.isGrowable()) {
            at = Vhdx.roundUp(Math.max(file.size(), dataEnd), MIB);
            fresh = true;
            file.write(at + blockSize() - Vhdx.SECTOR, ByteBuffer.allocate(Vhdx.SECTOR));
        } else {
            // A fixed-size device (a block device): after the last block, within the device; what
            // lies there is old data, so the block is written whole below.
            at = Vhdx.roundUp(dataEnd, MIB);
            fresh = false;
            if (at > file.size() - blockSize()) {
                throw new ErrnoException(Errno.ENOSPC, file.name() + ": no room for a VHDX block of " + blockSize()
                        + " bytes at " + hex(at) + " on a device of " + file.size() + " bytes");
            }
        }
        long len = Math.min(blockSize(), size - (long) block * blockSize());
        boolean fromParent = parent != null && state != ZERO && state != UNMAPPED && state != UNMAPPED_V095;
        if (fromParent || !fresh) {
            // The block must read now as it read before (the parent's sectors, a partial block's
            // own, or zeros) before it is marked FULLY_PRESENT: that is written into it first.
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(MIB, len));
            for (long off = 0; off < len; off += buf.capacity()) {
                int k = (int) Math.min(buf.capacity(), len - off);
                buf.clear().limit(k);
                if (fromParent || partial) {
                    readPiece(block, (int) off, buf.duplicate());
                } else {
                    java.util.Arrays.fill(buf.array(), 0, k, (byte) 0);
                }
                if (!fresh || !isZero(buf)) {
                    file.write(at + off, buf.duplicate());
                }
            }
        }
        file.flush();
        setBatEntry(index, (at / MIB) << 20 | FULLY_PRESENT);
        dataEnd = Math.max(dataEnd, at + blockSize());
        return at;
    }

    /** Changes one BAT entry through the log: the log entry, flush, the BAT sector, flush. */
    private void setBatEntry(long index, long entry) throws ErrnoException {
        if (Vhdx.isZero(header.logGuid())) {
            updateHeader(header.next(header.fileWriteGuid(), header.dataWriteGuid(), randomGuid()));
            logHead = 0;
            logSequence = 1;
        }
        long sectorAt = batOffset + index * 8 / Vhdx.SECTOR * Vhdx.SECTOR;
        ByteBuffer sector = Vhdx.le(Vhdx.SECTOR);
        file.read(sectorAt, sector);
        sector.putLong((int) (batOffset + index * 8 - sectorAt), entry);
        long fileSize = file.size();
        if (logHead + 2 * Vhdx.SECTOR > header.logLength()) {
            logHead = 0; // the ring wraps; every earlier entry is already in place
        }
        byte[] logEntry = VhdxLog.encode(logSequence, logHead, header.logGuid(), fileSize / MIB * MIB,
                Vhdx.roundUp(fileSize, MIB), List.of(new VhdxLog.Update(sectorAt, sector.array(), 0)));
        file.write(header.logOffset() + logHead, ByteBuffer.wrap(logEntry));
        file.flush();
        file.write(sectorAt, sector.clear());
        file.flush();
        logHead += logEntry.length;
        logSequence++;
        bat[(int) index] = entry;
    }

    /** The header's DataWriteGuid, which a differencing child records as its parent_linkage. */
    byte[] dataWriteGuid() {
        return header.dataWriteGuid().clone();
    }

    /** The parent of a differencing disk, or null. */
    public VhdxImage parent() {
        return parent;
    }

    /**
     * A differencing disk reads by block state: FULLY_PRESENT from this file, ZERO and UNMAPPED
     * as zeros, NOT_PRESENT and UNDEFINED from the parent, PARTIALLY_PRESENT sector by sector
     * as its chunk's sector bitmap says (a set bit: this file; clear: the parent).
     */
    @Override
    void readPiece(int block, int within, ByteBuffer part) throws ErrnoException {
        long e = bat[(int) (block + block / chunkRatio)];
        long at = (e >>> 20) * MIB;
        long pos = (long) block * blockSize() + within;
        switch ((int) (e & 7)) {
            case FULLY_PRESENT -> readFile(at + within, part);
            case NOT_PRESENT, UNDEFINED -> {
                if (parent != null) {
                    readParent(parent, pos, part);
                } else {
                    zeros(part);
                }
            }
            case PARTIALLY_PRESENT -> { // only in a differencing disk (checked at open)
                long chunk = block / chunkRatio;
                long bitmapAt = (bat[(int) (chunk * (chunkRatio + 1) + chunkRatio)] >>> 20) * MIB;
                long first = (block % chunkRatio) * (blockSize() / logicalSectorSize) + within / logicalSectorSize;
                int sectors = part.remaining() / logicalSectorSize;
                byte[] bits = new byte[(int) ((first + sectors - 1) / 8 - first / 8 + 1)];
                readFile(bitmapAt + first / 8, ByteBuffer.wrap(bits));
                int done = 0;
                while (done < sectors) {
                    boolean here = bit(bits, first, done);
                    int run = 1;
                    while (done + run < sectors && bit(bits, first, done + run) == here) {
                        run++;
                    }
                    int from = part.position() + done * logicalSectorSize;
                    ByteBuffer piece = part.duplicate().position(from).limit(from + run * logicalSectorSize);
                    long off = (long) done * logicalSectorSize;
                    if (here) {
                        readFile(at + within + off, piece);
                    } else {
                        readParent(parent, pos + off, piece);
                    }
                    done += run;
                }
            }
            default -> zeros(part);
        }
    }

    /** Reads the file, through the in-memory replay of a read-only open's log if there is one. */
    private void readFile(long at, ByteBuffer dst) throws ErrnoException {
        if (overlay == null) {
            file.read(at, dst);
        } else {
            overlay.read(file, at, dst);
        }
    }

    private static boolean bit(byte[] bits, long first, int i) {
        long b = first % 8 + i;
        return (bits[(int) (b / 8)] >> (b % 8) & 1) != 0;
    }

    private static void zeros(ByteBuffer b) {
        while (b.hasRemaining()) {
            b.put((byte) 0);
        }
    }

    @Override
    public synchronized void close() throws ErrnoException {
        try {
            super.close();
        } finally {
            if (parent != null) {
                VhdxImage p = parent;
                parent = null;
                p.close();
            }
        }
    }

    /**
     * Every BAT update was made stable when it was made; marks the log empty again, so that the
     * image at rest needs no replay.
     */
    @Override
    void flushMetadata() throws ErrnoException {
        if (!Vhdx.isZero(header.logGuid())) {
            updateHeader(header.next(header.fileWriteGuid(), header.dataWriteGuid(), Vhdx.ZERO_GUID));
        }
    }
}
