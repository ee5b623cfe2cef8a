package io.jrump.net.tcp;

/**
 * One block of a SACK option (RFC 2018 section 3): the sequence number of the first byte received and the one just
 * past the last, so the block holds {@code right - left} bytes. Compares by value; says nothing about validity,
 * which the receiver ({@link SackScoreboard}) checks. Immutable and thread-safe.
 */
public record SackBlock(int left, int right) {
    /** The bytes in the block, modulo 2^32. */
    public long length() {
        return Integer.toUnsignedLong(right - left);
    }

    /** Whether {@code seq} lies in the block. */
    public boolean contains(int seq) {
        return SeqNum.between(left, seq, right);
    }

    @Override
    public String toString() {
        return SeqNum.toUnsigned(left) + ":" + SeqNum.toUnsigned(right);
    }
}
