package io.jrump.blk.image;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only consistency check of a qcow2 image, as {@code qemu-img check} makes one: every L1,
 * L2 and refcount-table pointer must be cluster-aligned, past the header and inside the file; the
 * references to each host cluster, counted from the header, the tables and the data mapped, must
 * equal its stored refcount. A stored count above the references is a leak (space lost, data
 * safe); below is a corruption (a cluster could be reused while still in use).
 */
public final class Qcow2Check {
    /** Findings are listed up to this many; the counts stay exact. */
    static final int MAX_LISTED = 100;

    /**
     * @param corruptions pointers out of range and refcounts below the references
     * @param leaks       clusters with refcounts above their references
     * @param messages    the first findings, each naming the structure and the offset
     * @param note        what was not checked, or empty
     */
    public record Result(long allocatedClusters, long corruptions, long leaks, List<String> messages, String note) {
        public boolean isClean() {
            return corruptions == 0 && leaks == 0;
        }
    }

    private Qcow2Check() {
    }

    public static Result check(ImageFile file) throws ErrnoException {
        Qcow2Header h = Qcow2Header.read(file);
        long cluster = h.clusterSize();
        long clusters = (file.size() + cluster - 1) / cluster;
        Map<Long, Long> refs = new HashMap<>();
        // Host clusters whose L1/L2 entry says COPIED (refcount exactly 1) or not, to compare later.
        Map<Long, Boolean> copiedFlag = new HashMap<>();
        List<String> messages = new ArrayList<>();
        long[] corruptions = {0};

        Ref ref = (offset, what) -> {
            if (offset % cluster != 0 || offset < cluster || offset >= clusters * cluster) {
                corruptions[0]++;
                if (messages.size() < MAX_LISTED) {
                    messages.add("ERROR " + what + " at 0x" + Long.toHexString(offset) + " is misaligned, in the header or past the end of the file");
                }
                return false;
            }
            refs.merge(offset / cluster, 1L, Long::sum);
            return true;
        };
        refs.merge(0L, 1L, Long::sum); // the header
        for (long c = 0; c * cluster < (long) h.l1Size() * 8; c++) {
            ref.add(h.l1TableOffset() + c * cluster, "L1 table cluster " + c);
        }
        for (long c = 0; c < h.refcountTableClusters(); c++) {
            ref.add(h.refcountTableOffset() + c * cluster, "refcount table cluster " + c);
        }
        ByteBuffer rt = ByteBuffer.allocate((int) (h.refcountTableClusters() * cluster));
        file.read(h.refcountTableOffset(), rt);
        long[] blocks = new long[rt.capacity() / 8];
        rt.asLongBuffer().get(blocks);
        for (int i = 0; i < blocks.length; i++) {
            long b = blocks[i] & ~0x1ffL;
            if (b != 0 && !ref.add(b, "refcount block " + i)) {
                blocks[i] = 0;
            }
        }
        ByteBuffer l1b = ByteBuffer.allocate(h.l1Size() * 8);
        file.read(h.l1TableOffset(), l1b);
        int compressedShift = 62 - (h.clusterBits() - 8);
        for (int i = 0; i < h.l1Size(); i++) {
            long l1e = l1b.getLong(i * 8);
            long l2 = l1e & 0x00ff_ffff_ffff_fe00L;
            if (l2 == 0 || !ref.add(l2, "L2 table (L1 index " + i + ")")) {
                continue;
            }
            copiedFlag.put(l2 / cluster, l1e < 0);
            ByteBuffer t = ByteBuffer.allocate((int) cluster);
            file.read(l2, t);
            for (int j = 0; j < h.l2Entries(); j++) {
                long e = t.getLong(j * 8);
                long vcluster = (long) i * h.l2Entries() + j;
                if ((e & (1L << 62)) != 0) {
                    long off = e & ((1L << compressedShift) - 1);
                    long sectors = ((e & ~(3L << 62)) >>> compressedShift) + 1;
                    long end = off + sectors * 512 - (off & 511);
                    for (long c = off / cluster; c * cluster < end; c++) {
                        ref.add(c * cluster, "compressed cluster " + vcluster);
                    }
                } else if ((e & 0x00ff_ffff_ffff_fe00L) != 0) {
                    if (ref.add(e & 0x00ff_ffff_ffff_fe00L, "data cluster " + vcluster)) {
                        copiedFlag.put((e & 0x00ff_ffff_ffff_fe00L) / cluster, e < 0);
                    }
                }
            }
        }
        String note = "";
        if (h.nbSnapshots() > 0) {
            note = h.nbSnapshots() + " snapshots: their tables are not walked, so refcounts were not compared";
            return new Result(refs.size(), corruptions[0], 0, messages, note);
        }
        // Clusters of the file only, as qemu-img check does; references beyond it were errors above.
        long leaks = 0;
        long perBlock = cluster * 8 / h.refcountBits();
        Map<Long, ByteBuffer> loaded = new HashMap<>();
        for (long c = 0; c < clusters; c++) {
            long stored = storedRefcount(file, h, blocks, perBlock, c, loaded);
            long counted = refs.getOrDefault(c, 0L);
            if (stored > counted) {
                leaks++;
                if (messages.size() < MAX_LISTED) {
                    messages.add("Leaked cluster " + c + " (0x" + Long.toHexString(c * cluster) + ") refcount=" + stored
                            + " reference=" + counted);
                }
            } else if (stored < counted) {
                corruptions[0]++;
                if (messages.size() < MAX_LISTED) {
                    messages.add("ERROR cluster " + c + " (0x" + Long.toHexString(c * cluster) + ") refcount=" + stored
                            + " reference=" + counted);
                }
            }
            Boolean copied = copiedFlag.get(c);
            if (copied != null && copied != (stored == 1)) {
                // The COPIED flag promises a refcount of exactly 1; writes trust it to write in place.
                corruptions[0]++;
                if (messages.size() < MAX_LISTED) {
                    messages.add("ERROR OFLAG_COPIED cluster " + c + " (0x" + Long.toHexString(c * cluster) + "): flag "
                            + (copied ? "set" : "clear") + ", refcount=" + stored);
                }
            }
        }
        return new Result(refs.size(), corruptions[0], leaks, messages, note);
    }

    private interface Ref {
        boolean add(long offset, String what);
    }

    private static long storedRefcount(ImageFile file, Qcow2Header h, long[] blocks, long perBlock, long c,
            Map<Long, ByteBuffer> loaded) throws ErrnoException {
        long table = c / perBlock;
        if (table >= blocks.length || blocks[(int) table] == 0) {
            return 0;
        }
        ByteBuffer block = loaded.get(table);
        if (block == null) {
            block = ByteBuffer.allocate((int) h.clusterSize());
            file.read(blocks[(int) table], block);
            loaded.clear(); // blocks are visited in order: keep one
            loaded.put(table, block);
        }
        return Qcow2Header.refcountAt(block, c % perBlock, h.refcountBits());
    }
}
