package io.jrump.host.sim.internal;

import java.util.SplittableRandom;

/**
 * Derives independent random streams from a world seed and a purpose such as {@code "host:a"}.
 * Uses {@link String#hashCode()}, whose value the Java specification fixes, so a stream is the
 * same on every JVM. Streams per purpose keep one object's draws from shifting another's: adding
 * a disk operation does not change which frames a link loses.
 */
public final class Seeds {
    private static final long GOLDEN_GAMMA = 0x9e37_79b9_7f4a_7c15L;

    private Seeds() {
    }

    /** The stream for {@code purpose} in the world seeded with {@code seed}. */
    public static SplittableRandom stream(long seed, String purpose) {
        return new SplittableRandom(mix(seed + GOLDEN_GAMMA * (purpose.hashCode() + 1L)) ^ mix(seed));
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer, as SplittableRandom itself uses. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58_476d_1ce4_e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d0_49bb_1331_11ebL;
        return z ^ (z >>> 31);
    }
}
