package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * A file's clusters on a bigalloc filesystem. Allocation is by cluster of 2^k blocks, and ext4
 * keeps one rule (e2fsck checks it): a file's logical cluster — blocks {@code lc·C .. lc·C+C-1} —
 * lives in one physical cluster, block {@code lb} at offset {@code lb mod C} of it. So a block
 * written next to one already mapped in its logical cluster takes its place in that cluster
 * without allocating, and a cluster is freed only when the file maps none of its blocks any more.
 */
final class Clusters {
    private Clusters() {
    }

    /**
     * The first physical block of the cluster that holds logical cluster {@code lcStart}
     * (its first logical block) in {@code extents} (sorted by logical block), or -1 when the file
     * maps no block of it.
     */
    static long physicalCluster(List<ExtentTree.Extent> extents, long lcStart, int ratio) {
        int lo = 0;
        int hi = extents.size() - 1;
        while (lo <= hi) { // the first extent ending after lcStart
            int mid = (lo + hi) >>> 1;
            if (extents.get(mid).end() <= lcStart) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (lo >= extents.size()) {
            return -1;
        }
        ExtentTree.Extent e = extents.get(lo);
        if (e.logical() >= lcStart + ratio) {
            return -1;
        }
        long at = Math.max(lcStart, e.logical());
        return e.physical() + (at - e.logical()) - (at - lcStart);
    }

    /**
     * Frees the clusters of {@code all} (a file's extents) that hold no block below logical
     * {@code from}: what a truncate to {@code from} releases. Each cluster is freed once, though
     * several extents may share it. Returns how many clusters went.
     */
    static long releaseFrom(List<ExtentTree.Extent> all, long from, Allocator alloc, int ratio) throws ErrnoException {
        int bits = Integer.numberOfTrailingZeros(ratio);
        long lcStart = from & -(long) ratio;
        long kept = -1; // the cluster of from's logical cluster, kept if a block below from uses it
        if (lcStart != from) {
            List<ExtentTree.Extent> below = new ArrayList<>();
            for (ExtentTree.Extent e : all) {
                if (e.logical() < from && e.end() > lcStart) {
                    below.add(e);
                }
            }
            long pc = physicalCluster(below, lcStart, ratio);
            kept = pc >= 0 ? pc >>> bits : -1;
        }
        List<long[]> ranges = new ArrayList<>(); // {first cluster, last cluster}
        for (ExtentTree.Extent e : all) {
            if (e.end() <= from) {
                continue;
            }
            long start = Math.max(from, e.logical());
            long p = e.physical() + (start - e.logical());
            long first = p >>> bits;
            long last = (e.physical() + e.length() - 1) >>> bits;
            if (first == kept) {
                first++;
            }
            if (first <= last) {
                ranges.add(new long[] {first, last});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        long freed = 0;
        long doneTo = -1; // clusters up to here are freed already
        for (long[] r : ranges) {
            long first = Math.max(r[0], doneTo + 1);
            if (first > r[1]) {
                continue;
            }
            alloc.freeBlocks(first << bits, (r[1] - first + 1) << bits);
            freed += r[1] - first + 1;
            doneTo = r[1];
        }
        return freed;
    }
}
