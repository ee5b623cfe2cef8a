package io.jrump.net.tcp;

import io.jrump.net.IpAddress;
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
    public int isn(IpAddress localAddr, int localPort, IpAddress remoteAddr, int remotePort, long nowNanos) {
        int m = (int) Math.floorDiv(nowNanos, TICK_NANOS);
        return m + (int) f.hash(tuple(localAddr, localPort, remoteAddr, remotePort));
    }

    /** The ISN for the 4-tuple given as raw IPv4 address bits and 16-bit ports. */
    public int isn(int localAddr, int localPort, int remoteAddr, int remotePort, long nowNanos) {
        int m = (int) Math.floorDiv(nowNanos, TICK_NANOS);
        return m + (int) f.hash(tuple(localAddr, localPort, remoteAddr, remotePort));
    }

    /**
     * The message a 4-tuple of either family hashes as: each address's bytes then its port, in
     * network order (12 bytes for IPv4, as {@link #tuple(int, int, int, int)}; 36 for IPv6).
     */
    static byte[] tuple(IpAddress localAddr, int localPort, IpAddress remoteAddr, int remotePort) {
        if (localAddr instanceof Ipv4Address l && remoteAddr instanceof Ipv4Address r) {
            return tuple(l.bits(), localPort, r.bits(), remotePort);
        }
        checkPort(localPort);
        checkPort(remotePort);
        byte[] local = localAddr.toBytes();
        byte[] remote = remoteAddr.toBytes();
        byte[] t = new byte[local.length + remote.length + 4];
        System.arraycopy(local, 0, t, 0, local.length);
        t[local.length] = (byte) (localPort >>> 8);
        t[local.length + 1] = (byte) localPort;
        System.arraycopy(remote, 0, t, local.length + 2, remote.length);
        t[t.length - 2] = (byte) (remotePort >>> 8);
        t[t.length - 1] = (byte) remotePort;
        return t;
    }

    /** The 12-byte message an IPv4 4-tuple hashes as: addresses and ports in network order. */
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
