package io.jrump.blk.image;

import io.jrump.blk.Progress;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only consistency check of a qcow2 image, as {@code qemu-img check} makes one. Every
 * cluster reference is counted: the header; the active L1 table, its L2 tables and data; the
 * refcount table and blocks; the snapshot table and each snapshot's L1 table, L2 tables and data;
 * the persistent bitmaps' directory, tables and data clusters. Each pointer must be
 * cluster-aligned, past the header and inside the file, and reserved bits of L1, L2, refcount-table
 * and bitmap-table entries must be clear. The references to each host cluster must equal its
 * stored refcount: a stored count above the references is a leak (space lost, data safe); below
 * is a corruption (a cluster could be reused while still in use). The COPIED flag of the active
 * tables must say "refcount 1" exactly when it is.
 *
 * <p>What qemu refuses to open (a header field out of range, a damaged snapshot table, a
 * compression type the feature bit disagrees with) is refused here too, with the exception
 * {@link Qcow2Header#read} or {@link Qcow2Snapshot#readTable} throws.
 */
public final class Qcow2Check {
    /** Findings are listed up to this many; the counts stay exact. */
    static final int MAX_LISTED = 100;
    private static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    /** Reserved bits of an L1 entry (bits 0-8, 56-62), an L2 entry of a standard cluster (1-8, 56-61), a refcount table entry (0-8). */
    static final long L1_RESERVED = 0x7f00_0000_0000_01ffL;
    static final long L2_RESERVED = 0x3f00_0000_0000_01feL;
    static final long REFTABLE_RESERVED = 0x1ffL;
    /** Reserved bits of a bitmap table entry (1-8, 56-63). */
    static final long BITMAP_TABLE_RESERVED = 0xff00_0000_0000_01feL;

    /**
     * @param corruptions pointers out of range, reserved bits set, refcounts below the references
     * @param leaks       clusters with refcounts above their references
     * @param messages    the first findings, each naming the structure and the offset
     * @param note        what was not checked, or empty
     */
    public record Result(long allocatedClusters, long corruptions, long leaks, List<String> messages, String note) {
        public boolean isClean() {
            return corruptions == 0 && leaks == 0;
        }
    }

    private final ImageFile file;
    private final Qcow2Header h;
    private final long cluster;
    private final long clusters;
    private final Map<Long, Long> refs = new HashMap<>();
    /** Host clusters whose active L1/L2 entry says COPIED (refcount exactly 1) or not, to compare later. */
    private final Map<Long, Boolean> copiedFlag = new HashMap<>();
    private final List<String> messages = new ArrayList<>();
    private long corruptions;
    private Progress progress = Progress.NONE;
    /** L1 entries of the active table and the snapshots (their L2 tables are the long part), and how many are walked. */
    private long l1Total;
    private long l1Done;

    private Qcow2Check(ImageFile file, Qcow2Header h) {
        this.file = file;
        this.h = h;
        this.cluster = h.clusterSize();
        this.clusters = (file.size() + cluster - 1) / cluster;
    }

    public static Result check(ImageFile file) throws ErrnoException {
        return check(file, Progress.NONE);
    }

    /**
     * As {@link #check(ImageFile)}, reporting to {@code progress} the L1 entries walked (their L2
     * tables read and counted), of the active table and every snapshot's: the check's long part.
     */
    public static Result check(ImageFile file, Progress progress) throws ErrnoException {
        Qcow2Header h = Qcow2Header.read(file);
        List<String> incomplete = new ArrayList<>();
        List<Qcow2Snapshot> snapshots = Qcow2Snapshot.readTable(file, h, incomplete);
        Qcow2Check c = new Qcow2Check(file, h);
        c.progress = progress;
        c.l1Total = h.l1Size();
        for (Qcow2Snapshot s : snapshots) {
            c.l1Total += s.l1Size();
        }
        incomplete.forEach(c::corrupt);
        return c.run(snapshots);
    }

    private void corrupt(String message) {
        corruptions++;
        if (messages.size() < MAX_LISTED) {
            messages.add("ERROR " + message);
        }
    }

    /** Counts one reference to the cluster at {@code offset}; a corruption if it cannot be one. */
    private boolean ref(long offset, String what) {
        if (offset % cluster != 0 || offset < cluster || offset >= clusters * cluster) {
            corrupt(what + " at 0x" + Long.toHexString(offset) + " is misaligned, in the header or past the end of the file");
            return false;
        }
        refs.merge(offset / cluster, 1L, Long::sum);
        return true;
    }

    /** Counts the clusters of {@code bytes} bytes from {@code offset}. */
    private void refRange(long offset, long bytes, String what) {
        for (long c = 0; c * cluster < bytes; c++) {
            ref(offset - offset % cluster + c * cluster, what + " cluster " + c);
        }
    }

    private Result run(List<Qcow2Snapshot> snapshots) throws ErrnoException {
        refs.merge(0L, 1L, Long::sum); // the header
        refRange(h.l1TableOffset(), (long) h.l1Size() * 8, "L1 table");
        refRange(h.refcountTableOffset(), h.refcountTableClusters() * cluster, "refcount table");
        long[] blocks = readLongs(h.refcountTableOffset(), (int) (h.refcountTableClusters() * cluster / 8));
        for (int i = 0; i < blocks.length; i++) {
            if ((blocks[i] & REFTABLE_RESERVED) != 0) {
                // As qemu: an error, and the block is not counted as referenced (but still read).
                corrupt("refcount table entry " + i + " has reserved bits set: 0x" + Long.toHexString(blocks[i]));
                blocks[i] &= ~REFTABLE_RESERVED;
                continue;
            }
            if (blocks[i] != 0 && !ref(blocks[i], "refcount block " + i)) {
                blocks[i] = 0;
            }
        }
        walkL1(readLongs(h.l1TableOffset(), h.l1Size()), "active", true);
        if (!snapshots.isEmpty()) {
            refRange(h.snapshotsOffset(), Qcow2Snapshot.tableBytes(snapshots, h, file), "snapshot table");
        }
        for (Qcow2Snapshot s : snapshots) {
            String label = "snapshot " + s.id() + " ('" + s.name() + "')";
            String problem = s.l1Problem(file, cluster);
            if (problem != null) {
                corrupt(label + ": " + problem + "; snapshot table entry corrupted");
                continue;
            }
            refRange(s.l1Offset(), (long) s.l1Size() * 8, label + " L1 table");
            walkL1(readLongs(s.l1Offset(), s.l1Size()), label, false);
        }
        if (h.bitmaps() != null) {
            checkBitmaps(h.bitmaps());
        }
        return compareRefcounts(blocks);
    }

    private long[] readLongs(long offset, int count) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(count * 8);
        file.read(offset, b);
        long[] t = new long[count];
        b.asLongBuffer().get(t);
        return t;
    }

    /** Counts an L1 table's L2 tables and their clusters; the active one's COPIED flags are kept. */
    private void walkL1(long[] l1, String label, boolean active) throws ErrnoException {
        int compressedShift = 62 - (h.clusterBits() - 8);
        for (int i = 0; i < l1.length; i++) {
            progress.at(++l1Done, Math.max(l1Total, l1Done));
            long l1e = l1[i];
            if ((l1e & L1_RESERVED) != 0) {
                corrupt(label + " L1 entry " + i + " has reserved bits set: 0x" + Long.toHexString(l1e));
            }
            long l2 = l1e & OFFSET_MASK;
            if (l2 == 0 || !ref(l2, label + " L2 table (L1 index " + i + ")")) {
                continue;
            }
            if (active) {
                copiedFlag.put(l2 / cluster, l1e < 0);
            }
            int stride = h.extendedL2() ? 2 : 1;
            boolean external = (h.incompatible() & Qcow2Header.INCOMPAT_EXTERNAL_DATA) != 0;
            long[] t = readLongs(l2, (int) (cluster / 8));
            for (int j = 0; j < h.l2Entries(); j++) {
                long e = t[j * stride];
                long vcluster = (long) i * h.l2Entries() + j;
                if ((e & (1L << 62)) != 0) {
                    if (stride == 2 && t[j * stride + 1] != 0) {
                        corrupt(label + " L2 entry " + j + " of the table at 0x" + Long.toHexString(l2)
                                + ": compressed cluster with a subcluster bitmap 0x" + Long.toHexString(t[j * stride + 1]));
                    }
                    long off = e & ((1L << compressedShift) - 1);
                    long sectors = ((e & ~(3L << 62)) >>> compressedShift) + 1;
                    long end = off + sectors * 512 - (off & 511);
                    for (long c = off / cluster; c * cluster < end; c++) {
                        ref(c * cluster, label + " compressed cluster " + vcluster);
                    }
                    continue;
                }
                if ((e & L2_RESERVED) != 0) {
                    corrupt(label + " L2 entry " + j + " of the table at 0x" + Long.toHexString(l2)
                            + " has reserved bits set: 0x" + Long.toHexString(e));
                }
                if (stride == 2) {
                    long bitmap = t[j * stride + 1];
                    if ((bitmap & (bitmap >>> 32) & 0xffff_ffffL) != 0) {
                        corrupt(label + " L2 entry " + j + " of the table at 0x" + Long.toHexString(l2)
                                + ": subclusters both allocated and zero, bitmap 0x" + Long.toHexString(bitmap));
                    }
                    boolean mapped = (e & OFFSET_MASK) != 0 || (external && e < 0);
                    if ((bitmap & 0xffff_ffffL) != 0 && !mapped) {
                        corrupt(label + " L2 entry " + j + " of the table at 0x" + Long.toHexString(l2)
                                + ": unallocated cluster with allocated subclusters, bitmap 0x" + Long.toHexString(bitmap));
                    }
                }
                long host = e & OFFSET_MASK;
                if (external) {
                    continue; // guest clusters in an external data file are not refcounted
                }
                if (host != 0 && ref(host, label + " data cluster " + vcluster) && active) {
                    copiedFlag.put(host / cluster, e < 0);
                }
            }
        }
    }

    /** Bitmap directory entry: fixed part (qemu docs/interop/qcow2.txt, "Bitmap directory"). */
    private static final int BITMAP_ENTRY = 24;

    /** Counts the bitmap directory, each bitmap's table and its data clusters. */
    private void checkBitmaps(Qcow2Header.Bitmaps b) throws ErrnoException {
        refRange(b.directoryOffset(), b.directorySize(), "bitmap directory");
        ByteBuffer dir = ByteBuffer.allocate((int) b.directorySize());
        file.read(b.directoryOffset(), dir);
        int at = 0;
        for (int n = 0; n < b.count(); n++) {
            String label = "bitmap " + n + " (directory entry at 0x" + Long.toHexString(b.directoryOffset() + at) + ")";
            if (dir.capacity() - at < BITMAP_ENTRY) {
                corrupt(label + ": the directory of " + b.directorySize() + " bytes ends before it");
                return;
            }
            long tableOffset = dir.getLong(at);
            int tableSize = dir.getInt(at + 8);
            int type = dir.get(at + 16) & 0xff;
            int granularityBits = dir.get(at + 17) & 0xff;
            int nameSize = dir.getShort(at + 18) & 0xffff;
            int extraSize = dir.getInt(at + 20);
            long entryBytes = (BITMAP_ENTRY + (long) nameSize + Integer.toUnsignedLong(extraSize) + 7) & ~7L;
            if (entryBytes > dir.capacity() - at) {
                corrupt(label + ": entry of " + entryBytes + " bytes runs past the directory");
                return;
            }
            at += (int) entryBytes;
            if (type != 1 || granularityBits < 9 || granularityBits > 31 || nameSize == 0 || nameSize > 1023) {
                corrupt(label + ": type " + type + ", granularity_bits " + granularityBits + ", name of " + nameSize
                        + " bytes");
                continue;
            }
            if (tableSize < 0 || (long) tableSize * 8 > Qcow2Header.MAX_L1_BYTES || tableOffset % cluster != 0
                    || tableOffset < cluster || tableOffset > file.size() || tableSize * 8L > file.size() - tableOffset) {
                corrupt(label + ": bitmap table of " + Integer.toUnsignedString(tableSize) + " entries at 0x"
                        + Long.toHexString(tableOffset) + " is misaligned, too large or past the end of the file");
                continue;
            }
            refRange(tableOffset, tableSize * 8L, label + " table");
            long[] table = readLongs(tableOffset, tableSize);
            for (int i = 0; i < table.length; i++) {
                long e = table[i];
                long data = e & OFFSET_MASK;
                if ((e & BITMAP_TABLE_RESERVED) != 0 || (data != 0 && (e & 1) != 0)) {
                    corrupt(label + " table entry " + i + " has reserved bits set: 0x" + Long.toHexString(e));
                    continue;
                }
                if (data != 0) {
                    ref(data, label + " data cluster " + i);
                }
            }
        }
    }

    /** Compares every cluster's stored refcount with the references counted. */
    private Result compareRefcounts(long[] blocks) throws ErrnoException {
        // Clusters of the file only, as qemu-img check does; references beyond it were errors above.
        long leaks = 0;
        long perBlock = cluster * 8 / h.refcountBits();
        Map<Long, ByteBuffer> loaded = new HashMap<>();
        for (long c = 0; c < clusters; c++) {
            long stored = storedRefcount(blocks, perBlock, c, loaded);
            long counted = refs.getOrDefault(c, 0L);
            if (stored > counted) {
                leaks++;
                if (messages.size() < MAX_LISTED) {
                    messages.add("Leaked cluster " + c + " (0x" + Long.toHexString(c * cluster) + ") refcount=" + stored
                            + " reference=" + counted);
                }
            } else if (stored < counted) {
                corrupt("cluster " + c + " (0x" + Long.toHexString(c * cluster) + ") refcount=" + stored
                        + " reference=" + counted);
            }
            Boolean copied = copiedFlag.get(c);
            if (copied != null && copied != (stored == 1)) {
                // The COPIED flag promises a refcount of exactly 1; writes trust it to write in place.
                corrupt("OFLAG_COPIED cluster " + c + " (0x" + Long.toHexString(c * cluster) + "): flag "
                        + (copied ? "set" : "clear") + ", refcount=" + stored);
            }
        }
        return new Result(refs.size(), corruptions, leaks, messages, "");
    }

    private long storedRefcount(long[] blocks, long perBlock, long c, Map<Long, ByteBuffer> loaded) throws ErrnoException {
        long table = c / perBlock;
        if (table >= blocks.length || blocks[(int) table] == 0) {
            return 0;
        }
        ByteBuffer block = loaded.get(table);
        if (block == null) {
            long at = blocks[(int) table];
            if (at % cluster != 0 || at < cluster || at > file.size() - cluster) {
                throw new ErrnoException(Errno.EUCLEAN, file.name() + ": refcount block " + table + " at 0x"
                        + Long.toHexString(at) + " is misaligned or past the end of the file");
            }
            block = ByteBuffer.allocate((int) cluster);
            file.read(at, block);
            loaded.clear(); // blocks are visited in order: keep one
            loaded.put(table, block);
        }
        return Qcow2Header.refcountAt(block, c % perBlock, h.refcountBits());
    }
}
