package io.jrump.fs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.ext.Mkfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FUSE server against an ext4 image made by our own {@link Mkfs}: requests are canned bytes in
 * the kernel's layout ({@code include/uapi/linux/fuse.h}), fed through a {@link MemoryFuseChannel},
 * and the replies are checked byte by byte.
 */
class FuseDispatcherTest {
    static final long NOW = 1_790_000_000_123_456_789L;
    static final int UID = 1000;
    static final int GID = 100;

    @TempDir
    Path dir;
    private JvmHost host;
    private ExtVfs fs;
    private FuseDispatcher dispatcher;
    private MemoryFuseChannel channel;
    private FuseServer server;
    private long unique = 1;

    @BeforeEach
    void mount() throws Exception {
        host = JvmHost.create("fuse-test");
        Path img = dir.resolve("fs.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            Mkfs.format(dev, Mkfs.Options.defaults(Mkfs.Type.EXT4, new byte[16], NOW / 1_000_000_000L)
                    .withBlockSize(4096));
        }
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        fs = ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> NOW)).closing(dev);
        dispatcher = new FuseDispatcher(fs, () -> NOW);
        channel = new MemoryFuseChannel();
        server = new FuseServer(channel, dispatcher);
    }

    /** Whatever a test did through FUSE, the unmounted image checks clean. */
    @AfterEach
    void unmountAndCheck() throws Exception {
        fs.close();
        try (BlockDevice dev = HostDisk.open(host, dir.resolve("fs.img").toString(), OpenMode.READ_ONLY)) {
            ExtCheck.Result r = ExtCheck.check(ExtFs.open(dev));
            assertTrue(r.isClean(), r.problems().toString());
        } finally {
            host.close();
        }
    }

    // ---- request building and reply parsing -------------------------------------------------------

    /** A little-endian struct builder. */
    static final class Body {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Body u32(long v) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
            out.writeBytes(b.array());
            return this;
        }

        Body u64(long v) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
            out.writeBytes(b.array());
            return this;
        }

        Body zeros(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        Body cstr(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            out.write(0);
            return this;
        }

        Body raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static Body body() {
        return new Body();
    }

    /** fuse_in_header followed by the body. */
    byte[] request(int opcode, long nodeid, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(40 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(40 + body.length).putInt(opcode).putLong(unique++).putLong(nodeid);
        b.putInt(UID).putInt(GID).putInt(4242).putInt(0);
        b.put(body);
        return b.array();
    }

    /** A parsed reply: fuse_out_header and the body as a little-endian buffer. */
    record Reply(int len, int error, long unique, ByteBuffer body) {
        long u64(int at) {
            return body.getLong(at);
        }

        int u32(int at) {
            return body.getInt(at);
        }
    }

    static Reply parse(byte[] r) {
        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(r.length, b.getInt(0), "fuse_out_header.len");
        return new Reply(b.getInt(0), b.getInt(4), b.getLong(8), b.slice(16, r.length - 16).order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Sends the requests through the channel, serves until it runs dry, and returns the replies. */
    List<Reply> serve(byte[]... requests) throws Exception {
        for (byte[] r : requests) {
            channel.enqueue(r);
        }
        server.serve();
        List<Reply> out = new ArrayList<>();
        for (byte[] r : channel.takeReplies()) {
            out.add(parse(r));
        }
        return out;
    }

    Reply call(int opcode, long nodeid, byte[] body) throws Exception {
        long u = unique;
        List<Reply> r = serve(request(opcode, nodeid, body));
        assertEquals(1, r.size(), FuseOpcode.name(opcode) + " replies");
        assertEquals(u, r.get(0).unique(), "unique echoed");
        return r.get(0);
    }

    Reply ok(int opcode, long nodeid, byte[] body) throws Exception {
        Reply r = call(opcode, nodeid, body);
        assertEquals(0, r.error(), FuseOpcode.name(opcode) + " error");
        return r;
    }

    static void assertErrno(Errno e, Reply r) {
        assertEquals(-e.number(), r.error(), "expected " + e);
        assertEquals(16, r.len());
    }

    static final int KERNEL_FLAGS = FuseDispatcher.FUSE_ASYNC_READ | FuseDispatcher.FUSE_BIG_WRITES
            | FuseDispatcher.FUSE_DO_READDIRPLUS | FuseDispatcher.FUSE_READDIRPLUS_AUTO | FuseDispatcher.FUSE_MAX_PAGES
            | (1 << 16) /* WRITEBACK_CACHE */ | (1 << 2) /* FILE_OPS */;

    byte[] initIn(int major, int minor) {
        return body().u32(major).u32(minor).u32(128 * 1024).u32(KERNEL_FLAGS).u32(0).zeros(44).bytes();
    }

    Reply init() throws Exception {
        return ok(FuseOpcode.INIT, 0, initIn(7, 40));
    }

    /** fuse_entry_out.nodeid of a LOOKUP. */
    long lookup(long parent, String name) throws Exception {
        return ok(FuseOpcode.LOOKUP, parent, body().cstr(name).bytes()).u64(0);
    }

    static final int O_RDWR = 2;

    /** CREATE: returns {nodeid, fh}. */
    long[] create(long parent, String name) throws Exception {
        Reply r = ok(FuseOpcode.CREATE, parent, body().u32(O_RDWR).u32(0100644).u32(022).u32(0).cstr(name).bytes());
        assertEquals(16 + 128 + 16, r.len());
        return new long[] {r.u64(0), r.u64(128)};
    }

    byte[] readIn(long fh, long offset, int size) {
        return body().u64(fh).u64(offset).u32(size).u32(0).u64(0).u32(O_RDWR).u32(0).bytes();
    }

    byte[] writeIn(long fh, long offset, byte[] data) {
        return body().u64(fh).u64(offset).u32(data.length).u32(0).u64(0).u32(O_RDWR).u32(0).raw(data).bytes();
    }

    // ---- INIT --------------------------------------------------------------------------------------

    @Test
    void initNegotiatesTheLowerMinorAndOnlyFlagsBothSidesHave() throws Exception {
        Reply r = init();
        assertEquals(16 + 64, r.len(), "fuse_init_out is 64 bytes from 7.23");
        assertEquals(7, r.u32(0), "major");
        assertEquals(FuseDispatcher.KERNEL_MINOR_VERSION, r.u32(4), "minor: ours, the kernel's is higher");
        assertEquals(128 * 1024, r.u32(8), "max_readahead echoed");
        assertEquals(FuseDispatcher.FUSE_ASYNC_READ | FuseDispatcher.FUSE_BIG_WRITES | FuseDispatcher.FUSE_DO_READDIRPLUS
                | FuseDispatcher.FUSE_READDIRPLUS_AUTO, r.u32(12), "flags: no writeback cache, no max_pages at 128 KiB");
        assertEquals(128 * 1024, r.u32(20), "max_write");
        assertEquals(1, r.u32(24), "time_gran");
        assertEquals(31, dispatcher.protocolMinor());
    }

    @Test
    void initOffersMaxPagesForWritesOver128KiB() throws Exception {
        dispatcher = new FuseDispatcher(fs, () -> NOW, 1024 * 1024, 0);
        server = new FuseServer(channel, dispatcher);
        Reply r = init();
        assertEquals(FuseDispatcher.FUSE_MAX_PAGES, r.u32(12) & FuseDispatcher.FUSE_MAX_PAGES);
        assertEquals(1024 * 1024, r.u32(20), "max_write");
        assertEquals(256, r.body().getShort(28), "max_pages");
        long[] f = create(1, "big");
        assertEquals(0, ok(FuseOpcode.LOOKUP, 1, body().cstr("big").bytes()).u64(16), "entry_valid 0: no caching");
        byte[] big = new byte[1024 * 1024];
        new Random(1).nextBytes(big);
        assertEquals(big.length, ok(FuseOpcode.WRITE, f[0], writeIn(f[1], 0, big)).u32(0));
    }

    @Test
    void fastOptionsNegotiateTheWritebackCacheAndKeepPagesAcrossOpens() throws Exception {
        dispatcher = new FuseDispatcher(fs, () -> NOW, FuseDispatcher.Options.fast());
        server = new FuseServer(channel, dispatcher);
        Reply r = init();
        int flags = r.u32(12);
        assertEquals(FuseDispatcher.FUSE_WRITEBACK_CACHE, flags & FuseDispatcher.FUSE_WRITEBACK_CACHE);
        assertEquals(FuseDispatcher.FUSE_MAX_PAGES, flags & FuseDispatcher.FUSE_MAX_PAGES);
        assertEquals(1024 * 1024, r.u32(20), "max_write");
        assertTrue(dispatcher.writebackCache());
        long[] f = create(1, "f");
        Reply created = ok(FuseOpcode.CREATE, 1, body().u32(O_RDWR).u32(0100644).u32(022).u32(0).cstr("g").bytes());
        assertEquals(FuseDispatcher.FOPEN_KEEP_CACHE, created.u32(128 + 8), "CREATE's open_flags");
        Reply opened = ok(FuseOpcode.OPEN, f[0], body().u32(0).u32(0).bytes());
        assertEquals(FuseDispatcher.FOPEN_KEEP_CACHE, opened.u32(8), "OPEN's open_flags");
        long dh = ok(FuseOpcode.OPENDIR, 1, body().u32(0).u32(0).bytes()).u64(0);
        ok(FuseOpcode.RELEASEDIR, 1, body().u64(dh).u32(0).u32(0).u64(0).bytes());
    }

    @Test
    void withTheWritebackCacheTheKernelMayReadThroughAWriteOnlyHandle() throws Exception {
        dispatcher = new FuseDispatcher(fs, () -> NOW, FuseDispatcher.Options.fast());
        server = new FuseServer(channel, dispatcher);
        init();
        long[] f = create(1, "f");
        byte[] data = "partly written page".getBytes(StandardCharsets.US_ASCII);
        ok(FuseOpcode.WRITE, f[0], writeIn(f[1], 0, data));
        long wo = ok(FuseOpcode.OPEN, f[0], body().u32(1 /* O_WRONLY */).u32(0).bytes()).u64(0);
        Reply page = ok(FuseOpcode.READ, f[0], readIn(wo, 0, 4096));
        assertEquals(16 + data.length, page.len(), "short at the end of the file");
        // The kernel keeps O_APPEND to itself: a WRITE lands at the offset it gives.
        long ap = ok(FuseOpcode.OPEN, f[0], body().u32(1 | 02000 /* O_WRONLY|O_APPEND */).u32(0).bytes()).u64(0);
        ok(FuseOpcode.WRITE, f[0], writeIn(ap, 0, "P".getBytes(StandardCharsets.US_ASCII)));
        assertEquals('P', ok(FuseOpcode.READ, f[0], readIn(f[1], 0, 1)).body().get(0));
        assertEquals(data.length, fs.getattr(f[0]).size());
    }

    @Test
    void withoutTheWritebackCacheAWriteOnlyHandleCannotRead() throws Exception {
        init();
        long[] f = create(1, "f");
        long wo = ok(FuseOpcode.OPEN, f[0], body().u32(1 /* O_WRONLY */).u32(0).bytes()).u64(0);
        assertEquals(0, ok(FuseOpcode.OPEN, f[0], body().u32(0).u32(0).bytes()).u32(8), "no FOPEN_KEEP_CACHE by default");
        assertErrno(Errno.EBADF, call(FuseOpcode.READ, f[0], readIn(wo, 0, 4096)));
    }

    @Test
    void theWritebackCacheIsNotOfferedOnAReadOnlyFilesystem() throws Exception {
        fs.close();
        BlockDevice dev = HostDisk.open(host, dir.resolve("fs.img").toString(), OpenMode.READ_ONLY);
        fs = ExtVfs.mount(dev, ExtFs.MountOptions.readOnlyMount()).closing(dev);
        dispatcher = new FuseDispatcher(fs, () -> NOW, FuseDispatcher.Options.fast());
        server = new FuseServer(channel, dispatcher);
        assertEquals(0, init().u32(12) & FuseDispatcher.FUSE_WRITEBACK_CACHE);
        assertTrue(!dispatcher.writebackCache());
    }

    @Test
    void aOneMiBReadOfAContiguousFileComesBackWholeAndStopsAtTheEnd() throws Exception {
        dispatcher = new FuseDispatcher(fs, () -> NOW, FuseDispatcher.Options.fast());
        server = new FuseServer(channel, dispatcher);
        init();
        long[] f = create(1, "big");
        byte[] big = new byte[3 << 20];
        new Random(5).nextBytes(big);
        for (int off = 0; off < big.length; off += 1 << 20) {
            ok(FuseOpcode.WRITE, f[0], writeIn(f[1], off, java.util.Arrays.copyOfRange(big, off, off + (1 << 20))));
        }
        for (int off = 0; off < big.length; off += 1 << 20) {
            Reply r = ok(FuseOpcode.READ, f[0], readIn(f[1], off, 1 << 20));
            assertEquals(16 + (1 << 20), r.len());
            byte[] got = new byte[1 << 20];
            r.body().get(0, got);
            assertArrayEquals(java.util.Arrays.copyOfRange(big, off, off + (1 << 20)), got, "MiB at " + off);
        }
        Reply tail = ok(FuseOpcode.READ, f[0], readIn(f[1], big.length - 100, 1 << 20));
        assertEquals(16 + 100, tail.len(), "short at the end");
        assertEquals(16, ok(FuseOpcode.READ, f[0], readIn(f[1], big.length + 4096, 4096)).len(), "empty past it");
    }

    @Test
    void initWithAnOlderKernelAnswersItsMinorInTheOldLayout() throws Exception {
        Reply r = ok(FuseOpcode.INIT, 0, body().u32(7).u32(22).u32(65536).u32(FuseDispatcher.FUSE_ASYNC_READ).bytes());
        assertEquals(16 + 24, r.len(), "FUSE_COMPAT_22_INIT_OUT_SIZE");
        assertEquals(22, r.u32(4));
        assertEquals(FuseDispatcher.FUSE_ASYNC_READ, r.u32(12));
    }

    @Test
    void initRefusesOldProtocolsAndRequestsBeforeInitGetEio() throws Exception {
        assertErrno(Errno.EIO, call(FuseOpcode.GETATTR, 1, body().zeros(16).bytes()));
        assertErrno(Errno.EPROTO, call(FuseOpcode.INIT, 0, initIn(6, 40)));
        assertErrno(Errno.EPROTO, call(FuseOpcode.INIT, 0, initIn(7, 8)));
        Reply future = ok(FuseOpcode.INIT, 0, initIn(8, 0));
        assertEquals(7, future.u32(0), "a newer major is told ours, as libfuse does");
        init();
        assertErrno(Errno.EPROTO, call(FuseOpcode.INIT, 0, initIn(7, 40)));
        assertEquals(0, ok(FuseOpcode.DESTROY, 0, new byte[0]).error());
        assertTrue(dispatcher.isDestroyed());
    }

    // ---- nodes -------------------------------------------------------------------------------------

    @Test
    void lookupThenGetattrOfAFile() throws Exception {
        long ino = fs.create(fs.rootInode(), "hello.txt", Attributes.S_IFREG | 0640, UID, GID, 0);
        fs.write(ino, 0, ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
        init();

        Reply e = ok(FuseOpcode.LOOKUP, 1, body().cstr("hello.txt").bytes());
        assertEquals(16 + 128, e.len(), "fuse_entry_out");
        assertEquals(ino, e.u64(0), "nodeid is the inode number");
        assertEquals(0, e.u64(8), "generation");
        assertEquals(1, e.u64(16), "entry_valid");
        assertEquals(1, e.u64(24), "attr_valid");
        assertEquals(ino, e.u64(40), "attr.ino");
        assertEquals(5, e.u64(48), "attr.size");
        assertEquals(NOW / 1_000_000_000L, e.u64(72), "attr.mtime");
        assertEquals(0100640, e.u32(40 + 60), "attr.mode");
        assertEquals(1, e.u32(40 + 64), "attr.nlink");
        assertEquals(UID, e.u32(40 + 68), "attr.uid");
        assertEquals(GID, e.u32(40 + 72), "attr.gid");
        assertEquals(4096, e.u32(40 + 80), "attr.blksize");
        assertEquals(1, dispatcher.lookupCount(ino));

        Reply a = ok(FuseOpcode.GETATTR, ino, body().u32(0).u32(0).u64(0).bytes());
        assertEquals(16 + 104, a.len(), "fuse_attr_out");
        assertEquals(ino, a.u64(16), "attr.ino");
        assertEquals(5, a.u64(24), "attr.size");
        assertEquals(0100640, a.u32(16 + 60));

        Reply root = ok(FuseOpcode.GETATTR, FuseDispatcher.FUSE_ROOT_ID, body().zeros(16).bytes());
        assertEquals(fs.rootInode(), root.u64(16), "FUSE_ROOT_ID is the root inode");
        assertEquals(040755, root.u32(16 + 60));

        assertErrno(Errno.ENOENT, call(FuseOpcode.LOOKUP, 1, body().cstr("missing").bytes()));
        assertErrno(Errno.ENOENT, call(FuseOpcode.GETATTR, 999, body().zeros(16).bytes()));
        assertErrno(Errno.EBADF, call(FuseOpcode.GETATTR, ino, body().u32(1).u32(0).u64(77).bytes()));
    }

    @Test
    void forgetAndBatchForgetGetNoReplyAndDropTheNode() throws Exception {
        long ino = fs.create(fs.rootInode(), "f", Attributes.S_IFREG | 0644, 0, 0, 0);
        init();
        lookup(1, "f");
        lookup(1, "f");
        assertEquals(2, dispatcher.lookupCount(ino));

        assertTrue(serve(request(FuseOpcode.FORGET, ino, body().u64(1).bytes())).isEmpty(), "FORGET has no reply");
        assertEquals(1, dispatcher.lookupCount(ino));
        byte[] batch = body().u32(2).u32(0).u64(ino).u64(1).u64(12345).u64(9).bytes();
        assertTrue(serve(request(FuseOpcode.BATCH_FORGET, 0, batch)).isEmpty(), "BATCH_FORGET has no reply");
        assertEquals(0, dispatcher.lookupCount(ino));
        assertErrno(Errno.ENOENT, call(FuseOpcode.GETATTR, ino, body().zeros(16).bytes()));

        // malformed forgets are dropped silently too
        assertTrue(serve(request(FuseOpcode.FORGET, ino, new byte[3]),
                request(FuseOpcode.BATCH_FORGET, 0, body().u32(5).u32(0).u64(ino).bytes())).isEmpty());
    }

    // ---- files -------------------------------------------------------------------------------------

    @Test
    void createWriteReadRoundTrip() throws Exception {
        init();
        long[] c = create(1, "data.bin");
        long nodeid = c[0];
        long fh = c[1];
        assertEquals(1, dispatcher.lookupCount(nodeid));
        byte[] data = "hello, fuse".getBytes(StandardCharsets.US_ASCII);

        Reply w = ok(FuseOpcode.WRITE, nodeid, writeIn(fh, 0, data));
        assertEquals(16 + 8, w.len(), "fuse_write_out");
        assertEquals(data.length, w.u32(0));

        Reply r = ok(FuseOpcode.READ, nodeid, readIn(fh, 0, 4096));
        assertEquals(16 + data.length, r.len(), "a short read at end of file");
        byte[] got = new byte[data.length];
        r.body().get(0, got);
        assertArrayEquals(data, got);

        Reply tail = ok(FuseOpcode.READ, nodeid, readIn(fh, 7, 100));
        assertEquals("fuse", StandardCharsets.US_ASCII.decode(tail.body()).toString());
        assertEquals(16, ok(FuseOpcode.READ, nodeid, readIn(fh, 1000, 100)).len(), "past the end: no data");

        byte[] big = new byte[128 * 1024];
        new Random(7).nextBytes(big);
        assertEquals(big.length, ok(FuseOpcode.WRITE, nodeid, writeIn(fh, 4096, big)).u32(0));
        Reply rb = ok(FuseOpcode.READ, nodeid, readIn(fh, 4096, big.length));
        byte[] back = new byte[big.length];
        rb.body().get(0, back);
        assertArrayEquals(big, back);

        ok(FuseOpcode.FLUSH, nodeid, body().u64(fh).u32(0).u32(0).u64(0).bytes());
        ok(FuseOpcode.FSYNC, nodeid, body().u64(fh).u32(0).u32(0).bytes());
        ok(FuseOpcode.RELEASE, nodeid, body().u64(fh).u32(O_RDWR).u32(0).u64(0).bytes());
        assertEquals(0, dispatcher.openHandles());
        assertErrno(Errno.EBADF, call(FuseOpcode.READ, nodeid, readIn(fh, 0, 10)));

        Attributes a = fs.getattr(nodeid);
        assertEquals(4096 + big.length, a.size());
        assertEquals(0100644, a.mode());
        assertEquals(UID, a.uid(), "owned by the caller of CREATE");

        Reply o = ok(FuseOpcode.OPEN, nodeid, body().u32(0).u32(0).bytes());
        long ro = o.u64(0);
        assertNotEquals(fh, ro);
        assertErrno(Errno.EBADF, call(FuseOpcode.WRITE, nodeid, writeIn(ro, 0, data)));
        assertErrno(Errno.EBADF, call(FuseOpcode.READ, 1, readIn(ro, 0, 10)));
        assertErrno(Errno.EISDIR, call(FuseOpcode.OPEN, 1, body().u32(0).u32(0).bytes()));
    }

    @Test
    void setattrTruncatesChmodsAndSetsTimesIncludingNow() throws Exception {
        init();
        long[] c = create(1, "f");
        ok(FuseOpcode.WRITE, c[0], writeIn(c[1], 0, new byte[10000]));
        int valid = 1 /* MODE */ | 8 /* SIZE */ | 16 /* ATIME */ | 32 /* MTIME */ | 256 /* MTIME_NOW */;
        byte[] in = body().u32(valid).u32(0).u64(0).u64(100).u64(0)
                .u64(1_600_000_000L).u64(0).u64(0).u32(5).u32(0).u32(0).u32(0600).u32(0).u32(0).u32(0).u32(0).bytes();
        assertEquals(88, in.length);
        Reply r = ok(FuseOpcode.SETATTR, c[0], in);
        assertEquals(16 + 104, r.len());
        assertEquals(100, r.u64(16 + 8), "size");
        assertEquals(1_600_000_000L, r.u64(16 + 24), "atime");
        assertEquals(5, r.u32(16 + 48), "atimensec");
        assertEquals(NOW / 1_000_000_000L, r.u64(16 + 32), "mtime NOW from the host clock");
        assertEquals(NOW % 1_000_000_000L, r.u32(16 + 52), "mtimensec");
        assertEquals(0100600, r.u32(16 + 60), "mode");
        assertErrno(Errno.EINVAL, call(FuseOpcode.SETATTR, c[0], body().u32(1).zeros(40).bytes()));
        assertErrno(Errno.EBADF, call(FuseOpcode.SETATTR, c[0], body().u32(64 | 8).u32(0).u64(999).zeros(72).bytes()));
    }

    // ---- directories -------------------------------------------------------------------------------

    record Dirent(long ino, long off, int namelen, int type, String name, int recordStart) {
    }

    static List<Dirent> dirents(Reply r, boolean plus) {
        List<Dirent> out = new ArrayList<>();
        ByteBuffer b = r.body();
        int at = 0;
        while (at < b.limit()) {
            int d = at + (plus ? 128 : 0);
            int namelen = b.getInt(d + 16);
            byte[] name = new byte[namelen];
            b.get(d + 24, name);
            out.add(new Dirent(b.getLong(d), b.getLong(d + 8), namelen, b.getInt(d + 20),
                    new String(name, StandardCharsets.UTF_8), at));
            int end = d + FuseDispatcher.align8(24 + namelen);
            for (int i = d + 24 + namelen; i < end; i++) {
                assertEquals(0, b.get(i), "padding of " + new String(name, StandardCharsets.UTF_8));
            }
            at = end;
        }
        assertEquals(b.limit(), at, "records fill the reply exactly");
        return out;
    }

    @Test
    void readdirRecordsAreEightByteAlignedWithNextOffsets() throws Exception {
        long a = fs.create(fs.rootInode(), "a", Attributes.S_IFREG | 0644, 0, 0, 0);
        fs.create(fs.rootInode(), "bb", Attributes.S_IFREG | 0644, 0, 0, 0);
        fs.create(fs.rootInode(), "ccccccccc", Attributes.S_IFDIR | 0755, 0, 0, 0);
        List<DirEntry> expected = fs.readdir(fs.rootInode());
        init();
        long fh = ok(FuseOpcode.OPENDIR, 1, body().u32(0).u32(0).bytes()).u64(0);

        Reply r = ok(FuseOpcode.READDIR, 1, readIn(fh, 0, 4096));
        List<Dirent> all = dirents(r, false);
        assertEquals(expected.size(), all.size());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < all.size(); i++) {
            Dirent d = all.get(i);
            assertEquals(i + 1, d.off(), "off is the cookie of the next entry");
            assertEquals(expected.get(i).name(), d.name());
            assertEquals(expected.get(i).ino(), d.ino());
            assertEquals(expected.get(i).type(), d.type());
            names.add(d.name());
        }
        assertEquals(Set.of(".", "..", "lost+found", "a", "bb", "ccccccccc"), names);
        // ".": 24 + 1 -> 32; "ccccccccc": 24 + 9 -> 40
        Dirent dot = all.stream().filter(d -> d.name().equals(".")).findFirst().orElseThrow();
        assertEquals(4, dot.type(), "DT_DIR");
        int len = 0;
        for (Dirent d : all) {
            len += FuseDispatcher.align8(24 + d.namelen());
        }
        assertEquals(16 + len, r.len());

        List<Dirent> rest = dirents(ok(FuseOpcode.READDIR, 1, readIn(fh, 3, 4096)), false);
        assertEquals(all.subList(3, all.size()).stream().map(Dirent::name).toList(),
                rest.stream().map(Dirent::name).toList(), "offset 3 resumes at the fourth entry");
        assertEquals(4, rest.get(0).off());

        List<Dirent> one = dirents(ok(FuseOpcode.READDIR, 1, readIn(fh, 0, 39)), false);
        assertEquals(1, one.size(), "only whole records fit");
        assertEquals(16, ok(FuseOpcode.READDIR, 1, readIn(fh, all.size(), 4096)).len(), "at the end: empty");

        Reply plus = ok(FuseOpcode.READDIRPLUS, 1, readIn(fh, 0, 8192));
        List<Dirent> p = dirents(plus, true);
        assertEquals(all.size(), p.size());
        for (Dirent d : p) {
            long nodeid = plus.u64(d.recordStart());
            if (d.name().equals(".") || d.name().equals("..")) {
                assertEquals(0, nodeid, "no node for dot entries");
            } else {
                assertEquals(d.ino(), nodeid);
                assertEquals(d.ino(), plus.u64(d.recordStart() + 40), "entry attr.ino");
            }
        }
        assertEquals(1, dispatcher.lookupCount(a), "READDIRPLUS counts a lookup per entry");
        ok(FuseOpcode.RELEASEDIR, 1, body().u64(fh).u32(0).u32(0).u64(0).bytes());
        assertErrno(Errno.EBADF, call(FuseOpcode.READDIR, 1, readIn(fh, 0, 4096)));
        assertErrno(Errno.ENOTDIR, call(FuseOpcode.OPENDIR, a, body().u32(0).u32(0).bytes()));
    }

    @Test
    void mkdirRenameUnlinkRmdir() throws Exception {
        init();
        Reply m = ok(FuseOpcode.MKDIR, 1, body().u32(0755).u32(022).cstr("d").bytes());
        long d = m.u64(0);
        assertEquals(040755, m.u32(40 + 60), "mode");
        assertEquals(2, m.u32(40 + 64), "nlink");
        long[] f = create(1, "f");
        ok(FuseOpcode.RELEASE, f[0], body().u64(f[1]).zeros(16).bytes());

        ok(FuseOpcode.RENAME, 1, body().u64(d).cstr("f").cstr("g").bytes());
        assertErrno(Errno.ENOENT, call(FuseOpcode.LOOKUP, 1, body().cstr("f").bytes()));
        assertEquals(f[0], lookup(d, "g"));
        assertErrno(Errno.ENOSYS, call(FuseOpcode.RENAME2, d, body().u64(1).u32(1).u32(0).cstr("g").cstr("h").bytes()));
        ok(FuseOpcode.RENAME2, d, body().u64(1).u32(0).u32(0).cstr("g").cstr("h").bytes());
        assertEquals(f[0], lookup(1, "h"));

        assertErrno(Errno.EISDIR, call(FuseOpcode.UNLINK, 1, body().cstr("d").bytes()));
        assertErrno(Errno.ENOTDIR, call(FuseOpcode.RMDIR, 1, body().cstr("h").bytes()));
        ok(FuseOpcode.UNLINK, 1, body().cstr("h").bytes());
        assertErrno(Errno.ENOENT, call(FuseOpcode.LOOKUP, 1, body().cstr("h").bytes()));
        ok(FuseOpcode.RMDIR, 1, body().cstr("d").bytes());
        assertErrno(Errno.ENOENT, call(FuseOpcode.LOOKUP, 1, body().cstr("d").bytes()));
        assertErrno(Errno.EEXIST, call(FuseOpcode.MKDIR, 1, body().u32(0755).u32(0).cstr("lost+found").bytes()));
    }

    @Test
    void anUnlinkedFileStaysReadableThroughItsHandleUntilRelease() throws Exception {
        init();
        long[] f = create(1, "tmp");
        byte[] data = "still here".getBytes(StandardCharsets.US_ASCII);
        ok(FuseOpcode.WRITE, f[0], writeIn(f[1], 0, data));
        long freeBefore = fs.statvfs().freeFiles();
        ok(FuseOpcode.UNLINK, 1, body().cstr("tmp").bytes());
        assertErrno(Errno.ENOENT, call(FuseOpcode.LOOKUP, 1, body().cstr("tmp").bytes()));
        Reply r = ok(FuseOpcode.READ, f[0], readIn(f[1], 0, 100));
        assertEquals("still here", StandardCharsets.US_ASCII.decode(r.body()).toString());
        assertEquals(freeBefore, fs.statvfs().freeFiles(), "the inode lives while open");
        ok(FuseOpcode.RELEASE, f[0], body().u64(f[1]).zeros(16).bytes());
        assertEquals(freeBefore + 1, fs.statvfs().freeFiles(), "freed at the last release");
    }

    @Test
    void symlinkReadlinkLinkMknodAndAccess() throws Exception {
        init();
        Reply s = ok(FuseOpcode.SYMLINK, 1, body().cstr("ln").cstr("/some/where").bytes());
        assertEquals(0120777, s.u32(40 + 60) | 0777);
        Reply rl = ok(FuseOpcode.READLINK, s.u64(0), new byte[0]);
        assertEquals("/some/where", StandardCharsets.UTF_8.decode(rl.body()).toString());
        long[] f = create(1, "f");
        Reply l = ok(FuseOpcode.LINK, 1, body().u64(f[0]).cstr("f2").bytes());
        assertEquals(f[0], l.u64(0));
        assertEquals(2, l.u32(40 + 64), "nlink");
        assertEquals(2, dispatcher.lookupCount(f[0]));
        Reply n = ok(FuseOpcode.MKNOD, 1, body().u32(0010644).u32(0).u32(0).u32(0).cstr("fifo").bytes());
        assertEquals(0010644, n.u32(40 + 60));
        ok(FuseOpcode.ACCESS, f[0], body().u32(6).u32(0).bytes());
        assertErrno(Errno.EACCES, call(FuseOpcode.ACCESS, f[0], body().u32(1).u32(0).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.READLINK, f[0], new byte[0]));
    }

    @Test
    void statfsReportsTheFilesystem() throws Exception {
        init();
        Reply r = ok(FuseOpcode.STATFS, 1, new byte[0]);
        assertEquals(16 + 80, r.len(), "fuse_statfs_out");
        var v = fs.statvfs();
        assertEquals(v.blocks(), r.u64(0));
        assertEquals(v.freeBlocks(), r.u64(8));
        assertEquals(v.availableBlocks(), r.u64(16));
        assertEquals(v.files(), r.u64(24));
        assertEquals(v.freeFiles(), r.u64(32));
        assertEquals(4096, r.u32(40), "bsize");
        assertEquals(255, r.u32(44), "namelen");
        assertEquals(4096, r.u32(48), "frsize");
        assertEquals(16L << 20, r.u64(0) * 4096);
    }

    // ---- extended attributes -----------------------------------------------------------------------

    @Test
    void xattrsAreSetReadListedAndRemoved() throws Exception {
        init();
        long[] f = create(1, "f");
        byte[] v = "value".getBytes(StandardCharsets.US_ASCII);
        ok(FuseOpcode.SETXATTR, f[0], body().u32(v.length).u32(0).cstr("user.a").raw(v).bytes());
        assertErrno(Errno.EEXIST, call(FuseOpcode.SETXATTR, f[0], body().u32(1).u32(1).cstr("user.a").raw(new byte[1]).bytes()));
        Reply size = ok(FuseOpcode.GETXATTR, f[0], body().u32(0).u32(0).cstr("user.a").bytes());
        assertEquals(5, size.body().getInt(0), "size 0 asks for the size");
        assertErrno(Errno.ERANGE, call(FuseOpcode.GETXATTR, f[0], body().u32(2).u32(0).cstr("user.a").bytes()));
        Reply value = ok(FuseOpcode.GETXATTR, f[0], body().u32(100).u32(0).cstr("user.a").bytes());
        byte[] got = new byte[value.body().remaining()];
        value.body().get(got);
        assertArrayEquals(v, got);
        Reply list = ok(FuseOpcode.LISTXATTR, f[0], body().u32(100).u32(0).bytes());
        byte[] names = new byte[list.body().remaining()];
        list.body().get(names);
        assertEquals("user.a\0", new String(names, StandardCharsets.US_ASCII));
        ok(FuseOpcode.REMOVEXATTR, f[0], body().cstr("user.a").bytes());
        assertErrno(Errno.ENODATA, call(FuseOpcode.GETXATTR, f[0], body().u32(0).u32(0).cstr("user.a").bytes()));
        assertErrno(Errno.ENODATA, call(FuseOpcode.REMOVEXATTR, f[0], body().cstr("user.a").bytes()));
        assertErrno(Errno.EOPNOTSUPP, call(FuseOpcode.SETXATTR, f[0], body().u32(1).u32(0).cstr("os2.a").raw(new byte[1]).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.SETXATTR, f[0], body().u32(99).u32(0).cstr("user.a").raw(new byte[1]).bytes()));
    }

    // ---- hostile input -----------------------------------------------------------------------------

    @Test
    void unknownOpcodesGetEnosys() throws Exception {
        init();
        assertErrno(Errno.ENOSYS, call(9999, 1, new byte[0]));
        assertErrno(Errno.ENOSYS, call(FuseOpcode.INTERRUPT, 0, body().u64(5).bytes()));
        assertErrno(Errno.ENOSYS, call(-1, 1, new byte[0]));
    }

    @Test
    void truncatedOrMalformedRequestsGetEinvalNotExceptions() throws Exception {
        init();
        long[] f = create(1, "f");
        assertErrno(Errno.EINVAL, call(FuseOpcode.LOOKUP, 1, "no-nul".getBytes(StandardCharsets.US_ASCII)));
        assertErrno(Errno.EINVAL, call(FuseOpcode.LOOKUP, 1, new byte[0]));
        assertErrno(Errno.EINVAL, call(FuseOpcode.LOOKUP, 1, body().cstr("a/b").bytes()));
        assertErrno(Errno.ENAMETOOLONG, call(FuseOpcode.LOOKUP, 1, body().cstr("x".repeat(256)).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.GETATTR, 1, new byte[4]));
        assertErrno(Errno.EINVAL, call(FuseOpcode.WRITE, f[0], body().u64(f[1]).u64(0).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.WRITE, f[0], body().u64(f[1]).u64(0).u32(100).zeros(20).raw(new byte[10]).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.READ, f[0], body().u64(f[1]).u64(0).u32(-1).zeros(16).bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.RENAME, 1, body().u64(1).cstr("f").bytes()));
        assertErrno(Errno.EINVAL, call(FuseOpcode.SYMLINK, 1, body().cstr("ln").bytes()));

        byte[] lying = request(FuseOpcode.GETATTR, 1, new byte[16]);
        lying[0] = 99; // fuse_in_header.len disagrees with what was read
        assertErrno(Errno.EINVAL, serve(lying).get(0));
        byte[] shortHeader = java.util.Arrays.copyOf(request(FuseOpcode.GETATTR, 1, new byte[0]), 30);
        ByteBuffer.wrap(shortHeader).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 30);
        assertErrno(Errno.EINVAL, serve(shortHeader).get(0));
        assertTrue(serve(new byte[10]).isEmpty(), "too short to know whom to answer");

        // every opcode with every truncation of a plausible body, and random bodies: a reply or none,
        // never an exception, and the server keeps serving
        Random rnd = new Random(42);
        for (int op = 1; op <= 52; op++) {
            if (op == FuseOpcode.INIT || op == FuseOpcode.DESTROY) {
                continue;
            }
            byte[] full = body().u64(f[1]).u64(0).u32(8).u32(0).u64(0).u32(0).u32(0).cstr("x").cstr("y").bytes();
            for (int cut = 0; cut <= full.length; cut++) {
                long[] nodes = {1, f[0], 0, 424242};
                byte[] req = request(op, nodes[rnd.nextInt(nodes.length)], java.util.Arrays.copyOf(full, cut));
                for (Reply r : serve(req)) {
                    assertTrue(r.error() <= 0);
                }
            }
            byte[] junk = new byte[rnd.nextInt(200)];
            rnd.nextBytes(junk);
            serve(request(op, f[0], junk));
        }
        assertTrue(dispatcher.badRequests() > 10);
        assertEquals(fs.rootInode(), ok(FuseOpcode.GETATTR, 1, new byte[16]).u64(16), "still serving");
    }

    @Test
    void workersOnAnExecutorServeUntilUnmount() throws Exception {
        init();
        long[] f = create(1, "f");
        int n = 200;
        for (int i = 0; i < n; i++) {
            channel.enqueue(request(FuseOpcode.GETATTR, f[0], new byte[16]));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            server.start(pool, 2).get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdown();
        }
        List<byte[]> replies = channel.takeReplies();
        assertEquals(n, replies.size());
        for (byte[] r : replies) {
            assertEquals(0, parse(r).error());
        }
        assertNull(dispatcher.handle(ByteBuffer.wrap(request(FuseOpcode.FORGET, f[0], body().u64(1).bytes()))));
    }
}
