package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.ext.Mkfs;
import io.jrump.fs.fuse.FuseDispatcher;
import io.jrump.fs.fuse.FuseOpcode;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Requests chosen by the fuzzer, after a proper INIT, into a FUSE server over a fresh ext4 (set
 * up with the defaults, or as {@code rump mount} sets it up, with the writeback cache): the
 * opcodes it serves and others, on node ids and file handles it handed out or made up, with
 * bodies of any length and content. Every reply must be well formed (its length, the request's
 * unique, an errno or success, nothing but the header with an error); the filesystem must never
 * throw an unchecked exception (the dispatcher would hide it as EIO, so the test watches the
 * filesystem's calls itself); and after the requests the image must check clean.
 */
class FuseDispatcherFuzzTest {
    private static final int DISK = 2 << 20;
    private static final long NOW = 1_790_000_000_000_000_000L;
    private static final int[] OPCODES = {FuseOpcode.LOOKUP, FuseOpcode.FORGET, FuseOpcode.GETATTR,
        FuseOpcode.SETATTR, FuseOpcode.READLINK, FuseOpcode.SYMLINK, FuseOpcode.MKNOD, FuseOpcode.MKDIR,
        FuseOpcode.UNLINK, FuseOpcode.RMDIR, FuseOpcode.RENAME, FuseOpcode.LINK, FuseOpcode.OPEN, FuseOpcode.READ,
        FuseOpcode.WRITE, FuseOpcode.STATFS, FuseOpcode.RELEASE, FuseOpcode.FSYNC, FuseOpcode.FLUSH,
        FuseOpcode.OPENDIR, FuseOpcode.READDIR, FuseOpcode.RELEASEDIR, FuseOpcode.FSYNCDIR, FuseOpcode.ACCESS,
        FuseOpcode.CREATE, FuseOpcode.BATCH_FORGET, FuseOpcode.FALLOCATE, FuseOpcode.READDIRPLUS,
        FuseOpcode.LSEEK, FuseOpcode.INIT, FuseOpcode.GETXATTR, FuseOpcode.INTERRUPT};
    private static final String[] NAMES = {"a", "b", "dir", "f", ".", "..", "x".repeat(255), "x".repeat(256), ""};
    private static final byte[] TEMPLATE = freshImage();

    private static byte[] freshImage() {
        try {
            SimHost host = new SimWorld(1).newHost("mkfs");
            HostDisk disk = HostDisk.create(host, "d", DISK);
            Mkfs.format(disk, Mkfs.Options.defaults(Mkfs.Type.EXT4, new byte[16], NOW / 1_000_000_000L)
                    .withBlockSize(1024).withBytesPerInode(16384));
            ByteBuffer image = ByteBuffer.allocate(DISK);
            disk.read(0, image);
            return image.array();
        } catch (Exception e) {
            throw new IllegalStateException("mkfs for the fuzz image failed", e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void requestsFromAHostileKernel(FuzzedDataProvider data) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(TEMPLATE, DISK);
        ExtVfs ext = ExtVfs.mount(d.disk(), ExtFs.MountOptions.readWrite(() -> NOW));
        List<Throwable> bugs = new ArrayList<>();
        FileSystemOps watched = (FileSystemOps) Proxy.newProxyInstance(FileSystemOps.class.getClassLoader(),
                new Class<?>[] {FileSystemOps.class}, (proxy, method, args) -> {
                    try {
                        return method.invoke(ext, args);
                    } catch (InvocationTargetException e) {
                        if (e.getCause() instanceof RuntimeException || e.getCause() instanceof Error) {
                            bugs.add(e.getCause());
                        }
                        throw e.getCause();
                    }
                });
        // Both ways the server can be set up: the defaults, and what rump mount uses (writeback cache,
        // kept page cache, 1 MiB requests, replies built in a caller's direct area).
        boolean fast = data.consumeBoolean();
        FuseDispatcher fuse = new FuseDispatcher(watched, () -> NOW,
                fast ? FuseDispatcher.Options.fast() : FuseDispatcher.Options.defaults());
        ByteBuffer area = fast ? ByteBuffer.allocateDirect(fuse.replyBufferSize()) : null;
        List<Long> nodes = new ArrayList<>(List.of(1L));
        List<Long> handles = new ArrayList<>(List.of(0L));
        long unique = 1;
        ByteBuffer init = request(FuseOpcode.INIT, unique++, 0, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(7).putInt(31).putInt(128 * 1024).putInt(data.consumeInt()).array());
        check(fuse.handle(init, area), unique - 1);
        int requests = data.consumeInt(1, 48);
        for (int i = 0; i < requests && data.remainingBytes() > 0; i++) {
            int opcode = data.consumeBoolean() ? OPCODES[data.consumeInt(0, OPCODES.length - 1)] : data.consumeInt();
            long nodeid = data.consumeInt(0, 7) != 0 ? nodes.get(data.consumeInt(0, nodes.size() - 1)) : data.consumeLong();
            ByteBuffer fixed = ByteBuffer.wrap(data.consumeBytes(data.consumeInt(0, 96))).order(ByteOrder.LITTLE_ENDIAN);
            if (fixed.capacity() >= 8 && data.consumeBoolean()) {
                fixed.putLong(0, handles.get(data.consumeInt(0, handles.size() - 1))); // fh leads most *_in structs
            }
            byte[] tail = switch (data.consumeInt(0, 3)) {
                case 0 -> new byte[0];
                case 1 -> cstring(NAMES[data.consumeInt(0, NAMES.length - 1)]);
                case 2 -> concat(cstring(NAMES[data.consumeInt(0, NAMES.length - 1)]),
                        cstring(NAMES[data.consumeInt(0, NAMES.length - 1)]));
                default -> data.consumeBytes(data.consumeInt(0, 8192));
            };
            long u = unique++;
            ByteBuffer reply = fuse.handle(request(opcode, u, nodeid, concat(fixed.array(), tail)), area);
            if (check(reply, u) == 0 && reply != null) {
                learn(opcode, reply, nodes, handles);
            }
        }
        assertTrue(bugs.isEmpty(), () -> "the filesystem threw: " + bugs);
        check(fuse.handle(request(FuseOpcode.DESTROY, unique, 0, new byte[0]), area), unique);
        ext.close();
        ExtCheck.Result r = ExtCheck.check(ExtFs.open(d.disk()));
        assertTrue(r.isClean(), () -> "not clean after FUSE requests: " + r.problems());
    }

    /** A request in the kernel's layout: fuse_in_header (40 bytes) and the body. */
    private static ByteBuffer request(int opcode, long unique, long nodeid, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(FuseDispatcher.IN_HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(b.capacity()).putInt(opcode).putLong(unique).putLong(nodeid).putInt(0).putInt(0).putInt(4242)
                .putInt(0).put(body);
        return b.flip();
    }

    /** Checks a reply's framing; returns its error field (0 for success or no reply). */
    private static int check(ByteBuffer reply, long unique) {
        if (reply == null) {
            return 0;
        }
        ByteBuffer r = reply.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = r.position();
        assertTrue(r.remaining() >= FuseDispatcher.OUT_HEADER_SIZE, "reply shorter than fuse_out_header");
        assertEquals(r.remaining(), r.getInt(at), "fuse_out_header.len");
        int error = r.getInt(at + 4);
        assertEquals(unique, r.getLong(at + 8), "fuse_out_header.unique");
        assertTrue(error <= 0 && error > -4096, "fuse_out_header.error " + error);
        if (error != 0) {
            assertEquals(FuseDispatcher.OUT_HEADER_SIZE, r.remaining(), "an error reply carries nothing else");
        }
        return error;
    }

    /** Node ids from entry replies and file handles from open replies, for later requests to use. */
    private static void learn(int opcode, ByteBuffer reply, List<Long> nodes, List<Long> handles) {
        ByteBuffer r = reply.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int body = r.position() + FuseDispatcher.OUT_HEADER_SIZE;
        int len = r.remaining() - FuseDispatcher.OUT_HEADER_SIZE;
        switch (opcode) {
            case FuseOpcode.LOOKUP, FuseOpcode.MKDIR, FuseOpcode.MKNOD, FuseOpcode.SYMLINK, FuseOpcode.LINK,
                    FuseOpcode.CREATE -> {
                if (len >= 8 && r.getLong(body) != 0) {
                    nodes.add(r.getLong(body));
                }
                if (opcode == FuseOpcode.CREATE && len >= 128 + 8) {
                    handles.add(r.getLong(body + 128)); // fuse_open_out after fuse_entry_out
                }
            }
            case FuseOpcode.OPEN, FuseOpcode.OPENDIR -> {
                if (len >= 8) {
                    handles.add(r.getLong(body));
                }
            }
            default -> { }
        }
    }

    private static byte[] cstring(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(b, new byte[1]);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
