package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * Copies files and trees between two {@link FsTree}s, as GNU {@code cp} does: {@code -r} copies
 * directories and keeps symlinks inside them as symlinks (the named source is followed);
 * {@code -a} also keeps modes, owners and times, and copies a named symlink as a symlink. Names
 * read from a source directory are checked with {@link FsTree#isSafeName} and skipped with a
 * warning if unusable. Errors are reported on {@code err} and the copy goes on; {@link #failed()}
 * says whether any happened.
 *
 * <p>Not thread-safe.
 */
final class FsCopy {
    static final int CHUNK = 1 << 20;
    private static final int MAX_DEPTH = 256;

    private final boolean recursive;
    private final boolean archive;
    private final PrintWriter err;
    private final ProgressLine progress;
    private final ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    private boolean failed;
    /** The error that ends the copy (the destination is full): reported once, then nothing more is tried. */
    private ErrnoException stopped;

    FsCopy(boolean recursive, boolean archive, PrintWriter err, ProgressLine progress) {
        this.recursive = recursive || archive;
        this.archive = archive;
        this.err = err;
        this.progress = progress;
    }

    boolean failed() {
        return failed;
    }

    void warn(String message) {
        progress.breakLine();
        err.println("rump: " + message);
        err.flush();
        failed = true;
    }

    void report(ErrnoException e) {
        warn(FsWriteCommand.describe(e));
        if (STOPPING.contains(e.errno()) && stopped == null) {
            stopped = e;
        }
    }

    /** Errors after which every later file would fail the same way: one line, not one per file. */
    private static final java.util.Set<Errno> STOPPING = java.util.EnumSet.of(Errno.ENOSPC, Errno.EDQUOT, Errno.EROFS);

    /** The error that stopped the copy, or null if it ran to the end. */
    ErrnoException stopped() {
        return stopped;
    }

    /** "stopped at the first ENOSPC: 29 files (1.1M) copied", after {@link #stopped()}. */
    String stoppedSummary() {
        long n = progress.items();
        return "stopped at the first " + stopped.errno().name() + ": " + n + " file" + (n == 1 ? "" : "s") + " ("
                + Sizes.human(progress.bytes()) + ") copied";
    }

    /** Copies {@code sp} of {@code s} to exactly {@code dp} of {@code d} (the caller chose the name). */
    void copyTop(FsTree s, String sp, FsTree d, String dp) {
        if (stopped != null) {
            return;
        }
        try {
            FsTree.Meta m = s.stat(sp, !archive);
            if (m == null) {
                throw new ErrnoException(Errno.ENOENT, s.display(sp));
            }
            if (m.isDirectory() && s.sameTree(d) && (dp + "/").startsWith(sp.endsWith("/") ? sp : sp + "/")) {
                warn("cannot copy a directory, '" + s.display(sp) + "', into itself, '" + d.display(dp) + "'");
                return;
            }
            copy(s, sp, m, d, dp, 0);
        } catch (ErrnoException e) {
            report(e);
        }
    }

    private void copy(FsTree s, String sp, FsTree.Meta m, FsTree d, String dp, int depth) throws ErrnoException {
        FsTree.Meta existing = d.stat(dp, false);
        if (existing != null && s.sameTree(d) && existing.ino() == m.ino()) {
            warn("'" + s.display(sp) + "' and '" + d.display(dp) + "' are the same file");
            return;
        }
        if (m.isSymlink()) {
            d.symlink(s.readlink(sp), dp);
            if (archive) {
                d.chown(dp, m.uid(), m.gid());
                d.setTimes(dp, m.atimeNanos(), m.mtimeNanos());
            }
            progress.addItem();
        } else if (m.isDirectory()) {
            if (!recursive) {
                warn("-r not specified; omitting directory '" + s.display(sp) + "'");
                return;
            }
            if (depth > MAX_DEPTH) {
                throw new ErrnoException(Errno.ELOOP, s.display(sp) + ": directories nest deeper than " + MAX_DEPTH);
            }
            boolean created = false;
            if (existing == null) {
                d.mkdir(dp, 0700);
                created = true;
            } else if (!existing.isDirectory()) {
                warn("cannot overwrite non-directory '" + d.display(dp) + "' with directory '" + s.display(sp) + "'");
                return;
            }
            for (String name : s.list(sp)) {
                if (stopped != null) {
                    return;
                }
                String from = s.child(sp, name);
                if (!FsTree.isSafeName(name)) {
                    warn(s.display(from) + ": unsafe name " + quote(name) + "; skipped");
                    continue;
                }
                try {
                    FsTree.Meta cm = s.stat(from, false);
                    if (cm == null) {
                        throw new ErrnoException(Errno.ENOENT, s.display(from));
                    }
                    copy(s, from, cm, d, d.child(dp, name), depth + 1);
                } catch (ErrnoException e) {
                    report(e);
                }
            }
            if (stopped == null) {
                finish(s, sp, d, dp, m, created);
            }
        } else if (m.isRegular()) {
            boolean created = existing == null;
            try (FsTree.Stream in = s.openRead(sp); FsTree.Stream out = d.create(dp, m.mode() & 07777)) {
                int n;
                while ((n = in.read(buf.clear())) > 0) {
                    buf.flip();
                    out.write(buf);
                    progress.addBytes(n);
                }
            }
            finish(s, sp, d, dp, m, created);
            progress.addItem();
        } else {
            warn(s.display(sp) + ": " + kind(m) + "; not copied");
        }
    }

    /** Mode, owner and times once the contents are in place (a directory's after its entries). */
    private void finish(FsTree s, String sp, FsTree d, String dp, FsTree.Meta m, boolean created) throws ErrnoException {
        if (archive) {
            // As GNU cp: the owner first, since a chown clears security.capability; the attributes
            // before the mode, as a read-only mode would stop a non-root caller setting user.*
            // (and the chmod after an ACL leaves mode and mask as the source has them).
            d.chown(dp, m.uid(), m.gid());
            copyXattrs(s, sp, d, dp);
            d.chmod(dp, m.mode() & 07777);
            d.setTimes(dp, m.atimeNanos(), m.mtimeNanos());
        } else if (created) {
            try {
                d.chmod(dp, m.mode() & 0777 & ~022);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EPERM) {
                    throw e;
                }
                // A filesystem that stores no modes (vfat) shows its mount's: as cp onto it, no error.
            }
        }
    }

    /**
     * Extended attributes in every namespace (user.*, trusted.*, security.*, the POSIX ACLs in
     * system.posix_acl_*), as {@code cp -a} keeps them: best effort, so an attribute the target
     * cannot keep (EOPNOTSUPP: no xattrs there; EPERM: trusted.* or security.* without root) is
     * skipped silently; other failures are reported and the copy goes on. Symlinks' own attributes
     * are not copied, as GNU cp copies none.
     */
    private void copyXattrs(FsTree s, String sp, FsTree d, String dp) throws ErrnoException {
        for (java.util.Map.Entry<String, byte[]> x : s.xattrs(sp).entrySet()) {
            try {
                d.setXattr(dp, x.getKey(), x.getValue());
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EOPNOTSUPP && e.errno() != Errno.EPERM) {
                    // the errno's text alone: both sides' errors name only the path, said already
                    warn(d.display(dp) + ": setting " + x.getKey() + ": " + e.errno().description() + " (" + e.errno().name() + ")");
                }
            }
        }
    }

    private static String kind(FsTree.Meta m) {
        return switch (m.type()) {
            case 0010000 -> "a fifo";
            case 0020000 -> "a character device";
            case 0060000 -> "a block device";
            case 0140000 -> "a socket";
            default -> "a file of type 0" + Integer.toOctalString(m.type());
        };
    }

    /** A name as C would write it, so that control characters and NUL show. */
    static String quote(String name) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : name.toCharArray()) {
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                sb.append(String.format(Locale.ROOT, "\\%03o", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** Bytes and count of the regular files and symlinks under {@code p}, for the progress line: {bytes, files}. */
    static long[] totals(FsTree s, String p, boolean follow, int depth) {
        long[] t = new long[2];
        addTotals(s, p, follow, depth, t);
        return t;
    }

    private static void addTotals(FsTree s, String p, boolean follow, int depth, long[] t) {
        try {
            FsTree.Meta m = s.stat(p, follow);
            if (m == null) {
                return;
            }
            if (m.isRegular()) {
                t[0] += m.size();
                t[1]++;
            } else if (m.isSymlink()) {
                t[1]++;
            } else if (m.isDirectory() && depth < MAX_DEPTH) {
                for (String name : s.list(p)) {
                    if (FsTree.isSafeName(name)) {
                        addTotals(s, s.child(p, name), false, depth + 1, t);
                    }
                }
            }
        } catch (ErrnoException e) {
            // counted as nothing: the copy reports it
        }
    }
}
