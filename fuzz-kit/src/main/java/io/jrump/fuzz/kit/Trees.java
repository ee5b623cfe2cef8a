package io.jrump.fuzz.kit;

import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.DirEntry;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.TreeSet;

/** The tree a mounted filesystem shows, for comparing it with a model's. */
public final class Trees {
    /** Lists a directory by path: {@code Vfs::readdir}, {@code Syscalls::readdir}. */
    @FunctionalInterface
    public interface Lister {
        List<DirEntry> readdir(String dir) throws ErrnoException;
    }

    private Trees() {
    }

    /**
     * Every path under "/" ("/" itself, directories and everything else), sorted; "." and ".."
     * left out. Walks with an explicit stack, so a deep tree cannot overflow the Java stack.
     */
    public static TreeSet<String> paths(Lister lister) throws ErrnoException {
        TreeSet<String> out = new TreeSet<>();
        Deque<String> dirs = new ArrayDeque<>();
        dirs.push("/");
        while (!dirs.isEmpty()) {
            String dir = dirs.pop();
            out.add(dir);
            for (DirEntry d : lister.readdir(dir)) {
                if (d.name().equals(".") || d.name().equals("..")) {
                    continue;
                }
                String p = (dir.equals("/") ? "" : dir) + "/" + d.name();
                if (d.type() == DirEntry.DT_DIR) {
                    dirs.push(p);
                } else {
                    out.add(p);
                }
            }
        }
        return out;
    }
}
