package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * What multi-mount protection (mmp) takes from the host: its name for the MMP block, random
 * sequence numbers, and waiting, on the host's clock and scheduler (virtual time on the
 * simulation host). {@code waitNanos}, when not negative, replaces the waits the MMP block asks
 * for — for tests only: a shorter wait than another node's update interval does not protect.
 */
public record MmpHost(Hypercalls host, long waitNanos) {
    /** Waits as long as the MMP block asks. */
    public static MmpHost of(Hypercalls host) {
        return new MmpHost(host, -1);
    }

    /** The same host with every wait {@code nanos} long (tests). */
    public MmpHost withWaitNanos(long nanos) {
        return new MmpHost(host, nanos);
    }

    String nodeName() {
        return host.params().hostname();
    }

    /** A new sequence number below EXT4_MMP_SEQ_MAX, as e2fsprogs picks one. */
    int newSequence() {
        return (int) ((host.random().nextLong() >>> 1) % Integer.toUnsignedLong(Mmp.SEQ_MAX)) + 1;
    }

    long wallSeconds() {
        return host.clock().wallNanos() / 1_000_000_000L;
    }

    /** Sleeps {@code seconds} (or the test override) letting the host run meanwhile. */
    void sleep(long seconds) throws ErrnoException {
        long nanos = waitNanos >= 0 ? waitNanos : seconds * 1_000_000_000L;
        CompletableFuture<Void> done = new CompletableFuture<>();
        host.scheduler().executeAt(host.clock().monotonicNanos() + nanos, () -> done.complete(null));
        host.scheduler().await(done);
    }

    /** A name in a field of {@code max} bytes: whole if it fits, else its last path component, else that one's end. */
    static byte[] bytes(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length < max) {
            return b;
        }
        if (s.lastIndexOf('/') >= 0 && s.lastIndexOf('/') < s.length() - 1) {
            return bytes(s.substring(s.lastIndexOf('/') + 1), max);
        }
        byte[] tail = new byte[max - 1]; // the end and a NUL
        System.arraycopy(b, b.length - tail.length, tail, 0, tail.length);
        return tail;
    }
}
