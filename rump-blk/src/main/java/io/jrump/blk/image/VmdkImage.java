package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostRandom;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A VMware VMDK disk (Virtual Disk Format 1.1): a sequence of extents, each a sparse extent
 * (hosted "KDMV" or, read-only, ESX "COWD"; see {@link VmdkSparseExtent}), a flat file region,
 * or zeros. Opened either from a sparse extent file (monolithicSparse, streamOptimized, a COWD
 * file: one extent, the embedded descriptor read for the CID and parent) or from a text
 * descriptor file naming its extents (monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat,
 * vmfs, vmfsSparse), resolved against the descriptor's directory. A child (delta) disk reads
 * through its parent (parentFileNameHint), opened read-only by {@link ExtentFiles#openParent}.
 * seSparse and raw-device extents are refused ({@code EOPNOTSUPP}).
 *
 * <p>Writing: into sparse (uncompressed) and flat extents of a disk opened read-write.
 * {@link #create} makes a monolithicSparse image; {@link #writeStreamOptimized} writes a whole
 * streamOptimized image from a source device in one pass — the only way such an image can be
 * written, since its grains are compressed and its tables follow them. Thread-safe: requests
 * are serialized.
 */
public final class VmdkImage implements BlockDevice {
    /** How a descriptor's extent names become open files (Images resolves them against the descriptor's directory). */
    public interface ExtentFiles {
        /** The path of extent file {@code name}, as the descriptor names it. */
        String resolve(String name);

        ImageFile open(String path, boolean readOnly) throws ErrnoException;

        /** Opens a child disk's parent (any format), read-only; {@code depth} counts the parents above the first child. */
        BlockDevice openParent(String path, int depth) throws ErrnoException;
    }

    private interface Extent {
        void read(long offset, ByteBuffer dst) throws ErrnoException;

        void write(long offset, ByteBuffer src) throws ErrnoException;

        void flush() throws ErrnoException;

        void close() throws ErrnoException;
    }

    private static final int KDMV = 0x4b444d56;
    private static final int COWD = 0x434f5744;
    private static final long GRAIN_SECTORS = 128;
    private static final int GTES = 512;
    private static final long DESCRIPTOR_SECTORS = 20;
    /** Largest image {@link #create} makes: the grain offsets of a sparse extent are 32-bit sectors. */
    public static final long MAX_CREATE_SIZE = 2L << 40;
    /** Longest chain of parents followed; beyond it (a loop) is {@code ELOOP}. */
    static final int MAX_PARENTS = 16;
    private static final Pattern CID_LINE = Pattern.compile("^[ \\t]*CID[ \\t]*=[ \\t]*([0-9a-fA-F]{1,8})[ \\t\\r]*$",
            Pattern.MULTILINE | Pattern.UNIX_LINES);

    private final String name;
    private final String subformat;
    private final long size;
    private final boolean readOnly;
    private final long[] starts;
    private final Extent[] extents;
    private final ImageFile descriptorFile;
    private final BlockStats stats;
    private BlockDevice parent;
    /** The disk's content ID, which changes on the first write after open so that children see it. */
    private String cid;
    /** Where the descriptor's CID digits lie (file and byte offset), or null when it has none. */
    private ImageFile cidFile;
    private long cidAt;
    private HostRandom random;
    private boolean written;
    private boolean closed;

    private VmdkImage(String name, String subformat, long[] starts, Extent[] extents, long size, boolean readOnly,
            ImageFile descriptorFile, HostClock clock) {
        this.name = name;
        this.subformat = subformat;
        this.starts = starts;
        this.extents = extents;
        this.size = size;
        this.readOnly = readOnly;
        this.descriptorFile = descriptorFile;
        this.stats = new BlockStats(clock);
    }

    /**
     * Opens a VMDK: {@code file} is a sparse extent or a descriptor file at {@code path}. On
     * failure the caller closes {@code file}; extent files opened here are closed.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the structure and place for damaged metadata
     *     or a descriptor that disagrees with its extents, {@code ENOENT} naming a missing extent
     *     file, {@code ELOOP} for a descriptor naming itself, {@code EOPNOTSUPP} for what is not
     *     read (seSparse/raw-device extents, writing a compressed or COWD extent)
     */
    public static VmdkImage open(ImageFile file, String path, boolean readOnly, HostClock clock, HostRandom random,
            ExtentFiles files, int depth) throws ErrnoException {
        String n = file.name();
        long fileSize = file.size();
        int magic = 0;
        if (fileSize >= 4) {
            ByteBuffer m = ByteBuffer.allocate(4);
            file.read(0, m);
            magic = m.getInt(0);
        }
        if (files == null) {
            files = NO_FILES;
        }
        if (magic == KDMV || magic == COWD) {
            VmdkSparseExtent sparse = VmdkSparseExtent.open(file, readOnly, clock);
            String text = sparse.descriptorText();
            long textAt = sparse.header().descriptorOffset() * 512;
            if (magic == KDMV && sparse.header().capacity() == 0 && !text.isEmpty()) {
                // No grains of its own: a descriptor file in sparse-extent clothing (qemu reads these too).
                return openDescriptor(file, path, text, textAt, readOnly, clock, random, files, depth);
            }
            VmdkDescriptor d = VmdkDescriptor.parse(n + " (embedded descriptor)", text);
            String type = !d.createType().isEmpty() ? d.createType() : magic == COWD ? "vmfsSparse" : "monolithicSparse";
            VmdkImage img = new VmdkImage(n, type, new long[] {0}, new Extent[] {sparse(sparse, false)}, sparse.size(),
                    readOnly, null, clock);
            img.identify(d, text, file, textAt, random);
            if (d.hasParent()) {
                img.parent = openParent(n, path, d, files, depth);
                sparse.setParent(img.parent, 0);
            }
            return img;
        }
        if (fileSize > VmdkDescriptor.MAX_BYTES) {
            throw new ErrnoException(Errno.EUCLEAN, n + ": VMDK descriptor file of " + fileSize + " bytes is larger than "
                    + VmdkDescriptor.MAX_BYTES + " bytes");
        }
        ByteBuffer text = ByteBuffer.allocate((int) fileSize);
        file.read(0, text);
        return openDescriptor(file, path, new String(text.array(), StandardCharsets.UTF_8), 0, readOnly, clock, random,
                files, depth);
    }

    /** Where a caller gives no way to open other files: every extent or parent is {@code ENOENT}. */
    private static final ExtentFiles NO_FILES = new ExtentFiles() {
        @Override
        public String resolve(String name) {
            return name;
        }

        @Override
        public ImageFile open(String path, boolean readOnly) throws ErrnoException {
            throw new ErrnoException(Errno.ENOENT, path + ": no extent files can be opened here");
        }

        @Override
        public BlockDevice openParent(String path, int depth) throws ErrnoException {
            throw new ErrnoException(Errno.ENOENT, path + ": no parent can be opened here");
        }
    };

    /** A disk described by {@code descriptorText}, which lies at byte {@code textAt} of {@code file}. */
    private static VmdkImage openDescriptor(ImageFile file, String path, String descriptorText, long textAt,
            boolean readOnly, HostClock clock, HostRandom random, ExtentFiles files, int depth) throws ErrnoException {
        String n = file.name();
        VmdkDescriptor d = VmdkDescriptor.parse(n, descriptorText);
        if (d.extents().isEmpty()) {
            throw new ErrnoException(Errno.EUCLEAN, n + ": VMDK descriptor names no extent");
        }
        List<Extent> opened = new ArrayList<>();
        List<VmdkSparseExtent> sparse = new ArrayList<>();
        List<Long> sparseStarts = new ArrayList<>();
        BlockDevice parent = null;
        try {
            long[] starts = new long[d.extents().size()];
            long at = 0;
            Map<Path, Integer> extentFiles = new HashMap<>();
            for (VmdkDescriptor.Extent e : d.extents()) {
                if (e.file() != null) {
                    Integer before = extentFiles.putIfAbsent(normal(files.resolve(e.file())), e.line());
                    // Two sparse extents in one file would both allocate at its end, over each other.
                    if (before != null && (e.type().equals("SPARSE") || e.type().equals("VMFSSPARSE"))) {
                        throw new ErrnoException(Errno.EUCLEAN, n + ": VMDK descriptor line " + e.line()
                                + ": sparse extent \"" + e.file() + "\" is already an extent (line " + before + ")");
                    }
                }
                starts[opened.size()] = at;
                opened.add(openExtent(n, path, e, readOnly, clock, files, s -> {
                    sparse.add(s);
                    sparseStarts.add(starts[opened.size()]); // the extent being opened
                }));
                at += e.sectors() * 512;
            }
            if (d.hasParent()) {
                String hint = d.values().get("parentFileNameHint");
                if (hint != null && extentFiles.containsKey(normal(files.resolve(hint)))) {
                    throw new ErrnoException(Errno.ELOOP, n + ": VMDK parentFileNameHint \"" + hint
                            + "\" is one of the disk's own extents");
                }
                parent = openParent(n, path, d, files, depth);
                for (int i = 0; i < sparse.size(); i++) {
                    sparse.get(i).setParent(parent, sparseStarts.get(i));
                }
            }
            VmdkImage img = new VmdkImage(n, d.createType(), starts, opened.toArray(new Extent[0]), at, readOnly, file,
                    clock);
            img.parent = parent;
            img.identify(d, descriptorText, file, textAt, random);
            return img;
        } catch (ErrnoException | RuntimeException ex) {
            for (Extent e : opened) {
                try {
                    e.close();
                } catch (ErrnoException ignored) {
                    // already failing with the first error
                }
            }
            throw ex;
        }
    }

    /** Opens a child disk's parent by its parentFileNameHint and checks it is the version the child was made on. */
    private static BlockDevice openParent(String n, String path, VmdkDescriptor d, ExtentFiles files, int depth)
            throws ErrnoException {
        String want = d.values().get("parentCID");
        String hint = d.values().get("parentFileNameHint");
        if (hint == null || hint.isEmpty()) {
            throw new ErrnoException(Errno.EUCLEAN, n + ": VMDK descriptor names a parent (parentCID " + want
                    + ") but no parentFileNameHint");
        }
        if (depth >= MAX_PARENTS) {
            throw new ErrnoException(Errno.ELOOP, n + ": VMDK chain of more than " + MAX_PARENTS
                    + " parents (does it loop?) at parent \"" + hint + "\"");
        }
        String p = files.resolve(hint);
        if (normal(p).equals(normal(path))) {
            throw new ErrnoException(Errno.ELOOP, n + ": VMDK parentFileNameHint \"" + hint + "\" names the disk itself");
        }
        BlockDevice parent;
        try {
            parent = files.openParent(p, depth + 1);
        } catch (ErrnoException ex) {
            throw new ErrnoException(ex.errno(), n + ": VMDK parent \"" + hint + "\" (" + p + "): "
                    + (ex.errno() == Errno.ENOENT ? "no such file" : ex.getMessage()));
        }
        if (parent instanceof VmdkImage v && v.cid != null && !sameCid(v.cid, want)) {
            parent.close();
            throw new ErrnoException(Errno.EUCLEAN, n + ": VMDK parent \"" + hint + "\" has CID " + v.cid
                    + " but the child was made on CID " + want + ": the parent changed since");
        }
        return parent;
    }

    /** CIDs are hexadecimal numbers, written with or without leading zeros. */
    private static boolean sameCid(String a, String b) {
        try {
            return Long.parseLong(a.strip(), 16) == Long.parseLong(b.strip(), 16);
        } catch (NumberFormatException e) {
            return a.equalsIgnoreCase(b);
        }
    }

    /** Records the disk's CID and, when writable, where its digits lie, to change them on the first write. */
    private void identify(VmdkDescriptor d, String text, ImageFile f, long textAt, HostRandom random) {
        cid = d.values().get("CID");
        int nul = text.indexOf('\0');
        // The line the parser read (lines end at \n; the text at its first NUL), holding the CID it read.
        Matcher m = CID_LINE.matcher(nul < 0 ? text : text.substring(0, nul));
        if (!readOnly && random != null && cid != null && m.find() && m.group(1).equals(cid)) {
            cidFile = f;
            cidAt = textAt + text.substring(0, m.start(1)).getBytes(StandardCharsets.UTF_8).length; // bytes, not chars
            this.random = random;
        }
    }

    private static Extent openExtent(String n, String path, VmdkDescriptor.Extent e, boolean readOnly, HostClock clock,
            ExtentFiles files, Consumer<VmdkSparseExtent> sparseOpened) throws ErrnoException {
        String where = n + ": VMDK descriptor line " + e.line() + ": ";
        String type = e.type();
        if (e.access().equals("NOACCESS")) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where + "NOACCESS extents are not supported");
        }
        if (type.equals("ZERO")) {
            return zero(where);
        }
        boolean sparseType = type.equals("SPARSE") || type.equals("VMFSSPARSE");
        if (!sparseType && !type.equals("FLAT") && !type.equals("VMFS")) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where + "extent type " + type + " is not supported (SPARSE,"
                    + " VMFSSPARSE, FLAT, VMFS and ZERO are)");
        }
        String p = files.resolve(e.file());
        if (normal(p).equals(normal(path))) {
            throw new ErrnoException(Errno.ELOOP, where + "extent \"" + e.file() + "\" is the descriptor itself");
        }
        boolean ro = readOnly || e.access().equals("RDONLY");
        ImageFile f;
        try {
            f = files.open(p, ro);
        } catch (ErrnoException ex) {
            throw new ErrnoException(ex.errno(), where + "extent \"" + e.file() + "\" (" + p + "): "
                    + (ex.errno() == Errno.ENOENT ? "no such file" : ex.getMessage()));
        }
        try {
            if (sparseType) {
                ByteBuffer m = ByteBuffer.allocate(4);
                if (f.size() >= 4) {
                    f.read(0, m);
                }
                // Either magic for either type, as qemu reads them.
                if (m.getInt(0) != KDMV && m.getInt(0) != COWD) {
                    throw new ErrnoException(Errno.EUCLEAN, where + type + " extent \"" + e.file()
                            + "\" has no sparse extent magic (\"KDMV\" or \"COWD\")");
                }
                VmdkSparseExtent s = VmdkSparseExtent.open(f, ro, clock);
                if (s.header().capacity() < e.sectors()) {
                    throw new ErrnoException(Errno.EUCLEAN, where + "says extent \"" + e.file() + "\" has " + e.sectors()
                            + " sectors, its header's capacity is " + s.header().capacity());
                }
                sparseOpened.accept(s);
                return sparse(s, e.access().equals("RDONLY"));
            }
            if (e.offset() > Long.MAX_VALUE / 1024 || (e.offset() + e.sectors()) * 512 > f.size()) {
                throw new ErrnoException(Errno.EUCLEAN, where + "FLAT extent \"" + e.file() + "\" of " + e.sectors()
                        + " sectors from sector " + e.offset() + " runs past the end of the file (" + f.size() + " bytes)");
            }
            return flat(f, e.offset() * 512, e.access().equals("RDONLY"), where);
        } catch (ErrnoException | RuntimeException ex) {
            f.close();
            throw ex;
        }
    }

    /** A path as compared for loops: absolute, normalized (names only; symbolic links are not followed). */
    private static Path normal(String p) {
        return Path.of(p).toAbsolutePath().normalize();
    }

    private static Extent sparse(VmdkSparseExtent s, boolean rdonly) {
        return new Extent() {
            @Override
            public void read(long offset, ByteBuffer dst) throws ErrnoException {
                s.read(offset, dst);
            }

            @Override
            public void write(long offset, ByteBuffer src) throws ErrnoException {
                if (rdonly) {
                    throw new ErrnoException(Errno.EROFS, s.name() + ": the descriptor makes this extent RDONLY");
                }
                s.write(offset, src);
            }

            @Override
            public void flush() throws ErrnoException {
                s.flush();
            }

            @Override
            public void close() throws ErrnoException {
                s.close();
            }
        };
    }

    private static Extent flat(ImageFile f, long base, boolean rdonly, String where) {
        return new Extent() {
            @Override
            public void read(long offset, ByteBuffer dst) throws ErrnoException {
                f.read(base + offset, dst);
            }

            @Override
            public void write(long offset, ByteBuffer src) throws ErrnoException {
                if (rdonly) {
                    throw new ErrnoException(Errno.EROFS, where + "the extent is RDONLY");
                }
                f.write(base + offset, src);
            }

            @Override
            public void flush() throws ErrnoException {
                if (!f.isReadOnly()) {
                    f.flush();
                }
            }

            @Override
            public void close() {
                f.close();
            }
        };
    }

    private static Extent zero(String where) {
        return new Extent() {
            @Override
            public void read(long offset, ByteBuffer dst) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
            }

            @Override
            public void write(long offset, ByteBuffer src) throws ErrnoException {
                throw new ErrnoException(Errno.EROFS, where + "a ZERO extent cannot be written");
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * Creates an image of {@code size} bytes in the empty {@code file} and opens it read-write.
     * Subformat monolithicSparse (null means it): header, embedded descriptor, redundant and
     * primary grain directories with every grain table placed (as qemu and VMware do), 64 KiB
     * grains allocated on write. Other subformats are {@code EOPNOTSUPP}: streamOptimized is
     * written whole by {@link #writeStreamOptimized}; the flat and twoGbMaxExtent subformats are
     * made by {@link #createWithExtents}, which creates their extent files.
     */
    public static VmdkImage create(ImageFile file, long size, String subformat, HostClock clock, HostRandom random)
            throws ErrnoException {
        refuseSubformat(file.name(), subformat);
        checkNew(file, size);
        layOut(file, size / 512, null, null, random);
        return open(file, file.name(), false, clock, random, null, 0);
    }

    /**
     * Refuses ({@code EOPNOTSUPP}) a subformat {@link #create} does not make, naming it; null and
     * monolithicSparse pass. For callers that check before they create the file.
     */
    public static void refuseSubformat(String name, String subformat) throws ErrnoException {
        if (subformat != null && !subformat.equals("monolithicSparse")) {
            throw new ErrnoException(Errno.EOPNOTSUPP, name + ": creating VMDK subformat " + subformat + " is not supported"
                    + (subformat.equals("streamOptimized") ? " (a streamOptimized image is written whole from a source disk,"
                            + " by convert)" : " here (its extent files are made by createWithExtents)"));
        }
    }

    /**
     * Writes into the empty {@code file} a monolithicSparse child (delta) disk of {@code parent}:
     * its size, {@code parentCID} the parent's CID, {@code parentFileNameHint} {@code parentName}
     * (as the child will resolve it: relative to the child's directory, or absolute). Open it
     * with {@link Images#open}.
     */
    public static void createChild(ImageFile file, VmdkImage parent, String parentName, HostRandom random)
            throws ErrnoException {
        checkNew(file, parent.size());
        if (parent.cid() == null || parentName.isEmpty() || parentName.contains("\"")
                || parentName.chars().anyMatch(c -> c < 0x20)) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": a VMDK child needs a parent with a CID and a name a"
                    + " descriptor can hold, not \"" + parentName + "\"");
        }
        layOut(file, parent.size() / 512, parent.cid(), parentName, random);
    }

    /** Creates the extent files of a descriptor-file disk, named relative to the descriptor's directory. */
    public interface NewFiles {
        /** A new, empty file {@code name} of {@code size} bytes (reading as zeros). */
        ImageFile create(String name, long size) throws ErrnoException;
    }

    /** Largest extent of the twoGbMaxExtent subformats: 2 GiB, as qemu and VMware split them. */
    static final long TWO_GB_SECTORS = 4194304;

    /**
     * Writes a disk of {@code size} bytes whose text descriptor goes into the empty
     * {@code descriptor} file and whose extents are new files beside it, named as qemu names them
     * ({@code disk.vmdk}: {@code disk-flat.vmdk}; {@code disk-f001.vmdk}, ... or
     * {@code disk-s001.vmdk}, ... of at most 2 GiB each): subformat monolithicFlat,
     * twoGbMaxExtentFlat or twoGbMaxExtentSparse. Open it with {@link Images#open}.
     */
    public static void createWithExtents(ImageFile descriptor, long size, String subformat, NewFiles files,
            HostRandom random) throws ErrnoException {
        checkNew(descriptor, size);
        boolean sparse = subformat.equals("twoGbMaxExtentSparse");
        boolean split = sparse || subformat.equals("twoGbMaxExtentFlat");
        if (!split && !subformat.equals("monolithicFlat")) {
            throw new ErrnoException(Errno.EINVAL, descriptor.name() + ": VMDK subformat " + subformat + " is not made"
                    + " of extent files (monolithicFlat, twoGbMaxExtentFlat and twoGbMaxExtentSparse are)");
        }
        String base = baseName(descriptor.name());
        int dot = base.lastIndexOf('.');
        String stem = dot > 0 ? base.substring(0, dot) : base;
        String ext = dot > 0 ? base.substring(dot) : "";
        long sectors = size / 512;
        StringBuilder lines = new StringBuilder();
        long done = 0;
        for (int i = 1; done < sectors; i++) {
            long n = split ? Math.min(TWO_GB_SECTORS, sectors - done) : sectors;
            String name = stem + (split ? String.format(sparse ? "-s%03d" : "-f%03d", i) : "-flat") + ext;
            if (sparse) {
                try (ImageFile f = files.create(name, 0)) {
                    layOut(f, n, null, null, null);
                }
                lines.append("RW ").append(n).append(" SPARSE \"").append(name).append("\"\n");
            } else {
                files.create(name, n * 512).close();
                lines.append("RW ").append(n).append(" FLAT \"").append(name).append("\" 0\n");
            }
            done += n;
        }
        byte[] text = VmdkDescriptor.text(subformat, sectors, random.nextInt(Integer.MAX_VALUE), null, null,
                lines.toString()).getBytes(StandardCharsets.UTF_8);
        descriptor.write(0, ByteBuffer.wrap(text));
        descriptor.flush();
    }

    /**
     * Header, embedded descriptor ({@code random} null: an empty descriptor area), both
     * directories, every grain table placed: qemu's monolithicSparse layout.
     */
    private static void layOut(ImageFile file, long capacity, String parentCid, String parentName, HostRandom random)
            throws ErrnoException {
        long tables = ceil(ceil(capacity, GRAIN_SECTORS), GTES);
        long gdSectors = ceil(tables * 4, 512);
        long gtSectors = GTES * 4 / 512;
        long rgd = 1 + DESCRIPTOR_SECTORS;
        long gd = rgd + gdSectors + tables * gtSectors;
        long overhead = ceil(gd + gdSectors + tables * gtSectors, GRAIN_SECTORS) * GRAIN_SECTORS;
        VmdkHeader h = new VmdkHeader(1, VmdkHeader.FLAG_NEWLINE_TEST | VmdkHeader.FLAG_REDUNDANT_GD, capacity,
                GRAIN_SECTORS, 1, DESCRIPTOR_SECTORS, GTES, rgd, gd, overhead, 0);
        file.write(0, h.encode());
        if (random != null) { // an extent of a descriptor-file disk has an empty descriptor area
            file.write(512, descriptor("monolithicSparse", capacity, file.name(), random, parentCid, parentName));
        }
        file.write(rgd * 512, directory(tables, rgd + gdSectors));
        file.write(gd * 512, directory(tables, gd + gdSectors));
        // The grain tables start empty: extending the file over them leaves them zero.
        file.write(overhead * 512 - 512, ByteBuffer.allocate(512));
        file.flush();
    }

    private static void checkNew(ImageFile file, long size) throws ErrnoException {
        if (size <= 0 || size % 512 != 0 || size > MAX_CREATE_SIZE) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": a VMDK disk size must be a positive multiple of 512"
                    + " bytes up to 2 TiB, not " + size);
        }
        if (file.size() != 0) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": a VMDK image is written into an empty file; this one"
                    + " has " + file.size() + " bytes");
        }
        String base = baseName(file.name());
        if (base.isEmpty() || base.contains("\"") || base.chars().anyMatch(c -> c < 0x20)) {
            throw new ErrnoException(Errno.EINVAL, file.name() + ": a VMDK descriptor cannot name a file \"" + base + "\"");
        }
    }

    private static ByteBuffer descriptor(String type, long capacity, String fileName, HostRandom random, String parentCid,
            String parentName) throws ErrnoException {
        String base = baseName(fileName);
        byte[] text = VmdkDescriptor.single(type, capacity, base, random.nextInt(Integer.MAX_VALUE), parentCid, parentName)
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate((int) (DESCRIPTOR_SECTORS * 512));
        if (text.length >= b.capacity()) {
            throw new ErrnoException(Errno.ENAMETOOLONG, fileName + ": the VMDK descriptor (" + text.length
                    + " bytes with its names) does not fit its " + b.capacity() + " bytes");
        }
        b.put(0, text);
        return b;
    }

    private static String baseName(String fileName) {
        return fileName.substring(fileName.lastIndexOf('/') + 1);
    }

    /** A grain directory whose tables lie one after another from sector {@code firstTable}. */
    private static ByteBuffer directory(long tables, long firstTable) {
        ByteBuffer b = ByteBuffer.allocate((int) (ceil(tables * 4, 512) * 512)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < tables; i++) {
            b.putInt(i * 4, (int) (firstTable + (long) i * GTES * 4 / 512));
        }
        return b;
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * Writes {@code source} whole as a streamOptimized image into the empty {@code out}: header
     * (grain directory "at the end"), embedded descriptor, the grains that are not all zeros
     * deflate-compressed behind grain markers in disk order, each grain table that has an
     * allocated grain behind a table marker after its grains, the grain directory, the footer (a
     * header holding the directory's place) and the end-of-stream marker — VMware's layout, read
     * back by qemu-img and 7-Zip.
     */
    public static void writeStreamOptimized(ImageFile out, BlockDevice source, HostRandom random) throws ErrnoException {
        new VmdkStreamWriter(out, source).write(descriptor("streamOptimized", source.size() / 512, out.name(), random,
                null, null),
                DESCRIPTOR_SECTORS);
    }

    /** What a streamOptimized writer needs from here: the size checks. */
    static void checkStream(ImageFile out, BlockDevice source) throws ErrnoException {
        checkNew(out, source.size());
    }

    /** A new content ID in the descriptor, as VMware and qemu do before a disk first changes. */
    private void newCid() throws ErrnoException {
        if (cidFile == null) {
            return;
        }
        // qemu writes a CID without leading zeros: the new one keeps the old one's width, to fit in place.
        int width = cid.length();
        ByteBuffer old = ByteBuffer.allocate(width);
        cidFile.read(cidAt, old);
        // Only over the digits found (text that is not UTF-8 could shift where they lie).
        if (new String(old.array(), StandardCharsets.US_ASCII).equalsIgnoreCase(cid)) {
            long was = Long.parseLong(cid, 16);
            long bound = Math.min(1L << (4 * width), Integer.MAX_VALUE);
            long now = was;
            while (now == was) {
                now = random.nextInt((int) bound);
            }
            cid = String.format("%0" + width + "x", now);
            cidFile.write(cidAt, ByteBuffer.wrap(cid.getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** The content ID (CID) from the descriptor, or null when it names none. */
    public String cid() {
        return cid;
    }

    /** The subformat: the descriptor's createType ("monolithicSparse", "twoGbMaxExtentFlat", ...). */
    public String subformat() {
        return subformat;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int sectorSize() {
        return 512;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    private interface Piece {
        void run(Extent e, long offset, ByteBuffer part) throws ErrnoException;
    }

    /** Cuts a request at extent boundaries. */
    private void eachExtent(long offset, ByteBuffer buf, Piece piece) throws ErrnoException {
        int length = buf.remaining();
        int done = 0;
        int i = 0;
        while (done < length) {
            long pos = offset + done;
            while (i + 1 < starts.length && starts[i + 1] <= pos) {
                i++;
            }
            long end = i + 1 < starts.length ? starts[i + 1] : size;
            int n = (int) Math.min(length - done, end - pos);
            if (n == 0) { // an empty extent
                i++;
                continue;
            }
            ByteBuffer part = buf.duplicate().position(buf.position() + done).limit(buf.position() + done + n);
            piece.run(extents[i], pos - starts[i], part);
            done += n;
        }
    }

    private void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name + " is closed");
        }
    }

    @Override
    public synchronized void read(long offset, ByteBuffer dst) throws ErrnoException {
        checkOpen();
        int length = dst.remaining();
        Requests.checkRead(name, 512, size, offset, length);
        stats.time(BlockStats.Op.READ, length, () -> eachExtent(offset, dst, Extent::read));
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws ErrnoException {
        checkOpen();
        int length = src.remaining();
        Requests.checkWrite(name, 512, size, readOnly, offset, length);
        if (!written) {
            written = true;
            newCid();
        }
        stats.time(BlockStats.Op.WRITE, length, () -> eachExtent(offset, src, Extent::write));
    }

    @Override
    public synchronized void flush() throws ErrnoException {
        checkOpen();
        if (!readOnly) {
            stats.time(BlockStats.Op.FLUSH, 0, () -> {
                for (Extent e : extents) {
                    e.flush();
                }
            });
        }
    }

    /** Checked and accepted; grains stay allocated (a sparse extent cannot free one in place). */
    @Override
    public synchronized void discard(long offset, long length) throws ErrnoException {
        checkOpen();
        Requests.checkWrite(name, 512, size, readOnly, offset, length);
    }

    @Override
    public synchronized void close() throws ErrnoException {
        if (closed) {
            return;
        }
        closed = true;
        ErrnoException first = null;
        for (Extent e : extents) {
            try {
                e.close();
            } catch (ErrnoException ex) {
                first = first == null ? ex : first;
            }
        }
        if (descriptorFile != null) {
            descriptorFile.close();
        }
        if (parent != null) {
            try {
                parent.close();
            } catch (ErrnoException ex) {
                first = first == null ? ex : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "VMDK " + subformat + "[" + name + ", " + size + " bytes, " + extents.length + " extent"
                + (extents.length == 1 ? "" : "s") + "]";
    }
}
