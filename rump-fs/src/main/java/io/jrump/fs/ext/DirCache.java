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
 * parse it each time. Names found through an index are remembered too, as the kernel's dcache
 * remembers them — partial maps per directory, at most {@value #MAX_FOUND} names in all, a
 * directory's map dropped whole when a name leaves it. The writer keeps indexes
 * ({@link HtreeWriter}) and the maps in step. Guarded by the filesystem lock.
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

    static final int MAX_FOUND = 1 << 17;
    /** Names found through an index, per directory; a name missing here is looked up in the index. */
    private final LinkedHashMap<Long, Map<String, Long>> found = new LinkedHashMap<>(16, 0.75f, true);
    private int foundNames;

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
            Map<String, Long> seen = found.get(dir);
            Long known = seen == null ? null : seen.get(name);
            if (known != null) {
                return known;
            }
            Inode d = fs.inode(dir);
            if (Htree.isIndexed(fs.superblock(), d) && !damaged.contains(dir)) {
                try {
                    long ino = fs.htree.lookup(d, name);
                    if (ino != 0) {
                        remember(dir, name, ino);
                    }
                    return ino;
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

    private void remember(long dir, String name, long ino) {
        if (found.computeIfAbsent(dir, k -> new HashMap<>()).put(name, ino) == null) {
            foundNames++;
        }
        while (foundNames > MAX_FOUND) {
            var eldest = found.entrySet().iterator();
            foundNames -= eldest.next().getValue().size();
            eldest.remove();
        }
    }

    private void forget(long dir) {
        Map<String, Long> seen = found.remove(dir);
        if (seen != null) {
            foundNames -= seen.size();
        }
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
        if (found.containsKey(dir)) {
            remember(dir, name, ino);
        }
    }

    /** Drops the directory's remembered names whole: under casefolding one entry answers to several names. */
    void removed(long dir, String name) {
        Map<String, Long> m = dirs.get(dir);
        if (m != null) {
            m.remove(key(dir, name));
        }
        forget(dir);
    }

    void dropped(long dir) {
        dirs.remove(dir);
        forget(dir);
        folded.remove(dir);
    }

    void clear() {
        dirs.clear();
        found.clear();
        foundNames = 0;
        folded.clear();
    }
}
