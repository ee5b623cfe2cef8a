package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Names of recently used directories, so that looking a name up in — or adding one to — a
 * directory of many thousands of entries does not parse the whole directory each time (ext4
 * would use its htree for this; directories we change are kept linear). Kept in step by the
 * directory writer; guarded by the filesystem lock.
 */
final class DirCache {
    private static final int MAX_DIRS = 64;

    private final ExtFs fs;
    private final Map<Long, Map<String, Long>> dirs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Map<String, Long>> eldest) {
            return size() > MAX_DIRS;
        }
    };

    DirCache(ExtFs fs) {
        this.fs = fs;
    }

    /** The inode {@code name} names in directory {@code dir}, or 0. */
    long lookup(long dir, String name) throws ErrnoException {
        Long ino = names(dir).get(name);
        return ino == null ? 0 : ino;
    }

    private Map<String, Long> names(long dir) throws ErrnoException {
        Map<String, Long> m = dirs.get(dir);
        if (m == null) {
            List<ExtFs.DirEntry> entries = fs.readDir(fs.inode(dir));
            m = new HashMap<>(entries.size() * 2);
            for (ExtFs.DirEntry e : entries) {
                m.put(e.name(), e.inode());
            }
            dirs.put(dir, m);
        }
        return m;
    }

    void added(long dir, String name, long ino) {
        Map<String, Long> m = dirs.get(dir);
        if (m != null) {
            m.put(name, ino);
        }
    }

    void removed(long dir, String name) {
        Map<String, Long> m = dirs.get(dir);
        if (m != null) {
            m.remove(name);
        }
    }

    void dropped(long dir) {
        dirs.remove(dir);
    }

    void clear() {
        dirs.clear();
    }
}
