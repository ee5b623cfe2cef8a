package io.jrump.fuzz.kit;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.TcpInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Set;

/**
 * Checks a harness runs after each input. Each throws {@link AssertionError} (a finding, to
 * Jazzer) saying what broke; none depends on a test framework.
 */
public final class Invariants {
    /** The errnos a parser of untrusted input may answer with: the input is refused, not a bug. */
    public static final Set<Errno> INPUT_ERRORS = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP,
            Errno.ENOENT, Errno.ENOTDIR, Errno.EISDIR, Errno.ELOOP, Errno.EFBIG, Errno.ENOSPC, Errno.EROFS,
            Errno.ENAMETOOLONG, Errno.ENOKEY, Errno.ENODATA, Errno.ENXIO);

    private Invariants() {
    }

    /** No task of the world threw (the sim world records every exception a task let escape). */
    public static void noFailures(SimWorld world) {
        List<Throwable> failures = world.failures();
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError(failures.size() + " task(s) threw; the first: " + failures.get(0),
                    failures.get(0));
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    /**
     * {@code e} is one of {@code allowed} and is not a component's "internal error" (the VFS's
     * wrapping of an unchecked exception that escaped a check, which is a bug).
     */
    public static void definedErrno(ErrnoException e, Set<Errno> allowed) {
        if (!allowed.contains(e.errno()) || isInternalError(e)) {
            StringWriter w = new StringWriter();
            e.printStackTrace(new PrintWriter(w));
            throw new AssertionError("errno " + e.errno() + " is not among " + allowed + " for untrusted input: " + w, e);
        }
    }

    /**
     * Whether {@code e} is a component's "internal error": an unchecked exception (or error) that
     * escaped a check and was wrapped into {@code EIO}, found in its causes. Not by the message's
     * words: a fuzzed file name may spell "internal error" too.
     */
    public static boolean isInternalError(ErrnoException e) {
        int depth = 0;
        for (Throwable t = e.getCause(); t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof RuntimeException || t instanceof Error) {
                return true;
            }
        }
        return false;
    }

    /** As {@link #definedErrno(ErrnoException, Set)} with {@link #INPUT_ERRORS}. */
    public static void definedErrno(ErrnoException e) {
        definedErrno(e, INPUT_ERRORS);
    }

    /**
     * The ext filesystem on {@code dev} is clean to jrump's fsck ({@link ExtCheck}): every problem
     * it found is in the message. Call it on an image your harness made or changed through the
     * filesystem; on a fuzzed image fsck problems are expected, not findings.
     */
    public static void extClean(BlockDevice dev) throws ErrnoException {
        ExtCheck.Result r = ExtCheck.check(dev);
        if (!r.isClean()) {
            throw new AssertionError("ext fsck found " + r.problems().size() + " problem(s): " + r.problems());
        }
    }

    /**
     * The stack's tables stay bounded whatever arrived: at most {@code maxConnections} TCP
     * connections, at most {@code maxNeighbors} IPv6 neighbours and 16 IPv6 addresses per
     * interface (the stack's own limits are below these defaults: 1024 neighbours); every
     * connection has a state and its queues are not negative.
     */
    public static void stackSane(NetStack stack, int maxConnections, int maxNeighbors) throws ErrnoException {
        List<TcpInfo> tcp = stack.tcpConnections();
        if (tcp.size() > maxConnections) {
            throw new AssertionError(tcp.size() + " TCP connections, more than " + maxConnections);
        }
        for (TcpInfo c : tcp) {
            if (c.state() == null || c.sendQueued() < 0 || c.receiveQueued() < 0) {
                throw new AssertionError("connection in a broken state: " + c);
            }
        }
        for (Interface i : stack.interfaces()) {
            if (i.ipv6Addresses().size() > 16) {
                throw new AssertionError(i.name() + " holds " + i.ipv6Addresses().size() + " IPv6 addresses");
            }
            if (!i.ipv6Addresses().isEmpty() && stack.neighbors(i.name()).size() > maxNeighbors) {
                throw new AssertionError(i.name() + " has " + stack.neighbors(i.name()).size() + " neighbours, more than "
                        + maxNeighbors);
            }
        }
    }

    /** As {@link #stackSane(NetStack, int, int)} with 4096 connections and 1024 neighbours. */
    public static void stackSane(NetStack stack) throws ErrnoException {
        stackSane(stack, 4096, 1024);
    }
}
