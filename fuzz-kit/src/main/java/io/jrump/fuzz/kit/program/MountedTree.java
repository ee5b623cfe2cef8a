package io.jrump.fuzz.kit.program;

import io.jrump.fuzz.kit.Trees;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.Syscalls;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** The mounted tree as a kernel's system calls show it, compared with a {@link FileModel} state. */
final class MountedTree {
    private MountedTree() {
    }

    /**
     * How the tree mounted at "/" differs from {@code expected}, or null: names, types, sizes and
     * contents; files dirty in {@code liveOf} (if given) are compared by size only.
     */
    static String mismatch(Syscalls a, TreeMap<String, FileModel.Node> expected, Map<FileModel.Node, FileModel.Node> liveOf)
            throws ErrnoException {
        TreeSet<String> actual = Trees.paths(a::readdir);
        if (!expected.keySet().equals(actual)) {
            TreeSet<String> missing = new TreeSet<>(expected.keySet());
            missing.removeAll(actual);
            TreeSet<String> extra = new TreeSet<>(actual);
            extra.removeAll(expected.keySet());
            return "the tree differs: missing " + missing + ", unexpected " + extra;
        }
        for (Map.Entry<String, FileModel.Node> e : expected.entrySet()) {
            FileModel.Node m = e.getValue();
            Attributes at = a.lstat(e.getKey());
            if (at.isDirectory() != (m.type == 'd') || (!at.isDirectory() && !at.isRegular())) {
                return e.getKey() + ": mode 0" + Integer.toOctalString(at.mode()) + ", expected a "
                        + (m.type == 'd' ? "directory" : "regular file");
            }
            if (m.type == 'd') {
                continue;
            }
            if (at.size() != m.data.length) {
                return e.getKey() + ": size " + at.size() + ", expected " + m.data.length;
            }
            FileModel.Node live = liveOf == null ? null : liveOf.get(m);
            if (live == null || !live.dirty) {
                byte[] got = readAll(a, e.getKey());
                if (!Arrays.equals(got, m.data)) {
                    return e.getKey() + ": contents differ " + Finding.firstDifference(m.data, got, got.length);
                }
            }
        }
        return null;
    }

    /** The whole of file {@code path}. */
    static byte[] readAll(Syscalls a, String path) throws ErrnoException {
        int fd = a.open(path, OpenFlags.O_RDONLY, 0);
        try {
            ByteBuffer b = ByteBuffer.allocate((int) a.fstat(fd).size());
            a.pread(fd, b, 0);
            return b.array();
        } finally {
            a.close(fd);
        }
    }
}
