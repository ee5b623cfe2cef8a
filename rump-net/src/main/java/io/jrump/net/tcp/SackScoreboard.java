package io.jrump.net.tcp;

import io.jrump.net.wire.TcpRepr.SackBlock;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sender's record of what the peer has SACKed above SND.UNA: a small subset of RFC 6675's scoreboard. It keeps
 * the union of the valid SACK blocks received, answers which hole to retransmit next and how many bytes are SACKed,
 * and forgets everything below SND.UNA as cumulative ACKs advance. Loss detection (DupThresh, pipe) is the
 * connection's.
 *
 * <p>A block is valid only if it is non-empty and lies within [SND.UNA, SND.NXT]; others (D-SACKs of RFC 2883 below
 * SND.UNA, stale or forged blocks) are ignored, so a peer cannot make the sender retransmit data it never sent.
 * Memory is bounded by {@code maxRanges}: a block that would add a range beyond it is ignored (the sender then
 * merely retransmits something that was SACKed).
 *
 * <p>Not thread-safe: owned by one connection on the event loop. Never blocks; invalid blocks are counted and
 * ignored, never thrown.
 */
public final class SackScoreboard {
    /** Enough for any real loss pattern within one window of a few thousand segments' holes. */
    public static final int DEFAULT_MAX_RANGES = 256;

    private final int maxRanges;
    private int sndUna;
    /** The 64-bit offset {@link #sndUna} stands for; only grows. */
    private long base;
    /** SACKed ranges, start to end offsets; disjoint and not adjacent. */
    private final TreeMap<Long, Long> sacked = new TreeMap<>();
    private long sackedBytes;
    private long ignoredBlocks;

    public SackScoreboard(int sndUna) {
        this(sndUna, DEFAULT_MAX_RANGES);
    }

    public SackScoreboard(int sndUna, int maxRanges) {
        if (maxRanges < 1) {
            throw new IllegalArgumentException("max ranges " + maxRanges);
        }
        this.sndUna = sndUna;
        this.maxRanges = maxRanges;
    }

    /** Records the blocks of one SACK option; returns how many were valid. */
    public int onSack(List<SackBlock> blocks, int sndNxt) {
        int valid = 0;
        for (SackBlock b : blocks) {
            if (add(b.left(), b.right(), sndNxt)) {
                valid++;
            }
        }
        return valid;
    }

    /** Records one SACK block [left, right); false, changing nothing, if it is invalid or would overflow. */
    public boolean add(int left, int right, int sndNxt) {
        if (!SeqNum.lt(left, right) || SeqNum.lt(left, sndUna) || SeqNum.gt(right, sndNxt)
                || SeqNum.lt(sndNxt, sndUna)) {
            ignoredBlocks++;
            return false;
        }
        long start = base + SeqNum.diff(left, sndUna);
        long end = base + SeqNum.diff(right, sndUna);
        long mStart = start;
        long mEnd = end;
        Map.Entry<Long, Long> below = sacked.floorEntry(start);
        if (below != null && below.getValue() >= start) {
            mStart = below.getKey();
            mEnd = Math.max(mEnd, below.getValue());
        }
        Map<Long, Long> overlapping = sacked.subMap(mStart, true, end, true);
        if (overlapping.isEmpty() && sacked.size() >= maxRanges) {
            ignoredBlocks++;
            return false;
        }
        for (Map.Entry<Long, Long> e : overlapping.entrySet()) {
            mEnd = Math.max(mEnd, e.getValue());
            sackedBytes -= e.getValue() - e.getKey();
        }
        overlapping.clear();
        sacked.put(mStart, mEnd);
        sackedBytes += mEnd - mStart;
        return true;
    }

    /** A cumulative ACK moved SND.UNA to {@code newUna}: forgets everything below it. Older values are ignored. */
    public void advance(int newUna) {
        int d = SeqNum.diff(newUna, sndUna);
        if (d <= 0) {
            return;
        }
        base += d;
        sndUna = newUna;
        while (!sacked.isEmpty() && sacked.firstKey() < base) {
            Map.Entry<Long, Long> e = sacked.pollFirstEntry();
            sackedBytes -= e.getValue() - e.getKey();
            if (e.getValue() > base) {
                sacked.put(base, e.getValue());
                sackedBytes += e.getValue() - base;
            }
        }
    }

    /**
     * The first hole at or after {@code from} (or SND.UNA, if later): the un-SACKed bytes up to the next SACKed
     * range. Only bytes below some SACKed byte count as holes; null if there is none. A caller retransmitting hole
     * by hole passes the end of what it last retransmitted (RFC 6675's HighRxt).
     */
    public SackBlock nextHole(int from) {
        long p = Math.max(base, base + SeqNum.diff(from, sndUna));
        Map.Entry<Long, Long> in = sacked.floorEntry(p);
        if (in != null && in.getValue() > p) {
            p = in.getValue();
        }
        Long next = sacked.higherKey(p);
        if (next == null) {
            return null;
        }
        return new SackBlock(toSeq(p), toSeq(next));
    }

    /** The first hole above SND.UNA, or null. */
    public SackBlock nextHole() {
        return nextHole(sndUna);
    }

    /** Whether the byte with sequence number {@code seq} has been SACKed. */
    public boolean isSacked(int seq) {
        long p = base + SeqNum.diff(seq, sndUna);
        Map.Entry<Long, Long> e = sacked.floorEntry(p);
        return e != null && p < e.getValue();
    }

    /** The SACKed bytes above SND.UNA. */
    public long sackedBytes() {
        return sackedBytes;
    }

    /** Disjoint SACKed ranges held. */
    public int rangeCount() {
        return sacked.size();
    }

    /** The sequence number just past the highest SACKed byte, or SND.UNA if nothing is SACKed. */
    public int highSacked() {
        return sacked.isEmpty() ? sndUna : toSeq(sacked.lastEntry().getValue());
    }

    public int sndUna() {
        return sndUna;
    }

    /** Blocks ignored as invalid or over the bound, so far. */
    public long ignoredBlocks() {
        return ignoredBlocks;
    }

    private int toSeq(long offset) {
        return (int) (sndUna + (offset - base));
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SACK una=").append(SeqNum.toUnsigned(sndUna));
        for (Map.Entry<Long, Long> e : sacked.entrySet()) {
            sb.append(' ').append(SeqNum.toUnsigned(toSeq(e.getKey()))).append(':')
                    .append(SeqNum.toUnsigned(toSeq(e.getValue())));
        }
        return sb.toString();
    }
}
