package io.jrump.fuzz.kit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@link FuzzedDataProvider} helpers for sequences of calls on files and sockets: a path from a
 * small namespace (so that calls meet the same files), sizes and offsets near the edges that
 * matter, a descriptor from those open, and a loop that runs the fuzzer's choice of calls and
 * keeps a readable log of them for the report of a finding.
 */
public final class Calls {
    /** The default namespace: a few names at the root, in a directory and one deeper. */
    public static final List<String> PATHS = List.of("/a", "/b", "/d", "/d/a", "/d/b", "/d/e", "/d/e/f", "/a/x");
    private static final long[] EDGES = {0, 1, 511, 512, 513, 1023, 1024, 4095, 4096, 4097, 65535, 65536};

    private Calls() {
    }

    /** A path from {@code namespace}. */
    public static String path(FuzzedDataProvider data, List<String> namespace) {
        return namespace.get(data.consumeInt(0, namespace.size() - 1));
    }

    /** A path from {@link #PATHS}. */
    public static String path(FuzzedDataProvider data) {
        return path(data, PATHS);
    }

    /** A size in [0, max]: half the time one of the block edges (0, 511, 512, 4096...) that fits, else any. */
    public static int size(FuzzedDataProvider data, int max) {
        if (data.consumeBoolean()) {
            long[] fit = java.util.Arrays.stream(EDGES).filter(e -> e <= max).toArray();
            return (int) data.pickValue(fit);
        }
        return data.consumeInt(0, max);
    }

    /** An offset in [0, max]: a block edge that fits or any. */
    public static long offset(FuzzedDataProvider data, long max) {
        if (data.consumeBoolean()) {
            long[] fit = java.util.Arrays.stream(EDGES).filter(e -> e <= max).toArray();
            return data.pickValue(fit);
        }
        return data.consumeLong(0, max);
    }

    /** Open flags: an access mode with any of O_CREAT, O_EXCL, O_TRUNC, O_APPEND. */
    public static int openFlags(FuzzedDataProvider data) {
        int flags = data.pickValue(new int[] {OpenFlags.O_RDONLY, OpenFlags.O_WRONLY, OpenFlags.O_RDWR});
        for (int f : new int[] {OpenFlags.O_CREAT, OpenFlags.O_EXCL, OpenFlags.O_TRUNC, OpenFlags.O_APPEND}) {
            if (data.consumeBoolean()) {
                flags |= f;
            }
        }
        return flags;
    }

    /** The descriptors a sequence has open: add what open/socket return, pick one for the next call. */
    public static final class Descriptors {
        private final List<Integer> open = new ArrayList<>();

        /** Records {@code fd} as open. */
        public void add(int fd) {
            open.add(fd);
        }

        /** Forgets {@code fd} (after close). */
        public void remove(int fd) {
            open.remove(Integer.valueOf(fd));
        }

        /** The descriptors open now, oldest first. */
        public List<Integer> open() {
            return List.copyOf(open);
        }

        /**
         * One of the open descriptors, or (when none is open, or one time in sixteen) a number
         * that is not open, so that the EBADF paths are tried too.
         */
        public int pick(FuzzedDataProvider data) {
            if (open.isEmpty() || data.consumeInt(0, 15) == 0) {
                return data.consumeInt(-1, 1024);
            }
            return open.get(data.consumeInt(0, open.size() - 1));
        }
    }

    /** One kind of call a sequence may make: a name for the log and a body that draws its arguments. */
    public record Call(String name, Body body) {
    }

    /** A call's body: draws its arguments from {@code data}, makes the call, returns a log line (its arguments and result). */
    @FunctionalInterface
    public interface Body {
        /** Makes the call; an {@link ErrnoException} is a refused call, checked against the allowed errnos. */
        String run(FuzzedDataProvider data) throws ErrnoException;
    }

    /**
     * Runs up to {@code maxSteps} calls picked by the fuzzer from {@code calls} while input is
     * left. A call failing with an errno in {@code allowed} is logged and the sequence goes on;
     * another errno, or an "internal error", is a finding ({@link AssertionError}) whose message
     * holds the whole log so far: the reproducer, readable.
     *
     * @return the log, one line per call: {@code name(args) = result} or {@code name(...) -> ERRNO}
     */
    public static List<String> sequence(FuzzedDataProvider data, int maxSteps, Set<Errno> allowed, List<Call> calls) {
        List<String> log = new ArrayList<>();
        for (int step = 0; step < maxSteps && data.remainingBytes() > 0; step++) {
            Call c = calls.get(data.consumeInt(0, calls.size() - 1));
            try {
                log.add(c.name() + " " + c.body().run(data));
            } catch (ErrnoException e) {
                log.add(c.name() + " -> " + e.errno());
                if (!allowed.contains(e.errno()) || Invariants.isInternalError(e)) {
                    throw new AssertionError("call " + step + " failed with " + e.errno() + " (" + e.getMessage()
                            + ") after:\n  " + String.join("\n  ", log), e);
                }
            }
        }
        return log;
    }
}
