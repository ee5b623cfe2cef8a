package io.jrump.host.sim.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.List;

/**
 * What a simulation did, as a running SHA-256 over its trace lines plus the last lines in a ring
 * for debugging. Two runs that feed identical lines have identical digests, which is how a run
 * proves it replays. Not thread-safe: the world confines it to its thread.
 */
public final class Trace {
    /** How many recent lines {@link #tail()} keeps. */
    public static final int TAIL_LINES = 1000;

    private final MessageDigest digest;
    private final ArrayDeque<String> tail = new ArrayDeque<>(TAIL_LINES);
    private long lines;

    public Trace() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-256", e);
        }
    }

    /** Appends one line; it must not contain anything that differs between identical runs. */
    public void add(String line) {
        digest.update(line.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) '\n');
        if (tail.size() == TAIL_LINES) {
            tail.removeFirst();
        }
        tail.addLast(line);
        lines++;
    }

    /** The hex SHA-256 of every line so far. The running digest goes on: a clone is finalized. */
    public String hex() {
        try {
            return HexFormat.of().formatHex(((MessageDigest) digest.clone()).digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the SHA-256 provider cannot clone its state", e);
        }
    }

    /** The last {@link #TAIL_LINES} lines, oldest first. */
    public List<String> tail() {
        return List.copyOf(tail);
    }

    /** Lines added so far. */
    public long lines() {
        return lines;
    }
}
