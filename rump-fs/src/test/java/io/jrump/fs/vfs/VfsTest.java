package io.jrump.fs.vfs;

import static io.jrump.kernel.sys.OpenFlags.O_APPEND;
import static io.jrump.kernel.sys.OpenFlags.O_CREAT;
import static io.jrump.kernel.sys.OpenFlags.O_DIRECTORY;
import static io.jrump.kernel.sys.OpenFlags.O_EXCL;
import static io.jrump.kernel.sys.OpenFlags.O_NOFOLLOW;
import static io.jrump.kernel.sys.OpenFlags.O_RDONLY;
import static io.jrump.kernel.sys.OpenFlags.O_RDWR;
import static io.jrump.kernel.sys.OpenFlags.O_TRUNC;
import static io.jrump.kernel.sys.OpenFlags.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.ext.Mkfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.Credentials;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The syscalls' semantics and errno values, on ext4 filesystems made in memory. */
class VfsTest {
    private static final long NOW = 1_800_000_000_000_000_000L;
    private final JvmHost host = JvmHost.create("vfs");
    private final List<ExtVfs> filesystems = new ArrayList<>();
    private Vfs vfs;

    private ExtVfs newFs(String name, boolean readOnly) throws Exception {
        BlockDevice dev = HostDisk.create(host, "mem:" + name, 32L << 20);
        Mkfs.format(dev, Mkfs.Options.defaults(Mkfs.Type.EXT4, new byte[16], NOW / 1_000_000_000L).withLabel(name));
        ExtVfs fs = ExtVfs.mount(dev, readOnly ? ExtFs.MountOptions.readOnlyMount() : ExtFs.MountOptions.readWrite(() -> NOW));
        filesystems.add(fs);
        return fs;
    }

    @BeforeEach
    void mountRoot() throws Exception {
        vfs = new Vfs(() -> NOW);
        vfs.mount("/", newFs("root", false), false);
    }

    @AfterEach
    void close() throws Exception {
        vfs.close();
        host.close();
    }

    private static Errno errno(ThrowingCall call) {
        return assertThrows(ErrnoException.class, call::run).errno();
    }

    @FunctionalInterface
    interface ThrowingCall {
        void run() throws Exception;
    }

    private void put(String path, String text) throws ErrnoException {
        int fd = vfs.open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        vfs.write(fd, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        vfs.close(fd);
    }

    private String get(String path) throws ErrnoException {
        int fd = vfs.open(path, O_RDONLY, 0);
        ByteBuffer b = ByteBuffer.allocate((int) vfs.fstat(fd).size());
        vfs.read(fd, b);
        vfs.close(fd);
        return new String(b.array(), StandardCharsets.UTF_8);
    }

    private Set<String> names(String dir) throws ErrnoException {
        return vfs.readdir(dir).stream().map(DirEntry::name).collect(Collectors.toSet());
    }

    @Test
    void filesReadWriteSeekAndAppend() throws Exception {
        int fd = vfs.open("/f", O_CREAT | O_RDWR, 0640);
        assertEquals(5, vfs.write(fd, ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8))));
        assertEquals(2, vfs.lseek(fd, 2, OpenFlags.SEEK_SET));
        ByteBuffer b = ByteBuffer.allocate(10);
        assertEquals(3, vfs.read(fd, b));
        assertEquals(0, vfs.read(fd, ByteBuffer.allocate(4)), "end of file");
        assertEquals(1, vfs.pwrite(fd, ByteBuffer.wrap(new byte[] {'J'}), 0));
        assertEquals(5, vfs.lseek(fd, 0, OpenFlags.SEEK_END));
        assertEquals(Errno.EINVAL, errno(() -> vfs.lseek(fd, -6, OpenFlags.SEEK_CUR)));
        vfs.close(fd);
        assertEquals("Jello", get("/f"));
        assertEquals(0640, vfs.stat("/f").permissions() | 0); // umask 022 leaves 0640
        int app = vfs.open("/f", O_WRONLY | O_APPEND, 0);
        vfs.pwrite(app, ByteBuffer.wrap("!".getBytes(StandardCharsets.UTF_8)), 0);
        vfs.close(app);
        assertEquals("Jello!", get("/f"), "O_APPEND writes at the end whatever the offset");
        vfs.close(vfs.open("/f", O_WRONLY | O_TRUNC, 0));
        assertEquals(0, vfs.stat("/f").size());
        assertEquals(Errno.EBADF, errno(() -> vfs.close(fd)));
    }

    @Test
    void openFlagsFailAsLinuxDoes() throws Exception {
        put("/f", "x");
        vfs.mkdir("/d", 0755);
        vfs.symlink("f", "/l");
        assertEquals(Errno.EEXIST, errno(() -> vfs.open("/f", O_CREAT | O_EXCL | O_WRONLY, 0644)));
        assertEquals(Errno.ENOTDIR, errno(() -> vfs.open("/f", O_RDONLY | O_DIRECTORY, 0)));
        assertEquals(Errno.ELOOP, errno(() -> vfs.open("/l", O_RDONLY | O_NOFOLLOW, 0)));
        assertEquals(Errno.EISDIR, errno(() -> vfs.open("/d", O_WRONLY, 0)));
        assertEquals(Errno.ENOENT, errno(() -> vfs.open("/missing", O_RDONLY, 0)));
        assertEquals(Errno.ENOENT, errno(() -> vfs.open("/missing/x", O_CREAT | O_WRONLY, 0644)));
        assertEquals(Errno.ENOTDIR, errno(() -> vfs.open("/f/x", O_RDONLY, 0)));
        assertEquals(Errno.ENOTDIR, errno(() -> vfs.stat("/f/")));
        assertEquals(Errno.EINVAL, errno(() -> vfs.open("/f", 0x40000000, 0)));
        int ro = vfs.open("/f", O_RDONLY, 0);
        assertEquals(Errno.EBADF, errno(() -> vfs.write(ro, ByteBuffer.allocate(1))));
        assertEquals(Errno.EINVAL, errno(() -> vfs.ftruncate(ro, 0)));
        vfs.close(ro);
        int wo = vfs.open("/f", O_WRONLY, 0);
        assertEquals(Errno.EBADF, errno(() -> vfs.read(wo, ByteBuffer.allocate(1))));
        vfs.close(wo);
        int dir = vfs.open("/d", O_RDONLY | O_DIRECTORY, 0);
        assertEquals(Errno.EISDIR, errno(() -> vfs.read(dir, ByteBuffer.allocate(1))));
        vfs.close(dir);
        assertEquals(Errno.ENAMETOOLONG, errno(() -> vfs.stat("/" + "n".repeat(256))));
        assertEquals(Errno.ENAMETOOLONG, errno(() -> vfs.stat("/a".repeat(2100))));
    }

    @Test
    void pathsWalkDotsSymlinksAndTheCurrentDirectory() throws Exception {
        vfs.mkdir("/a", 0755);
        vfs.mkdir("/a/b", 0755);
        put("/a/b/f", "deep");
        vfs.symlink("/a/b", "/abs");
        vfs.symlink("b/f", "/a/rel");
        vfs.symlink("../../a/./b/../b/f", "/a/b/up");
        assertEquals("deep", get("/abs/f"));
        assertEquals("deep", get("/a/rel"));
        assertEquals("deep", get("/a/b/up"));
        assertEquals("deep", get("/a/b/../b/./f"));
        assertEquals("deep", get("/../../a/b/f"), "'..' of the root is the root");
        vfs.chdir("/a/b");
        assertEquals("deep", get("f"));
        assertEquals("deep", get("../rel"));
        vfs.symlink("loop2", "/loop1");
        vfs.symlink("loop1", "/loop2");
        assertEquals(Errno.ELOOP, errno(() -> vfs.stat("/loop1")));
        assertTrue(vfs.lstat("/loop1").isSymlink());
        assertEquals("loop2", vfs.readlink("/loop1"));
        assertEquals(Errno.EINVAL, errno(() -> vfs.readlink("/a")));
        // 40 links in a chain resolve; 41 do not.
        put("/target", "t");
        vfs.symlink("target", "/c0");
        for (int i = 1; i <= 40; i++) {
            vfs.symlink("c" + (i - 1), "/c" + i);
        }
        assertEquals("t", get("/c39"));
        assertEquals(Errno.ELOOP, errno(() -> get("/c40")));
    }

    @Test
    void namespaceCallsFailAsLinuxDoes() throws Exception {
        vfs.mkdir("/d", 0755);
        put("/d/f", "1");
        put("/g", "2");
        vfs.mkdir("/e", 0755);
        assertEquals(Errno.EEXIST, errno(() -> vfs.mkdir("/d", 0755)));
        assertEquals(Errno.EEXIST, errno(() -> vfs.mkdir("/d/.", 0755)));
        assertEquals(Errno.ENOTEMPTY, errno(() -> vfs.rmdir("/d")));
        assertEquals(Errno.EINVAL, errno(() -> vfs.rmdir("/d/.")));
        assertEquals(Errno.ENOTDIR, errno(() -> vfs.rmdir("/g")));
        assertEquals(Errno.EISDIR, errno(() -> vfs.unlink("/d")));
        assertEquals(Errno.ENOENT, errno(() -> vfs.unlink("/nope")));
        assertEquals(Errno.EPERM, errno(() -> vfs.link("/d", "/d2")));
        assertEquals(Errno.EEXIST, errno(() -> vfs.link("/g", "/d/f")));
        assertEquals(Errno.EEXIST, errno(() -> vfs.symlink("x", "/g")));
        assertEquals(Errno.EISDIR, errno(() -> vfs.rename("/g", "/e")));
        assertEquals(Errno.ENOTDIR, errno(() -> vfs.rename("/e", "/g")));
        assertEquals(Errno.ENOTEMPTY, errno(() -> vfs.rename("/e", "/d")));
        assertEquals(Errno.EINVAL, errno(() -> vfs.rename("/d", "/d/sub")));
        assertEquals(Errno.ENOENT, errno(() -> vfs.rename("/nope", "/x")));
        // Renames that work: over a file, over an empty directory, a directory elsewhere.
        vfs.rename("/g", "/d/f");
        assertEquals("2", get("/d/f"));
        vfs.mkdir("/empty", 0755);
        vfs.rename("/e", "/empty");
        assertEquals(Set.of(".", "..", "lost+found", "d", "empty"), names("/"));
        vfs.rename("/empty", "/d/moved");
        assertEquals(vfs.stat("/d").ino(), vfs.stat("/d/moved/..").ino());
        assertEquals(3, vfs.stat("/d").nlink(), "'..' of the moved directory counts on its new parent");
        assertEquals(4, vfs.stat("/").nlink(), "root: itself, its '..', lost+found and d");
        vfs.link("/d/f", "/hard");
        assertEquals(2, vfs.stat("/hard").nlink());
        vfs.rename("/hard", "/d/f"); // the same file under both names: nothing happens
        assertEquals(2, vfs.stat("/hard").nlink());
    }

    @Test
    void renamingADirectoryOverAnEmptyOneKeepsLinkCountsRight() throws Exception {
        vfs.mkdir("/p", 0755);
        vfs.mkdir("/q", 0755);
        vfs.mkdir("/p/moving", 0755);
        vfs.mkdir("/q/target", 0755);
        vfs.rename("/p/moving", "/q/target");
        assertEquals(2, vfs.stat("/p").nlink(), "/p lost its subdirectory");
        assertEquals(3, vfs.stat("/q").nlink(), "/q has one subdirectory, as before");
        assertEquals(vfs.stat("/q").ino(), vfs.stat("/q/target/..").ino());
        vfs.mkdir("/q/other", 0755);
        vfs.rename("/q/other", "/q/target");
        assertEquals(3, vfs.stat("/q").nlink(), "same parent: one subdirectory replaced another");
        vfs.sync();
        ExtCheck.Result r = ExtCheck.check(filesystems.get(0).ext());
        assertTrue(r.isClean(), r.problems().toString());
    }

    @Test
    void anUnlinkedOpenFileLivesUntilItsLastClose() throws Exception {
        put("/f", "still here");
        long freeBefore = vfs.statvfs("/").freeFiles();
        int fd = vfs.open("/f", O_RDONLY, 0);
        vfs.unlink("/f");
        assertEquals(Errno.ENOENT, errno(() -> vfs.stat("/f")));
        assertEquals(0, vfs.fstat(fd).nlink());
        ByteBuffer b = ByteBuffer.allocate(10);
        vfs.read(fd, b);
        assertEquals("still here", new String(b.array(), StandardCharsets.UTF_8));
        assertEquals(freeBefore, vfs.statvfs("/").freeFiles(), "the inode is still in use");
        vfs.close(fd);
        assertEquals(freeBefore + 1, vfs.statvfs("/").freeFiles(), "the last close freed it");
    }

    @Test
    void holesAreFoundWithSeekDataAndSeekHole() throws Exception {
        int fd = vfs.open("/sparse", O_CREAT | O_RDWR, 0644);
        vfs.pwrite(fd, ByteBuffer.wrap(new byte[4096]), 1 << 20);
        vfs.pwrite(fd, ByteBuffer.wrap(new byte[] {1}), 3 << 20);
        assertEquals(1 << 20, vfs.lseek(fd, 0, OpenFlags.SEEK_DATA));
        assertEquals(0, vfs.lseek(fd, 0, OpenFlags.SEEK_HOLE));
        assertEquals((1 << 20) + 4096, vfs.lseek(fd, 1 << 20, OpenFlags.SEEK_HOLE));
        assertEquals(3 << 20, vfs.lseek(fd, (1 << 20) + 4096, OpenFlags.SEEK_DATA));
        assertEquals((3 << 20) + 1, vfs.lseek(fd, 3 << 20, OpenFlags.SEEK_HOLE), "the end counts as a hole");
        assertEquals(Errno.ENXIO, errno(() -> vfs.lseek(fd, (3 << 20) + 1, OpenFlags.SEEK_DATA)));
        vfs.close(fd);
    }

    @Test
    void mountsAreCrossedAndKeptApart() throws Exception {
        vfs.mkdir("/mnt", 0755);
        vfs.mkdir("/ro", 0755);
        vfs.mount("/mnt", newFs("second", false), false);
        vfs.mount("/ro", newFs("third", true), false);
        put("/mnt/inside", "on the second fs");
        put("/outside", "on the root fs");
        assertEquals(Set.of(".", "..", "lost+found", "inside"), names("/mnt"));
        assertEquals(vfs.stat("/").ino(), vfs.stat("/mnt/..").ino(), "'..' leaves the mount");
        assertEquals(Errno.EXDEV, errno(() -> vfs.rename("/outside", "/mnt/x")));
        assertEquals(Errno.EXDEV, errno(() -> vfs.link("/outside", "/mnt/x")));
        assertEquals(Errno.EROFS, errno(() -> put("/ro/x", "no")));
        assertEquals(Errno.EROFS, errno(() -> vfs.mkdir("/ro/d", 0755)));
        assertTrue(vfs.statvfs("/ro").readOnly());
        assertEquals(Errno.EBUSY, errno(() -> vfs.rmdir("/mnt")));
        assertEquals(Errno.EBUSY, errno(() -> vfs.mount("/mnt", newFs("fourth", false), false)));
        int fd = vfs.open("/mnt/inside", O_RDONLY, 0);
        assertEquals(Errno.EBUSY, errno(() -> vfs.unmount("/mnt")));
        vfs.close(fd);
        vfs.unmount("/mnt");
        assertEquals(Set.of(".", ".."), names("/mnt"), "the covered directory shows again");
    }

    @Test
    void permissionsAndOwnership() throws Exception {
        put("/secret", "s");
        vfs.chmod("/secret", 0600);
        vfs.mkdir("/pub", 0777);
        vfs.chmod("/pub", 01777);
        put("/pub/roots", "r");
        vfs.setCredentials(new Credentials(1000, 1000, new long[0]));
        assertEquals(Errno.EACCES, errno(() -> get("/secret")));
        assertEquals(Errno.EACCES, errno(() -> vfs.access("/secret", OpenFlags.R_OK)));
        vfs.access("/pub", OpenFlags.W_OK | OpenFlags.X_OK);
        assertEquals(Errno.EACCES, errno(() -> put("/mine", "no")), "root's directory is 0755");
        put("/pub/mine", "m");
        assertEquals(1000, vfs.stat("/pub/mine").uid());
        assertEquals(Errno.EPERM, errno(() -> vfs.unlink("/pub/roots")), "sticky directory");
        assertEquals(Errno.EPERM, errno(() -> vfs.chmod("/secret", 0644)));
        assertEquals(Errno.EPERM, errno(() -> vfs.chown("/pub/mine", 0, -1)));
        vfs.chmod("/pub/mine", 0400);
        vfs.setCredentials(Credentials.ROOT);
        vfs.chown("/pub/mine", 7, 8);
        assertEquals(7, vfs.stat("/pub/mine").uid());
        assertEquals(8, vfs.stat("/pub/mine").gid());
        vfs.utimensat("/pub/mine", 1_000_000_001L, OpenFlags.UTIME_OMIT, false);
        assertEquals(1_000_000_001L, vfs.stat("/pub/mine").atimeNanos());
        vfs.utimensat("/pub/mine", OpenFlags.UTIME_OMIT, OpenFlags.UTIME_NOW, false);
        assertEquals(NOW, vfs.stat("/pub/mine").mtimeNanos());
    }

    @Test
    void getdentsReturnsBatchesAndRewinds() throws Exception {
        vfs.mkdir("/d", 0755);
        for (int i = 0; i < 50; i++) {
            put("/d/f" + i, "");
        }
        int fd = vfs.open("/d", O_RDONLY | O_DIRECTORY, 0);
        List<String> seen = new ArrayList<>();
        List<DirEntry> batch;
        while (!(batch = vfs.getdents(fd, 7)).isEmpty()) {
            assertTrue(batch.size() <= 7);
            batch.forEach(e -> seen.add(e.name()));
        }
        assertEquals(52, seen.size());
        vfs.lseek(fd, 0, OpenFlags.SEEK_SET);
        assertEquals(7, vfs.getdents(fd, 7).size());
        vfs.close(fd);
    }

    @Test
    void manyThreadsAtOnceLeaveAConsistentFilesystem() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int id = t;
            work.add(pool.submit(() -> {
                vfs.mkdir("/t" + id, 0755);
                for (int i = 0; i < 40; i++) {
                    String p = "/t" + id + "/f" + i;
                    byte[] data = new byte[1000 + i * 97];
                    java.util.Arrays.fill(data, (byte) (id * 40 + i));
                    int fd = vfs.open(p, O_CREAT | O_RDWR, 0644);
                    vfs.write(fd, ByteBuffer.wrap(data));
                    ByteBuffer back = ByteBuffer.allocate(data.length);
                    vfs.pread(fd, back, 0);
                    assertArrayEquals(data, back.array());
                    vfs.close(fd);
                    if (i % 3 == 0) {
                        vfs.unlink(p);
                    }
                    names("/");
                }
                return null;
            }));
        }
        for (Future<?> f : work) {
            f.get();
        }
        pool.shutdown();
        for (int t = 0; t < 8; t++) {
            assertEquals(2 + 26, names("/t" + t).size());
        }
        vfs.sync();
        ExtCheck.Result r = ExtCheck.check(filesystems.get(0).ext());
        assertTrue(r.isClean(), r.problems().toString());
    }
}
