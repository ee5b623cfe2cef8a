package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A qcow2 image (versions 2 and 3) as a block device of its virtual size.
 *
 * <p>Reads follow L1 and L2 tables: unallocated clusters come from the backing image or read as
 * zeros, zero clusters read as zeros, compressed clusters are inflated (deflate, never beyond one
 * cluster). Writes go to the top image only: a cluster that is not yet this image's own (unmapped,
 * zero, compressed, in the backing file, or shared with a snapshot) gets a new cluster at the end
 * of the file, filled from its old contents; L2 tables and refcount blocks are allocated as
 * needed, and the refcounts of clusters no longer referenced are decremented. Writes are issued
 * in the order data, refcounts, L2 entry, L1 entry, but without a host flush between them: after
 * a power cut before {@link #flush()}, a new cluster may be leaked or mapped before its data or
 * refcount reached the disk. Flushed images are consistent; crash-ordering between flushes is
 * not guaranteed yet.
 *
 * <p>Not supported, each with {@code EOPNOTSUPP} naming it: encryption, external data files,
 * extended L2 entries, zstd compression, writing compressed clusters, snapshot I/O (the active
 * layer of an image with snapshots works), and growing the refcount table beyond what the image
 * has ({@code ENOSPC}: qemu-img and {@link #create} size it for far more than the virtual size).
 *
 * <p>Thread-safe: one lock serializes requests.
 */
public final class Qcow2Image implements BlockDevice {
    private static final long L1_OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    private static final long COPIED = 1L << 63;
    private static final long COMPRESSED = 1L << 62;
    private static final long ZERO = 1L;
    private static final int L2_CACHE = 64;
    private static final int MAX_BACKING_DEPTH = 16;

    private final ImageFile file;
    private final Qcow2Header header;
    private final BlockDevice backing;
    private final boolean readOnly;
    private final long cluster;
    private final long[] l1;
    private final long[] refcountTable;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(L2_CACHE, 0.75f, true);
    private final Map<Long, ByteBuffer> refcountBlocks = new LinkedHashMap<>(L2_CACHE, 0.75f, true);
    private final BlockStats stats;
    private long nextFree;
    private boolean closed;

    private Qcow2Image(ImageFile file, Qcow2Header header, BlockDevice backing, boolean readOnly, HostClock clock)
            throws ErrnoException {
        this.file = file;
        this.header = header;
        this.backing = backing;
        this.readOnly = readOnly;
        this.cluster = header.clusterSize();
        this.l1 = readTable(header.l1TableOffset(), header.l1Size());
        this.refcountTable = readTable(header.refcountTableOffset(),
                (int) (header.refcountTableClusters() * cluster / 8));
        this.nextFree = (file.size() + cluster - 1) / cluster * cluster;
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
        long[] t = l2Cache.get(l2Offset);
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

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws ErrnoException {
        checkOpen();
        int length = src.remaining();
        Requests.checkWrite(name(), 512, size(), readOnly, offset, length);
        stats.time(BlockStats.Op.WRITE, length, () -> {
            int done = 0;
            while (done < length) {
                long pos = offset + done;
                int within = (int) (pos % cluster);
                // Whole clusters in a row that are already this image's own are written in one request.
                long vcluster = pos / cluster;
                long host = ownCluster(vcluster);
                int n = (int) Math.min(length - done, cluster - within);
                if (host != 0) {
                    while (within == 0 && n + done < length && n % cluster == 0) {
                        long next = ownCluster(vcluster + n / cluster);
                        if (next != host + n) {
                            break;
                        }
                        n += (int) Math.min(length - done - n, cluster);
                    }
                    file.write(host + within, src.duplicate().position(src.position() + done).limit(src.position() + done + n));
                } else if (within == 0 && length - done >= cluster) {
                    n = writeNewRun(vcluster, src.duplicate().position(src.position() + done).limit(src.position() + length));
                } else {
                    writeNewCluster(vcluster, within, src.duplicate().position(src.position() + done)
                            .limit(src.position() + done + n));
                }
                done += n;
            }
        });
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

    /**
     * Writes whole clusters, none of them this image's own, into a run of new clusters with one
     * data write, one refcount write per refcount block and one L2 write: a sequential write into
     * a new image then costs three host requests per run instead of three per cluster.
     *
     * @return the bytes written, a whole number of clusters
     */
    private int writeNewRun(long vcluster, ByteBuffer src) throws ErrnoException {
        int l2Entries = header.l2Entries();
        long max = Math.min(Math.min(src.remaining() / cluster, MAX_RUN), l2Entries - vcluster % l2Entries);
        int count = 1;
        while (count < max && ownCluster(vcluster + count) == 0) {
            count++;
        }
        long[] old = new long[count];
        for (int i = 0; i < count; i++) {
            old[i] = l2Entry(vcluster + i);
        }
        int bytes = (int) (count * cluster);
        long host = nextFree;
        nextFree += bytes;
        file.write(host, src.duplicate().limit(src.position() + bytes));
        setRefcountsToOne(host, count);
        int l1Index = (int) (vcluster / l2Entries);
        long[] table = ownL2Table(l1Index);
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        int first = (int) (vcluster % l2Entries);
        ByteBuffer entries = ByteBuffer.allocate(count * 8);
        for (int i = 0; i < count; i++) {
            table[first + i] = (host + i * cluster) | COPIED;
            entries.putLong(i * 8, table[first + i]);
        }
        file.write(l2Offset + 8L * first, entries);
        for (long e : old) {
            release(e);
        }
        return bytes;
    }

    /** The L2 table of an L1 slot, made this image's own (allocated or copied) first if it is not. */
    private long[] ownL2Table(int l1Index) throws ErrnoException {
        long l2Offset = l1[l1Index] & L1_OFFSET_MASK;
        if (l2Offset == 0 || (l1[l1Index] & COPIED) == 0) {
            long[] old = l2Offset == 0 ? new long[header.l2Entries()] : l2Table(l1Index, l2Offset).clone();
            long fresh = allocate();
            writeTable(fresh, old);
            setRefcount(fresh, 1);
            l2Cache.put(fresh, old);
            l1[l1Index] = fresh | COPIED;
            writeEntry(header.l1TableOffset() + 8L * l1Index, l1[l1Index]);
            if (l2Offset != 0) {
                decrement(l2Offset);
            }
            return old;
        }
        return l2Table(l1Index, l2Offset);
    }

    /** Copy-on-write: a new cluster holding the old contents with {@code part} laid over them. */
    private void writeNewCluster(long vcluster, int within, ByteBuffer part) throws ErrnoException {
        long old = l2Entry(vcluster);
        ByteBuffer data = ByteBuffer.allocate((int) cluster);
        if (within != 0 || part.remaining() != cluster) {
            readClusterPart(vcluster, 0, data.duplicate());
        }
        data.put(within, part, part.position(), part.remaining());
        long host = allocate();
        file.write(host, data);
        setRefcount(host, 1);
        setL2Entry(vcluster, host | COPIED);
        release(old);
    }

    /** Decrements the refcounts of the clusters an L2 entry no longer references. */
    private void release(long oldEntry) throws ErrnoException {
        if ((oldEntry & COMPRESSED) != 0) {
            int x = compressedShift();
            long offset = oldEntry & ((1L << x) - 1);
            long sectors = ((oldEntry & ~COMPRESSED & ~COPIED) >>> x) + 1;
            long end = offset + sectors * 512 - (offset & 511);
            for (long c = offset / cluster; c * cluster < end; c++) {
                decrement(c * cluster);
            }
            return;
        }
        long host = oldEntry & L1_OFFSET_MASK;
        if (host != 0 && (oldEntry & COPIED) == 0) {
            decrement(host); // shared with a snapshot: one reference fewer
        }
    }

    private void decrement(long host) throws ErrnoException {
        long rc = refcount(host);
        if (rc > 0) {
            setRefcount(host, rc - 1);
        }
    }

    private void setL2Entry(long vcluster, long entry) throws ErrnoException {
        int l1Index = (int) (vcluster / header.l2Entries());
        int l2Index = (int) (vcluster % header.l2Entries());
        long[] t = ownL2Table(l1Index);
        t[l2Index] = entry;
        writeEntry((l1[l1Index] & L1_OFFSET_MASK) + 8L * l2Index, entry);
    }

    private void writeTable(long offset, long[] t) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(t.length * 8);
        b.asLongBuffer().put(t);
        file.write(offset, b);
    }

    private void writeEntry(long offset, long value) throws ErrnoException {
        file.write(offset, ByteBuffer.allocate(8).putLong(0, value));
    }

    /** The next cluster at the end of the file. */
    private long allocate() {
        long c = nextFree;
        nextFree += cluster;
        return c;
    }

    // ---- refcounts -----------------------------------------------------------------------------

    private long refcountsPerBlock() {
        return cluster * 8 / header.refcountBits();
    }

    long refcount(long host) throws ErrnoException {
        long index = host / cluster;
        long table = index / refcountsPerBlock();
        if (table >= refcountTable.length) {
            return 0;
        }
        long block = refcountTable[(int) table] & ~0x1ffL;
        if (block == 0) {
            return 0;
        }
        checkCluster(block, "refcount block " + table);
        return readRefcount(block, index % refcountsPerBlock());
    }

    private long readRefcount(long block, long i) throws ErrnoException {
        return Qcow2Header.refcountAt(refcountBlock(block), i, header.refcountBits());
    }

    /** A refcount block, read once and kept in step with every write. */
    private ByteBuffer refcountBlock(long offset) throws ErrnoException {
        ByteBuffer b = refcountBlocks.get(offset);
        if (b == null) {
            b = ByteBuffer.allocate((int) cluster);
            file.read(offset, b);
            if (refcountBlocks.size() >= L2_CACHE) {
                refcountBlocks.remove(refcountBlocks.keySet().iterator().next());
            }
            refcountBlocks.put(offset, b);
        }
        return b;
    }

    private void setRefcount(long host, long value) throws ErrnoException {
        if (header.refcountBits() != 16) {
            throw new ErrnoException(Errno.EOPNOTSUPP, name() + ": writing images with " + header.refcountBits()
                    + "-bit refcounts is not supported (16-bit only)");
        }
        long index = host / cluster;
        long table = index / refcountsPerBlock();
        if (table >= refcountTable.length) {
            throw new ErrnoException(Errno.ENOSPC, name() + ": refcount table full (" + refcountTable.length
                    + " entries); growing it is not supported");
        }
        long block = refcountTable[(int) table] & ~0x1ffL;
        if (block == 0) {
            block = allocate();
            file.write(block, ByteBuffer.allocate((int) cluster));
            refcountTable[(int) table] = block;
            // A new block is counted by itself if it falls in its own range, else by the block that covers it.
            if (block / cluster / refcountsPerBlock() == table) {
                writeRefcount(block, (block / cluster) % refcountsPerBlock(), 1);
            } else {
                setRefcount(block, 1);
            }
            writeEntry(header.refcountTableOffset() + 8 * table, block);
        }
        writeRefcount(block, index % refcountsPerBlock(), value);
    }

    /** Sets {@code count} consecutive clusters' refcounts to 1, one write per refcount block. */
    private void setRefcountsToOne(long host, int count) throws ErrnoException {
        long perBlock = refcountsPerBlock();
        int i = 0;
        while (i < count) {
            long index = host / cluster + i;
            setRefcount(index * cluster, 1); // allocates the refcount block if it is missing
            long block = refcountTable[(int) (index / perBlock)] & ~0x1ffL;
            long firstInBlock = index % perBlock;
            int n = (int) Math.min(count - i, perBlock - firstInBlock);
            ByteBuffer b = refcountBlock(block);
            for (int k = 1; k < n; k++) {
                b.putShort((int) ((firstInBlock + k) * 2), (short) 1);
            }
            if (n > 1) {
                file.write(block + (firstInBlock + 1) * 2, b.duplicate().position((int) ((firstInBlock + 1) * 2))
                        .limit((int) ((firstInBlock + n) * 2)));
            }
            i += n;
        }
    }

    private void writeRefcount(long block, long i, long value) throws ErrnoException {
        refcountBlock(block).putShort((int) (i * 2), (short) value);
        file.write(block + i * 2, ByteBuffer.allocate(2).putShort(0, (short) value));
    }

    // ---- creating --------------------------------------------------------------------------------

    /** Cluster size of images {@link #create} makes: qemu-img's default. */
    public static final int CREATE_CLUSTER_BITS = 16;

    /**
     * Writes a new, empty version 3 image of {@code virtualSize} bytes into an empty file: 64 KiB
     * clusters, 16-bit refcounts, a refcount table of one cluster (enough for 16 TiB of clusters),
     * an optional backing file (its name as given, its format named in a header extension).
     */
    public static void create(ImageFile file, long virtualSize, String backingFile, String backingFormat)
            throws ErrnoException {
        if (virtualSize < 0 || virtualSize % 512 != 0) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": virtual size " + virtualSize
                    + " is not a non-negative multiple of 512");
        }
        long c = 1L << CREATE_CLUSTER_BITS;
        long perL2 = c / 8 * c;
        int l1Size = (int) Math.max(1, (virtualSize + perL2 - 1) / perL2);
        long l1Bytes = l1Size * 8L;
        if (l1Bytes > Qcow2Header.MAX_L1_BYTES) {
            throw new ErrnoException(Errno.EFBIG, file.name() + ": virtual size " + virtualSize + " is too large");
        }
        long l1Clusters = (l1Bytes + c - 1) / c;
        long refcountTable = c;
        long refcountBlock = 2 * c;
        long l1Table = 3 * c;
        ByteBuffer h = ByteBuffer.allocate((int) c);
        h.putInt(0, Qcow2Header.MAGIC).putInt(4, 3).putInt(20, CREATE_CLUSTER_BITS).putLong(24, virtualSize);
        h.putInt(36, l1Size).putLong(40, l1Table).putLong(48, refcountTable).putInt(56, 1);
        h.putInt(96, 4).putInt(100, Qcow2Header.V3_LENGTH);
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
            if (name.length == 0 || name.length > 1023) {
                throw new ErrnoException(Errno.EINVAL, "backing file name of " + name.length + " bytes");
            }
            h.putLong(8, at).putInt(16, name.length);
            h.put(at, name);
        }
        file.write(0, h);
        file.write(refcountTable, ByteBuffer.allocate((int) c).putLong(0, refcountBlock));
        ByteBuffer rb = ByteBuffer.allocate((int) c);
        for (int i = 0; i < 3 + l1Clusters; i++) {
            rb.putShort(2 * i, (short) 1);
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
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (!readOnly) {
                file.flush();
            }
        } catch (ErrnoException e) {
            org.slf4j.LoggerFactory.getLogger(Qcow2Image.class).error("{}: flush at close failed: {}", name(), e.getMessage());
        }
        file.close();
        if (backing != null) {
            backing.close();
        }
    }

    @Override
    public String toString() {
        return "Qcow2Image[" + name() + ", v" + header.version() + ", " + size() + " bytes, cluster " + cluster + "]";
    }
}
