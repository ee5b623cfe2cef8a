package io.jrump.net.tcp;

import io.jrump.net.IpAddress;
import java.util.OptionalInt;

/**
 * SYN cookies (RFC 4987 section 3.6, in D. J. Bernstein's layout, as Linux uses them): when the listen queue is
 * full, the listener keeps no state for a SYN and instead encodes what it needs into the ISN of its SYN-ACK. The
 * 32-bit cookie is
 * <pre>
 *   bits 31..27  t mod 32, t = a time counter that ticks every {@code periodNanos} (64 s by default)
 *   bits 26..24  index of the peer's MSS in {@link #MSS_TABLE} (the largest entry not above it)
 *   bits 23..0   SipHash-2-4(secret; 4-tuple, client ISN, t, MSS index), low 24 bits
 * </pre>
 * The ACK that completes the handshake carries {@code ack = cookie + 1} and {@code seq = client ISN + 1};
 * {@link #check} recomputes the hash for the last {@code maxAgePeriods + 1} values of {@code t} whose low 5 bits
 * match and returns the MSS if one does. What a cookie cannot carry (window scale, SACK permitted, timestamps) is
 * lost unless the caller encodes it in the timestamp option, which this class does not do.
 *
 * <p>Immutable and thread-safe; the clock and the secret come from the caller.
 */
public final class SynCookies {
    /** The MSS values a cookie can carry, ascending: 3 bits' worth. */
    public static final int[] MSS_TABLE = {536, 1220, 1300, 1380, 1440, 1452, 1460, 8960};

    /** The default counter period, Bernstein's 64 seconds. */
    public static final long DEFAULT_PERIOD_NANOS = 64_000_000_000L;

    private final SipHash hash;
    private final long periodNanos;
    private final int maxAgePeriods;

    /** Cookies keyed with a 16-byte {@code secret}, a 64 s counter, valid for the current and previous period. */
    public SynCookies(byte[] secret) {
        this(secret, DEFAULT_PERIOD_NANOS, 1);
    }

    /**
     * Cookies keyed with a 16-byte {@code secret}, a counter ticking every {@code periodNanos}, accepted while at
     * most {@code maxAgePeriods} ticks old (0..30, so the 5-bit counter cannot alias).
     */
    public SynCookies(byte[] secret, long periodNanos, int maxAgePeriods) {
        if (periodNanos <= 0) {
            throw new IllegalArgumentException("period " + periodNanos + " ns");
        }
        if (maxAgePeriods < 0 || maxAgePeriods > 30) {
            throw new IllegalArgumentException("max age " + maxAgePeriods + " periods out of 0..30");
        }
        this.hash = new SipHash(secret);
        this.periodNanos = periodNanos;
        this.maxAgePeriods = maxAgePeriods;
    }

    /** The index of the largest table MSS not above {@code peerMss}; 0 when the peer's is below them all. */
    public static int mssIndex(int peerMss) {
        int idx = 0;
        for (int i = 0; i < MSS_TABLE.length; i++) {
            if (MSS_TABLE[i] <= peerMss) {
                idx = i;
            }
        }
        return idx;
    }

    /** The ISN for our SYN-ACK answering a SYN with sequence number {@code clientIsn} and MSS option {@code peerMss}. */
    public int encode(IpAddress localAddr, int localPort, IpAddress remoteAddr, int remotePort, int clientIsn,
            int peerMss, long nowNanos) {
        long t = counter(nowNanos);
        int mssIdx = mssIndex(peerMss);
        int mac = mac(localAddr, localPort, remoteAddr, remotePort, clientIsn, t, mssIdx);
        return (int) (t & 31) << 27 | mssIdx << 24 | mac;
    }

    /**
     * Checks the ACK that should complete a cookie handshake: {@code ackSeq} and {@code ackAck} are that segment's
     * sequence and acknowledgment numbers. Returns the MSS the cookie carries, or empty if the cookie is forged,
     * belongs to another 4-tuple or client ISN, or is older than the window.
     */
    public OptionalInt check(IpAddress localAddr, int localPort, IpAddress remoteAddr, int remotePort, int ackSeq,
            int ackAck, long nowNanos) {
        int cookie = ackAck - 1;
        int clientIsn = ackSeq - 1;
        int t5 = cookie >>> 27;
        int mssIdx = cookie >>> 24 & 7;
        long now = counter(nowNanos);
        for (int age = 0; age <= maxAgePeriods; age++) {
            long t = now - age;
            if ((t & 31) != t5) {
                continue;
            }
            int mac = mac(localAddr, localPort, remoteAddr, remotePort, clientIsn, t, mssIdx);
            // Constant-time compare is moot for 24 bits checked once per ACK, but costs nothing.
            if (((cookie & 0xffffff) ^ mac) == 0) {
                return OptionalInt.of(MSS_TABLE[mssIdx]);
            }
        }
        return OptionalInt.empty();
    }

    private long counter(long nowNanos) {
        return Math.floorDiv(nowNanos, periodNanos);
    }

    private int mac(IpAddress localAddr, int localPort, IpAddress remoteAddr, int remotePort, int clientIsn,
            long t, int mssIdx) {
        byte[] tuple = IsnGenerator.tuple(localAddr, localPort, remoteAddr, remotePort);
        byte[] msg = new byte[tuple.length + 4 + 8 + 1];
        System.arraycopy(tuple, 0, msg, 0, tuple.length);
        int p = tuple.length;
        for (int i = 3; i >= 0; i--) {
            msg[p++] = (byte) (clientIsn >>> (8 * i));
        }
        for (int i = 7; i >= 0; i--) {
            msg[p++] = (byte) (t >>> (8 * i));
        }
        msg[p] = (byte) mssIdx;
        return (int) hash.hash(msg) & 0xffffff;
    }
}
