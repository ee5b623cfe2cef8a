package io.jrump.fs.vfs;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The directories a filesystem without an inode cache of its own (FAT, exFAT) holds in memory,
 * within a byte budget: least recently used first, the oldest dropped (to be read again when
 * needed) once the budget is passed, so a volume of many large, or cross-linked, directories
 * cannot fill the heap. Not thread-safe: the filesystem's lock guards it.
 */
public final class DirectoryBudget {
    /** What a held directory is dropped through. */
    @FunctionalInterface
    public interface Dropper {
        void drop(long ino);
    }

    private long budgetBytes;
    private final Dropper dropper;
    private final LinkedHashMap<Long, Long> bytesByIno = new LinkedHashMap<>(16, 0.75f, true);
    private long heldBytes;

    public DirectoryBudget(long budgetBytes, Dropper dropper) {
        this.budgetBytes = budgetBytes;
        this.dropper = dropper;
    }

    /** A directory read into memory, costing {@code bytes}; others are dropped to stay within the budget. */
    public void hold(long ino, long bytes) {
        Long old = bytesByIno.put(ino, bytes);
        heldBytes += bytes - (old == null ? 0 : old);
        for (Iterator<Map.Entry<Long, Long>> it = bytesByIno.entrySet().iterator(); heldBytes > budgetBytes && it.hasNext(); ) {
            Map.Entry<Long, Long> e = it.next();
            if (e.getKey() != ino) {
                heldBytes -= e.getValue();
                it.remove();
                dropper.drop(e.getKey());
            }
        }
    }

    /** The directory was used: it is the most recent now. */
    public void touch(long ino) {
        bytesByIno.get(ino);
    }

    /** The directory is gone (removed, or replaced by a rename): it no longer counts. */
    public void forget(long ino) {
        Long bytes = bytesByIno.remove(ino);
        if (bytes != null) {
            heldBytes -= bytes;
        }
    }

    /** A new budget, taken from the next {@link #hold} on (tests make it small to force eviction). */
    public void budget(long bytes) {
        budgetBytes = bytes;
    }

    /** Bytes held now. */
    public long heldBytes() {
        return heldBytes;
    }
}
