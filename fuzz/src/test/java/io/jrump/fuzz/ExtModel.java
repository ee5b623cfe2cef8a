package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.ForwardingBlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.ext.Mkfs;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.Trees;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A model-based test of ext4 through the VFS on the simulated host: random syscalls run both on
 * the filesystem and on an in-memory model of what POSIX says they do, and must agree — same
 * results, same errno values, same tree. Then the power is cut; after the next mount (which
 * replays the journal and frees orphans) the tree must be exactly the model at the last commit,
 * and our fsck must find nothing wrong. Choices come from a seed or from Jazzer.
 */
final class ExtModel {
    /**
     * The disk: room for what a run writes (at most 250 steps of 12 KB writes in the seeded
     * tests), small so that mounting, checking and e2fsck stay cheap per input.
     */
    static final long DISK = 8L << 20;


    /** Where the choices come from. */
    interface Choices {
        int pick(int bound);

        byte[] bytes(int max);
    }

    /** One inode of the model: hard links share it. */
    static final class Node {
        final char type; // f, d, l
        byte[] data = new byte[0];
        String target;
        int mode;
        int links = 1;
        boolean changedSinceCommit;

        Node(char type, int mode) {
            this.type = type;
            this.mode = mode;
        }

        Node copy() {
            Node n = new Node(type, mode);
            n.data = data.clone();
            n.target = target;
            n.links = links;
            return n;
        }
    }

    private static final String[] DIRS = {"/", "/d0", "/d1", "/d0/d2"};
    private static final String[] NAMES = {"a", "b", "c", "d0", "d1", "d2"};

    private final SimWorld world;
    private final SimHost host;
    private final SimDisk disk;
    private final Choices choices;
    private TreeMap<String, Node> model = new TreeMap<>();
    /** The model as of the last commit, and which live nodes each snapshot node was copied from. */
    private TreeMap<String, Node> committed;
    private IdentityHashMap<Node, Node> committedFrom;
    private Vfs vfs;
    private ExtVfs fs;
    private final List<Integer> held = new ArrayList<>();
    private long seenCommits;
    final List<String> log = new ArrayList<>();

    ExtModel(long seed, Choices choices) throws ErrnoException {
        this.world = new SimWorld(seed);
        this.host = world.newHost("model");
        this.choices = choices;
        // Forked copy-on-write from the filesystem made once per JVM: no per-input mkfs or copy.
        this.disk = world.createDisk("d", freshFilesystem(choices.pick(2) == 0 ? 1024 : 4096));
        disk.setTornWrites(true);
        model.put("/", new Node('d', 0755));
        model.put("/lost+found", new Node('d', 0700));
        mount();
        snapshot();
    }

    /** A disk whose power goes out at its n-th write from now, when armed. */
    private final class CutDevice extends ForwardingBlockDevice {
        private long writesLeft = -1;

        CutDevice(BlockDevice below) {
            super(below);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws ErrnoException {
            if (writesLeft == 0) {
                log.add("power cut at a write of " + src.remaining() + " bytes at " + offset + " with "
                        + disk.unflushedWrites() + " unflushed writes");
                disk.powerCut();
                writesLeft = -1;
            }
            if (writesLeft > 0) {
                writesLeft--;
            }
            below.write(offset, src);
        }
    }

    private CutDevice cut;

    /** Freshly made filesystems by block size, made once per JVM with a fixed uuid and time, so runs stay reproducible. */
    private static final java.util.Map<Integer, SimDisk.Image> FRESH = new java.util.concurrent.ConcurrentHashMap<>();

    private static SimDisk.Image freshFilesystem(int blockSize) throws ErrnoException {
        SimDisk.Image made = FRESH.get(blockSize);
        if (made == null) {
            SimWorld w = new SimWorld(0);
            SimHost h = w.newHost("mkfs");
            SimDisk d = w.createDisk("d", DISK);
            BlockDevice dev = HostDisk.open(h, "d", OpenMode.READ_WRITE);
            byte[] uuid = new byte[16];
            java.util.Arrays.fill(uuid, (byte) 0x42);
            Mkfs.format(dev, Mkfs.Options.defaults(Mkfs.Type.EXT4, uuid, 1_790_000_000L).withBlockSize(blockSize));
            dev.flush();
            made = d.image();
            FRESH.put(blockSize, made);
        }
        return made;
    }

    private void mount() throws ErrnoException {
        cut = new CutDevice(HostDisk.open(host, "d", OpenMode.READ_WRITE));
        BlockDevice cache = new BufferCache(cut, CacheOptions.defaults().withBudget(1 << 20), host.clock());
        fs = ExtVfs.mount(cache, new ExtFs.MountOptions(false, host.clock()::wallNanos, 1 << 20));
        vfs = new Vfs(host.clock()::wallNanos);
        vfs.mount("/", fs, false);
        seenCommits = fs.ext().commits();
    }

    private void snapshot() {
        committed = new TreeMap<>();
        committedFrom = new IdentityHashMap<>();
        Map<Node, Node> copies = new IdentityHashMap<>();
        for (Map.Entry<String, Node> e : model.entrySet()) {
            Node c = copies.computeIfAbsent(e.getValue(), Node::copy);
            committed.put(e.getKey(), c);
            committedFrom.put(c, e.getValue());
            e.getValue().changedSinceCommit = false;
        }
    }

    private String path() {
        String dir = DIRS[choices.pick(DIRS.length)];
        return (dir.equals("/") ? "" : dir) + "/" + NAMES[choices.pick(NAMES.length)];
    }

    private static String parentOf(String p) {
        int i = p.lastIndexOf('/');
        return i == 0 ? "/" : p.substring(0, i);
    }

    /** ENOENT/ENOTDIR for a path whose parent is missing or not a directory, else null. */
    private Errno parentError(String p) {
        // Walk the parent's components: a file on the way is ENOTDIR, a (dangling) symlink or a gap ENOENT.
        String dir = parentOf(p);
        String at = "";
        for (String part : dir.substring(1).split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            at = at + "/" + part;
            Node n = model.get(at);
            if (n == null || n.type == 'l') {
                return Errno.ENOENT;
            }
            if (n.type == 'f') {
                return Errno.ENOTDIR;
            }
        }
        return null;
    }

    private boolean hasChildren(String dir) {
        String prefix = dir + "/";
        String next = model.higherKey(prefix);
        return next != null && next.startsWith(prefix) || model.containsKey(prefix);
    }

    @FunctionalInterface
    interface Call {
        void run() throws ErrnoException;
    }

    /** Runs the call; its errno (or null for success) must be what the model expects. */
    private boolean expect(String what, Errno expected, Call call) {
        Errno got = null;
        try {
            call.run();
        } catch (ErrnoException e) {
            got = e.errno();
        }
        log.add(what + " -> " + (got == null ? "ok" : got));
        if (got != expected) {
            fail(what + ": expected " + (expected == null ? "success" : expected) + ", got "
                    + (got == null ? "success" : got) + "\n" + String.join("\n", log));
        }
        return got == null;
    }

    /** Runs {@code steps} random operations, checking each against the model. */
    void run(int steps) throws ErrnoException {
        for (int i = 0; i < steps; i++) {
            step();
            long c = fs.ext().commits();
            if (c != seenCommits) {
                seenCommits = c;
                snapshot(); // the operation's end state is now durable
            }
        }
    }

    private void step() throws ErrnoException {
        String p = path();
        Node n = model.get(p);
        Errno pe = parentError(p);
        switch (choices.pick(12)) {
            case 0, 1 -> { // write, creating if needed
                int off = choices.pick(3) == 0 ? choices.pick(300_000) : choices.pick(9000);
                byte[] data = choices.bytes(12_000);
                Errno e = pe != null ? pe : n == null ? null : n.type == 'd' ? Errno.EISDIR : n.type == 'l' ? Errno.ELOOP : null;
                if (expect("write " + p + " @" + off + " +" + data.length, e, () -> {
                    int fd = vfs.open(p, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_NOFOLLOW, 0644);
                    try {
                        vfs.pwrite(fd, ByteBuffer.wrap(data), off);
                    } finally {
                        vfs.close(fd);
                    }
                })) {
                    Node f = n != null ? n : new Node('f', 0644);
                    model.putIfAbsent(p, f);
                    if (data.length > 0) {
                        if (f.data.length < off + data.length) {
                            f.data = java.util.Arrays.copyOf(f.data, off + data.length);
                        }
                        System.arraycopy(data, 0, f.data, off, data.length);
                    }
                    f.changedSinceCommit = true;
                }
            }
            case 2 -> {
                int size = choices.pick(3) == 0 ? choices.pick(400_000) : choices.pick(10_000);
                Errno e = pe != null ? pe : n == null || n.type == 'l' ? Errno.ENOENT : n.type == 'd' ? Errno.EISDIR : null;
                if (expect("truncate " + p + " " + size, e, () -> vfs.truncate(p, size))) {
                    n.data = java.util.Arrays.copyOf(n.data, size);
                    n.changedSinceCommit = true;
                }
            }
            case 3 -> {
                Errno e = pe != null ? pe : n == null ? Errno.ENOENT : n.type == 'd' ? Errno.EISDIR : null;
                if (expect("unlink " + p, e, () -> vfs.unlink(p))) {
                    model.remove(p);
                    n.links--;
                }
            }
            case 4 -> {
                Errno e = pe != null ? pe : n != null ? Errno.EEXIST : null;
                if (expect("mkdir " + p, e, () -> vfs.mkdir(p, 0755))) {
                    model.put(p, new Node('d', 0755));
                }
            }
            case 5 -> {
                Errno e = pe != null ? pe : n == null ? Errno.ENOENT : n.type != 'd' ? Errno.ENOTDIR
                        : hasChildren(p) ? Errno.ENOTEMPTY : null;
                if (expect("rmdir " + p, e, () -> vfs.rmdir(p))) {
                    model.remove(p);
                }
            }
            case 6 -> rename(p, path());
            case 7 -> {
                String target = "t" + choices.pick(5);
                Errno e = pe != null ? pe : n != null ? Errno.EEXIST : null;
                if (expect("symlink " + target + " " + p, e, () -> vfs.symlink(target, p))) {
                    Node l = new Node('l', 0777);
                    l.target = target;
                    model.put(p, l);
                }
            }
            case 8 -> {
                String to = path();
                Node t = model.get(to);
                Errno tpe = parentError(to);
                Errno e = pe != null ? pe : n == null ? Errno.ENOENT : tpe != null ? tpe : t != null ? Errno.EEXIST
                        : n.type == 'd' ? Errno.EPERM : null;
                if (expect("link " + p + " " + to, e, () -> vfs.link(p, to))) {
                    model.put(to, n);
                    n.links++;
                }
            }
            case 9 -> {
                int mode = choices.pick(01000);
                Errno e = pe != null ? pe : n == null || n.type == 'l' ? Errno.ENOENT : null;
                if (expect("chmod " + p + " " + Integer.toOctalString(mode), e, () -> vfs.chmod(p, mode))) {
                    n.mode = mode;
                }
            }
            case 10 -> {
                expect("sync", null, vfs::sync);
            }
            default -> {
                if (choices.pick(2) == 0) {
                    compareTree();
                } else if (n != null && n.type == 'f' && pe == null) {
                    // Keep a file open across its unlink: an orphan until closed, or until the next mount.
                    int[] fd = new int[1];
                    expect("open+unlink " + p, null, () -> {
                        fd[0] = vfs.open(p, OpenFlags.O_RDONLY, 0);
                        vfs.unlink(p);
                    });
                    held.add(fd[0]);
                    model.remove(p);
                    n.links--;
                } else if (!held.isEmpty()) {
                    int fd = held.remove(0);
                    expect("close " + fd, null, () -> vfs.close(fd));
                }
            }
        }
    }

    private void rename(String from, String to) {
        Node a = model.get(from);
        Node b = model.get(to);
        // Linux looks up both parents before the names in them.
        Errno e = parentError(from);
        if (e == null) {
            e = parentError(to);
        }
        if (e == null && a == null) {
            e = Errno.ENOENT;
        }
        if (e == null && a.type == 'd' && (to + "/").startsWith(from + "/") && !to.equals(from)) {
            e = Errno.EINVAL;
        }
        if (e == null && (b == a)) {
            expect("rename " + from + " " + to, null, () -> vfs.rename(from, to));
            return;
        }
        if (e == null && b != null) {
            if (a.type == 'd' && b.type != 'd') {
                e = Errno.ENOTDIR;
            } else if (a.type != 'd' && b.type == 'd') {
                e = Errno.EISDIR;
            } else if (b.type == 'd' && hasChildren(to)) {
                e = Errno.ENOTEMPTY;
            }
        }
        if (e == null && a.type == 'd' && (from + "/").startsWith(to + "/")) {
            e = Errno.ENOTEMPTY; // the target is an ancestor of the source, so not empty
        }
        if (expect("rename " + from + " " + to, e, () -> vfs.rename(from, to))) {
            if (b != null) {
                b.links--;
            }
            TreeMap<String, Node> moved = new TreeMap<>();
            // Keys, not entries: a TreeMap reuses entry objects when it removes.
            for (String k : new ArrayList<>(model.keySet())) {
                if (k.equals(from) || k.startsWith(from + "/")) {
                    moved.put(to + k.substring(from.length()), model.remove(k));
                }
            }
            model.remove(to);
            model.putAll(moved);
        }
    }

    /** The filesystem's tree must be the model's: names, types, modes, sizes, link counts, contents, targets. */
    void compareTree() throws ErrnoException {
        String mismatch = mismatch(model, null);
        if (mismatch != null) {
            fail(mismatch + "\n" + String.join("\n", log));
        }
    }

    /** How the filesystem differs from {@code expected}, or null; contents changed since the commit are not compared. */
    private String mismatch(TreeMap<String, Node> expected, IdentityHashMap<Node, Node> liveOf) throws ErrnoException {
        TreeSet<String> actual = Trees.paths(vfs::readdir);
        if (!expected.keySet().equals(actual)) {
            return "the tree: expected " + expected.keySet() + ", found " + actual;
        }
        for (Map.Entry<String, Node> e : expected.entrySet()) {
            Node m = e.getValue();
            String p = e.getKey();
            Attributes a = vfs.lstat(p);
            char type = a.isDirectory() ? 'd' : a.isSymlink() ? 'l' : 'f';
            if (m.type != type) {
                return p + ": type " + type + ", expected " + m.type;
            }
            if (m.type == 'l') {
                if (!m.target.equals(vfs.readlink(p))) {
                    return p + ": link target " + vfs.readlink(p) + ", expected " + m.target;
                }
                continue;
            }
            if ((m.mode & 07777) != a.permissions()) {
                return p + ": mode " + Integer.toOctalString(a.permissions()) + ", expected " + Integer.toOctalString(m.mode);
            }
            if (m.type == 'd') {
                long subdirs = expected.entrySet().stream().filter(x -> x.getValue().type == 'd'
                        && x.getKey().startsWith(p.equals("/") ? "/" : p + "/") && !x.getKey().equals(p)
                        && x.getKey().lastIndexOf('/') == (p.equals("/") ? 0 : p.length())).count();
                if (a.nlink() != 2 + subdirs) {
                    return p + ": directory links " + a.nlink() + ", expected " + (2 + subdirs);
                }
                continue;
            }
            if (m.links != a.nlink() || m.data.length != a.size()) {
                return p + ": links " + a.nlink() + " size " + a.size() + ", expected " + m.links + " and " + m.data.length;
            }
            Node live = liveOf == null ? m : liveOf.get(m);
            if (liveOf == null || live == null || !live.changedSinceCommit) {
                int fd = vfs.open(p, OpenFlags.O_RDONLY, 0);
                ByteBuffer b = ByteBuffer.allocate(m.data.length);
                vfs.read(fd, b);
                vfs.close(fd);
                if (!java.util.Arrays.equals(m.data, b.array())) {
                    return p + ": contents differ";
                }
            }
        }
        return null;
    }

    /**
     * Cuts the power between operations, mounts again and checks: the tree is the model at the
     * last commit, and our fsck is clean. Returns the disk's bytes after a clean unmount.
     */
    byte[] powerCutAndCheck() throws ErrnoException {
        log.add("power cut with " + disk.unflushedWrites() + " unflushed writes");
        disk.powerCut();
        return recoverAndCheck(false);
    }

    /**
     * Cuts the power at the {@code nth} device write of a sync — inside the commit, between
     * journal, commit block and home writes. After recovery the tree must be the model before
     * the sync or after it, nothing in between.
     */
    byte[] powerCutDuringSyncAndCheck(int nth) throws ErrnoException {
        cut.writesLeft = nth;
        try {
            vfs.sync();
            log.add("sync finished before write " + nth);
            disk.powerCut();
        } catch (ErrnoException e) {
            log.add("sync failed: " + e.errno());
        }
        crashed = imageBytes();
        return recoverAndCheck(true);
    }

    /** The disk as the power cut left it, before any recovery. */
    byte[] crashed;

    boolean recovered() {
        return fs.ext().recoveredBlocks() > 0;
    }

    private byte[] recoverAndCheck(boolean eitherSide) throws ErrnoException {
        TreeMap<String, Node> before = committed;
        IdentityHashMap<Node, Node> beforeFrom = committedFrom;
        TreeMap<String, Node> after = model;
        mount();
        if (fs.ext().recoveredBlocks() > 0) {
            log.add("recovered " + fs.ext().recoveredBlocks() + " blocks from the journal");
        }
        ExtCheck.Result r = ExtCheck.check(fs.ext());
        assertTrue(r.isClean(), "after the power cut: " + r.problems() + "\n" + String.join("\n", log));
        String mismatch = mismatch(before, beforeFrom);
        if (mismatch != null && eitherSide) {
            String other = mismatch(after, null);
            mismatch = other == null ? null : mismatch + "; and against the state after the sync: " + other;
        }
        if (mismatch != null) {
            fail("after the power cut: " + mismatch + "\n" + String.join("\n", log));
        }
        vfs.close();
        return imageBytes();
    }

    /** Closes everything cleanly (no power cut) and checks the result. */
    byte[] closeAndCheck() throws ErrnoException {
        compareTree();
        for (int fd : held) {
            vfs.close(fd);
        }
        held.clear();
        vfs.close();
        BlockDevice dev = HostDisk.open(host, "d", OpenMode.READ_ONLY);
        ExtCheck.Result r = ExtCheck.check(ExtFs.open(dev));
        assertTrue(r.isClean(), "after unmount: " + r.problems() + "\n" + String.join("\n", log));
        return imageBytes();
    }

    byte[] imageBytes() throws ErrnoException {
        BlockDevice dev = HostDisk.open(host, "d", OpenMode.READ_ONLY);
        ByteBuffer all = ByteBuffer.allocate((int) DISK);
        dev.read(0, all);
        return all.array();
    }

    /** Runs {@code e2fsck -fn} on the bytes; it must report a clean filesystem. */
    static void assertE2fsckClean(byte[] image, String context) throws Exception {
        Path f = imageFile("ext-model", image);
        try {
            assertEquals(0, e2fsck(f, "-fn", context), context);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Where image files for e2fsck go: memory (/dev/shm) when the machine has it, else the temp directory. */
    private static final Path IMAGE_DIR = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm"))
            ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
    private static final int CHUNK = 4096;
    private static final byte[] ZERO_CHUNK = new byte[CHUNK];

    /** The image in a new sparse file: only its non-zero 4 KiB chunks are written (most of a small filesystem is zeros). */
    static Path imageFile(String prefix, byte[] image) throws java.io.IOException {
        Path f = Files.createTempFile(IMAGE_DIR, prefix, ".img");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.WRITE)) {
            for (int at = 0; at < image.length; at += CHUNK) {
                int n = Math.min(CHUNK, image.length - at);
                if (java.util.Arrays.mismatch(image, at, at + n, ZERO_CHUNK, 0, n) != -1) {
                    ch.write(ByteBuffer.wrap(image, at, n), at);
                }
            }
            ch.truncate(image.length); // no-op when the last chunk was written
            if (ch.size() < image.length) {
                ch.write(ByteBuffer.wrap(new byte[1]), image.length - 1);
            }
        }
        return f;
    }

    /**
     * Lets e2fsck replay our journal on the crashed bytes ({@code e2fsck -fy}), then checks the
     * result with {@code e2fsck -fn}: e2fsprogs must read our transactions as we wrote them.
     */
    static String assertE2fsckRecovers(byte[] crashed, String context) throws Exception {
        Path f = imageFile("ext-crash", crashed);
        try {
            StringBuilder out = new StringBuilder();
            int rc = e2fsck(f, "-fy", context, out);
            assertTrue(rc <= 1, "e2fsck -fy exit " + rc + ": " + out + "\n" + context);
            assertTrue(out.toString().contains("recovering journal"), "e2fsck found a journal to replay: " + out);
            assertEquals(0, e2fsck(f, "-fn", context), "after e2fsck replayed our journal\n" + context);
            return out.toString();
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static int e2fsck(Path f, String flags, String context) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = e2fsck(f, flags, context, out);
        if (rc != 0) {
            System.err.println("e2fsck " + flags + ": " + out);
        }
        return rc;
    }

    private static int e2fsck(Path f, String flags, String context, StringBuilder out) throws Exception {
        Process p = new ProcessBuilder("e2fsck", flags, f.toString()).redirectErrorStream(true).start();
        out.append(new String(p.getInputStream().readAllBytes()));
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), context);
        return p.exitValue();
    }
}
