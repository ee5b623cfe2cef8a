package io.jrump.net.tcp;

import io.jrump.net.wire.TcpRepr.SackBlock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The receiver's out-of-order queue: segments that arrive beyond RCV.NXT are held as disjoint, merged byte ranges
 * until the gap at RCV.NXT fills, at which point {@link #offer} returns the now-contiguous data and advances
 * RCV.NXT. It also produces the SACK blocks to report (RFC 2018 section 4).
 *
 * <p>Memory is strictly bounded: at most {@code maxBytes} bytes in at most {@code maxRanges} ranges. When a segment
 * would exceed either, data is dropped from the top of the sequence space (the highest range first, as Linux prunes
 * its out-of-order queue): bytes nearest RCV.NXT are the ones that let the application make progress. Dropped bytes
 * are counted; the sender retransmits them, and any that were SACKed count as reneging, which RFC 2018 section 8
 * permits. Data that arrives in order is handed back at once and never counts against the bounds.
 *
 * <p>Sequence numbers wrap: positions are kept internally as 64-bit offsets that only grow. Segments are placed by
 * their signed distance from RCV.NXT, so one more than 2^31 ahead reads as old; the caller trims segments to the
 * receive window first (RFC 9293 3.10.7.4), which keeps them well inside that.
 *
 * <p>Not thread-safe: owned by one connection on the event loop. Never blocks; a slice outside its array throws
 * {@link IndexOutOfBoundsException}, bad limits {@link IllegalArgumentException}.
 */
public final class ReassemblyQueue {
    /** RFC 2018: with the timestamp option, room for 3 blocks; without, 4. */
    public static final int MAX_SACK_BLOCKS = 4;
    private static final byte[] NOTHING = new byte[0];

    private final long maxBytes;
    private final int maxRanges;

    private int rcvNxt;
    /** The 64-bit offset that {@link #rcvNxt} stands for. */
    private long base;
    /** Held ranges by start offset; disjoint and not adjacent (adjacent ones are merged). */
    private final TreeMap<Long, byte[]> ranges = new TreeMap<>();
    private long held;
    private long dropped;
    /** Offsets of the most recently received out-of-order data, newest first, for SACK block order. */
    private final long[] recent = new long[MAX_SACK_BLOCKS];
    private int recentCount;

    /**
     * A queue expecting {@code rcvNxt} next, holding at most {@code maxBytes} out-of-order bytes in at most
     * {@code maxRanges} ranges.
     */
    public ReassemblyQueue(int rcvNxt, long maxBytes, int maxRanges) {
        if (maxBytes < 0 || maxBytes > 1 << 30 || maxRanges < 0) {
            throw new IllegalArgumentException("limits " + maxBytes + " bytes, " + maxRanges + " ranges");
        }
        this.rcvNxt = rcvNxt;
        this.maxBytes = maxBytes;
        this.maxRanges = maxRanges;
    }

    /**
     * Takes a received segment's payload {@code data[off, off + len)} starting at sequence number {@code seq}.
     * Returns the bytes that are now in order (possibly none), which the caller appends to the receive buffer;
     * RCV.NXT has advanced past them. Bytes already received or below RCV.NXT are ignored.
     */
    public byte[] offer(int seq, byte[] data, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, data.length);
        long start = base + SeqNum.diff(seq, rcvNxt);
        long end = start + len;
        if (end <= base) {
            return NOTHING; // all old: a retransmission of what we have
        }
        if (start < base) {
            off += (int) (base - start);
            start = base;
        }
        if (start == base) {
            return deliver(data, off, end);
        }
        insert(start, end, data, off);
        noteRecent(start);
        enforceBounds();
        return NOTHING;
    }

    /**
     * The fast path for a segment of {@code len} bytes at {@code seq} while nothing is held out of
     * order: if it starts at or before RCV.NXT, RCV.NXT moves past its end and the answer is how
     * many of its first bytes were already received (the caller appends the rest straight from
     * the segment, with no array in between). -1 when the segment must go through {@link #offer}.
     */
    public int takeInOrder(int seq, int len) {
        if (!ranges.isEmpty() || len < 0) {
            return -1;
        }
        long start = base + SeqNum.diff(seq, rcvNxt);
        long end = start + len;
        if (start > base) {
            return -1;
        }
        if (end <= base) {
            return len; // all old
        }
        int old = (int) (base - start);
        rcvNxt = SeqNum.add(rcvNxt, (int) (end - base));
        base = end;
        return old;
    }

    /** {@link #offer(int, byte[], int, int)} for a whole array. */
    public byte[] offer(int seq, byte[] data) {
        return offer(seq, data, 0, data.length);
    }

    /** The next sequence number expected. */
    public int rcvNxt() {
        return rcvNxt;
    }

    /** Out-of-order bytes held. */
    public long bufferedBytes() {
        return held;
    }

    /** Disjoint ranges held. */
    public int rangeCount() {
        return ranges.size();
    }

    /** Out-of-order bytes dropped so far to stay within the bounds. */
    public long droppedBytes() {
        return dropped;
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /**
     * Up to {@code max} SACK blocks, each a whole held range: first the ranges holding the most recently received
     * segments, newest first (the first block holds the segment that triggered this ACK, RFC 2018 section 4), then
     * any others in sequence order. Empty when nothing is held.
     */
    public List<SackBlock> sackBlocks(int max) {
        List<SackBlock> out = new ArrayList<>(Math.min(max, ranges.size()));
        List<Long> used = new ArrayList<>();
        for (int i = 0; i < recentCount && out.size() < max; i++) {
            Map.Entry<Long, byte[]> e = ranges.floorEntry(recent[i]);
            if (e != null && recent[i] < e.getKey() + e.getValue().length && !used.contains(e.getKey())) {
                used.add(e.getKey());
                out.add(block(e));
            }
        }
        for (Iterator<Map.Entry<Long, byte[]>> it = ranges.entrySet().iterator(); it.hasNext() && out.size() < max;) {
            Map.Entry<Long, byte[]> e = it.next();
            if (!used.contains(e.getKey())) {
                out.add(block(e));
            }
        }
        return out;
    }

    private SackBlock block(Map.Entry<Long, byte[]> e) {
        int left = (int) (rcvNxt + (e.getKey() - base));
        return new SackBlock(left, left + e.getValue().length);
    }

    /** The segment starts at RCV.NXT: hand it back with whatever held ranges it now joins. */
    private byte[] deliver(byte[] data, int off, long end) {
        long last = end;
        List<byte[]> joined = new ArrayList<>();
        List<Long> joinedStarts = new ArrayList<>();
        while (!ranges.isEmpty() && ranges.firstKey() <= last) {
            Map.Entry<Long, byte[]> e = ranges.pollFirstEntry();
            held -= e.getValue().length;
            long rEnd = e.getKey() + e.getValue().length;
            if (rEnd > last) {
                joined.add(e.getValue());
                joinedStarts.add(e.getKey());
                last = rEnd;
            }
        }
        byte[] out = new byte[(int) (last - base)];
        int segLen = (int) (end - base);
        System.arraycopy(data, off, out, 0, segLen);
        long covered = end;
        for (int i = 0; i < joined.size(); i++) {
            byte[] r = joined.get(i);
            long rStart = joinedStarts.get(i);
            int skip = (int) (covered - rStart);
            System.arraycopy(r, skip, out, (int) (covered - base), r.length - skip);
            covered = rStart + r.length;
        }
        rcvNxt = SeqNum.add(rcvNxt, out.length);
        base = last;
        return out;
    }

    /** Adds [start, end) beyond RCV.NXT, merging with overlapping or adjacent ranges; held data wins overlaps. */
    private void insert(long start, long end, byte[] data, int off) {
        long mStart = start;
        long mEnd = end;
        Map.Entry<Long, byte[]> below = ranges.floorEntry(start);
        if (below != null && below.getKey() + below.getValue().length >= start) {
            mStart = below.getKey();
        }
        List<Map.Entry<Long, byte[]>> merged = new ArrayList<>(ranges.subMap(mStart, true, end, true).entrySet());
        for (Map.Entry<Long, byte[]> e : merged) {
            mEnd = Math.max(mEnd, e.getKey() + e.getValue().length);
        }
        if (merged.size() == 1 && merged.get(0).getKey() <= start && mEnd == merged.get(0).getKey()
                + merged.get(0).getValue().length) {
            return; // nothing new: a duplicate of data already held
        }
        byte[] r = new byte[(int) (mEnd - mStart)];
        System.arraycopy(data, off, r, (int) (start - mStart), (int) (end - start));
        for (Map.Entry<Long, byte[]> e : merged) {
            byte[] old = e.getValue();
            System.arraycopy(old, 0, r, (int) (e.getKey() - mStart), old.length);
            ranges.remove(e.getKey());
            held -= old.length;
        }
        ranges.put(mStart, r);
        held += r.length;
    }

    private void noteRecent(long pos) {
        int n = Math.min(recentCount, recent.length - 1);
        System.arraycopy(recent, 0, recent, 1, n);
        recent[0] = pos;
        recentCount = n + 1;
    }

    /** Drops from the top until both bounds hold. */
    private void enforceBounds() {
        while (ranges.size() > maxRanges) {
            Map.Entry<Long, byte[]> e = ranges.pollLastEntry();
            held -= e.getValue().length;
            dropped += e.getValue().length;
        }
        while (held > maxBytes) {
            Map.Entry<Long, byte[]> e = ranges.pollLastEntry();
            byte[] r = e.getValue();
            long excess = held - maxBytes;
            held -= r.length;
            if (excess < r.length) {
                byte[] kept = java.util.Arrays.copyOf(r, (int) (r.length - excess));
                ranges.put(e.getKey(), kept);
                held += kept.length;
                dropped += excess;
            } else {
                dropped += r.length;
            }
        }
    }

    @Override
    public String toString() {
        return "ReassemblyQueue rcv.nxt=" + SeqNum.toUnsigned(rcvNxt) + " held=" + held + " in " + ranges.size()
                + " ranges, dropped=" + dropped;
    }
}
