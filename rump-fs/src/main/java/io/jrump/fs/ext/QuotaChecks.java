package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.BitSet;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The checker's quota pass, as e2fsck's: the usage of every inode in use, counted per user,
 * group and project as {@link Quota} counts it, must be what the quota files hold (an id the
 * file lacks counts as none used).
 */
final class QuotaChecks {
    private QuotaChecks() {
    }

    static void check(ExtFs fs, BitSet inodeUsed, Consumer<String> report) throws ErrnoException {
        Quota q;
        try {
            q = Quota.open(fs);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN && e.errno() != Errno.EOPNOTSUPP) {
                throw e;
            }
            report.accept(e.detail());
            return;
        }
        if (q == null) {
            return;
        }
        @SuppressWarnings("unchecked")
        Map<Long, long[]>[] actual = new Map[] {new TreeMap<>(), new TreeMap<>(), new TreeMap<>()};
        for (int ino = inodeUsed.nextSetBit(1); ino >= 0; ino = inodeUsed.nextSetBit(ino + 1)) {
            long[] c;
            try {
                c = q.countedAs(ino, fs.readRawInode(ino).b);
            } catch (ErrnoException e) {
                continue; // a damaged inode is reported where it is walked
            }
            for (int t = 0; c != null && t < 3; t++) {
                long[] u = actual[t].computeIfAbsent(c[t], k -> new long[2]);
                u[0] += c[3];
                u[1] += c[4];
            }
        }
        for (int t = 0; t < 3; t++) {
            if (!q.has(t)) {
                continue;
            }
            Map<Long, long[]> file;
            try {
                file = q.fileUsage(t);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN) {
                    throw e;
                }
                report.accept(e.detail());
                continue;
            }
            TreeSet<Long> ids = new TreeSet<>(actual[t].keySet());
            ids.addAll(file.keySet());
            for (long id : ids) {
                long[] a = actual[t].getOrDefault(id, new long[2]);
                long[] f = file.getOrDefault(id, new long[2]);
                if (a[0] != f[0] || a[1] != f[1]) {
                    report.accept(Quota.TYPE_NAMES[t] + " quota: id " + id + " uses " + a[0] + " bytes in " + a[1]
                            + " inodes, its quota file says " + f[0] + " bytes in " + f[1] + " inodes");
                }
            }
        }
    }
}
