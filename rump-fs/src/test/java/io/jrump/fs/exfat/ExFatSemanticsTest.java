package io.jrump.fs.exfat;

import static io.jrump.fs.exfat.ExFatTools.NOW;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.fat.FatTools;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What Linux's exfat answers, on a memory disk formatted by {@link ExFatMkfs}. */
class ExFatSemanticsTest {
    private static final int DISK = 8 << 20;
    private JvmHost host;
    private HostDisk disk;

    @BeforeEach
    void format() throws Exception {
        host = JvmHost.create("exfat-semantics");
        HostDisk.create(host, "mem:exfat", DISK).close();
        disk = HostDisk.open(host, "mem:exfat", OpenMode.READ_WRITE);
        ExFatMkfs.format(disk, ExFatMkfs.Options.defaults(1).withLabel("SEM"));
    }

    @AfterEach
    void close() throws Exception {
        disk.close();
        host.close();
    }

    private Vfs mount(boolean readOnly, Map<String, String> options) throws ErrnoException {
        Vfs vfs = new Vfs(() -> NOW);
        vfs.mount("/", "exfat", disk, FileSystemType.Options.of(readOnly, () -> NOW).withOptions(options));
        return vfs;
    }

    private static void errno(Errno want, Executable call) {
        ErrnoException e = assertThrows(ErrnoException.class, call);
        assertEquals(want, e.errno(), e.getMessage());
    }

    private int volumeFlags() throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        disk.read(0, b);
        return b.getShort(106) & 0xffff;
    }

    @Test
    void onlyFilesAndDirectoriesAndNamesAsLinuxAllows() throws Exception {
        try (Vfs vfs = mount(false, Map.of())) {
            errno(Errno.EPERM, () -> vfs.symlink("x", "/link"));
            FatTools.writeAll(vfs, "/file", new byte[10]);
            errno(Errno.EPERM, () -> vfs.link("/file", "/hard"));
            errno(Errno.EPERM, () -> vfs.mknod("/fifo", Attributes.S_IFIFO | 0644, 0));
            for (String bad : List.of("a:b", "a*b", "a?b", "a<b", "a>b", "a|b", "a\\b", "a\"b", "a\u0001b")) {
                errno(Errno.EINVAL, () -> vfs.mkdir("/" + bad, 0755));
            }
            errno(Errno.ENAMETOOLONG, () -> vfs.mkdir("/" + "n".repeat(256), 0755));
            vfs.mkdir("/" + "n".repeat(255), 0755);
            FatTools.writeAll(vfs, "/trailing..", new byte[1]);
            assertEquals(1, vfs.stat("/trailing").size());
            assertEquals(1, vfs.stat("/TRAILING...").size());
            errno(Errno.EEXIST, () -> vfs.mkdir("/FILE", 0755));
        }
    }

    @Test
    void chmodAndChownAreLimitedUnlessQuiet() throws Exception {
        try (Vfs vfs = mount(false, Map.of("uid", "1000", "gid", "100", "fmask", "0133", "dmask", "0022"))) {
            FatTools.writeAll(vfs, "/f", new byte[1]);
            vfs.mkdir("/d", 0755);
            Attributes f = vfs.stat("/f");
            assertEquals(0644, f.permissions());
            assertEquals(1000, f.uid());
            assertEquals(100, f.gid());
            assertEquals(0755, vfs.stat("/d").permissions());
            vfs.chmod("/f", 0444); // the read-only attribute
            assertEquals(0444, vfs.stat("/f").permissions());
            vfs.chmod("/f", 0644);
            errno(Errno.EPERM, () -> vfs.chmod("/f", 0600));
            errno(Errno.EPERM, () -> vfs.chown("/f", 0, 0));
        }
        try (Vfs vfs = mount(false, Map.of("quiet", ""))) {
            vfs.chmod("/f", 0600);
            vfs.chown("/f", 5, 5);
            assertEquals(0755, vfs.stat("/f").permissions());
        }
    }

    @Test
    void unknownOptionsAreRefused() {
        for (Map<String, String> o : List.of(Map.of("shortname", "mixed"), Map.of("iocharset", "iso8859-1"),
                Map.of("umask", "999"), Map.of("time_offset", "5000"))) {
            errno(Errno.EINVAL, () -> mount(true, o).close());
        }
    }

    @Test
    void timestampsKeepTenMillisecondsAndTheirUtcOffset() throws Exception {
        long t = 1_796_647_297_230_000_000L; // an odd second and 230 ms
        try (Vfs vfs = mount(false, Map.of("time_offset", "120"))) {
            FatTools.writeAll(vfs, "/f", new byte[1]);
            vfs.utimensat("/f", t, t, false);
            assertEquals(t, vfs.stat("/f").mtimeNanos());
        }
        // Stored with its offset: read back the same instant whatever this mount's time_offset.
        try (Vfs vfs = mount(true, Map.of("time_offset", "-300"))) {
            assertEquals(t, vfs.stat("/f").mtimeNanos());
            assertEquals(t / 2_000_000_000L * 2_000_000_000L, vfs.stat("/f").atimeNanos());
        }
    }

    @Test
    void dirtyWhileMountedPercentInUseAfter() throws Exception {
        assertEquals(0, volumeFlags() & 2);
        Vfs vfs = mount(false, Map.of());
        assertEquals(2, volumeFlags() & 2, "VolumeDirty while mounted read-write");
        FatTools.writeAll(vfs, "/half", new byte[4 << 20]);
        vfs.close();
        assertEquals(0, volumeFlags() & 2, "clean after unmount");
        ByteBuffer b = ByteBuffer.allocate(512);
        disk.read(0, b);
        assertTrue(b.get(112) >= 50 && b.get(112) <= 53, "PercentInUse " + b.get(112));
        try (Vfs ro = mount(true, Map.of())) {
            assertEquals(0, volumeFlags() & 2, "a read-only mount leaves the flags alone");
        }
    }

    @Test
    void anUnlinkedOpenFileKeepsItsClustersUntilClosed() throws Exception {
        try (Vfs vfs = mount(false, Map.of())) {
            long free = vfs.statvfs("/").freeBlocks();
            byte[] data = new byte[100_000];
            java.util.Arrays.fill(data, (byte) 7);
            FatTools.writeAll(vfs, "/f", data);
            int fd = vfs.open("/f", OpenFlags.O_RDONLY, 0);
            vfs.unlink("/f");
            errno(Errno.ENOENT, () -> vfs.stat("/f"));
            ByteBuffer b = ByteBuffer.allocate(data.length);
            vfs.pread(fd, b, 0);
            assertArrayEquals(data, b.array());
            assertTrue(vfs.statvfs("/").freeBlocks() < free);
            vfs.close(fd);
            assertEquals(free, vfs.statvfs("/").freeBlocks());
        }
    }

    @Test
    void renameKeepsTheInodeAndRefusesLoops() throws Exception {
        try (Vfs vfs = mount(false, Map.of())) {
            vfs.mkdir("/a", 0755);
            vfs.mkdir("/a/b", 0755);
            FatTools.writeAll(vfs, "/a/b/f", new byte[3]);
            long ino = vfs.stat("/a/b/f").ino();
            vfs.rename("/a/b/f", "/g");
            assertEquals(ino, vfs.stat("/g").ino());
            errno(Errno.EINVAL, () -> vfs.rename("/a", "/a/b/c"));
            vfs.mkdir("/e", 0755);
            FatTools.writeAll(vfs, "/e/x", new byte[1]);
            errno(Errno.ENOTEMPTY, () -> vfs.rename("/a", "/e"));
            errno(Errno.ENOTEMPTY, () -> vfs.rmdir("/e"));
            vfs.rename("/g", "/e/x"); // replaces
            assertEquals(3, vfs.stat("/e/x").size());
            vfs.utimensat("/e", 0, 0, false);
            FatTools.writeAll(vfs, "/e/new", new byte[1]);
            assertEquals(NOW, vfs.stat("/e").mtimeNanos(), "a directory's mtime moves when an entry is added");
        }
    }

    /** Directories evicted from memory at every turn read back what was written through them. */
    @Test
    void directoriesReadAgainAfterEvictionStayInStep() throws Exception {
        ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), false, () -> NOW, null);
        fs.dirCacheBudget(1);
        Map<String, byte[]> want;
        try (Vfs vfs = new Vfs(() -> NOW)) {
            vfs.mount("/", fs, false);
            want = ExFatInteropTest.writeTree(vfs, 5);
            FatTools.assertSameTree(want, FatTools.tree(vfs, "/"));
            assertEquals(List.of(), ExFatCheck.check(fs).problems());
        }
        try (Vfs vfs = mount(true, Map.of())) {
            FatTools.assertSameTree(want, FatTools.tree(vfs, "/"));
        }
    }
}
