package io.jrump.fs.fat;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.DirectoryBudget;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostConsole;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;

/**
 * A FAT12, FAT16 or FAT32 volume with VFAT long names, read and written, as the vnode
 * operations the VFS calls.
 *
 * <p>FAT has no inodes: a file is its directory entry. Inode numbers are handed out here, one
 * per entry the first time it is looked up, and kept for the mount (an entry that moves in a
 * rename keeps its number), as Linux's fat driver keeps an in-memory inode per entry position.
 * Owners and permission bits come from the mount options; the read-only attribute clears the
 * write bits. A file unlinked while open keeps its clusters until its last descriptor closes.
 *
 * <p>Mounted read-write, the boot sector's dirty bit is set and cleared again at unmount, when
 * FSInfo's free count and next-free hint are written too, as Linux does. Every change to a
 * directory goes to the device at once; FAT changes are cached and written, to every FAT copy,
 * at {@link #sync()} and unmount. Thread-safe: one lock serializes the operations.
 */
public final class FatFs implements FileSystemOps {
    static final long ROOT_INO = 1;
    private static final long MAX_FILE_SIZE = 0xFFFF_FFFFL;

    final BootSector bs;
    final VolumeIo io;
    final FatTable fat;
    private final FatMountOptions options;
    private final boolean readOnly;
    private final LongSupplier wallNanos;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final Map<Long, Node> nodes = new HashMap<>();
    /** Where each entry's node is: the directory's inode number and the short entry's index. */
    private final Map<Long, Long> inoByLocation = new HashMap<>();
    private final Node root;
    /** Directories whose entries are held in memory, least recently used first. */
    private final DirectoryBudget heldDirs = new DirectoryBudget(64L << 20, this::dropDirectory);
    private long nextIno = ROOT_INO + 1;
    private boolean closed;

    /** A file or directory: its entry in its parent, and what has been read of it. */
    private static final class Node {
        final long ino;
        long parent;
        FatDir.Slot slot; // null for the root
        ClusterChain chain; // loaded on first use
        FatDir dir; // directories, loaded on first use
        boolean orphan; // unlinked while open: the clusters go at release

        Node(long ino, long parent, FatDir.Slot slot) {
            this.ino = ino;
            this.parent = parent;
            this.slot = slot;
        }

        boolean isDirectory() {
            return slot == null || slot.entry.isDirectory();
        }
    }

    private FatFs(BlockDevice dev, BootSector bs, FatMountOptions options, boolean readOnly, LongSupplier wallNanos)
            throws ErrnoException {
        this.bs = bs;
        this.io = new VolumeIo(dev);
        this.fat = new FatTable(io, bs);
        this.options = options;
        this.readOnly = readOnly;
        this.wallNanos = wallNanos;
        this.root = new Node(ROOT_INO, ROOT_INO, null);
        nodes.put(ROOT_INO, root);
    }

    /**
     * Mounts the volume on {@code dev}.
     *
     * @throws ErrnoException {@code EINVAL} if it holds no FAT volume, {@code EUCLEAN} naming
     *     the field for a damaged boot sector or root directory, {@code EROFS} for a read-write
     *     mount of a read-only device
     */
    public static FatFs mount(BlockDevice dev, FatMountOptions options, boolean readOnly, LongSupplier wallNanos,
            HostConsole console) throws ErrnoException {
        if (!readOnly && dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, dev.name() + ": read-only device; mount it read-only");
        }
        BootSector bs = readBootSector(dev);
        FatFs fs = new FatFs(dev, bs, options, readOnly, wallNanos);
        fs.readFsInfo();
        fs.directory(fs.root); // the root must be readable for the mount to mean anything
        if (!readOnly) {
            if (bs.dirty && console != null) {
                console.log(System.Logger.Level.WARNING, dev.name() + ": vfat: volume was not properly unmounted; "
                        + "some data may be corrupt (run rump fs fsck)");
            }
            fs.setDirty(true);
        }
        return fs;
    }

    static BootSector readBootSector(BlockDevice dev) throws ErrnoException {
        int n = Math.max(512, dev.sectorSize());
        if (dev.size() < n) {
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": too small for a FAT volume (" + dev.size() + " bytes)");
        }
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        try {
            return BootSector.parse(b, dev.size());
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno(), dev.name() + ": " + e.detail());
        }
    }

    /** Also closes {@code things} after unmounting. */
    public FatFs closing(AutoCloseable... things) {
        owned.addAll(List.of(things));
        return this;
    }

    public BootSector bootSector() {
        return bs;
    }

    FatMountOptions options() {
        return options;
    }

    @Override
    public String type() {
        return "vfat";
    }

    @Override
    public long rootInode() {
        return ROOT_INO;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The volume label: the root directory's label entry, else the boot sector's. */
    public synchronized String label() throws ErrnoException {
        String l = directory(root).volumeLabel;
        return l != null ? l : bs.label.equals("NO NAME") ? "" : bs.label;
    }

    // ---- attributes ------------------------------------------------------------------------

    @Override
    public synchronized Attributes getattr(long ino) throws ErrnoException {
        Node n = node(ino);
        if (n.isDirectory()) {
            FatDir d = directory(n);
            int subdirs = 0;
            for (FatDir.Slot s : d.slots()) {
                if (s.entry.isDirectory()) {
                    subdirs++;
                }
            }
            long size = d.chain == null ? bs.rootDirBytes() : d.chain.length() * bs.clusterBytes();
            int mode = Attributes.S_IFDIR | (0777 & ~options.dmask());
            long mtime = n.slot == null ? 0 : time(n.slot.entry.writeDate, n.slot.entry.writeTime, 0);
            long atime = n.slot == null ? 0 : time(n.slot.entry.accessDate, 0, 0);
            return new Attributes(ino, mode, 2 + subdirs, options.uid(), options.gid(), 0, size, size / 512,
                    (int) bs.clusterBytes(), atime, mtime, mtime);
        }
        RawEntry e = n.slot.entry;
        int perms = 0777 & ~options.fmask();
        if (options.showexec() && !isExecutableName(n.slot.name)) {
            perms &= ~0111;
        }
        if ((e.attr & RawEntry.ATTR_READ_ONLY) != 0) {
            perms &= ~0222;
        }
        long cb = bs.clusterBytes();
        long allocated = (e.size + cb - 1) / cb * cb;
        long mtime = time(e.writeDate, e.writeTime, 0);
        return new Attributes(ino, Attributes.S_IFREG | perms, 1, options.uid(), options.gid(), 0, e.size,
                allocated / 512, (int) cb, time(e.accessDate, 0, 0), mtime, mtime);
    }

    private static boolean isExecutableName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".exe") || n.endsWith(".com") || n.endsWith(".bat");
    }

    private long time(int date, int time, int tenths) {
        return FatTime.toNanos(date, time, tenths, options.offsetMinutes());
    }

    @Override
    public synchronized void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos)
            throws ErrnoException {
        Node n = node(ino);
        if ((uid >= 0 && uid != options.uid()) || (gid >= 0 && gid != options.gid())) {
            if (!options.quiet()) {
                throw new ErrnoException(Errno.EPERM, "vfat: owners are the mount's uid=" + options.uid() + ",gid="
                        + options.gid() + "; FAT stores none (mount with quiet to ignore chown)");
            }
        }
        if (mode >= 0) {
            int base = 0777 & ~(n.isDirectory() ? options.dmask() : options.fmask());
            boolean rw = (mode & 07777) == base;
            boolean ro = !n.isDirectory() && (mode & 07777) == (base & ~0222);
            if (!rw && !ro) {
                if (!options.quiet()) {
                    throw new ErrnoException(Errno.EPERM, String.format(Locale.ROOT,
                            "vfat: mode %04o cannot be stored: FAT keeps only a read-only attribute (%04o or %04o)",
                            mode & 07777, base, base & ~0222));
                }
            } else if (n.slot != null) {
                checkWritable();
                int attr = ro ? n.slot.entry.attr | RawEntry.ATTR_READ_ONLY : n.slot.entry.attr & ~RawEntry.ATTR_READ_ONLY;
                if (attr != n.slot.entry.attr) {
                    n.slot.entry.attr = attr;
                    updateEntry(n);
                }
            }
        }
        if ((atimeNanos != Long.MIN_VALUE || mtimeNanos != Long.MIN_VALUE) && n.slot != null) {
            checkWritable();
            if (mtimeNanos != Long.MIN_VALUE) {
                int[] t = FatTime.fromNanos(mtimeNanos, options.offsetMinutes());
                n.slot.entry.writeDate = t[0];
                n.slot.entry.writeTime = t[1];
            }
            if (atimeNanos != Long.MIN_VALUE) {
                n.slot.entry.accessDate = FatTime.fromNanos(atimeNanos, options.offsetMinutes())[0];
            }
            updateEntry(n);
        }
    }

    // ---- names -----------------------------------------------------------------------------

    @Override
    public synchronized long lookup(long dir, String name) throws ErrnoException {
        Node d = directoryNode(dir);
        if (name.equals(".")) {
            return d.ino;
        }
        if (name.equals("..")) {
            return d.parent;
        }
        FatDir.Slot s = directory(d).find(stripTail(name));
        if (s == null) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        return nodeFor(d, s).ino;
    }

    /** Trailing dots and spaces are not part of a FAT name (vfat drops them in lookups too). */
    private static String stripTail(String name) {
        int end = name.length();
        while (end > 1 && (name.charAt(end - 1) == '.' || name.charAt(end - 1) == ' ')) {
            end--;
        }
        return name.substring(0, end);
    }

    @Override
    public synchronized List<DirEntry> readdir(long dir) throws ErrnoException {
        Node d = directoryNode(dir);
        List<DirEntry> out = new ArrayList<>();
        out.add(new DirEntry(".", d.ino, DirEntry.DT_DIR));
        out.add(new DirEntry("..", d.parent, DirEntry.DT_DIR));
        for (FatDir.Slot s : directory(d).slots()) {
            out.add(new DirEntry(s.name, nodeFor(d, s).ino, s.entry.isDirectory() ? DirEntry.DT_DIR : DirEntry.DT_REG));
        }
        return out;
    }

    @Override
    public synchronized long create(long dir, String name, int mode, long uid, long gid, long rdev)
            throws ErrnoException {
        checkWritable();
        Node d = directoryNode(dir);
        int type = mode & Attributes.S_IFMT;
        if (type != Attributes.S_IFREG && type != Attributes.S_IFDIR) {
            throw new ErrnoException(Errno.EPERM, "vfat: " + name + ": FAT holds only files and directories");
        }
        String n = ShortName.checkLongName(name);
        FatDir parent = directory(d);
        if (parent.find(n) != null) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        RawEntry e = new RawEntry();
        stamp(e, true);
        if (type == Attributes.S_IFDIR) {
            e.attr = RawEntry.ATTR_DIRECTORY;
            long c = fat.allocate(0);
            io.zero(bs.clusterOffset(c), bs.clusterBytes());
            e.firstCluster = c;
            ClusterChain chain = new ClusterChain();
            chain.append(c);
            FatDir created = new FatDir(this, name, chain, false);
            created.load();
            created.writeDots(dotEntry(e, c, "."), dotEntry(e, clusterOf(d), ".."));
            FatDir.Slot s = parent.create(n, e);
            Node node = nodeFor(d, s);
            node.chain = chain;
            node.dir = created;
            keep(node);
            return node.ino;
        }
        e.attr = RawEntry.ATTR_ARCHIVE | ((mode & 0222) == 0 ? RawEntry.ATTR_READ_ONLY : 0);
        FatDir.Slot s = parent.create(n, e);
        Node node = nodeFor(d, s);
        node.chain = new ClusterChain();
        return node.ino;
    }

    private RawEntry dotEntry(RawEntry like, long cluster, String name) {
        RawEntry dot = new RawEntry();
        java.util.Arrays.fill(dot.name, (byte) ' ');
        for (int i = 0; i < name.length(); i++) {
            dot.name[i] = '.';
        }
        dot.attr = RawEntry.ATTR_DIRECTORY;
        dot.createTenths = like.createTenths;
        dot.createTime = like.createTime;
        dot.createDate = like.createDate;
        dot.accessDate = like.accessDate;
        dot.writeTime = like.writeTime;
        dot.writeDate = like.writeDate;
        dot.firstCluster = cluster;
        return dot;
    }

    /** The cluster a ".." entry names for directory {@code d}: 0 for the root (fatgen103 6.7). */
    private long clusterOf(Node d) {
        return d == root ? 0 : d.slot.entry.firstCluster;
    }

    private void stamp(RawEntry e, boolean created) {
        int[] t = FatTime.fromNanos(wallNanos.getAsLong(), options.offsetMinutes());
        if (created) {
            e.createDate = t[0];
            e.createTime = t[1];
            e.createTenths = t[2];
        }
        e.writeDate = t[0];
        e.writeTime = t[1];
        e.accessDate = t[0];
    }

    @Override
    public long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException {
        throw new ErrnoException(Errno.EPERM, "vfat: " + name + ": FAT has no symbolic links");
    }

    @Override
    public void link(long dir, String name, long ino) throws ErrnoException {
        throw new ErrnoException(Errno.EPERM, "vfat: " + name + ": FAT has no hard links");
    }

    /** The entry {@code name} names, which must be a directory or must not be: else ENOENT, ENOTDIR, EISDIR. */
    private static FatDir.Slot existing(FatDir parent, String name, boolean directory) throws ErrnoException {
        FatDir.Slot s = parent.find(name);
        if (s == null) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        if (s.entry.isDirectory() != directory) {
            throw new ErrnoException(directory ? Errno.ENOTDIR : Errno.EISDIR, name);
        }
        return s;
    }

    @Override
    public synchronized void unlink(long dir, String name, boolean open) throws ErrnoException {
        checkWritable();
        Node d = directoryNode(dir);
        FatDir parent = directory(d);
        FatDir.Slot s = existing(parent, name, false);
        Node n = nodeFor(d, s);
        parent.delete(s);
        forget(d, s);
        if (open) {
            n.orphan = true; // its clusters stay until the last descriptor closes (released)
        } else {
            freeClusters(n);
            nodes.remove(n.ino);
        }
    }

    @Override
    public synchronized void rmdir(long dir, String name, boolean open) throws ErrnoException {
        checkWritable();
        Node d = directoryNode(dir);
        FatDir parent = directory(d);
        FatDir.Slot s = existing(parent, name, true);
        Node n = nodeFor(d, s);
        if (!directory(n).isEmpty()) {
            throw new ErrnoException(Errno.ENOTEMPTY, name);
        }
        parent.delete(s);
        forget(d, s);
        freeClusters(n);
        forgetDirectory(n);
        nodes.remove(n.ino);
    }

    @Override
    public synchronized void rename(long fromDir, String fromName, long toDir, String toName, LongPredicate open)
            throws ErrnoException {
        checkWritable();
        Node from = directoryNode(fromDir);
        Node to = directoryNode(toDir);
        FatDir src = directory(from);
        FatDir.Slot s = src.find(fromName);
        if (s == null) {
            throw new ErrnoException(Errno.ENOENT, fromName);
        }
        String newName = ShortName.checkLongName(toName);
        Node moving = nodeFor(from, s);
        if (moving.isDirectory() && from != to) {
            for (Node p = to; ; p = nodes.get(p.parent)) {
                if (p == moving) {
                    throw new ErrnoException(Errno.EINVAL, "vfat: cannot move directory " + fromName + " into itself");
                }
                if (p == root) {
                    break;
                }
            }
        }
        FatDir dst = directory(to);
        FatDir.Slot existing = dst.find(newName);
        if (existing == s) {
            if (s.name.equals(newName)) {
                return; // the same name: nothing to do
            }
            existing = null; // the same entry by another case: renamed in place below
        }
        if (existing != null) {
            Node victim = nodeFor(to, existing);
            if (moving.isDirectory() && !existing.entry.isDirectory()) {
                throw new ErrnoException(Errno.ENOTDIR, toName);
            }
            if (!moving.isDirectory() && existing.entry.isDirectory()) {
                throw new ErrnoException(Errno.EISDIR, toName);
            }
            if (existing.entry.isDirectory() && !directory(victim).isEmpty()) {
                throw new ErrnoException(Errno.ENOTEMPTY, toName);
            }
            dst.delete(existing);
            forget(to, existing);
            if (!existing.entry.isDirectory() && open.test(victim.ino)) {
                victim.orphan = true;
            } else {
                freeClusters(victim);
                forgetDirectory(victim);
                nodes.remove(victim.ino);
            }
        }
        // The new entries first: if the directory cannot take them, the file keeps its old name.
        FatDir.Slot moved = dst.create(newName, copy(s.entry));
        src.delete(s);
        forget(from, s);
        moving.slot = moved;
        moving.parent = to.ino;
        inoByLocation.put(location(to.ino, moved.index), moving.ino);
        if (moving.isDirectory() && from != to) {
            directory(moving).setDotDot(clusterOf(to));
        }
    }

    private static RawEntry copy(RawEntry e) {
        RawEntry c = new RawEntry();
        c.attr = e.attr;
        c.createTenths = e.createTenths;
        c.createTime = e.createTime;
        c.createDate = e.createDate;
        c.accessDate = e.accessDate;
        c.firstCluster = e.firstCluster;
        c.writeTime = e.writeTime;
        c.writeDate = e.writeDate;
        c.size = e.size;
        return c;
    }

    @Override
    public String readlink(long ino) throws ErrnoException {
        throw new ErrnoException(Errno.EINVAL, "vfat: not a symbolic link (FAT has none)");
    }

    // ---- data ------------------------------------------------------------------------------

    @Override
    public synchronized int read(long ino, long pos, ByteBuffer dst) throws ErrnoException {
        Node n = fileNode(ino);
        long size = n.slot.entry.size;
        if (pos >= size || !dst.hasRemaining()) {
            return 0;
        }
        int count = (int) Math.min(dst.remaining(), size - pos);
        ClusterChain chain = chain(n);
        if (chain.length() * bs.clusterBytes() < size) {
            throw new ErrnoException(Errno.EUCLEAN, "vfat: " + path(n) + ": " + size + " bytes but "
                    + chain.length() + " clusters of " + bs.clusterBytes());
        }
        transfer(chain, pos, dst.slice().limit(count), false);
        dst.position(dst.position() + count);
        return count;
    }

    @Override
    public synchronized int write(long ino, long pos, ByteBuffer src) throws ErrnoException {
        checkWritable();
        Node n = fileNode(ino);
        int count = src.remaining();
        if (pos + count > MAX_FILE_SIZE) {
            throw new ErrnoException(Errno.EFBIG, "vfat: a FAT file holds at most 4 GiB - 1 bytes");
        }
        long end = pos + count;
        RawEntry e = n.slot.entry;
        if (end > e.size) {
            grow(n, end, pos, end);
        }
        transfer(chain(n), pos, src.slice(), true);
        src.position(src.limit());
        stamp(e, false);
        e.attr |= RawEntry.ATTR_ARCHIVE;
        updateEntry(n);
        return count;
    }

    /** Reads or writes the buffer at {@code pos} of the chain, a run of consecutive clusters per request. */
    private void transfer(ClusterChain chain, long pos, ByteBuffer buf, boolean write) throws ErrnoException {
        long cb = bs.clusterBytes();
        long p = pos;
        while (buf.hasRemaining()) {
            long index = p / cb;
            long within = p % cb;
            long run = chain.contiguousFrom(index);
            int n = (int) Math.min(buf.remaining(), run * cb - within);
            ByteBuffer part = buf.slice().limit(n);
            long at = bs.clusterOffset(chain.get(index)) + within;
            if (write) {
                io.write(at, part);
            } else {
                io.read(at, part);
            }
            buf.position(buf.position() + n);
            p += n;
        }
    }

    /**
     * Makes the file {@code size} bytes long: clusters added as needed, the new bytes zeros —
     * except {@code [dataFrom, dataTo)}, which the caller is about to write (a file written in
     * one go is not written twice).
     */
    private void grow(Node n, long size, long dataFrom, long dataTo) throws ErrnoException {
        RawEntry e = n.slot.entry;
        ClusterChain chain = chain(n);
        long cb = bs.clusterBytes();
        long need = (size + cb - 1) / cb;
        long old = e.size;
        while (chain.length() < need) {
            long c = fat.allocate(chain.isEmpty() ? 0 : chain.last());
            if (chain.isEmpty()) {
                e.firstCluster = c;
            } else {
                fat.set(chain.last(), c);
            }
            chain.append(c);
        }
        // FAT files have no holes: what lies between the old end and the new reads as zeros,
        // including old bytes in the last cluster's tail.
        zero(chain, old, Math.min(size, dataFrom));
        zero(chain, Math.max(old, dataTo), size);
        e.size = size;
    }

    /** Writes zeros over {@code [from, to)} of the file, a run of clusters per request. */
    private void zero(ClusterChain chain, long from, long to) throws ErrnoException {
        long cb = bs.clusterBytes();
        long p = from;
        while (p < to) {
            long index = p / cb;
            long within = p % cb;
            long n = Math.min(to - p, chain.contiguousFrom(index) * cb - within);
            io.zero(bs.clusterOffset(chain.get(index)) + within, n);
            p += n;
        }
    }

    @Override
    public synchronized void truncate(long ino, long size) throws ErrnoException {
        checkWritable();
        Node n = fileNode(ino);
        if (size > MAX_FILE_SIZE) {
            throw new ErrnoException(Errno.EFBIG, "vfat: a FAT file holds at most 4 GiB - 1 bytes");
        }
        RawEntry e = n.slot.entry;
        if (size > e.size) {
            grow(n, size, size, size);
        } else if (size < e.size) {
            ClusterChain chain = chain(n);
            long cb = bs.clusterBytes();
            long keep = (size + cb - 1) / cb;
            if (keep < chain.length()) {
                ClusterChain tail = new ClusterChain();
                for (long i = keep; i < chain.length(); i++) {
                    tail.append(chain.get(i));
                }
                if (keep == 0) {
                    e.firstCluster = 0;
                } else {
                    fat.set(chain.get(keep - 1), fat.type().eoc());
                }
                chain.truncate(keep);
                fat.free(tail);
            }
            e.size = size;
        }
        stamp(e, false);
        e.attr |= RawEntry.ATTR_ARCHIVE;
        updateEntry(n);
    }

    @Override
    public synchronized long seek(long ino, long offset, boolean hole) throws ErrnoException {
        Node n = fileNode(ino);
        long size = n.slot.entry.size;
        if (offset < 0 || offset >= size) {
            throw new ErrnoException(Errno.ENXIO, "offset " + offset + " is at or past the end (" + size + ")");
        }
        return hole ? size : offset; // FAT files have no holes
    }

    @Override
    public synchronized void released(long ino) throws ErrnoException {
        Node n = nodes.get(ino);
        if (n != null && n.orphan) {
            freeClusters(n);
            nodes.remove(ino);
        }
    }

    private void freeClusters(Node n) throws ErrnoException {
        if (readOnly || n.slot == null || n.slot.entry.firstCluster == 0) {
            return;
        }
        fat.free(chain(n));
        n.chain = new ClusterChain();
    }

    // ---- the volume ------------------------------------------------------------------------

    @Override
    public synchronized void sync() throws ErrnoException {
        if (readOnly || closed) {
            return;
        }
        fat.flush();
        io.device().flush();
    }

    @Override
    public synchronized StatVfs statvfs() throws ErrnoException {
        long free = fat.freeCount();
        return new StatVfs((int) bs.clusterBytes(), bs.clusterCount(), free, free, 0, 0, ShortName.MAX_LONG, readOnly);
    }

    @Override
    public synchronized void close() throws ErrnoException {
        if (closed) {
            return;
        }
        ErrnoException failure = null;
        try {
            if (!readOnly) {
                for (Node n : new ArrayList<>(nodes.values())) {
                    if (n.orphan) {
                        freeClusters(n);
                    }
                }
                fat.flush();
                writeFsInfo();
                setDirty(false);
                io.device().flush();
            }
        } catch (ErrnoException e) {
            failure = e;
        } finally {
            closed = true;
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (ErrnoException e) {
                    if (failure == null) {
                        failure = e;
                    }
                } catch (Exception e) {
                    if (failure == null) {
                        failure = new ErrnoException(Errno.EIO, "vfat: closing: " + e, e);
                    }
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void setDirty(boolean dirty) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(1);
        io.read(bs.stateOffset, b);
        int state = b.get(0) & 0xff;
        int want = dirty ? state | BootSector.STATE_DIRTY : state & ~BootSector.STATE_DIRTY;
        if (want != state) {
            io.write(bs.stateOffset, ByteBuffer.wrap(new byte[] {(byte) want}));
            io.device().flush();
        }
    }

    private static final long FSINFO_LEAD = 0x41615252L;
    private static final long FSINFO_STRUCT = 0x61417272L;
    private static final long FSINFO_TRAIL = 0xAA550000L;

    private long fsInfoOffset() {
        return bs.type == FatType.FAT32 && bs.fsInfoSector != 0 && bs.fsInfoSector < bs.reservedSectors
                ? (long) bs.fsInfoSector * bs.bytesPerSector : -1;
    }

    private void readFsInfo() throws ErrnoException {
        long at = fsInfoOffset();
        if (at < 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        io.read(at, b);
        if (fsInfoValid(b)) {
            fat.startSearchAt(BootSector.u32(b, 492));
        }
    }

    private static boolean fsInfoValid(ByteBuffer b) {
        return BootSector.u32(b, 0) == FSINFO_LEAD && BootSector.u32(b, 484) == FSINFO_STRUCT
                && BootSector.u32(b, 508) == FSINFO_TRAIL;
    }

    /** FSInfo's free count and next free cluster, as Linux leaves them at unmount. */
    private void writeFsInfo() throws ErrnoException {
        long at = fsInfoOffset();
        if (at < 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        io.read(at, b);
        if (!fsInfoValid(b)) {
            return; // not ours to make: fsck.fat reports it
        }
        // The real count, counted if need be: "unknown" (0xFFFFFFFF) is allowed, but tools that
        // decrement it blindly (fusefat) then leave a wrong summary, and Windows trusts the count.
        b.putInt(488, (int) fat.freeCount());
        b.putInt(492, (int) fat.nextFreeHint());
        io.write(at, b.clear());
    }

    // ---- nodes -----------------------------------------------------------------------------

    private static long location(long dirIno, int index) {
        return dirIno << 17 | index;
    }

    private Node nodeFor(Node dir, FatDir.Slot s) {
        long key = location(dir.ino, s.index);
        Long ino = inoByLocation.get(key);
        if (ino != null) {
            Node n = nodes.get(ino);
            if (n != null && n.slot != null && n.slot.index == s.index) {
                return n;
            }
        }
        Node n = new Node(nextIno++, dir.ino, s);
        nodes.put(n.ino, n);
        inoByLocation.put(key, n.ino);
        return n;
    }

    private void forget(Node dir, FatDir.Slot s) {
        inoByLocation.remove(location(dir.ino, s.index));
    }

    private Node node(long ino) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, "vfat: unmounted");
        }
        Node n = nodes.get(ino);
        if (n == null) {
            throw new ErrnoException(Errno.ENOENT, "vfat: no inode " + ino);
        }
        return n;
    }

    private Node directoryNode(long ino) throws ErrnoException {
        Node n = node(ino);
        if (!n.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path(n));
        }
        return n;
    }

    private Node fileNode(long ino) throws ErrnoException {
        Node n = node(ino);
        if (n.isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, path(n));
        }
        return n;
    }

    private FatDir directory(Node n) throws ErrnoException {
        if (n.dir != null) {
            heldDirs.touch(n.ino);
            return n.dir;
        }
        ClusterChain chain;
        if (n == root) {
            chain = bs.type == FatType.FAT32 ? fat.chain(bs.rootCluster, "root directory") : null;
        } else {
            chain = chain(n);
            if (chain.isEmpty()) {
                throw new ErrnoException(Errno.EUCLEAN, "vfat: directory " + path(n) + " has no cluster");
            }
            checkNotInsideItself(n);
        }
        FatDir d = new FatDir(this, path(n), chain, n == root);
        d.load();
        // Entries known as nodes keep their slot objects: the node's is the one kept up to date.
        for (FatDir.Slot s : List.copyOf(d.slots())) {
            Long ino = inoByLocation.get(location(n.ino, s.index));
            Node c = ino == null ? null : nodes.get(ino);
            if (c != null && c.slot != null && c.slot.index == s.index && c.slot != s) {
                d.replace(s, c.slot);
            }
        }
        n.dir = d;
        keep(n);
        return d;
    }

    /** Counts a directory read into memory (its copy, and the index over it) against the budget. */
    private void keep(Node n) {
        heldDirs.hold(n.ino, n.dir.bytes() + 4096);
    }

    private void dropDirectory(long ino) {
        Node n = nodes.get(ino);
        if (n != null) {
            n.dir = null;
        }
    }

    /** A directory node goes (rmdir, replaced by rename): its entries leave memory. */
    private void forgetDirectory(Node n) {
        heldDirs.forget(n.ino);
        n.dir = null;
    }

    /**
     * A directory whose cluster is its own or an ancestor's would make every walk endless: fsck
     * territory, refused here.
     */
    private void checkNotInsideItself(Node n) throws ErrnoException {
        long c = n.slot.entry.firstCluster;
        if (bs.type == FatType.FAT32 && c == bs.rootCluster) {
            throw new ErrnoException(Errno.EUCLEAN, "vfat: directory " + path(n) + " is the root directory again "
                    + "(cluster " + c + "): the directory tree loops");
        }
        Node at = nodes.get(n.parent);
        for (int depth = 0; at != null && at != root && depth < 4096; depth++) {
            if (at.slot.entry.firstCluster == c) {
                throw new ErrnoException(Errno.EUCLEAN, "vfat: directory " + path(n) + " is its ancestor "
                        + path(at) + " again (cluster " + c + "): the directory tree loops");
            }
            at = nodes.get(at.parent);
        }
    }

    private FatDir parentDir(Node n) throws ErrnoException {
        return directory(node(n.parent));
    }

    /** Writes the node's entry back to its directory; an unlinked file has none any more. */
    private void updateEntry(Node n) throws ErrnoException {
        if (!n.orphan && n.slot != null) {
            parentDir(n).update(n.slot);
        }
    }

    private ClusterChain chain(Node n) throws ErrnoException {
        if (n.chain == null) {
            n.chain = n.slot == null ? directory(n).chain : fat.chain(n.slot.entry.firstCluster, path(n));
        }
        return n.chain;
    }

    /** The node's path from the root, for messages. */
    String path(Node n) {
        if (n == root) {
            return "/";
        }
        StringBuilder p = new StringBuilder();
        Node at = n;
        for (int depth = 0; at != root && at != null && depth < 256; depth++) {
            p.insert(0, "/" + (at.slot == null ? "?" : at.slot.name));
            at = nodes.get(at.parent);
        }
        return p.toString();
    }

    private void checkWritable() throws ErrnoException {
        if (readOnly) {
            throw new ErrnoException(Errno.EROFS, "vfat: mounted read-only");
        }
    }
}
