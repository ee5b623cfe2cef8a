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
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A qcow2 image (versions 2 and 3) as a block device of its virtual size.
 *
 * <p>Reads follow L1 and L2 tables: unallocated clusters come from the backing image or read as
 * zeros, zero clusters read as zeros, compressed clusters are inflated (deflate, never beyond one
 * cluster). Writes go to the top image only: clusters that are not yet this image's own (unmapped,
 * zero, compressed, in the backing file, or shared with a snapshot) get new clusters after the last
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
 * <p>Not supported, each with {@code EOPNOTSUPP} naming it: encryption, external data files,
 * extended L2 entries, zstd compression, writing compressed clusters, snapshot I/O (the active
 * layer of an image with snapshots works). A refcount table beyond qemu's 8 MiB limit is
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
    static final int MAX_BACKING_DEPTH = 16;

    private final ImageFile file;
    private final Qcow2Header header;
    private final BlockDevice backing;
    private final boolean readOnly;
    private final long cluster;
    private final long[] l1;
    private final Qcow2Refcounts refcounts;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(L2_CACHE, 0.75f, true);
    private final BlockStats stats;
    private boolean closed;
    /** Why a commit failed; memory and file differ since, and writes are refused. */
    private String broken;
    private final Changes pending = new Changes();
    private int commitClusters = COMMIT_CLUSTERS;

    private Qcow2Image(ImageFile file, Qcow2Header header, BlockDevice backing, boolean readOnly, HostClock clock)
            throws ErrnoException {
        this.file = file;
        this.header = header;
        this.backing = backing;
        this.readOnly = readOnly;
        this.cluster = header.clusterSize();
        this.l1 = readTable(header.l1TableOffset(), header.l1Size());
        this.refcounts = readOnly ? null : new Qcow2Refcounts(file, header);
        this.stats = new BlockStats(clock);
    }

    /** Something that opens a backing file by its name, relative to the image that names it. */
    public interface BackingOpener {
        BlockDevice open(String name, String format, int depth) throws ErrnoException;
    }

    /**
     * Opens an image. A read-write open of an image marked corrupt or dirty is refused
     * ({@code EROFS} / {@code EUCLEAN}); read-only opens work.
     */
    public static Qcow2Image open(ImageFile file, boolean readOnly, HostClock clock, BackingOpener backings, int depth)
            throws ErrnoException {
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
        BlockDevice backing = null;
        if (h.backingFile() != null) {
            if (backings == null) {
                throw new ErrnoException(Errno.EOPNOTSUPP, file.name() + ": has a backing file " + h.backingFile()
                        + " and no way to open it was given");
            }
            backing = backings.open(h.backingFile(), h.backingFormat(), depth + 1);
        }
        return new Qcow2Image(file, h, backing, ro, clock);
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
        return header.size() / 512 * 512;
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
            byte[] c = inflate(vcluster, entry);
            dst.put(dst.position(), c, within, dst.remaining());
            return;
        }
        long host = entry & L1_OFFSET_MASK;
        if ((entry & ZERO) != 0 && header.version() >= 3) {
            fill(dst, 0);
            return;
        }
        if (host == 0) {
            readBacking(vcluster * cluster + within, dst);
            return;
        }
        checkCluster(host, "data cluster " + vcluster);
        file.read(host + within, dst);
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
        int l1Index = (int) (vcluster / header.l2Entries());
        int l2Index = (int) (vcluster % header.l2Entries());
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        if (l2Offset == 0) {
            return 0;
        }
        return l2Table(l1Index, l2Offset)[l2Index];
    }

    private long[] l2Table(int l1Index, long l2Offset) throws ErrnoException {
        long[] t = pending.l2Tables.get(l2Offset); // changed since the last commit: maybe not on disk yet
        if (t == null) {
            t = l2Cache.get(l2Offset);
        }
        if (t == null) {
            checkCluster(l2Offset, "L2 table (L1 index " + l1Index + ")");
            t = readTable(l2Offset, header.l2Entries());
            if (l2Cache.size() >= L2_CACHE) {
                l2Cache.remove(l2Cache.keySet().iterator().next());
            }
            l2Cache.put(l2Offset, t);
        }
        return t;
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

    private byte[] inflate(long vcluster, long entry) throws ErrnoException {
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
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in.array());
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int got = inf.inflate(out, n, out.length - n);
                if (got == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += got;
            }
            if (n < out.length) {
                throw new ErrnoException(Errno.EUCLEAN, name() + ": compressed cluster " + vcluster + " at 0x"
                        + Long.toHexString(offset) + " inflates to " + n + " bytes, not " + out.length);
            }
        } catch (DataFormatException e) {
            throw new ErrnoException(Errno.EUCLEAN, name() + ": compressed cluster " + vcluster + " at 0x"
                    + Long.toHexString(offset) + ": " + e.getMessage());
        } finally {
            inf.end();
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

        void l2Entry(long l2Offset, long[] table, int index) {
            l2Tables.put(l2Offset, table);
            l2Ranges.merge(l2Offset, new int[] {index, index + 1},
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
            writeData(offset, src, pending);
            if (pending.isLarge()) {
                commitPending();
            }
        });
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
            if (host != 0) {
                // Whole clusters in a row that are already this image's own are written in one request.
                while (within == 0 && n + done < length && n % cluster == 0) {
                    long next = ownCluster(vcluster + n / cluster);
                    if (next != host + n) {
                        break;
                    }
                    n += (int) Math.min(length - done - n, cluster);
                }
                file.write(host + within, src.duplicate().position(src.position() + done).limit(src.position() + done + n));
            } else {
                n = writeNewRun(vcluster, within, src.duplicate().position(src.position() + done)
                        .limit(src.position() + length), changes);
            }
            done += n;
        }
    }

    /** The host offset of a cluster this image owns outright (mapped, refcount 1), or 0. */
    private long ownCluster(long vcluster) throws ErrnoException {
        long e = l2Entry(vcluster);
        if ((e & COPIED) == 0 || (e & COMPRESSED) != 0 || (e & ZERO) != 0) {
            return 0;
        }
        long host = e & L1_OFFSET_MASK;
        if (host != 0) {
            checkCluster(host, "data cluster " + vcluster);
        }
        return host;
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
            while (count < max && ownCluster(vcluster + count) == 0) {
                count++;
            }
            bytes = (int) (count * cluster);
            data = src.duplicate().limit(src.position() + bytes);
        }
        long host = refcounts.allocate(count);
        for (int i = 0; i < count; i++) {
            refcounts.set(host + i * cluster, 1); // staged now, so refcount blocks get their room now
        }
        file.write(host, data);
        int l1Index = (int) (vcluster / l2Entries);
        long[] table = ownL2Table(l1Index, changes);
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        int first = (int) (vcluster % l2Entries);
        changes.counted += count;
        for (int i = 0; i < count; i++) {
            if (table[first + i] != 0) {
                changes.releasedEntries.add(table[first + i]);
            }
            table[first + i] = (host + i * cluster) | COPIED;
            changes.l2Entry(l2Offset, table, first + i);
        }
        return bytes;
    }

    /** The L2 table of an L1 slot, made this image's own (allocated or copied, staged) first if it is not. */
    private long[] ownL2Table(int l1Index, Changes changes) throws ErrnoException {
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        if (l2Offset != 0 && (l1[l1Index] & COPIED) != 0) {
            return l2Table(l1Index, l2Offset);
        }
        long[] t = l2Offset == 0 ? new long[header.l2Entries()] : l2Table(l1Index, l2Offset).clone();
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
