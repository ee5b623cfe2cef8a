package io.jrump.net.tcp;

import io.jrump.net.Ipv4Address;

/**
 * Initial sequence numbers as RFC 6528 section 3 asks: {@code ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey)}, where {@code M} is a timer that ticks every 4 microseconds and {@code F} is a keyed
 * pseudorandom function, here SipHash-2-4 ({@link SipHash}) keyed with a 16-byte secret. Each 4-tuple thus gets
 * its own sequence-number space that an off-path attacker cannot guess, while successive incarnations of the same
 * connection still see increasing ISNs (RFC 9293 section 3.4.1).
 *
 * <p>The clock is the caller's: {@code nowNanos} is any monotonic nanosecond count (the hypercall clock), and the
 * secret is drawn by the caller from the hypercall random source at boot. Immutable and thread-safe.
 */
public final class IsnGenerator {
    /** RFC 6528 (after RFC 793): M ticks every 4 microseconds. */
    public static final long TICK_NANOS = 4_000;

    private final SipHash f;

    /** A generator keyed with {@code secret}, 16 bytes, which are copied. */
    public IsnGenerator(byte[] secret) {
        this.f = new SipHash(secret);
    }

    /** The ISN for a connection from {@code local} to {@code remote} at time {@code nowNanos}. */
    public int isn(Ipv4Address localAddr, int localPort, Ipv4Address remoteAddr, int remotePort, long nowNanos) {
        return isn(localAddr.bits(), localPort, remoteAddr.bits(), remotePort, nowNanos);
    }

    /** The ISN for the 4-tuple given as raw IPv4 address bits and 16-bit ports. */
    public int isn(int localAddr, int localPort, int remoteAddr, int remotePort, long nowNanos) {
        int m = (int) Math.floorDiv(nowNanos, TICK_NANOS);
        return m + (int) f.hash(tuple(localAddr, localPort, remoteAddr, remotePort));
    }

    /** The 12-byte message the 4-tuple hashes as: addresses and ports in network order. */
    static byte[] tuple(int localAddr, int localPort, int remoteAddr, int remotePort) {
        checkPort(localPort);
        checkPort(remotePort);
        return new byte[] {
            (byte) (localAddr >>> 24), (byte) (localAddr >>> 16), (byte) (localAddr >>> 8), (byte) localAddr,
            (byte) (localPort >>> 8), (byte) localPort,
            (byte) (remoteAddr >>> 24), (byte) (remoteAddr >>> 16), (byte) (remoteAddr >>> 8), (byte) remoteAddr,
            (byte) (remotePort >>> 8), (byte) remotePort,
        };
    }

    static void checkPort(int port) {
        if (port < 0 || port > 0xffff) {
            throw new IllegalArgumentException("port " + port + " out of 0..65535");
        }
    }
}
