package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Name lookup in directories. A directory with a name map here is looked up in it; else an
 * htree-indexed directory is looked up through its index ({@link Htree}): a few blocks per name,
 * nothing kept. A linear directory — or one whose index is damaged, which is said once per
 * directory through {@link ExtFs#warn} — has its names read once into a map, as has any
 * directory just listed whole by readdir; maps are kept for the last 64 directories, so that
 * looking names up in, or adding them to, a directory of many thousands of entries does not
 * parse it each time. The writer keeps indexes ({@link HtreeWriter}) and the maps in step.
 * Guarded by the filesystem lock.
 */
final class DirCache {
    private static final int MAX_DIRS = 64;

    private final ExtFs fs;
    private final Map<Long, Map<String, Long>> dirs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Map<String, Long>> eldest) {
            if (size() > MAX_DIRS) {
                folded.remove(eldest.getKey());
                return true;
            }
            return false;
        }
    };
    /** The directories among {@link #dirs} that are casefolded: their maps are keyed by {@link Casefold#key}. */
    private final Set<Long> folded = new HashSet<>();

    private static final int MAX_DAMAGED = 4096;
    /** Indexed directories whose index failed a check: looked up linearly from then on. */
    private final Set<Long> damaged = new HashSet<>();

    DirCache(ExtFs fs) {
        this.fs = fs;
    }

    /** The inode {@code name} names in directory {@code dir}, or 0. */
    long lookup(long dir, String name) throws ErrnoException {
        Map<String, Long> m = dirs.get(dir);
        if (m == null) {
            Inode d = fs.inode(dir);
            if (Htree.isIndexed(fs.superblock(), d) && !damaged.contains(dir)) {
                try {
                    return fs.htree.lookup(d, name);
                } catch (Htree.Damaged e) {
                    damaged(dir, e.getMessage());
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EUCLEAN) {
                        throw e;
                    }
                    damaged(dir, e.getMessage()); // a linear scan reports it again if it is not in the index alone
                }
            }
            m = names(d);
        }
        Long ino = m.get(key(dir, name));
        return ino == null ? 0 : ino;
    }

    private void damaged(long dir, String what) {
        if (damaged.size() < MAX_DAMAGED && damaged.add(dir)) {
            fs.warn("directory inode " + dir + ": htree index damaged (" + what + "); looking names up by a linear scan");
        }
    }

    private Map<String, Long> names(Inode d) throws ErrnoException {
        long dir = d.number();
        Map<String, Long> m = dirs.get(dir);
        if (m == null) {
            m = map(d, fs.readDir(d));
        }
        return m;
    }

    /**
     * The whole of a directory, just read by {@code readdir}: kept as its name map, so that the
     * lookups that usually follow ({@code ls -l} stat-ing each name) cost no block reads.
     */
    void read(long dir, List<Dirent> entries) throws ErrnoException {
        if (!dirs.containsKey(dir)) {
            map(fs.inode(dir), entries);
        }
    }

    /** Keeps the name map of directory {@code d} made of its {@code entries}. */
    private Map<String, Long> map(Inode d, List<Dirent> entries) {
        long dir = d.number();
        if (Casefold.applies(fs.superblock(), d)) {
            folded.add(dir);
        } else {
            folded.remove(dir);
        }
        Map<String, Long> m = new HashMap<>(entries.size() * 2);
        for (Dirent e : entries) {
            m.put(key(dir, e.name()), e.inode());
        }
        dirs.put(dir, m);
        return m;
    }

    /** The map key of {@code name} in {@code dir}: the name, or in a casefolded directory its folded form. */
    private String key(long dir, String name) {
        return folded.contains(dir) ? Casefold.key(name) : name;
    }

    void added(long dir, String name, long ino) {
        Map<String, Long> m = dirs.get(dir);
        if (m != null) {
            m.put(key(dir, name), ino);
        }
    }

    void removed(long dir, String name) {
        Map<String, Long> m = dirs.get(dir);
        if (m != null) {
            m.remove(key(dir, name));
        }
    }

    void dropped(long dir) {
        dirs.remove(dir);
        folded.remove(dir);
    }

    void clear() {
        dirs.clear();
        folded.clear();
    }
}
