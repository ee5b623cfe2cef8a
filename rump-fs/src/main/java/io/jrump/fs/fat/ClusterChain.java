package io.jrump.fs.fat;

import java.util.Arrays;

/**
 * A file's clusters in order, kept as runs of consecutive cluster numbers: a file written in one
 * go is one run, so finding the cluster for an offset is a binary search over few runs, not a
 * walk of the FAT. Not thread-safe.
 */
public final class ClusterChain {
    private long[] starts = new long[4];
    /** {@code ends[i]}: how many clusters runs 0..i hold together. */
    private long[] ends = new long[4];
    private int runs;

    public long length() {
        return runs == 0 ? 0 : ends[runs - 1];
    }

    public boolean isEmpty() {
        return runs == 0;
    }

    public long first() {
        return runs == 0 ? 0 : starts[0];
    }

    public long last() {
        return runs == 0 ? 0 : starts[runs - 1] + (ends[runs - 1] - (runs > 1 ? ends[runs - 2] : 0)) - 1;
    }

    public void append(long cluster) {
        if (runs > 0 && cluster == last() + 1) {
            ends[runs - 1]++;
            return;
        }
        if (runs == starts.length) {
            starts = Arrays.copyOf(starts, runs * 2);
            ends = Arrays.copyOf(ends, runs * 2);
        }
        starts[runs] = cluster;
        ends[runs] = length() + 1;
        runs++;
    }

    /** The cluster at position {@code index} (0-based) of the chain. */
    public long get(long index) {
        if (index < 0 || index >= length()) {
            throw new IndexOutOfBoundsException("cluster " + index + " of a chain of " + length());
        }
        int r = run(index);
        long before = r == 0 ? 0 : ends[r - 1];
        return starts[r] + (index - before);
    }

    /** How many clusters from {@code index} on are consecutive on disk (at least 1). */
    public long contiguousFrom(long index) {
        int r = run(index);
        return ends[r] - index;
    }

    /** Keeps the first {@code n} clusters. */
    public void truncate(long n) {
        if (n >= length()) {
            return;
        }
        if (n == 0) {
            runs = 0;
            return;
        }
        int r = run(n - 1);
        ends[r] = n;
        runs = r + 1;
    }

    private int run(long index) {
        int lo = 0;
        int hi = runs - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] > index) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }
}
