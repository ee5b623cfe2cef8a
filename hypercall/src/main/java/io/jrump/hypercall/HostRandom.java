package io.jrump.hypercall;

/**
 * Random bytes for initial sequence numbers, ephemeral ports, UUIDs and hash seeds. The JVM host
 * draws them from a cryptographic generator; the simulation host from its seed, so runs replay.
 * Thread-safe, non-blocking.
 */
public interface HostRandom {
    /** Fills the array with random bytes. */
    void nextBytes(byte[] bytes);

    /** Eight random bytes as a long. */
    default long nextLong() {
        byte[] b = new byte[8];
        nextBytes(b);
        long v = 0;
        for (byte x : b) {
            v = (v << 8) | (x & 0xff);
        }
        return v;
    }

    /** A random int in {@code [0, bound)}, without modulo bias. */
    default int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive: " + bound);
        }
        long limit = (1L << 32) - ((1L << 32) % bound);
        while (true) {
            long r = nextLong() >>> 32;
            if (r < limit) {
                return (int) (r % bound);
            }
        }
    }
}
