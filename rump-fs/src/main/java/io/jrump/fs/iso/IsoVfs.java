package io.jrump.fs.iso;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * A mounted ISO9660 filesystem, read-only, as the VFS sees it. Names come from Rock Ridge when
 * the root's "." record carries a SUSP SP entry, else from a Joliet tree, else from the plain
 * ECMA-119 identifiers mapped as Linux's {@code map=normal} does.
 *
 * <p>Inode numbers are positions on the device, as in Linux isofs: a directory's is the byte
 * offset of its extent (where its "." record is), anything else's the byte offset of its (first)
 * directory record. So they are stable for the image, and two hard links to one file have two
 * numbers; Rock Ridge's PX serial numbers are not used, but PX's link count is. Directories are
 * read whole the first time they are looked in and kept for the mount's life: memory grows with
 * the directories visited, each at most {@link #MAX_DIRECTORY_BYTES}.
 */
public final class IsoVfs implements FileSystemOps {
    /** A directory larger than this is refused, so one record cannot make the reader allocate gigabytes. */
    static final long MAX_DIRECTORY_BYTES = 16L << 20;
    /** Parts of one multi-extent file; 4096 of up to 4 GiB each is 16 TiB. */
    static final int MAX_EXTENTS = 4096;
    /** Directories nested deeper than this are taken for a loop. */
    static final int MAX_DEPTH = 1024;

    private enum Names { ROCK_RIDGE, JOLIET, PLAIN }

    private final IsoDevice dev;
    private final IsoMountOptions options;
    private final VolumeDescriptors descriptors;
    private final Names names;
    private final int suspSkip;
    private final IsoNode root;
    private final Map<Long, IsoNode> nodes = new HashMap<>();
    private final List<AutoCloseable> owned;
    private boolean closed;

    private IsoVfs(IsoDevice dev, IsoMountOptions options, List<AutoCloseable> owned) throws ErrnoException {
        this.dev = dev;
        this.options = options;
        this.owned = new ArrayList<>(owned);
        this.descriptors = VolumeDescriptors.read(dev);
        if (descriptors.logicalBlockSize != IsoDevice.BLOCK) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "iso9660: logical block size " + descriptors.logicalBlockSize
                    + " in the primary volume descriptor; only 2048 is supported");
        }
        DirRecord primaryRoot = VolumeDescriptors.root(descriptors.primaryRoot, descriptors.primaryBlock);
        DirRecord primaryDot = dot(primaryRoot.dataBlock(), "root directory");
        RockRidge rootRr = options.rock() ? RockRidge.parse(dev, primaryDot, 0) : null;
        if (rootRr != null && rootRr.sp) {
            names = Names.ROCK_RIDGE;
            suspSkip = rootRr.spSkip;
            root = node(primaryDot, List.of(primaryDot), rootRr, 0);
        } else if (options.joliet() && descriptors.jolietRoot != null) {
            names = Names.JOLIET;
            suspSkip = 0;
            DirRecord jr = VolumeDescriptors.root(descriptors.jolietRoot, descriptors.jolietBlock);
            DirRecord jdot = dot(jr.dataBlock(), "Joliet root directory");
            root = node(jdot, List.of(jdot), null, 0);
        } else {
            names = Names.PLAIN;
            suspSkip = 0;
            root = node(primaryDot, List.of(primaryDot), null, 0);
        }
        root.parent = root.ino;
        nodes.put(root.ino, root);
    }

    /**
     * Mounts the ISO9660 filesystem on {@code dev} with {@code options}; the result is read-only
     * whatever was asked. Closing it closes {@code owned}, in order.
     */
    static IsoVfs mount(BlockDevice dev, IsoMountOptions options, List<AutoCloseable> owned) throws ErrnoException {
        try {
            return new IsoVfs(new IsoDevice(dev, true), options, owned);
        } catch (RuntimeException e) {
            throw new ErrnoException(Errno.EIO, dev.name() + ": iso9660: internal error: " + e, e);
        }
    }

    /** The "." record that opens the directory at {@code block}. */
    private DirRecord dot(long block, String what) throws ErrnoException {
        byte[] b = dev.block(block, what);
        if ((b[0] & 0xff) == 0) {
            throw IsoErrors.corrupt(what + " at block " + block + ": no \".\" record");
        }
        DirRecord r = DirRecord.parse(b, 0, block);
        if (!r.isDot() || !r.isDirectory()) {
            throw IsoErrors.corrupt(what + " at block " + block + ": the first record is not \".\"");
        }
        return r;
    }

    /** Which naming was chosen: "Rock Ridge", "Joliet" or "ISO9660". */
    public String naming() {
        return switch (names) {
            case ROCK_RIDGE -> "Rock Ridge";
            case JOLIET -> "Joliet";
            case PLAIN -> "ISO9660";
        };
    }

    // ---- reading directories

    private IsoNode node(long ino) throws ErrnoException {
        IsoNode n = nodes.get(ino);
        if (n == null) {
            throw new ErrnoException(Errno.ENOENT, "iso9660: inode " + ino + " is not one this mount has handed out");
        }
        return n;
    }

    private IsoNode directory(long ino) throws ErrnoException {
        IsoNode d = node(ino);
        if (!d.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, "iso9660: inode " + ino);
        }
        if (d.entries == null) {
            load(d);
        }
        return d;
    }

    /** Reads directory {@code d} whole: joins multi-extent parts, follows CL, hides RE and associated files. */
    private void load(IsoNode d) throws ErrnoException {
        long size = d.attributes.size();
        long first = d.extentStart[0] / IsoDevice.BLOCK;
        String what = "directory at block " + first;
        if (size > MAX_DIRECTORY_BYTES) {
            throw IsoErrors.corrupt(what + ": " + size + " bytes, more than the " + MAX_DIRECTORY_BYTES
                    + " this reader takes");
        }
        long blocks = (size + IsoDevice.BLOCK - 1) / IsoDevice.BLOCK;
        if (first + blocks > dev.blocks()) {
            throw IsoErrors.corrupt(what + ": " + blocks + " blocks run past the end of the device (" + dev.blocks()
                    + " blocks)");
        }
        List<Map.Entry<String, IsoNode>> entries = new ArrayList<>();
        Map<String, IsoNode> byName = new HashMap<>();
        List<DirRecord> parts = new ArrayList<>();
        for (long bi = 0; bi < blocks; bi++) {
            byte[] b = dev.block(first + bi, what);
            int end = (int) Math.min(IsoDevice.BLOCK, size - bi * IsoDevice.BLOCK);
            int off = 0;
            while (off < end && (b[off] & 0xff) != 0) {
                DirRecord rec = DirRecord.parse(b, off, first + bi);
                off += rec.length();
                if (rec.isDot()) {
                    continue;
                }
                if (rec.isDotDot()) {
                    if (names == Names.ROCK_RIDGE) {
                        RockRidge rr = RockRidge.parse(dev, rec, suspSkip);
                        IsoNode original = rr.parentLink >= 0 ? nodes.get(rr.parentLink * IsoDevice.BLOCK) : null;
                        if (original != null && original.isDirectory()) {
                            d.parent = original.ino; // a relocated directory's ".." is where PL says
                        }
                    }
                    continue;
                }
                if ((rec.flags() & DirRecord.FLAG_ASSOCIATED) != 0 && parts.isEmpty()) {
                    continue; // associated files are hidden, as Linux does without "showassoc"
                }
                if (!parts.isEmpty() && !java.util.Arrays.equals(parts.get(0).name(), rec.name())) {
                    throw IsoErrors.corrupt(parts.get(0).where() + ": multi-extent file is followed by "
                            + rec.where() + " of another name");
                }
                parts.add(rec);
                if ((rec.flags() & DirRecord.FLAG_MULTI_EXTENT) != 0) {
                    if (parts.size() >= MAX_EXTENTS) {
                        throw IsoErrors.corrupt(parts.get(0).where() + ": multi-extent file of more than "
                                + MAX_EXTENTS + " extents");
                    }
                    continue;
                }
                List<DirRecord> file = List.copyOf(parts);
                parts.clear();
                add(d, file, entries, byName);
            }
        }
        if (!parts.isEmpty()) {
            throw IsoErrors.corrupt(parts.get(0).where() + ": multi-extent file has no last extent in its directory");
        }
        d.entries = entries;
        d.byName = byName;
    }

    private void add(IsoNode d, List<DirRecord> parts, List<Map.Entry<String, IsoNode>> entries,
            Map<String, IsoNode> byName) throws ErrnoException {
        DirRecord rec = parts.get(0);
        RockRidge rr = names == Names.ROCK_RIDGE ? RockRidge.parse(dev, rec, suspSkip) : null;
        if (rr != null && rr.relocated) {
            return; // the relocated directory itself; its CL placeholder shows it where it belongs
        }
        String name = name(rec, rr);
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0) {
            throw IsoErrors.corrupt(rec.where() + ": name '" + name + "' cannot be a file name");
        }
        IsoNode n;
        if (rr != null && rr.childLink >= 0) {
            DirRecord target = dot(rr.childLink, "relocated directory (CL of " + rec.where() + ")");
            n = directoryNode(d, target, List.of(target), RockRidge.parse(dev, target, suspSkip));
        } else if (rec.isDirectory()) {
            n = directoryNode(d, rec, parts, rr);
        } else {
            n = nodes.get(rec.position());
            if (n == null) {
                n = node(rec, parts, rr, d.ino);
                nodes.put(n.ino, n);
            }
        }
        if (byName.putIfAbsent(name, n) == null) {
            entries.add(new AbstractMap.SimpleImmutableEntry<>(name, n));
        } // else: another version of the same name (FILE;1, FILE;2): the first one recorded wins
    }

    /** A subdirectory of {@code parent}, refused if it is {@code parent} or one of its ancestors. */
    private IsoNode directoryNode(IsoNode parent, DirRecord rec, List<DirRecord> parts, RockRidge rr)
            throws ErrnoException {
        long ino = rec.dataBlock() * IsoDevice.BLOCK;
        IsoNode p = parent;
        for (int depth = 0; ; depth++) {
            if (p.ino == ino) {
                throw IsoErrors.corrupt(rec.where() + ": directory at block " + rec.dataBlock()
                        + " contains itself (a directory loop)");
            }
            if (p == root || p == null) {
                break;
            }
            if (depth > MAX_DEPTH) {
                throw IsoErrors.corrupt(rec.where() + ": directories nested more than " + MAX_DEPTH + " deep");
            }
            p = nodes.get(p.parent);
        }
        IsoNode n = nodes.get(ino);
        if (n == null) {
            n = node(rec, parts, rr, parent.ino);
            nodes.put(ino, n);
        }
        return n;
    }

    private String name(DirRecord rec, RockRidge rr) {
        if (rr != null && rr.name != null) {
            return rr.name.toString();
        }
        byte[] id = rec.name();
        if (names == Names.JOLIET) {
            String s = new String(id, 0, id.length & ~1, StandardCharsets.UTF_16BE);
            return stripVersion(s, true);
        }
        String s = new String(id, StandardCharsets.ISO_8859_1);
        if (!options.mapNormal()) {
            return s;
        }
        return stripVersion(s, true).toLowerCase(java.util.Locale.ROOT);
    }

    /** Drops ";1" (any version) and then a dot the name ends in, as Linux shows "README.;1" as "readme". */
    private static String stripVersion(String s, boolean trailingDot) {
        int semi = s.lastIndexOf(';');
        if (semi >= 0 && s.substring(semi + 1).chars().allMatch(Character::isDigit)) {
            s = s.substring(0, semi);
            if (trailingDot && s.length() > 1 && s.endsWith(".")) {
                s = s.substring(0, s.length() - 1);
            }
        }
        return s;
    }

    /** The node a (possibly multi-extent) record describes, with its Rock Ridge entries if any. */
    private IsoNode node(DirRecord rec, List<DirRecord> parts, RockRidge rr, long parentIno) throws ErrnoException {
        boolean isDir = rec.isDirectory();
        int type;
        if (isDir) {
            type = Attributes.S_IFDIR;
        } else if (rr != null && rr.mode >= 0) {
            type = rr.mode & Attributes.S_IFMT;
            if (type == Attributes.S_IFDIR || type == 0) {
                type = Attributes.S_IFREG; // the directory flag decides what can be walked into
            }
        } else {
            type = Attributes.S_IFREG;
        }
        int perms = rr != null && rr.mode >= 0 ? rr.mode & 07777 : isDir ? options.dirMode() : options.fileMode();
        long[] start = new long[parts.size()];
        long[] length = new long[parts.size()];
        long size = 0;
        String unreadable = null;
        for (int i = 0; i < parts.size(); i++) {
            DirRecord p = parts.get(i);
            start[i] = p.dataBlock() * IsoDevice.BLOCK;
            length[i] = p.dataLength();
            size += p.dataLength();
            if (p.unitSize() != 0 || p.gapSize() != 0) {
                unreadable = "interleaved file (unit size " + p.unitSize() + ", gap " + p.gapSize()
                        + ") is not supported";
            }
        }
        if (rr != null && rr.compressed) {
            unreadable = "zisofs-compressed file (Rock Ridge ZF) is not supported";
        }
        String link = null;
        if (type == Attributes.S_IFLNK) {
            link = rr.link == null ? "" : rr.link.toString();
            size = link.getBytes(StandardCharsets.UTF_8).length;
        } else if (type != Attributes.S_IFREG && type != Attributes.S_IFDIR) {
            size = 0;
        }
        long rdev = (type == Attributes.S_IFCHR || type == Attributes.S_IFBLK) && rr != null && rr.rdev >= 0 ? rr.rdev : 0;
        int nlink = rr != null && rr.nlink > 0 ? rr.nlink : isDir ? 2 : 1;
        long uid = rr != null && rr.uid >= 0 ? rr.uid : options.uid();
        long gid = rr != null && rr.gid >= 0 ? rr.gid : options.gid();
        long mtime = rr != null && rr.mtime != Long.MIN_VALUE ? rr.mtime : rec.recorded();
        long atime = rr != null && rr.atime != Long.MIN_VALUE ? rr.atime : mtime;
        long ctime = rr != null && rr.ctime != Long.MIN_VALUE ? rr.ctime : mtime;
        long ino = isDir ? rec.dataBlock() * IsoDevice.BLOCK : rec.position();
        long blocks512 = type == Attributes.S_IFREG || isDir ? (size + 511) / 512 : 0;
        Attributes a = new Attributes(ino, type | perms, nlink, uid, gid, rdev, size, blocks512, IsoDevice.BLOCK, atime,
                mtime, ctime);
        return new IsoNode(ino, a, start, length, link, unreadable, parentIno);
    }

    // ---- FileSystemOps

    @FunctionalInterface
    private interface Op<T> {
        T run() throws ErrnoException;
    }

    private synchronized <T> T locked(Op<T> op) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, "iso9660: unmounted");
        }
        try {
            return op.run();
        } catch (RuntimeException e) {
            // A structure that slipped past a check must not escape as an unchecked exception.
            throw new ErrnoException(Errno.EIO, dev.name() + ": iso9660: internal error: " + e, e);
        }
    }

    @Override
    public String type() {
        return "iso9660";
    }

    @Override
    public long rootInode() {
        return root.ino;
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public Attributes getattr(long ino) throws ErrnoException {
        return locked(() -> node(ino).attributes);
    }

    @Override
    public long lookup(long dir, String name) throws ErrnoException {
        return locked(() -> {
            IsoNode d = directory(dir);
            if (name.equals(".")) {
                return d.ino;
            }
            if (name.equals("..")) {
                return d.parent;
            }
            IsoNode n = d.byName.get(name);
            if (n == null) {
                throw new ErrnoException(Errno.ENOENT, name);
            }
            return n.ino;
        });
    }

    @Override
    public List<DirEntry> readdir(long dir) throws ErrnoException {
        return locked(() -> {
            IsoNode d = directory(dir);
            List<DirEntry> out = new ArrayList<>(d.entries.size() + 2);
            out.add(new DirEntry(".", d.ino, DirEntry.DT_DIR));
            out.add(new DirEntry("..", d.parent, DirEntry.DT_DIR));
            for (Map.Entry<String, IsoNode> e : d.entries) {
                out.add(new DirEntry(e.getKey(), e.getValue().ino, dtype(e.getValue().attributes.type())));
            }
            return out;
        });
    }

    private static int dtype(int type) {
        return switch (type) {
            case Attributes.S_IFREG -> DirEntry.DT_REG;
            case Attributes.S_IFDIR -> DirEntry.DT_DIR;
            case Attributes.S_IFLNK -> DirEntry.DT_LNK;
            case Attributes.S_IFCHR -> DirEntry.DT_CHR;
            case Attributes.S_IFBLK -> DirEntry.DT_BLK;
            case Attributes.S_IFIFO -> DirEntry.DT_FIFO;
            case Attributes.S_IFSOCK -> DirEntry.DT_SOCK;
            default -> DirEntry.DT_UNKNOWN;
        };
    }

    @Override
    public String readlink(long ino) throws ErrnoException {
        return locked(() -> {
            IsoNode n = node(ino);
            if (n.link == null) {
                throw new ErrnoException(Errno.EINVAL, "iso9660: inode " + ino + " is not a symbolic link");
            }
            return n.link;
        });
    }

    @Override
    public int read(long ino, long pos, ByteBuffer dst) throws ErrnoException {
        // Only the lookup is under the lock: a node never changes once made, and the device is
        // thread-safe, so reads of several files (or one) proceed in parallel.
        IsoNode n = locked(() -> node(ino));
        try {
            return readNode(ino, n, pos, dst);
        } catch (RuntimeException e) {
            throw new ErrnoException(Errno.EIO, dev.name() + ": iso9660: internal error: " + e, e);
        }
    }

    private int readNode(long ino, IsoNode n, long pos, ByteBuffer dst) throws ErrnoException {
        if (n.isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, "iso9660: inode " + ino);
        }
        if (!n.attributes.isRegular()) {
            throw new ErrnoException(Errno.EINVAL, "iso9660: inode " + ino + " is not a regular file");
        }
        if (n.unreadable != null) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "iso9660: inode " + ino + ": " + n.unreadable);
        }
        return readData(n, pos, dst);
    }

    private int readData(IsoNode n, long pos, ByteBuffer dst) throws ErrnoException {
        int total = 0;
        long extentOffset = 0; // file offset where extent i starts
        for (int i = 0; i < n.extentStart.length && dst.hasRemaining(); i++) {
            long len = n.extentLength[i];
            if (pos < extentOffset + len) {
                long into = Math.max(0, pos - extentOffset);
                long avail = len - into;
                int want = (int) Math.min(avail, dst.remaining());
                long at = n.extentStart[i] + into;
                if (at + want > dev.size()) {
                    throw IsoErrors.corrupt("file inode " + n.ino + ": extent at block " + n.extentStart[i] / IsoDevice.BLOCK
                            + " of " + len + " bytes runs past the end of the device (" + dev.blocks() + " blocks)");
                }
                int limit = dst.limit();
                dst.limit(dst.position() + want);
                try {
                    dev.read(at, dst);
                } finally {
                    dst.limit(limit);
                }
                total += want;
                pos += want;
            }
            extentOffset += len;
        }
        return total;
    }

    @Override
    public long seek(long ino, long offset, boolean hole) throws ErrnoException {
        return locked(() -> {
            long size = node(ino).attributes.size();
            if (offset < 0 || offset >= size) {
                throw new ErrnoException(Errno.ENXIO, "offset " + offset + " of a file of " + size + " bytes");
            }
            return hole ? size : offset; // every byte of an ISO9660 file is recorded: no holes
        });
    }

    @Override
    public StatVfs statvfs() throws ErrnoException {
        return locked(() -> new StatVfs(IsoDevice.BLOCK, descriptors.volumeBlocks, 0, 0, nodes.size(), 0,
                names == Names.ROCK_RIDGE ? 255 : names == Names.JOLIET ? 103 : 37, true));
    }

    @Override
    public void released(long ino) {
        // nothing is ever unlinked
    }

    @Override
    public void sync() {
        // nothing is ever written
    }

    @Override
    public long create(long dir, String name, int mode, long uid, long gid, long rdev) throws ErrnoException {
        throw IsoErrors.readOnly("create " + name);
    }

    @Override
    public long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException {
        throw IsoErrors.readOnly("symlink " + name);
    }

    @Override
    public void link(long dir, String name, long ino) throws ErrnoException {
        throw IsoErrors.readOnly("link " + name);
    }

    @Override
    public void unlink(long dir, String name, boolean open) throws ErrnoException {
        throw IsoErrors.readOnly("unlink " + name);
    }

    @Override
    public void rmdir(long dir, String name, boolean open) throws ErrnoException {
        throw IsoErrors.readOnly("rmdir " + name);
    }

    @Override
    public void rename(long fromDir, String fromName, long toDir, String toName, LongPredicate open)
            throws ErrnoException {
        throw IsoErrors.readOnly("rename " + fromName);
    }

    @Override
    public int write(long ino, long pos, ByteBuffer src) throws ErrnoException {
        throw IsoErrors.readOnly("write");
    }

    @Override
    public void truncate(long ino, long size) throws ErrnoException {
        throw IsoErrors.readOnly("truncate");
    }

    @Override
    public void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos)
            throws ErrnoException {
        throw IsoErrors.readOnly("setattr");
    }

    @Override
    public void close() throws ErrnoException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            nodes.clear();
        }
        ErrnoException first = null;
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof ErrnoException ee ? ee
                            : new ErrnoException(Errno.EIO, dev.name() + ": closing: " + e, e);
                }
            }
        }
        owned.clear();
        if (first != null) {
            throw first;
        }
    }
}
