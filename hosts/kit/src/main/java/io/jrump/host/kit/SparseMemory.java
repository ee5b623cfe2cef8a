package io.jrump.host.kit;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Bytes held in memory in fixed pages that are allocated only when written with something other
 * than zeros, so a large memory disk costs what it holds. Unwritten bytes read as zero.
 *
 * <p>{@link #copy} is copy-on-write: the copy shares the pages, and whichever side changes a
 * shared page first changes a private clone of it, so a copy costs a map of references, not the
 * bytes, and a simulation can fork one base image for every run.
 *
 * <p>Thread-safe: every method holds the object's lock; shared pages are never changed in place.
 */
public final class SparseMemory {
    /** Page size in bytes. */
    public static final int PAGE = 64 * 1024;

    /** A page of zeros to read holes from and compare against (never written). */
    private static final byte[] ZEROS = new byte[PAGE];

    private final Map<Long, byte[]> pages = new HashMap<>();
    /** Indices of pages that may be shared with a copy, so are cloned before they change. */
    private final Set<Long> shared = new HashSet<>();

    /** Copies {@code dst.remaining()} bytes at {@code offset} into {@code dst}, leaving its position. */
    public synchronized void read(long offset, ByteBuffer dst) {
        int pos = dst.position();
        int left = dst.remaining();
        while (left > 0) {
            long index = offset / PAGE;
            int within = (int) (offset % PAGE);
            int n = Math.min(left, PAGE - within);
            byte[] page = pages.get(index);
            if (page == null) {
                dst.put(pos, ZEROS, 0, n);
            } else {
                dst.put(pos, page, within, n);
            }
            pos += n;
            left -= n;
            offset += n;
        }
    }

    /** Copies {@code src.remaining()} bytes to {@code offset}, leaving the buffer's position. */
    public synchronized void write(long offset, ByteBuffer src) {
        int pos = src.position();
        int left = src.remaining();
        while (left > 0) {
            long index = offset / PAGE;
            int within = (int) (offset % PAGE);
            int n = Math.min(left, PAGE - within);
            byte[] page = pages.get(index);
            if (page == null && !allZero(src, pos, n)) {
                page = new byte[PAGE];
                pages.put(index, page);
            } else if (page != null) {
                page = owned(index, page);
            }
            if (page != null) {
                src.get(pos, page, within, n);
            }
            pos += n;
            left -= n;
            offset += n;
        }
    }

    /** Makes the range read as zeros, freeing the pages it covers whole. */
    public synchronized void zero(long offset, long length) {
        long end = offset + length;
        while (offset < end) {
            long index = offset / PAGE;
            int within = (int) (offset % PAGE);
            int n = (int) Math.min(end - offset, PAGE - within);
            if (n == PAGE) {
                pages.remove(index);
                shared.remove(index);
            } else {
                byte[] page = pages.get(index);
                if (page != null) {
                    Arrays.fill(owned(index, page), within, within + n, (byte) 0);
                }
            }
            offset += n;
        }
    }

    /** Bytes of pages allocated. */
    public synchronized long allocatedBytes() {
        return (long) pages.size() * PAGE;
    }

    /** An independent copy: it shares the pages until either side changes one (copy-on-write). */
    public synchronized SparseMemory copy() {
        SparseMemory c = new SparseMemory();
        c.pages.putAll(pages);
        shared.addAll(pages.keySet());
        c.shared.addAll(pages.keySet());
        return c;
    }

    /** The page at {@code index}, cloned first if it may be shared, so that this object alone holds it. */
    private byte[] owned(long index, byte[] page) {
        if (!shared.remove(index)) {
            return page;
        }
        byte[] own = page.clone();
        pages.put(index, own);
        return own;
    }

    /** A bulk compare (vectorised by the JDK), not a loop over bytes: memory disks copy whole images. */
    private static boolean allZero(ByteBuffer b, int pos, int n) {
        return b.slice(pos, n).mismatch(ByteBuffer.wrap(ZEROS, 0, n)) == -1;
    }
}
