package io.jrump.fs.exfat;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.fat.ClusterChain;
import io.jrump.fs.fat.VolumeIo;
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
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;

/**
 * An exFAT volume, read and written, as the vnode operations the VFS calls.
 *
 * <p>As in {@code FatFs}, a file is its directory entry set; inode numbers are handed out per set
 * and kept for the mount, across renames. The allocation bitmap is the record of free clusters:
 * it is read whole at mount and written back at sync and unmount. A file's clusters are one run
 * while it can stay contiguous (NoFatChain, no FAT entries); when it must fragment, its clusters
 * are written into the FAT and the flag cleared, as Linux does. Bytes between ValidDataLength and
 * DataLength read as zeros, so a file grown by truncate costs no data writes.
 *
 * <p>Mounted read-write, VolumeDirty is set, and cleared at unmount with PercentInUse updated;
 * neither is covered by the boot checksum. Thread-safe: one lock serializes the operations.
 */
public final class ExFatFs implements FileSystemOps {
    static final long ROOT_INO = 1;
    private static final long EOC = 0xFFFF_FFFFL;

    final ExFatBoot boot;
    final VolumeIo io;
    ExFatUpcase upcase;
    private final ExFatMountOptions options;
    private final boolean readOnly;
    private final LongSupplier wallNanos;
    private final List<AutoCloseable> owned = new ArrayList<>();
    /** Clusters in use, bit {@code c - 2} for cluster {@code c}. */
    private BitSet used;
    private ClusterChain bitmapChain;
    private ClusterChain upcaseChain;
    private final BitSet dirtyBitmapBytes = new BitSet();
    private long usedCount;
    private final Map<Long, Node> nodes = new HashMap<>();
    private final Map<Long, Long> inoByLocation = new HashMap<>();
    private final Node root;
    private long nextIno = ROOT_INO + 1;
    /** Directories whose entries are held in memory, least recently used first, within a budget. */
    private final DirectoryBudget heldDirs = new DirectoryBudget(64L << 20, this::dropDirectory);
    private boolean closed;
    /** FAT sectors read lately, written through. */
    private final Map<Long, ByteBuffer> fatCache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, ByteBuffer> eldest) {
            return size() > 256;
        }
    };

    private static final class Node {
        final long ino;
        long parent;
        ExFatDir.Entry entry; // null for the root
        ClusterChain chain;
        ExFatDir dir;
        boolean orphan;

        Node(long ino, long parent, ExFatDir.Entry entry) {
            this.ino = ino;
            this.parent = parent;
            this.entry = entry;
        }

        boolean isDirectory() {
            return entry == null || entry.isDirectory();
        }
    }

    private ExFatFs(BlockDevice dev, ExFatBoot boot, ExFatMountOptions options, boolean readOnly,
            LongSupplier wallNanos) {
        this.boot = boot;
        this.io = new VolumeIo(dev);
        this.options = options;
        this.readOnly = readOnly;
        this.wallNanos = wallNanos;
        this.root = new Node(ROOT_INO, ROOT_INO, null);
        nodes.put(ROOT_INO, root);
    }

    /**
     * Mounts the volume on {@code dev}.
     *
     * @throws ErrnoException {@code EINVAL} if it holds no exFAT volume, {@code EUCLEAN} naming
     *     the structure if it is damaged, {@code EROFS} for a read-write mount of a read-only device
     */
    public static ExFatFs mount(BlockDevice dev, ExFatMountOptions options, boolean readOnly, LongSupplier wallNanos,
            HostConsole console) throws ErrnoException {
        if (!readOnly && dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, dev.name() + ": read-only device; mount it read-only");
        }
        ExFatBoot boot;
        try {
            boot = readBoot(dev);
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno(), dev.name() + ": " + e.detail());
        }
        ExFatFs fs = new ExFatFs(dev, boot, options, readOnly, wallNanos);
        fs.readRootMetadata();
        fs.directory(fs.root);
        if (!readOnly) {
            if (boot.dirty() && console != null) {
                console.log(System.Logger.Level.WARNING, dev.name() + ": exfat: volume was not properly unmounted; "
                        + "some data may be corrupt (run fsck.exfat)");
            }
            fs.setDirty(true);
        }
        return fs;
    }

    static ExFatBoot readBoot(BlockDevice dev) throws ErrnoException {
        if (dev.size() < 512) {
            throw new ErrnoException(Errno.EINVAL, "too small for an exFAT volume (" + dev.size() + " bytes)");
        }
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        new VolumeIo(dev).read(0, b); // whole device sectors, whatever their size
        ExFatBoot boot = ExFatBoot.parse(b.clear(), dev.size());
        byte[] region = new byte[12 * boot.sectorBytes()];
        new VolumeIo(dev).read(0, ByteBuffer.wrap(region));
        ExFatBoot.verifyChecksum(region, boot.sectorBytes(), "main boot region");
        return boot;
    }

    /** The volume label for a probe: read from the root's first sectors only, empty if not found there. */
    static String probeLabel(BlockDevice dev, ExFatBoot boot) throws ErrnoException {
        int n = (int) Math.min(boot.clusterBytes(), 4096);
        if (boot.clusterOffset(boot.rootCluster) + n > dev.size()) {
            return "";
        }
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        new VolumeIo(dev).read(boot.clusterOffset(boot.rootCluster), b);
        for (int i = 0; i < n; i += 32) {
            int t = b.get(i) & 0xff;
            if (t == 0) {
                break;
            }
            if (t == ExFatDir.LABEL) {
                int count = Math.min(b.get(i + 1) & 0xff, 11);
                char[] c = new char[count];
                for (int k = 0; k < count; k++) {
                    c[k] = b.getChar(i + 2 + 2 * k);
                }
                return new String(c);
            }
        }
        return "";
    }

    /** Finds the bitmap and up-case entries in the root (before names can be checked) and reads both. */
    private void readRootMetadata() throws ErrnoException {
        ClusterChain rootChain = fatChain(boot.rootCluster, -1, "root directory");
        long cb = boot.clusterBytes();
        long bitmapFirst = -1;
        long bitmapLength = 0;
        long upFirst = -1;
        long upLength = 0;
        long upSum = 0;
        ByteBuffer e = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        scan:
        for (long i = 0; i < rootChain.length(); i++) {
            for (long at = 0; at < cb; at += 32) {
                io.read(boot.clusterOffset(rootChain.get(i)) + at, e.clear());
                int t = e.get(0) & 0xff;
                if (t == 0) {
                    break scan;
                }
                if (t == ExFatDir.BITMAP && (e.get(1) & 1) == (boot.numberOfFats == 2 ? boot.volumeFlags & 1 : 0)) {
                    bitmapFirst = ExFatBoot.u32(e, 20);
                    bitmapLength = e.getLong(24);
                } else if (t == ExFatDir.UPCASE) {
                    upFirst = ExFatBoot.u32(e, 20);
                    upLength = e.getLong(24);
                    upSum = ExFatBoot.u32(e, 4);
                }
            }
        }
        if (bitmapFirst < 0) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT root directory: no Allocation Bitmap entry (0x81)");
        }
        if (upFirst < 0) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT root directory: no Up-case Table entry (0x82)");
        }
        if (bitmapLength < (boot.clusterCount + 7) / 8 || bitmapLength > (boot.clusterCount + 7) / 8 + cb) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT allocation bitmap: DataLength " + bitmapLength
                    + " bytes for " + boot.clusterCount + " clusters");
        }
        if (upLength < 2 || upLength > 0x20000 * 2) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT up-case table: DataLength " + upLength + " bytes");
        }
        bitmapChain = fatChain(bitmapFirst, bitmapLength, "allocation bitmap");
        byte[] bits = readChain(bitmapChain, (int) bitmapLength);
        used = BitSet.valueOf(bits);
        if (used.length() > boot.clusterCount) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT allocation bitmap: cluster " + (used.length() + 1)
                    + " marked in use, past the last cluster " + (boot.clusterCount + 1));
        }
        usedCount = used.cardinality();
        upcaseChain = fatChain(upFirst, upLength, "up-case table");
        byte[] table = readChain(upcaseChain, (int) upLength);
        upcase = ExFatUpcase.parse(table, upSum);
    }

    private byte[] readChain(ClusterChain chain, int length) throws ErrnoException {
        byte[] out = new byte[length];
        long cb = boot.clusterBytes();
        for (int at = 0; at < length; ) {
            long i = at / cb;
            int n = (int) Math.min(length - at, Math.min(chain.contiguousFrom(i), chain.length() - i) * cb);
            io.read(boot.clusterOffset(chain.get(i)), ByteBuffer.wrap(out, at, n));
            at += n;
        }
        return out;
    }

    /** Also closes {@code things} after unmounting. */
    public ExFatFs closing(AutoCloseable... things) {
        owned.addAll(List.of(things));
        return this;
    }

    @Override
    public String type() {
        return "exfat";
    }

    @Override
    public long rootInode() {
        return ROOT_INO;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The volume label, empty if none. */
    public synchronized String label() throws ErrnoException {
        String l = directory(root).label;
        return l == null ? "" : l;
    }

    /** Tests: a smaller budget for directories in memory (every load then evicts others). */
    synchronized void dirCacheBudget(long bytes) {
        heldDirs.budget(bytes);
    }

    // ---- for ExFatCheck ------------------------------------------------------------------------

    /** The clusters holding an inode's data (a directory's entries). */
    synchronized ClusterChain clustersOf(long ino) throws ErrnoException {
        return chain(node(ino));
    }

    /** A copy of the allocation bitmap as read and changed: bit {@code c - 2} for cluster {@code c}. */
    synchronized BitSet bitmap() {
        return (BitSet) used.clone();
    }

    /** The allocation bitmap's, the up-case table's and the root directory's clusters. */
    synchronized List<ClusterChain> metadataChains() throws ErrnoException {
        return List.of(bitmapChain, upcaseChain, chain(root));
    }

    // ---- the FAT --------------------------------------------------------------------------------

    private ByteBuffer fatSector(long entry) throws ErrnoException {
        int sb = boot.sectorBytes();
        long at = boot.fatBytesOffset() + entry * 4;
        long sector = at / sb;
        ByteBuffer b = fatCache.get(sector);
        if (b == null) {
            b = ByteBuffer.allocate(sb).order(ByteOrder.LITTLE_ENDIAN);
            io.read(sector * sb, b);
            fatCache.put(sector, b);
        }
        return b;
    }

    long fatGet(long cluster) throws ErrnoException {
        return fatSector(cluster).getInt((int) (cluster * 4 % boot.sectorBytes())) & 0xffff_ffffL;
    }

    void fatSet(long cluster, long value) throws ErrnoException {
        ByteBuffer b = fatSector(cluster);
        int at = (int) (cluster * 4 % boot.sectorBytes());
        b.putInt(at, (int) value);
        io.write(boot.fatBytesOffset() + cluster * 4, b.duplicate().position(at).limit(at + 4));
    }

    /**
     * The clusters of a FAT chain from {@code first}: {@code length} bytes' worth, or to the end
     * of the chain if {@code length} is negative.
     */
    ClusterChain fatChain(long first, long length, String what) throws ErrnoException {
        long cb = boot.clusterBytes();
        long want = length < 0 ? -1 : (length + cb - 1) / cb;
        ClusterChain chain = new ClusterChain();
        BitSet seen = new BitSet();
        long c = first;
        while (want < 0 || chain.length() < want) {
            if (c < 2 || c > boot.clusterCount + 1) {
                if (want < 0 && c == EOC && !chain.isEmpty()) {
                    break;
                }
                throw new ErrnoException(Errno.EUCLEAN, "exFAT FAT: the chain of " + what + " reaches "
                        + (c == EOC ? "its end" : String.format("0x%08x", c)) + " after " + chain.length()
                        + " clusters" + (want < 0 ? "" : " of " + want));
            }
            if (seen.get((int) (c - 2))) {
                throw new ErrnoException(Errno.EUCLEAN, "exFAT FAT: the chain of " + what + " loops at cluster " + c);
            }
            seen.set((int) (c - 2));
            chain.append(c);
            if (want >= 0 && chain.length() == want) {
                break;
            }
            c = fatGet(c);
        }
        return chain;
    }

    // ---- the bitmap -----------------------------------------------------------------------------

    private void mark(long cluster, boolean inUse) {
        int bit = (int) (cluster - 2);
        if (used.get(bit) != inUse) {
            used.set(bit, inUse);
            usedCount += inUse ? 1 : -1;
            dirtyBitmapBytes.set(bit / 8);
        }
    }

    /** A free cluster, {@code near} if that one is free, else the next free one after it. */
    private long allocate(long near) throws ErrnoException {
        long count = boot.clusterCount;
        int start = near >= 2 && near <= count + 1 ? (int) (near - 2) : 0;
        int bit = used.nextClearBit(start);
        if (bit >= count) {
            bit = used.nextClearBit(0);
            if (bit >= count) {
                throw new ErrnoException(Errno.ENOSPC, "exfat: no free cluster");
            }
        }
        long c = bit + 2L;
        mark(c, true);
        return c;
    }

    private void writeBitmap() throws ErrnoException {
        if (dirtyBitmapBytes.isEmpty()) {
            return;
        }
        byte[] all = java.util.Arrays.copyOf(used.toByteArray(), (int) ((boot.clusterCount + 7) / 8));
        long cb = boot.clusterBytes();
        int sb = boot.sectorBytes();
        for (int i = dirtyBitmapBytes.nextSetBit(0); i >= 0; ) {
            int sectorStart = i / sb * sb;
            int end = Math.min(all.length, sectorStart + sb);
            long at = boot.clusterOffset(bitmapChain.get(sectorStart / cb)) + sectorStart % cb;
            io.write(at, ByteBuffer.wrap(all, sectorStart, end - sectorStart));
            i = dirtyBitmapBytes.nextSetBit(end);
        }
        dirtyBitmapBytes.clear();
    }

    // ---- attributes -----------------------------------------------------------------------------

    @Override
    public synchronized Attributes getattr(long ino) throws ErrnoException {
        Node n = node(ino);
        long cb = boot.clusterBytes();
        if (n.isDirectory()) {
            ExFatDir d = directory(n);
            int subdirs = 0;
            for (ExFatDir.Entry e : d.entries()) {
                if (e.isDirectory()) {
                    subdirs++;
                }
            }
            long size = d.chain.length() * cb;
            long mtime = n.entry == null ? 0 : time(n.entry, 1);
            long atime = n.entry == null ? 0 : time(n.entry, 2);
            return new Attributes(ino, Attributes.S_IFDIR | (0777 & ~options.dmask()), 2 + subdirs, options.uid(),
                    options.gid(), 0, size, size / 512, (int) cb, atime, mtime, mtime);
        }
        ExFatDir.Entry e = n.entry;
        int perms = 0777 & ~options.fmask();
        if ((e.attr() & ExFatDir.ATTR_READ_ONLY) != 0) {
            perms &= ~0222;
        }
        long allocated = (e.length() + cb - 1) / cb * cb;
        long mtime = time(e, 1);
        return new Attributes(ino, Attributes.S_IFREG | perms, 1, options.uid(), options.gid(), 0, e.length(),
                allocated / 512, (int) cb, time(e, 2), mtime, mtime);
    }

    /** A timestamp (section 7.4.8) as UTC nanoseconds: its own UTC offset if valid, else time_offset. */
    private long time(ExFatDir.Entry e, int which) {
        int[] t = e.time(which);
        int ts = t[0];
        int sec = (ts & 0x1f) * 2;
        int min = ts >>> 5 & 0x3f;
        int hour = ts >>> 11 & 0x1f;
        int day = ts >>> 16 & 0x1f;
        int month = ts >>> 21 & 0xf;
        int year = 1980 + (ts >>> 25 & 0x7f);
        int offsetMinutes = (t[2] & 0x80) != 0 ? ((byte) (t[2] << 1) >> 1) * 15 : options.offsetMinutes();
        try {
            long local = LocalDateTime.of(year, month, day, hour, min, Math.min(sec, 59)).toEpochSecond(ZoneOffset.UTC);
            return (local - offsetMinutes * 60L) * 1_000_000_000L + Math.min(t[1], 199) * 10_000_000L;
        } catch (java.time.DateTimeException bad) {
            return 0; // a stored date that is not one (0, or month 13): the epoch, as Linux shows garbage dates
        }
    }

    /** {timestamp, 10 ms, utc offset} for {@code nanos}, stored as local time at time_offset. */
    private int[] stamp(long nanos) {
        int off = options.offsetMinutes();
        long secs = Math.floorDiv(nanos, 1_000_000_000L) + off * 60L;
        LocalDateTime t = LocalDateTime.ofEpochSecond(secs, 0, ZoneOffset.UTC);
        int year = Math.max(0, Math.min(127, t.getYear() - 1980));
        if (t.getYear() < 1980) {
            t = LocalDateTime.of(1980, 1, 1, 0, 0);
        }
        int ts = year << 25 | t.getMonthValue() << 21 | t.getDayOfMonth() << 16 | t.getHour() << 11
                | t.getMinute() << 5 | t.getSecond() / 2;
        int tenMs = (int) ((secs % 2 + 2) % 2 * 100 + Math.floorMod(nanos, 1_000_000_000L) / 10_000_000L);
        return new int[] {ts, tenMs, 0x80 | (off / 15) & 0x7f};
    }

    private void touch(ExFatDir.Entry e, boolean created) {
        int[] t = stamp(wallNanos.getAsLong());
        if (created) {
            e.time(0, t);
        }
        e.time(1, t);
        e.time(2, t);
    }

    @Override
    public synchronized void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos)
            throws ErrnoException {
        Node n = node(ino);
        if ((uid >= 0 && uid != options.uid()) || (gid >= 0 && gid != options.gid())) {
            if (!options.quiet()) {
                throw new ErrnoException(Errno.EPERM, "exfat: owners are the mount's uid=" + options.uid() + ",gid="
                        + options.gid() + "; exFAT stores none (mount with quiet to ignore chown)");
            }
        }
        if (mode >= 0) {
            int base = 0777 & ~(n.isDirectory() ? options.dmask() : options.fmask());
            boolean rw = (mode & 07777) == base;
            boolean ro = !n.isDirectory() && (mode & 07777) == (base & ~0222);
            if (!rw && !ro) {
                if (!options.quiet()) {
                    throw new ErrnoException(Errno.EPERM, String.format(Locale.ROOT,
                            "exfat: mode %04o cannot be stored: exFAT keeps only a read-only attribute (%04o or %04o)",
                            mode & 07777, base, base & ~0222));
                }
            } else if (n.entry != null) {
                checkWritable();
                int attr = ro ? n.entry.attr() | ExFatDir.ATTR_READ_ONLY : n.entry.attr() & ~ExFatDir.ATTR_READ_ONLY;
                if (attr != n.entry.attr()) {
                    n.entry.attr(attr);
                    updateEntry(n);
                }
            }
        }
        if ((atimeNanos != Long.MIN_VALUE || mtimeNanos != Long.MIN_VALUE) && n.entry != null) {
            checkWritable();
            if (mtimeNanos != Long.MIN_VALUE) {
                n.entry.time(1, stamp(mtimeNanos));
            }
            if (atimeNanos != Long.MIN_VALUE) {
                n.entry.time(2, stamp(atimeNanos));
            }
            updateEntry(n);
        }
    }

    // ---- names ----------------------------------------------------------------------------------

    /** Linux's exfat drops trailing dots from names, in lookups and creates alike. */
    private static String stripDots(String name) {
        int end = name.length();
        while (end > 0 && name.charAt(end - 1) == '.') {
            end--;
        }
        return name.substring(0, end);
    }

    /** The name as stored: trailing dots gone, no character exFAT forbids, at most 255 UTF-16 units. */
    static String checkName(String name) throws ErrnoException {
        String n = stripDots(name);
        if (n.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "exfat: '" + name + "': nothing left without the trailing dots");
        }
        if (n.length() > ExFatDir.MAX_NAME) {
            throw new ErrnoException(Errno.ENAMETOOLONG, "exfat: a name holds at most 255 UTF-16 units; '" + name
                    + "' has " + n.length());
        }
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (c < 0x20 || "\"*/:<>?\\|".indexOf(c) >= 0) {
                throw new ErrnoException(Errno.EINVAL, String.format("exfat: '%s': character U+%04X is not allowed in "
                        + "an exFAT name", name, (int) c));
            }
        }
        return n;
    }

    @Override
    public synchronized long lookup(long dir, String name) throws ErrnoException {
        Node d = directoryNode(dir);
        if (name.equals(".")) {
            return d.ino;
        }
        if (name.equals("..")) {
            return d.parent;
        }
        ExFatDir.Entry e = directory(d).find(stripDots(name));
        if (e == null) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        return nodeFor(d, e).ino;
    }

    @Override
    public synchronized List<DirEntry> readdir(long dir) throws ErrnoException {
        Node d = directoryNode(dir);
        List<DirEntry> out = new ArrayList<>();
        out.add(new DirEntry(".", d.ino, DirEntry.DT_DIR));
        out.add(new DirEntry("..", d.parent, DirEntry.DT_DIR));
        for (ExFatDir.Entry e : List.copyOf(directory(d).entries())) {
            out.add(new DirEntry(e.name, nodeFor(d, e).ino, e.isDirectory() ? DirEntry.DT_DIR : DirEntry.DT_REG));
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
            throw new ErrnoException(Errno.EPERM, "exfat: " + name + ": exFAT holds only files and directories");
        }
        String n = checkName(name);
        ExFatDir parent = directory(d);
        if (parent.find(n) != null) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        boolean isDir = type == Attributes.S_IFDIR;
        ExFatDir.Entry e = parent.newEntry(n, isDir ? ExFatDir.ATTR_DIRECTORY
                : ExFatDir.ATTR_ARCHIVE | ((mode & 0222) == 0 ? ExFatDir.ATTR_READ_ONLY : 0));
        touch(e, true);
        ClusterChain chain = new ClusterChain();
        if (isDir) {
            // A directory gets its first cluster at once, zeroed: all entries unused (Linux does the same).
            long c = allocate(lastCluster(d));
            io.zero(boot.clusterOffset(c), boot.clusterBytes());
            chain.append(c);
            e.firstCluster(c);
            e.flags(ExFatDir.FLAG_ALLOCATION_POSSIBLE | ExFatDir.FLAG_NO_FAT_CHAIN);
            e.length(boot.clusterBytes());
            e.validLength(boot.clusterBytes());
        }
        try {
            parent.add(e);
        } catch (ErrnoException full) {
            if (isDir) {
                mark(chain.first(), false);
            }
            throw full;
        }
        Node node = nodeFor(d, e);
        touchDirectory(d);
        node.chain = chain;
        if (isDir) {
            ExFatDir created = new ExFatDir(this, path(node), chain, node.ino);
            created.load(false);
            node.dir = created;
            keep(node);
        }
        return node.ino;
    }

    /** A directory's entries changed: its modification time, as Linux sets it (the root has none). */
    private void touchDirectory(Node d) throws ErrnoException {
        if (d.entry != null) {
            touch(d.entry, false);
            updateEntry(d);
        }
    }

    private long lastCluster(Node d) throws ErrnoException {
        ClusterChain c = chain(d);
        return c.isEmpty() ? 2 : c.last() + 1;
    }

    @Override
    public long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException {
        throw new ErrnoException(Errno.EPERM, "exfat: " + name + ": exFAT has no symbolic links");
    }

    @Override
    public void link(long dir, String name, long ino) throws ErrnoException {
        throw new ErrnoException(Errno.EPERM, "exfat: " + name + ": exFAT has no hard links");
    }

    private static ExFatDir.Entry existing(ExFatDir parent, String name, boolean directory) throws ErrnoException {
        ExFatDir.Entry e = parent.find(stripDots(name));
        if (e == null) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        if (e.isDirectory() != directory) {
            throw new ErrnoException(directory ? Errno.ENOTDIR : Errno.EISDIR, name);
        }
        return e;
    }

    @Override
    public synchronized void unlink(long dir, String name, boolean open) throws ErrnoException {
        checkWritable();
        Node d = directoryNode(dir);
        ExFatDir parent = directory(d);
        ExFatDir.Entry e = existing(parent, name, false);
        Node n = nodeFor(d, e);
        parent.delete(e);
        touchDirectory(d);
        forget(d, e);
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
        ExFatDir parent = directory(d);
        ExFatDir.Entry e = existing(parent, name, true);
        Node n = nodeFor(d, e);
        if (!directory(n).isEmpty()) {
            throw new ErrnoException(Errno.ENOTEMPTY, name);
        }
        parent.delete(e);
        touchDirectory(d);
        forget(d, e);
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
        ExFatDir src = directory(from);
        ExFatDir.Entry e = src.find(stripDots(fromName));
        if (e == null) {
            throw new ErrnoException(Errno.ENOENT, fromName);
        }
        String newName = checkName(toName);
        Node moving = nodeFor(from, e);
        if (moving.isDirectory() && from != to) {
            for (Node p = to; ; p = nodes.get(p.parent)) {
                if (p == moving) {
                    throw new ErrnoException(Errno.EINVAL, "exfat: cannot move directory " + fromName + " into itself");
                }
                if (p == root || p == null) {
                    break;
                }
            }
        }
        ExFatDir dst = directory(to);
        ExFatDir.Entry target = dst.find(newName);
        if (target == e) {
            if (e.name.equals(newName)) {
                return;
            }
            target = null; // the same entry in another case: renamed in place below
        }
        if (target != null) {
            Node victim = nodeFor(to, target);
            if (moving.isDirectory() && !target.isDirectory()) {
                throw new ErrnoException(Errno.ENOTDIR, toName);
            }
            if (!moving.isDirectory() && target.isDirectory()) {
                throw new ErrnoException(Errno.EISDIR, toName);
            }
            if (target.isDirectory() && !directory(victim).isEmpty()) {
                throw new ErrnoException(Errno.ENOTEMPTY, toName);
            }
            dst.delete(target);
            forget(to, target);
            if (!target.isDirectory() && open.test(victim.ino)) {
                victim.orphan = true;
            } else {
                freeClusters(victim);
                forgetDirectory(victim);
                nodes.remove(victim.ino);
            }
        }
        // The new set first: if the directory cannot take it, the file keeps its old name.
        ExFatDir.Entry moved = dst.newEntry(newName, e.attr());
        System.arraycopy(e.raw, 4, moved.raw, 4, 28); // attributes and times
        System.arraycopy(e.raw, 32 + 8, moved.raw, 32 + 8, 24); // lengths and first cluster
        moved.flags(e.flags());
        dst.add(moved);
        src.delete(e);
        forget(from, e);
        moving.entry = moved;
        moving.parent = to.ino;
        inoByLocation.put(location(to.ino, moved.index), moving.ino);
        touchDirectory(from);
        if (to != from) {
            touchDirectory(to);
        }
    }

    @Override
    public String readlink(long ino) throws ErrnoException {
        throw new ErrnoException(Errno.EINVAL, "exfat: not a symbolic link (exFAT has none)");
    }

    // ---- data -----------------------------------------------------------------------------------

    @Override
    public synchronized int read(long ino, long pos, ByteBuffer dst) throws ErrnoException {
        Node n = fileNode(ino);
        long size = n.entry.length();
        if (pos >= size || !dst.hasRemaining()) {
            return 0;
        }
        int count = (int) Math.min(dst.remaining(), size - pos);
        long valid = n.entry.validLength();
        ByteBuffer out = dst.slice().limit(count);
        if (pos < valid) {
            int fromDisk = (int) Math.min(count, valid - pos);
            transfer(chain(n), pos, out.slice().limit(fromDisk), false);
            out.position(fromDisk);
        }
        while (out.hasRemaining()) {
            out.put((byte) 0); // past ValidDataLength: zeros, whatever the clusters hold
        }
        dst.position(dst.position() + count);
        return count;
    }

    private void transfer(ClusterChain chain, long pos, ByteBuffer buf, boolean write) throws ErrnoException {
        long cb = boot.clusterBytes();
        long p = pos;
        while (buf.hasRemaining()) {
            long index = p / cb;
            long within = p % cb;
            long run = chain.contiguousFrom(index);
            int n = (int) Math.min(buf.remaining(), run * cb - within);
            ByteBuffer part = buf.slice().limit(n);
            long at = boot.clusterOffset(chain.get(index)) + within;
            if (write) {
                io.write(at, part);
            } else {
                io.read(at, part);
            }
            buf.position(buf.position() + n);
            p += n;
        }
    }

    @Override
    public synchronized int write(long ino, long pos, ByteBuffer src) throws ErrnoException {
        checkWritable();
        Node n = fileNode(ino);
        int count = src.remaining();
        long end = pos + count;
        ExFatDir.Entry e = n.entry;
        if (end > e.length()) {
            allocateFor(n, end);
            e.length(end);
        }
        long valid = e.validLength();
        if (pos > valid) {
            zero(chain(n), valid, pos); // the gap becomes valid data: it must read as zeros
        }
        transfer(chain(n), pos, src.slice(), true);
        src.position(src.limit());
        if (end > valid) {
            e.validLength(end);
        }
        touch(e, false);
        e.attr(e.attr() | ExFatDir.ATTR_ARCHIVE);
        updateEntry(n);
        return count;
    }

    private void zero(ClusterChain chain, long from, long to) throws ErrnoException {
        long cb = boot.clusterBytes();
        long p = from;
        while (p < to) {
            long index = p / cb;
            long within = p % cb;
            long n = Math.min(to - p, chain.contiguousFrom(index) * cb - within);
            io.zero(boot.clusterOffset(chain.get(index)) + within, n);
            p += n;
        }
    }

    /**
     * Gives the node's chain enough clusters for {@code size} bytes: the next cluster after the
     * last when free (the file stays one run), else any free one, after which a NoFatChain file
     * has its clusters written into the FAT.
     */
    private void allocateFor(Node n, long size) throws ErrnoException {
        long cb = boot.clusterBytes();
        long need = (size + cb - 1) / cb;
        ClusterChain chain = chain(n);
        if (need - chain.length() > boot.clusterCount - usedCount) {
            throw new ErrnoException(Errno.ENOSPC, "exfat: " + (need - chain.length()) + " clusters needed, "
                    + (boot.clusterCount - usedCount) + " free");
        }
        boolean contiguous = n.entry == null ? false : n.entry.contiguous() || chain.isEmpty();
        while (chain.length() < need) {
            long c = allocate(chain.isEmpty() ? 2 : chain.last() + 1);
            if (chain.isEmpty()) {
                if (n.entry != null) {
                    n.entry.firstCluster(c);
                }
            } else if (c != chain.last() + 1 && contiguous) {
                // Fragmenting: the run so far goes into the FAT.
                for (long i = 0; i + 1 < chain.length(); i++) {
                    fatSet(chain.get(i), chain.get(i + 1));
                }
                contiguous = false;
            }
            if (!contiguous && !chain.isEmpty()) {
                fatSet(chain.last(), c);
            }
            chain.append(c);
            if (!contiguous) {
                fatSet(c, EOC);
            }
        }
        if (n.entry != null) {
            n.entry.flags(ExFatDir.FLAG_ALLOCATION_POSSIBLE | (contiguous ? ExFatDir.FLAG_NO_FAT_CHAIN : 0));
        }
    }

    /** A directory full: one more zeroed cluster, and its length in the parent's entry. */
    void growDirectory(ExFatDir d) throws ErrnoException {
        Node n = nodes.get(d.ino);
        if (n == null || chain(n) != d.chain) {
            throw new ErrnoException(Errno.EIO, "exfat: directory " + d.path + " is not known");
        }
        long cb = boot.clusterBytes();
        long size = (d.chain.length() + 1) * cb;
        if (size > 256L << 20) {
            throw new ErrnoException(Errno.ENOSPC, "exfat: directory " + d.path + " is at its 256 MiB limit");
        }
        allocateFor(n, size);
        io.zero(boot.clusterOffset(d.chain.last()), cb);
        if (n.entry != null) {
            n.entry.length(size);
            n.entry.validLength(size);
            updateEntry(n);
        }
    }

    @Override
    public synchronized void truncate(long ino, long size) throws ErrnoException {
        checkWritable();
        Node n = fileNode(ino);
        ExFatDir.Entry e = n.entry;
        if (size > e.length()) {
            allocateFor(n, size); // ValidDataLength stays: the new bytes read as zeros without being written
        } else if (size < e.length()) {
            ClusterChain chain = chain(n);
            long cb = boot.clusterBytes();
            long keep = (size + cb - 1) / cb;
            for (long i = keep; i < chain.length(); i++) {
                mark(chain.get(i), false);
            }
            chain.truncate(keep);
            if (keep == 0) {
                e.firstCluster(0);
                e.flags(ExFatDir.FLAG_ALLOCATION_POSSIBLE);
            } else if (!e.contiguous()) {
                fatSet(chain.last(), EOC);
            }
            e.validLength(Math.min(e.validLength(), size));
        }
        e.length(size);
        touch(e, false);
        e.attr(e.attr() | ExFatDir.ATTR_ARCHIVE);
        updateEntry(n);
    }

    @Override
    public synchronized long seek(long ino, long offset, boolean hole) throws ErrnoException {
        Node n = fileNode(ino);
        long size = n.entry.length();
        if (offset < 0 || offset >= size) {
            throw new ErrnoException(Errno.ENXIO, "offset " + offset + " is at or past the end (" + size + ")");
        }
        return hole ? size : offset; // exFAT files have no holes
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
        if (readOnly || n.entry == null || n.entry.length() == 0) {
            return;
        }
        ClusterChain c = chain(n);
        for (long i = 0; i < c.length(); i++) {
            mark(c.get(i), false);
        }
        n.chain = new ClusterChain();
    }

    // ---- the volume -----------------------------------------------------------------------------

    @Override
    public synchronized void sync() throws ErrnoException {
        if (readOnly || closed) {
            return;
        }
        writeBitmap();
        io.device().flush();
    }

    @Override
    public synchronized StatVfs statvfs() throws ErrnoException {
        long free = boot.clusterCount - usedCount;
        return new StatVfs((int) boot.clusterBytes(), boot.clusterCount, free, free, 0, 0, ExFatDir.MAX_NAME, readOnly);
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
                writeBitmap();
                io.write(ExFatBoot.OFF_PERCENT_IN_USE, ByteBuffer.wrap(new byte[] {
                    (byte) (usedCount * 100 / boot.clusterCount)}));
                io.device().flush();
                setDirty(false);
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
                        failure = new ErrnoException(Errno.EIO, "exfat: closing: " + e, e);
                    }
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** VolumeDirty in the main boot sector only (the backup is not kept in step, section 3.1.13). */
    private void setDirty(boolean dirty) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
        io.read(ExFatBoot.OFF_VOLUME_FLAGS, b);
        int flags = b.getShort(0) & 0xffff;
        int want = dirty ? flags | ExFatBoot.FLAG_DIRTY : flags & ~ExFatBoot.FLAG_DIRTY;
        if (want != flags) {
            b.putShort(0, (short) want);
            io.write(ExFatBoot.OFF_VOLUME_FLAGS, b.clear());
            io.device().flush();
        }
    }

    // ---- nodes ----------------------------------------------------------------------------------

    private static long location(long dirIno, int index) {
        return dirIno << 24 | index;
    }

    private Node nodeFor(Node dir, ExFatDir.Entry e) {
        long key = location(dir.ino, e.index);
        Long ino = inoByLocation.get(key);
        if (ino != null) {
            Node n = nodes.get(ino);
            if (n != null && n.entry == e) {
                return n;
            }
        }
        Node n = new Node(nextIno++, dir.ino, e);
        nodes.put(n.ino, n);
        inoByLocation.put(key, n.ino);
        return n;
    }

    private void forget(Node dir, ExFatDir.Entry e) {
        inoByLocation.remove(location(dir.ino, e.index));
    }

    private Node node(long ino) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, "exfat: unmounted");
        }
        Node n = nodes.get(ino);
        if (n == null) {
            throw new ErrnoException(Errno.ENOENT, "exfat: no inode " + ino);
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

    private ExFatDir directory(Node n) throws ErrnoException {
        if (n.dir != null) {
            heldDirs.touch(n.ino);
            return n.dir;
        }
        if (n != root) {
            if (n.entry.length() == 0) {
                throw new ErrnoException(Errno.EUCLEAN, "exFAT directory " + path(n) + " has no cluster");
            }
            checkNotInsideItself(n);
        }
        ExFatDir d = new ExFatDir(this, path(n), chain(n), n.ino);
        d.load(n == root);
        // Entries known as nodes keep their objects: the node's is the one kept up to date.
        for (ExFatDir.Entry e : List.copyOf(d.entries())) {
            Long ino = inoByLocation.get(location(n.ino, e.index));
            Node c = ino == null ? null : nodes.get(ino);
            if (c != null && c.entry != null && c.entry != e && c.entry.index == e.index && !c.orphan
                    && c.parent == n.ino) {
                d.replace(e, c.entry);
            }
        }
        n.dir = d;
        keep(n);
        return d;
    }

    /** Counts a directory read into memory (its copy, and the index over it) against the budget. */
    private void keep(Node n) {
        heldDirs.hold(n.ino, n.dir.bytes() + 4096L);
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

    /** A directory whose first cluster is the root's or an ancestor's would make every walk endless. */
    private void checkNotInsideItself(Node n) throws ErrnoException {
        long c = n.entry.firstCluster();
        if (c == boot.rootCluster) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT directory " + path(n) + " is the root directory again "
                    + "(cluster " + c + "): the directory tree loops");
        }
        Node at = nodes.get(n.parent);
        for (int depth = 0; at != null && at != root && depth < 4096; depth++) {
            if (at.entry.firstCluster() == c) {
                throw new ErrnoException(Errno.EUCLEAN, "exFAT directory " + path(n) + " is its ancestor "
                        + path(at) + " again (cluster " + c + "): the directory tree loops");
            }
            at = nodes.get(at.parent);
        }
    }

    private void updateEntry(Node n) throws ErrnoException {
        if (!n.orphan && n.entry != null) {
            directory(node(n.parent)).update(n.entry);
        }
    }

    private ClusterChain chain(Node n) throws ErrnoException {
        if (n.chain == null) {
            if (n == root) {
                n.chain = fatChain(boot.rootCluster, -1, "root directory");
            } else if (n.entry.length() == 0) {
                n.chain = new ClusterChain();
            } else if (n.entry.contiguous()) {
                ClusterChain c = new ClusterChain();
                long cb = boot.clusterBytes();
                long count = (n.entry.length() + cb - 1) / cb;
                for (long i = 0; i < count; i++) {
                    c.append(n.entry.firstCluster() + i);
                }
                n.chain = c;
            } else {
                n.chain = fatChain(n.entry.firstCluster(), n.entry.length(), path(n));
            }
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
            p.insert(0, "/" + (at.entry == null ? "?" : at.entry.name));
            at = nodes.get(at.parent);
        }
        return p.toString();
    }

    private void checkWritable() throws ErrnoException {
        if (readOnly) {
            throw new ErrnoException(Errno.EROFS, "exfat: mounted read-only");
        }
    }
}
