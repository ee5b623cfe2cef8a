package io.jrump.kernel.sys;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One kernel's file-descriptor table, as NetBSD's {@code filedesc}: files and sockets share one
 * numbering, lowest free number first, {@code EMFILE} past the limit. Each descriptor refers to an
 * object of the subsystem that made it (its {@link Owner}: the VFS for files, the socket layer for
 * sockets), which also does the calls that work on any descriptor ({@code read}, {@code write},
 * {@code close}), as a {@code struct file}'s {@code fileops} do.
 *
 * <p>Thread-safe; no call blocks. Subsystems that keep state beside a descriptor guard it
 * themselves.
 */
public final class DescriptorTable {
    /** The default limit, Linux's default {@code RLIMIT_NOFILE} hard limit. */
    public static final int DEFAULT_LIMIT = 1 << 20;

    /** The subsystem that made a descriptor: the calls every descriptor takes, by number. */
    public interface Owner {
        /** What its descriptors are, for messages: {@code "file"}, {@code "socket"}. */
        String kind();

        int read(int fd, ByteBuffer dst) throws ErrnoException;

        int write(int fd, ByteBuffer src) throws ErrnoException;

        void close(int fd) throws ErrnoException;
    }

    private record Entry(Owner owner, Object file) {
    }

    private final int limit;
    private final Map<Integer, Entry> entries = new HashMap<>();
    private final BitSet used = new BitSet();

    public DescriptorTable(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("descriptor limit " + limit);
        }
        this.limit = limit;
    }

    public DescriptorTable() {
        this(DEFAULT_LIMIT);
    }

    /** Installs {@code file} under the lowest free number; {@code EMFILE} if {@link #limit} are open. */
    public synchronized int allocate(Owner owner, Object file) throws ErrnoException {
        int fd = used.nextClearBit(0);
        if (fd >= limit) {
            throw new ErrnoException(Errno.EMFILE, entries.size() + " descriptors open (limit " + limit + ")");
        }
        used.set(fd);
        entries.put(fd, new Entry(owner, file));
        return fd;
    }

    /**
     * The object behind {@code fd}, which {@code owner} made.
     *
     * @throws ErrnoException {@code EBADF} if {@code fd} is not open; {@code wrongKind} (such as
     *     {@code ENOTSOCK}) if another subsystem made it
     */
    public synchronized Object get(int fd, Owner owner, Errno wrongKind) throws ErrnoException {
        Entry e = entry(fd);
        if (e.owner != owner) {
            throw new ErrnoException(wrongKind, "descriptor " + fd + " is a " + e.owner.kind() + ", not a "
                    + owner.kind());
        }
        return e.file;
    }

    /** Who made {@code fd}; {@code EBADF} if it is not open. */
    public synchronized Owner owner(int fd) throws ErrnoException {
        return entry(fd).owner;
    }

    /** Frees {@code fd}, which {@code owner} made, and returns its object; {@code EBADF} as {@link #get}. */
    public synchronized Object remove(int fd, Owner owner) throws ErrnoException {
        Object file = get(fd, owner, Errno.EBADF);
        entries.remove(fd);
        used.clear(fd);
        return file;
    }

    /** The descriptors {@code owner} made, in ascending order. */
    public synchronized List<Integer> descriptors(Owner owner) {
        List<Integer> out = new ArrayList<>();
        for (int fd = used.nextSetBit(0); fd >= 0; fd = used.nextSetBit(fd + 1)) {
            if (entries.get(fd).owner == owner) {
                out.add(fd);
            }
        }
        return out;
    }

    /** The objects behind the descriptors {@code owner} made. */
    public synchronized List<Object> files(Owner owner) {
        List<Object> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.owner == owner) {
                out.add(e.file);
            }
        }
        return out;
    }

    /** How many descriptors are open. */
    public synchronized int size() {
        return entries.size();
    }

    public int limit() {
        return limit;
    }

    private Entry entry(int fd) throws ErrnoException {
        Entry e = fd < 0 ? null : entries.get(fd);
        if (e == null) {
            throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " is not open");
        }
        return e;
    }
}
