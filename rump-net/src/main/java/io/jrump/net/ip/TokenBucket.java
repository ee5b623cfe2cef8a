package io.jrump.net.ip;

/**
 * A token bucket, for rate-limiting the ICMP errors the stack sends (RFC 1812 §4.3.2.8 asks for
 * it; Linux defaults to a burst of 50 and one per millisecond). Time comes from the caller.
 */
public final class TokenBucket {
    private final long nanosPerToken;
    private final long burst;
    private long tokens;
    private long last;

    public TokenBucket(long nanosPerToken, long burst, long now) {
        if (nanosPerToken <= 0 || burst <= 0) {
            throw new IllegalArgumentException("rate " + nanosPerToken + " ns/token, burst " + burst);
        }
        this.nanosPerToken = nanosPerToken;
        this.burst = burst;
        this.tokens = burst;
        this.last = now;
    }

    /** Takes a token if there is one. */
    public boolean tryTake(long now) {
        if (now > last) {
            long earned = (now - last) / nanosPerToken;
            if (earned > 0) {
                tokens = Math.min(burst, tokens + earned);
                last += earned * nanosPerToken;
            }
        }
        if (tokens > 0) {
            tokens--;
            return true;
        }
        return false;
    }
}
