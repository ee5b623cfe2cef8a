package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A qcow2 image (versions 2 and 3) as a block device of its virtual size.
 *
 * <p>Reads follow L1 and L2 tables: unallocated clusters come from the backing image or read as
 * zeros, zero clusters read as zeros, compressed clusters are decompressed (deflate or zstd, never
 * beyond one cluster; the last few are cached). With extended L2 entries each of a cluster's 32
 * subclusters is allocated, zero or unallocated on its own; with an external data file guest
 * clusters live there at their guest offsets. An internal snapshot opens read-only through its own
 * L1 table ({@link #openSnapshot}). Writes go to the top image only: clusters that are not yet this
 * image's own (unmapped, zero, compressed, in the backing file, shared with a snapshot, or with
 * subclusters not all allocated) get new clusters after the last
 * one in use, filled from their old contents, all the clusters of one request in one allocation.
 * The image file grows; on a device of fixed size, allocation stays within it ({@code ENOSPC}
 * beyond). L2 tables and refcount blocks are allocated as needed and the refcount table grows
 * (moves to a bigger place) when full. Refcounts of any width (1 to 64 bits) are written.
 *
 * <p>Crash safety: data goes to the file at once; the metadata changes of writes (refcounts, L2
 * and L1 entries) are kept in memory and committed at {@link #flush()}, at {@link #close()}, or
 * once 256 MiB of new clusters or 32 changed L2 tables are pending. A commit makes them durable
 * in order, with a host flush between each step: data, refcounts, L2 entries, L1 entries, then
 * the refcounts of clusters no longer referenced. A power cut at any moment leaves at worst
 * leaked clusters; what was written before the last {@link #flush()} reads back; writes since
 * then may be lost. Overwriting clusters the image owns changes no metadata. Freed clusters are
 * not reused.
 *
 * <p>Not supported, each with {@code EOPNOTSUPP} naming it: encryption, compression types other
 * than deflate and zstd, writing compressed clusters. Snapshot devices are read-only. Persistent
 * bitmaps are not kept up to date: the first write clears their autoclear bit. A refcount table
 * beyond qemu's 8 MiB limit is
 * {@code ENOSPC}. After a commit fails (an I/O error), memory and file differ: later writes and
 * flushes fail with {@code EIO}, and the file holds the image as of the last good flush.
 *
 * <p>Thread-safe: one lock serializes requests.
 */
public final class Qcow2Image implements BlockDevice {
    private static final long L1_OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    private static final long COPIED = 1L << 63;
    private static final long COMPRESSED = 1L << 62;
    private static final long ZERO = 1L;
    private static final int L2_CACHE = 64;
    /** Decompressed clusters kept: a few, and never more than 4 MiB (two 2 MiB clusters at most). */
    private static final int DECOMPRESSED_CACHE = 8;
    private static final long DECOMPRESSED_BUDGET = 4L << 20;
    static final int MAX_BACKING_DEPTH = 16;

    private final ImageFile file;
    /** The external data file guest clusters live in (at their guest offsets), or null: they live in {@link #file}. */
    private final ImageFile data;
    /** 64-bit words per L2 entry: 2 with extended L2 entries (the entry, then its subcluster bitmap), else 1. */
    private final int stride;
    private final Qcow2Header header;
    private final BlockDevice backing;
    private final boolean readOnly;
    private final long cluster;
    private final long[] l1;
    private final Qcow2Refcounts refcounts;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(L2_CACHE, 0.75f, true);
    /**
     * Recently decompressed clusters by their L2 entry: a compressed cluster's bytes never change
     * in place (a write maps new clusters, and freed clusters are not reused), so the entry names
     * the contents. Small reads of one compressed cluster decompress it once.
     */
    private final Map<Long, byte[]> decompressed = new LinkedHashMap<>(DECOMPRESSED_CACHE, 0.75f, true);
    private long decompressions;
    /** The virtual size: the header's, or a snapshot's. */
    private final long virtualSize;
    /** The snapshot this device shows, or null for the active image. */
    private final Qcow2Snapshot snapshot;
    /** Whether the autoclear bits of features we do not keep up (bitmaps) are cleared in the file. */
    private boolean autoclearDone;
    private final BlockStats stats;
    private boolean closed;
    /** Why a commit failed; memory and file differ since, and writes are refused. */
    private String broken;
    private final Changes pending = new Changes();
    private int commitClusters = COMMIT_CLUSTERS;

    private Qcow2Image(ImageFile file, Qcow2Header header, BlockDevice backing, ImageFile data, boolean readOnly,
            HostClock clock, Qcow2Snapshot snapshot) throws ErrnoException {
        this.file = file;
        this.data = data;
        this.stride = header.extendedL2() ? 2 : 1;
        this.header = header;
        this.backing = backing;
        this.readOnly = readOnly;
        this.cluster = header.clusterSize();
        this.snapshot = snapshot;
        if (snapshot == null) {
            this.l1 = readTable(header.l1TableOffset(), header.l1Size());
            this.virtualSize = header.size();
        } else {
            String problem = snapshot.l1Problem(file, cluster);
            long perL1 = cluster * header.l2Entries(); // bytes one L1 entry maps
            if (problem == null && snapshot.diskSize() >= 0 && snapshot.diskSize() <= (1L << 60)
                    && (snapshot.diskSize() + perL1 - 1) / perL1 > snapshot.l1Size()) {
                problem = "L1 table of " + snapshot.l1Size() + " entries is too small for its disk size of "
                        + snapshot.diskSize() + " bytes";
            } else if (problem == null && (snapshot.diskSize() < 0 || snapshot.diskSize() > (1L << 60))) {
                problem = "disk size " + Long.toUnsignedString(snapshot.diskSize());
            }
            if (problem != null) {
                throw new ErrnoException(Errno.EUCLEAN, file.name() + ": snapshot " + snapshot.id() + " ('" + snapshot.name()
                        + "'): " + problem);
            }
            this.l1 = readTable(snapshot.l1Offset(), snapshot.l1Size());
            this.virtualSize = snapshot.diskSize();
        }
        this.refcounts = readOnly ? null : new Qcow2Refcounts(file, header);
        this.stats = new BlockStats(clock);
    }

    /** Something that opens a backing file by its name, relative to the image that names it. */
    public interface BackingOpener {
        BlockDevice open(String name, String format, int depth) throws ErrnoException;
    }

    /** Something that opens an external data file by its name, relative to the image that names it. */
    public interface DataFileOpener {
        ImageFile open(String name, boolean readOnly) throws ErrnoException;
    }

    /**
     * Opens an image. A read-write open of an image marked corrupt or dirty is refused
     * ({@code EROFS} / {@code EUCLEAN}); read-only opens work.
     */
    public static Qcow2Image open(ImageFile file, boolean readOnly, HostClock clock, BackingOpener backings, int depth)
            throws ErrnoException {
        return open(file, readOnly, clock, backings, null, depth);
    }

    /**
     * Opens an image whose guest clusters may live in an external data file, which
     * {@code dataFiles} opens (read-only with the image, or read-write).
     */
    public static Qcow2Image open(ImageFile file, boolean readOnly, HostClock clock, BackingOpener backings,
            DataFileOpener dataFiles, int depth) throws ErrnoException {
        if (depth > MAX_BACKING_DEPTH) {
            throw new ErrnoException(Errno.ELOOP, file.name() + ": backing chain deeper than " + MAX_BACKING_DEPTH);
        }
        Qcow2Header h = Qcow2Header.read(file);
        boolean ro = readOnly || file.isReadOnly();
        if (!ro && (h.incompatible() & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
            throw new ErrnoException(Errno.EROFS, file.name() + ": image is marked corrupt; open it read-only");
        }
        if (!ro && (h.incompatible() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
            throw new ErrnoException(Errno.EUCLEAN, file.name() + ": image is dirty (refcounts need repair: qemu-img check -r all)");
        }
        Qcow2Snapshot.readTable(file, h); // a damaged snapshot table: refused, as qemu refuses it
        ImageFile data = null;
        if ((h.incompatible() & Qcow2Header.INCOMPAT_EXTERNAL_DATA) != 0) {
            if (h.dataFile() == null || h.dataFile().isEmpty()) {
                throw new ErrnoException(Errno.EOPNOTSUPP, file.name() + ": uses an external data file but does not name"
                        + " it (qemu's data-file option): not supported");
            }
            if (dataFiles == null) {
                throw new ErrnoException(Errno.EOPNOTSUPP, file.name() + ": has an external data file " + h.dataFile()
                        + " and no way to open it was given");
            }
            data = dataFiles.open(h.dataFile(), ro);
        }
        BlockDevice backing = null;
        try {
            if (h.backingFile() != null) {
                if (backings == null) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, file.name() + ": has a backing file " + h.backingFile()
                            + " and no way to open it was given");
                }
                backing = backings.open(h.backingFile(), h.backingFormat(), depth + 1);
            }
            return new Qcow2Image(file, h, backing, data, ro, clock, null);
        } catch (ErrnoException | RuntimeException e) {
            if (data != null) {
                data.close();
            }
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    /** The internal snapshots the snapshot table lists, in table order. */
    public synchronized List<Qcow2Snapshot> snapshots() throws ErrnoException {
        checkOpen();
        return Qcow2Snapshot.readTable(file, header);
    }

    /**
     * The snapshot with this ID or, failing that, this name: {@code ENOENT} if none. IDs are
     * matched first, as qemu-img does.
     */
    public synchronized Qcow2Snapshot findSnapshot(String idOrName) throws ErrnoException {
        List<Qcow2Snapshot> all = snapshots();
        for (Qcow2Snapshot s : all) {
            if (s.id().equals(idOrName)) {
                return s;
            }
        }
        for (Qcow2Snapshot s : all) {
            if (s.name().equals(idOrName)) {
                return s;
            }
        }
        throw new ErrnoException(Errno.ENOENT, name() + ": no snapshot with ID or name '" + idOrName + "'");
    }

    /**
     * Opens an internal snapshot of an image read-only, as a device of the disk size the snapshot
     * recorded, reading through its own L1 table (and the image's backing chain). {@code ENOENT} if
     * there is none by that ID or name; {@code EUCLEAN} if its table entry is damaged.
     */
    public static Qcow2Image openSnapshot(ImageFile file, String idOrName, HostClock clock, BackingOpener backings,
            int depth) throws ErrnoException {
        return openSnapshot(file, idOrName, clock, backings, null, depth);
    }

    /** {@link #openSnapshot} of an image that may have an external data file. */
    public static Qcow2Image openSnapshot(ImageFile file, String idOrName, HostClock clock, BackingOpener backings,
            DataFileOpener dataFiles, int depth) throws ErrnoException {
        Qcow2Image active = open(file, true, clock, backings, dataFiles, depth);
        try {
            Qcow2Snapshot s = active.findSnapshot(idOrName);
            return new Qcow2Image(file, active.header, active.backing, active.data, true, clock, s);
        } catch (ErrnoException | RuntimeException e) {
            // As open: the caller closes the file on failure; what the image opened, it closes.
            if (active.data != null) {
                active.data.close();
            }
            if (active.backing != null) {
                active.backing.close();
            }
            throw e;
        }
    }

    /** The snapshot this device shows, or null for the image's active state. */
    public Qcow2Snapshot snapshot() {
        return snapshot;
    }

    /** How many clusters were decompressed since open: reads served from the cache do not count. */
    synchronized long decompressions() {
        return decompressions;
    }

    /** Whether L2 entries are extended: 32 subclusters a cluster, each allocated on its own. */
    public boolean extendedL2() {
        return header.extendedL2();
    }

    /** The external data file's name as the header holds it, or null when guest data is in the image. */
    public String dataFileName() {
        return data == null ? null : header.dataFile();
    }

    /** The compression type of compressed clusters: "deflate" or "zstd". */
    public String compressionType() {
        return header.compressionType() == Qcow2Header.COMPRESSION_ZSTD ? "zstd" : "deflate";
    }

    /** The parsed header, for {@code rump image info}. */
    Qcow2Header header() {
        return header;
    }

    public int version() {
        return header.version();
    }

    public long clusterSize() {
        return cluster;
    }

    /** The backing file's name as the header holds it, or null. */
    public String backingFile() {
        return header.backingFile();
    }

    public ImageFile file() {
        return file;
    }

    @Override
    public String name() {
        return file.name();
    }

    @Override
    public int sectorSize() {
        return 512;
    }

    @Override
    public long size() {
        return virtualSize / 512 * 512;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    private long[] readTable(long offset, int entries) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(entries * 8);
        file.read(offset, b);
        long[] t = new long[entries];
        b.asLongBuffer().get(t);
        return t;
    }

    // ---- reading -----------------------------------------------------------------------------

    @Override
    public synchronized void read(long offset, ByteBuffer dst) throws ErrnoException {
        checkOpen();
        int length = dst.remaining();
        Requests.checkRead(name(), 512, size(), offset, length);
        stats.time(BlockStats.Op.READ, length, () -> {
            int done = 0;
            while (done < length) {
                long pos = offset + done;
                int within = (int) (pos % cluster);
                int n = (int) Math.min(length - done, cluster - within);
                ByteBuffer part = dst.duplicate().position(dst.position() + done).limit(dst.position() + done + n);
                readClusterPart(pos / cluster, within, part);
                done += n;
            }
        });
    }

    private void readClusterPart(long vcluster, int within, ByteBuffer dst) throws ErrnoException {
        long entry = l2Entry(vcluster);
        if ((entry & COMPRESSED) != 0) {
            if (data != null) {
                throw new ErrnoException(Errno.EUCLEAN, name() + ": compressed cluster " + vcluster
                        + " in an image with an external data file");
            }
            byte[] c = decompressedCluster(vcluster, entry);
            dst.put(dst.position(), c, within, dst.remaining());
            return;
        }
        if (stride == 2) {
            readSubclusters(vcluster, entry, l2Bitmap(vcluster), within, dst);
            return;
        }
        long host = entry & L1_OFFSET_MASK;
        if ((entry & ZERO) != 0 && header.version() >= 3) {
            fill(dst, 0);
            return;
        }
        if (!mapped(entry)) {
            readBacking(vcluster * cluster + within, dst);
            return;
        }
        readData(vcluster, host, within, dst);
    }

    /** Whether a standard entry maps a host cluster: a nonzero offset, or offset 0 in a data file (COPIED set). */
    private boolean mapped(long entry) {
        return (entry & L1_OFFSET_MASK) != 0 || (data != null && (entry & COPIED) != 0);
    }

    /** Reads guest data at {@code within} of the host cluster {@code host} of the image or its data file. */
    private void readData(long vcluster, long host, int within, ByteBuffer dst) throws ErrnoException {
        ImageFile where = dataFile();
        if (data == null) {
            checkDataCluster(host, vcluster);
        } else if (host != vcluster * cluster) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": data cluster " + vcluster + " maps to 0x"
                    + Long.toHexString(host) + " of the data file, not to its guest offset");
        }
        // A data file grows as clusters are written, and qemu leaves the last cluster of an image
        // short when it wrote only some of its subclusters: beyond the end of the file reads as zeros.
        long at = host + within;
        int inside = (int) Math.max(0, Math.min(dst.remaining(), where.size() - at));
        if (inside > 0) {
            where.read(at, dst.duplicate().limit(dst.position() + inside));
        }
        fill(dst.duplicate().position(dst.position() + inside), 0);
    }

    /**
     * Reads part of a cluster of an image with extended L2 entries, subcluster by subcluster:
     * allocated ones from the host cluster, zero ones as zeros, the rest from the backing file.
     */
    private void readSubclusters(long vcluster, long entry, long bitmap, int within, ByteBuffer dst)
            throws ErrnoException {
        long host = entry & L1_OFFSET_MASK;
        int sub = (int) (cluster / 32);
        if ((bitmap & (bitmap >>> 32) & 0xffff_ffffL) != 0) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": cluster " + vcluster + " has subclusters both allocated"
                    + " and zero (bitmap 0x" + Long.toHexString(bitmap) + ")");
        }
        if ((bitmap & 0xffff_ffffL) != 0 && !mapped(entry)) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": cluster " + vcluster + " has allocated subclusters"
                    + " but no host cluster (bitmap 0x" + Long.toHexString(bitmap) + ")");
        }
        int done = 0;
        int length = dst.remaining();
        while (done < length) {
            int at = within + done;
            int index = at / sub;
            int n = Math.min(length - done, (index + 1) * sub - at);
            ByteBuffer part = dst.duplicate().position(dst.position() + done).limit(dst.position() + done + n);
            if ((bitmap >>> (32 + index) & 1) != 0) {
                fill(part, 0);
            } else if ((bitmap >>> index & 1) != 0) {
                readData(vcluster, host, at, part);
            } else {
                readBacking(vcluster * cluster + at, part);
            }
            done += n;
        }
    }

    private void readBacking(long offset, ByteBuffer dst) throws ErrnoException {
        if (backing == null || offset >= backing.size()) {
            fill(dst, 0);
            return;
        }
        int fromBacking = (int) Math.min(dst.remaining(), backing.size() - offset);
        // The backing device reads whole sectors; read the sectors covering the range and copy.
        long start = offset / 512 * 512;
        long end = (offset + fromBacking + 511) / 512 * 512;
        ByteBuffer tmp = ByteBuffer.allocate((int) (end - start));
        backing.read(start, tmp);
        dst.put(dst.position(), tmp, (int) (offset - start), fromBacking);
        if (fromBacking < dst.remaining()) {
            fill(dst.duplicate().position(dst.position() + fromBacking), 0);
        }
    }

    private static void fill(ByteBuffer b, int v) {
        for (int i = b.position(); i < b.limit(); i++) {
            b.put(i, (byte) v);
        }
    }

    /** The L2 entry for a virtual cluster, 0 if no L2 table maps it. */
    private long l2Entry(long vcluster) throws ErrnoException {
        return l2Word(vcluster, 0);
    }

    /** The subcluster bitmap of a virtual cluster (extended L2 entries only), 0 if no L2 table maps it. */
    private long l2Bitmap(long vcluster) throws ErrnoException {
        return l2Word(vcluster, 1);
    }

    private long l2Word(long vcluster, int word) throws ErrnoException {
        int l1Index = (int) (vcluster / header.l2Entries());
        int l2Index = (int) (vcluster % header.l2Entries());
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        if (l2Offset == 0) {
            return 0;
        }
        return l2Table(l1Index, l2Offset)[l2Index * stride + word];
    }

    private long[] l2Table(int l1Index, long l2Offset) throws ErrnoException {
        long[] t = pending.l2Tables.get(l2Offset); // changed since the last commit: maybe not on disk yet
        if (t == null) {
            t = l2Cache.get(l2Offset);
        }
        if (t == null) {
            checkCluster(l2Offset, "L2 table (L1 index " + l1Index + ")");
            t = readTable(l2Offset, (int) (cluster / 8)); // one cluster of 64-bit words
            if (l2Cache.size() >= L2_CACHE) {
                l2Cache.remove(l2Cache.keySet().iterator().next());
            }
            l2Cache.put(l2Offset, t);
        }
        return t;
    }

    /** A data cluster must be aligned, past the header and start inside the file (it may end past it). */
    private void checkDataCluster(long offset, long vcluster) throws ErrnoException {
        if (offset % cluster != 0 || offset < cluster || offset >= file.size()) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": data cluster " + vcluster + " at 0x" + Long.toHexString(offset)
                    + (offset % cluster != 0 ? " is not cluster-aligned" : offset < cluster ? " points into the header"
                            : " lies beyond the end of the file (" + file.size() + " bytes)"));
        }
    }

    /** A host cluster pointer must be aligned, past the header and inside the file. */
    private void checkCluster(long offset, String what) throws ErrnoException {
        if (offset % cluster != 0 || offset < cluster || offset > file.size() - cluster) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": " + what + " at 0x" + Long.toHexString(offset)
                    + (offset % cluster != 0 ? " is not cluster-aligned" : offset < cluster ? " points into the header"
                            : " lies beyond the end of the file (" + file.size() + " bytes)"));
        }
    }

    private int compressedShift() {
        return 62 - (header.clusterBits() - 8);
    }

    /** A compressed cluster's contents, from the cache or decompressed (and then cached). */
    private byte[] decompressedCluster(long vcluster, long entry) throws ErrnoException {
        byte[] c = decompressed.get(entry);
        if (c == null) {
            c = decompress(vcluster, entry);
            decompressions++;
            int keep = (int) Math.max(1, Math.min(DECOMPRESSED_CACHE, DECOMPRESSED_BUDGET / cluster));
            while (decompressed.size() >= keep) {
                decompressed.remove(decompressed.keySet().iterator().next());
            }
            decompressed.put(entry, c);
        }
        return c;
    }

    private byte[] decompress(long vcluster, long entry) throws ErrnoException {
        int x = compressedShift();
        long offset = entry & ((1L << x) - 1);
        long sectors = ((entry & ~COMPRESSED & ~COPIED) >>> x) + 1;
        long length = sectors * 512 - (offset & 511);
        if (length <= 0 || length > 2 * cluster || offset < cluster || offset > file.size()) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": compressed cluster " + vcluster + " at 0x"
                    + Long.toHexString(offset) + " of " + length + " bytes is out of range");
        }
        length = Math.min(length, file.size() - offset); // the last compressed cluster may end the file early
        ByteBuffer in = ByteBuffer.allocate((int) length);
        file.read(offset, in);
        byte[] out = new byte[(int) cluster];
        try {
            Qcow2Decompressor.decompress(header.compressionType(), in.array(), out);
        } catch (Qcow2Decompressor.BadData e) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": compressed cluster " + vcluster + " at 0x"
                    + Long.toHexString(offset) + ": " + e.getMessage());
        }
        return out;
    }

    // ---- writing -----------------------------------------------------------------------------

    /**
     * The metadata changes of the writes since the last commit, staged in memory while their data
     * is written, then made durable layer by layer in {@link #commit}: at {@link #flush()}, at
     * close, or when {@link #COMMIT_CLUSTERS} new clusters or {@link #COMMIT_TABLES} L2 tables are
     * pending.
     */
    private final class Changes {
        /** New clusters (data and L2 tables), their refcounts staged in {@link #refcounts}. */
        int counted;
        /** Changed L2 tables by offset: the table and its changed entry range; new tables whole. */
        final Map<Long, long[]> l2Tables = new LinkedHashMap<>();
        final Map<Long, int[]> l2Ranges = new LinkedHashMap<>();
        int l1From = Integer.MAX_VALUE;
        int l1To = -1;
        /** Old L2 entries and L2 tables this image no longer references. */
        final List<Long> releasedEntries = new ArrayList<>();
        final List<Long> releasedClusters = new ArrayList<>();

        boolean isEmpty() {
            return counted == 0 && l2Ranges.isEmpty() && releasedEntries.isEmpty() && releasedClusters.isEmpty();
        }

        boolean isLarge() {
            return counted >= commitClusters || l2Tables.size() >= COMMIT_TABLES;
        }

        void clear() {
            counted = 0;
            l2Tables.clear();
            l2Ranges.clear();
            l1From = Integer.MAX_VALUE;
            l1To = -1;
            releasedEntries.clear();
            releasedClusters.clear();
        }

        /** Stages the 64-bit words {@code from} to {@code to} of an L2 table as changed. */
        void l2Words(long l2Offset, long[] table, int from, int to) {
            l2Tables.put(l2Offset, table);
            l2Ranges.merge(l2Offset, new int[] {from, to},
                    (a, n) -> new int[] {Math.min(a[0], n[0]), Math.max(a[1], n[1])});
        }
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws ErrnoException {
        checkOpen();
        int length = src.remaining();
        Requests.checkWrite(name(), 512, size(), readOnly, offset, length);
        checkNotBroken();
        stats.time(BlockStats.Op.WRITE, length, () -> {
            clearForeignAutoclear();
            writeData(offset, src, pending);
            if (pending.isLarge()) {
                commitPending();
            }
        });
    }

    /**
     * Before the first write: clears the autoclear bits of what this writer does not keep up to
     * date (persistent dirty bitmaps), as the qcow2 spec asks of such a writer, so that no one
     * trusts a bitmap that missed these writes. Their clusters then count as leaked in a check.
     */
    private void clearForeignAutoclear() throws ErrnoException {
        if (autoclearDone || header.version() < 3) {
            return;
        }
        long keep = header.autoclear() & Qcow2Header.AUTOCLEAR_DATA_FILE_RAW;
        if (keep != header.autoclear()) {
            file.write(88, ByteBuffer.allocate(8).putLong(0, keep));
            file.flush();
        }
        autoclearDone = true;
    }

    /** Writes the data of a request, in place or into new clusters, staging the metadata changes. */
    private void writeData(long offset, ByteBuffer src, Changes changes) throws ErrnoException {
        int length = src.remaining();
        int done = 0;
        while (done < length) {
            long pos = offset + done;
            int within = (int) (pos % cluster);
            long vcluster = pos / cluster;
            long host = ownCluster(vcluster);
            int n = (int) Math.min(length - done, cluster - within);
            if (host >= 0) {
                // Whole clusters in a row that are already this image's own are written in one request.
                while (within == 0 && n + done < length && n % cluster == 0) {
                    long next = ownCluster(vcluster + n / cluster);
                    if (next != host + n) {
                        break;
                    }
                    n += (int) Math.min(length - done - n, cluster);
                }
                dataFile().write(host + within, src.duplicate().position(src.position() + done).limit(src.position() + done + n));
            } else {
                n = writeNewRun(vcluster, within, src.duplicate().position(src.position() + done)
                        .limit(src.position() + length), changes);
            }
            done += n;
        }
    }

    /**
     * The host offset of a cluster this image owns outright (mapped, refcount 1, and with extended
     * L2 entries every subcluster allocated), or -1.
     */
    private long ownCluster(long vcluster) throws ErrnoException {
        long e = l2Entry(vcluster);
        if ((e & COPIED) == 0 || (e & COMPRESSED) != 0 || (stride == 1 && (e & ZERO) != 0)) {
            return -1;
        }
        if (stride == 2 && l2Bitmap(vcluster) != ALL_ALLOCATED) {
            return -1; // written whole into a new cluster, its old subclusters copied: simple and right
        }
        long host = e & L1_OFFSET_MASK;
        if (data != null) {
            return host == vcluster * cluster ? host : -1;
        }
        if (host == 0) {
            return -1;
        }
        checkDataCluster(host, vcluster);
        return host;
    }

    /** The subcluster bitmap of a cluster written whole: all 32 subclusters allocated, none zero. */
    private static final long ALL_ALLOCATED = 0xffff_ffffL;

    /** Where guest clusters live: the external data file, or the image file. */
    private ImageFile dataFile() {
        return data != null ? data : file;
    }

    /** Most clusters one {@link #writeNewRun} allocates: 16 MiB at 64 KiB clusters. */
    private static final int MAX_RUN = 256;
    /** Pending new clusters that make a write commit metadata without waiting for a flush: 256 MiB at 64 KiB. */
    static final int COMMIT_CLUSTERS = 4096;
    /** Pending changed L2 tables that make a write commit metadata (they are kept in memory until then). */
    static final int COMMIT_TABLES = 32;

    /**
     * Writes the start of {@code src} into a run of new clusters with one data write: whole
     * clusters, none of them this image's own, up to the end of their L2 table; or one cluster
     * (copy-on-write: its old contents with the part laid over them) when the write covers it only
     * partly. The new mapping is staged in {@code changes}.
     *
     * @return the bytes of {@code src} written
     */
    private int writeNewRun(long vcluster, int within, ByteBuffer src, Changes changes) throws ErrnoException {
        int l2Entries = header.l2Entries();
        int count = 1;
        ByteBuffer data;
        int bytes;
        if (within != 0 || src.remaining() < cluster) {
            bytes = (int) Math.min(src.remaining(), cluster - within);
            data = ByteBuffer.allocate((int) cluster);
            readClusterPart(vcluster, 0, data.duplicate());
            data.put(within, src, src.position(), bytes);
        } else {
            long max = Math.min(Math.min(src.remaining() / cluster, MAX_RUN), l2Entries - vcluster % l2Entries);
            while (count < max && ownCluster(vcluster + count) < 0) {
                count++;
            }
            bytes = (int) (count * cluster);
            data = src.duplicate().limit(src.position() + bytes);
        }
        long host;
        if (this.data != null) {
            host = vcluster * cluster; // a data file holds each guest cluster at its guest offset, not refcounted
        } else {
            host = refcounts.allocate(count);
            for (int i = 0; i < count; i++) {
                refcounts.set(host + i * cluster, 1); // staged now, so refcount blocks get their room now
            }
        }
        dataFile().write(host, data);
        int l1Index = (int) (vcluster / l2Entries);
        long[] table = ownL2Table(l1Index, changes);
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        int first = (int) (vcluster % l2Entries);
        changes.counted += count;
        for (int i = 0; i < count; i++) {
            int w = (first + i) * stride;
            if (table[w] != 0 && this.data == null) {
                changes.releasedEntries.add(table[w]);
            }
            table[w] = (host + i * cluster) | COPIED;
            if (stride == 2) {
                table[w + 1] = ALL_ALLOCATED;
            }
            changes.l2Words(l2Offset, table, w, w + stride);
        }
        return bytes;
    }

    /** The L2 table of an L1 slot, made this image's own (allocated or copied, staged) first if it is not. */
    private long[] ownL2Table(int l1Index, Changes changes) throws ErrnoException {
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        if (l2Offset != 0 && (l1[l1Index] & COPIED) != 0) {
            return l2Table(l1Index, l2Offset);
        }
        long[] t = l2Offset == 0 ? new long[(int) (cluster / 8)] : l2Table(l1Index, l2Offset).clone();
        long fresh = refcounts.allocate(1);
        if (l2Cache.size() >= L2_CACHE) {
            l2Cache.remove(l2Cache.keySet().iterator().next());
        }
        l2Cache.put(fresh, t);
        refcounts.set(fresh, 1);
        changes.counted++;
        changes.l2Tables.put(fresh, t);
        changes.l2Ranges.put(fresh, new int[] {0, t.length});
        l1[l1Index] = fresh | COPIED;
        changes.l1From = Math.min(changes.l1From, l1Index);
        changes.l1To = Math.max(changes.l1To, l1Index + 1);
        if (l2Offset != 0) {
            changes.releasedClusters.add(l2Offset); // shared with a snapshot: one reference fewer
        }
        return t;
    }

    private void checkNotBroken() throws ErrnoException {
        if (broken != null) {
            throw new ErrnoException(Errno.EIO, name() + ": writing metadata back failed earlier (" + broken
                    + "); the file holds the image as of the last good flush: reopen it");
        }
    }

    /** Commits the pending changes; if that fails, memory and file differ and later writes are refused. */
    private void commitPending() throws ErrnoException {
        try {
            commit(pending);
            pending.clear();
        } catch (ErrnoException | RuntimeException e) {
            broken = e.getMessage();
            throw e;
        }
    }

    /**
     * Makes staged metadata durable in the order that keeps a power cut harmless: the data
     * already written; host flush; refcounts of the new clusters; host flush; L2 entries and new
     * L2 tables; host flush; L1 entries; host flush; refcounts of what is no longer referenced. A
     * cut anywhere leaves at worst leaked clusters (counted, not referenced), never a reference to
     * a cluster whose data or refcount did not reach the disk. The caller flushes at the end.
     */
    private void commit(Changes changes) throws ErrnoException {
        if (changes.isEmpty() && !refcounts.isDirty()) {
            return;
        }
        if (data != null) {
            data.flush(); // guest data durable before any L2 entry points at it
        }
        if (refcounts.isDirty()) {
            file.flush();
            refcounts.commit();
            file.flush();
        }
        for (Map.Entry<Long, int[]> e : changes.l2Ranges.entrySet()) {
            long[] t = changes.l2Tables.get(e.getKey());
            int[] r = e.getValue();
            ByteBuffer b = ByteBuffer.allocate((r[1] - r[0]) * 8);
            b.asLongBuffer().put(t, r[0], r[1] - r[0]);
            file.write(e.getKey() + 8L * r[0], b);
        }
        if (changes.l1To >= 0) {
            file.flush();
            ByteBuffer b = ByteBuffer.allocate((changes.l1To - changes.l1From) * 8);
            b.asLongBuffer().put(l1, changes.l1From, changes.l1To - changes.l1From);
            file.write(header.l1TableOffset() + 8L * changes.l1From, b);
        }
        if (!changes.releasedEntries.isEmpty() || !changes.releasedClusters.isEmpty()) {
            boolean any = false;
            for (long e : changes.releasedEntries) {
                any |= release(e);
            }
            for (long c : changes.releasedClusters) {
                any |= decrement(c);
            }
            if (any) {
                file.flush(); // nothing may be freed while a durable table still points at it
                refcounts.commit();
            }
        }
    }

    /** Stages the decrements for the clusters an L2 entry no longer references; whether there were any. */
    private boolean release(long oldEntry) throws ErrnoException {
        if ((oldEntry & COMPRESSED) != 0) {
            int x = compressedShift();
            long offset = oldEntry & ((1L << x) - 1);
            long sectors = ((oldEntry & ~COMPRESSED & ~COPIED) >>> x) + 1;
            long end = offset + sectors * 512 - (offset & 511);
            for (long c = offset / cluster; c * cluster < end; c++) {
                decrement(c * cluster);
            }
            return true;
        }
        long host = oldEntry & L1_OFFSET_MASK;
        // A cluster shared with a snapshot keeps its other references; a zero cluster with space
        // kept for it (refcount 1) is freed.
        return host != 0 && decrement(host);
    }

    private boolean decrement(long host) throws ErrnoException {
        long rc = refcounts.get(host);
        if (rc > 0) {
            refcounts.set(host, rc - 1);
            return true;
        }
        return false;
    }

    /**
     * For tests: commit metadata once this many new clusters are pending (1: after every write
     * that allocates), so that power cuts between requests can land between commit steps.
     */
    synchronized void commitAfter(int clusters) {
        commitClusters = clusters;
    }

    // ---- creating --------------------------------------------------------------------------------

    /** Cluster size of images {@link #create} makes: qemu-img's default. */
    public static final int CREATE_CLUSTER_BITS = 16;

    /**
     * Writes a new, empty version 3 image of {@code virtualSize} bytes into an empty file: 64 KiB
     * clusters, 16-bit refcounts, a refcount table of one cluster (it grows when the image
     * outgrows it), an optional backing file (its name as given, its format named in a header
     * extension).
     */
    public static void create(ImageFile file, long virtualSize, String backingFile, String backingFormat)
            throws ErrnoException {
        create(file, virtualSize, backingFile, backingFormat, CREATE_CLUSTER_BITS, 4);
    }

    /** {@link #create} with 2^{@code clusterBits}-byte clusters (9..21) and 2^{@code refcountOrder}-bit refcounts (0..6). */
    static void create(ImageFile file, long virtualSize, String backingFile, String backingFormat, int clusterBits,
            int refcountOrder) throws ErrnoException {
        if (virtualSize < 0 || virtualSize % 512 != 0) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": virtual size " + virtualSize
                    + " is not a non-negative multiple of 512");
        }
        if (clusterBits < 9 || clusterBits > 21 || refcountOrder < 0 || refcountOrder > 6) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": cluster_bits " + clusterBits + ", refcount_order "
                    + refcountOrder);
        }
        long c = 1L << clusterBits;
        long perL2 = c / 8 * c;
        int l1Size = (int) Math.max(1, (virtualSize + perL2 - 1) / perL2);
        long l1Bytes = l1Size * 8L;
        long l1Clusters = (l1Bytes + c - 1) / c;
        if (l1Bytes > Qcow2Header.MAX_L1_BYTES || 3 + l1Clusters > c * 8 / (1 << refcountOrder)) {
            throw new ErrnoException(Errno.EFBIG, file.name() + ": virtual size " + virtualSize
                    + " is too large for " + c + "-byte clusters");
        }
        long refcountTable = c;
        long refcountBlock = 2 * c;
        long l1Table = 3 * c;
        ByteBuffer h = ByteBuffer.allocate((int) c);
        h.putInt(0, Qcow2Header.MAGIC).putInt(4, 3).putInt(20, clusterBits).putLong(24, virtualSize);
        h.putInt(36, l1Size).putLong(40, l1Table).putLong(48, refcountTable).putInt(56, 1);
        h.putInt(96, refcountOrder).putInt(100, Qcow2Header.V3_LENGTH);
        int at = Qcow2Header.V3_LENGTH;
        if (backingFile != null) {
            byte[] fmt = (backingFormat == null ? "raw" : backingFormat).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            h.putInt(at, Qcow2Header.EXT_BACKING_FORMAT).putInt(at + 4, fmt.length);
            h.put(at + 8, fmt);
            at += 8 + ((fmt.length + 7) & ~7);
        }
        h.putInt(at, Qcow2Header.EXT_END).putInt(at + 4, 0);
        at += 8;
        if (backingFile != null) {
            byte[] name = backingFile.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (name.length == 0 || name.length > 1023 || at + name.length > c) {
                throw new ErrnoException(Errno.EINVAL, "backing file name of " + name.length + " bytes");
            }
            h.putLong(8, at).putInt(16, name.length);
            h.put(at, name);
        }
        file.write(0, h);
        file.write(refcountTable, ByteBuffer.allocate((int) c).putLong(0, refcountBlock));
        ByteBuffer rb = ByteBuffer.allocate((int) c);
        for (int i = 0; i < 3 + l1Clusters; i++) {
            Qcow2Header.putRefcount(rb, i, 1 << refcountOrder, 1);
        }
        file.write(refcountBlock, rb);
        file.write(l1Table, ByteBuffer.allocate((int) (l1Clusters * c)));
        file.flush();
    }

    // ---- the rest ------------------------------------------------------------------------------

    @Override
    public synchronized void flush() throws ErrnoException {
        checkOpen();
        stats.time(BlockStats.Op.FLUSH, 0, () -> {
            if (!readOnly) {
                checkNotBroken();
                commitPending();
                file.flush();
            }
        });
    }

    /** Discard is advisory; this image keeps its clusters (qemu's discard=ignore). */
    @Override
    public synchronized void discard(long offset, long length) throws ErrnoException {
        checkOpen();
        if (readOnly) {
            throw new ErrnoException(Errno.EROFS, name() + " is read-only");
        }
        Requests.checkRead(name(), 512, size(), offset, length);
    }

    private void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name() + " is closed");
        }
    }

    @Override
    public synchronized void close() throws ErrnoException {
        if (closed) {
            return;
        }
        closed = true;
        ErrnoException lost = null;
        try {
            if (!readOnly && broken == null) {
                commitPending();
                file.flush();
            }
        } catch (ErrnoException e) {
            lost = new ErrnoException(e.errno(), name() + ": metadata not written at close, the image may be"
                    + " inconsistent: " + e.getMessage());
        }
        try {
            file.close();
        } finally {
            if (data != null) {
                data.close();
            }
            if (backing != null) {
                backing.close();
            }
        }
        if (lost != null) {
            throw lost;
        }
    }

    @Override
    public String toString() {
        return "Qcow2Image[" + name() + ", v" + header.version() + ", " + size() + " bytes, cluster " + cluster + "]";
    }
}
