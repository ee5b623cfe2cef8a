package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.host.jvm.JvmHost;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 2: a read-write mount checks first when e2fsck would (or when asked), refuses a
 * filesystem the checker finds damaged unless forced, and a forced mount records the errors in
 * the superblock as the kernel does, so that e2fsck checks it next. The damage is made with
 * debugfs and e2fsck -fn confirms it is damage.
 */
class MountCheckTest {
    @TempDir
    Path dir;

    private final JvmHost host = JvmHost.create("mount-check");
    private final FileSystemType ext = new ExtFileSystemType();

    @AfterEach
    void close() {
        host.close();
    }

    /** An ext2 image (no journal) whose file /f claims 5 links but has 1, as e2fsck -fn confirms. */
    private Path damagedExt2(String state) throws Exception {
        Path img = dir.resolve("d.img");
        mke2fs(img, "ext2", 1024, "8M");
        Path f = dir.resolve("f");
        Files.writeString(f, "data");
        run("debugfs", "-w", "-R", "write " + f + " f", img.toString());
        run("debugfs", "-w", "-R", "sif /f links_count 5", img.toString());
        run("debugfs", "-w", "-R", "ssv state " + state, img.toString());
        StringBuilder out = new StringBuilder();
        assertNotEquals(0, exec(out, "e2fsck", "-fn", img.toString()), "e2fsck sees the damage: " + out);
        return img;
    }

    private FileSystemOps mount(Path img, Map<String, String> options) throws Exception {
        HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        return ext.mount(d, FileSystemType.Options.of(false, () -> 1_800_000_000_000_000_000L).withOptions(options)
                .withOwned(java.util.List.of(d)));
    }

    @Test
    void anUncleanFilesystemWithoutAJournalIsCheckedAndRefusedWhenDamaged() throws Exception {
        Path img = damagedExt2("0"); // not cleanly unmounted: e2fsck -p would check it
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img, Map.of()));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("not cleanly unmounted") && e.getMessage().contains("link")
                && e.getMessage().contains("'force'"), e.getMessage());
        try (FileSystemOps fs = ext.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                FileSystemType.Options.of(true, () -> 0L))) {
            assertTrue(fs.getattr(fs.rootInode()).isDirectory(), "read-only mounts are not checked");
        }
        try (FileSystemOps fs = mount(img, Map.of("check", "none"))) {
            assertTrue(fs.getattr(fs.rootInode()).isDirectory(), "check=none skips the check");
        }
    }

    @Test
    void aForcedMountRecordsTheErrorsForE2fsck() throws Exception {
        Path img = damagedExt2("0");
        try (FileSystemOps fs = mount(img, Map.of("force", ""))) {
            fs.create(fs.rootInode(), "written", 0100644, 0, 0, 0);
        }
        String sb = run("dumpe2fs", "-h", img.toString());
        assertTrue(sb.contains("clean with errors"), sb);
        assertTrue(sb.contains("FS Error count:           1"), sb);
        assertTrue(sb.contains("First error function:     rump_mount_check"), sb);
        StringBuilder out = new StringBuilder();
        // e2fsck -p (what boot runs) checks it because of the error state, and says why.
        assertNotEquals(0, exec(out, "e2fsck", "-n", img.toString()), out.toString());
        assertTrue(out.toString().contains("contains a file system with errors"), out.toString());
        assertTrue(run("debugfs", "-R", "ls /", img.toString()).contains("written"));
    }

    @Test
    void aCleanlyUnmountedJournaledFilesystemIsCheckedOnlyWhenAsked() throws Exception {
        Path img = dir.resolve("j.img");
        mke2fs(img, "ext4", 1024, "16M");
        Path f = dir.resolve("f");
        Files.writeString(f, "data");
        run("debugfs", "-w", "-R", "write " + f + " f", img.toString());
        run("debugfs", "-w", "-R", "sif /f links_count 3", img.toString());
        try (FileSystemOps fs = mount(img, Map.of())) {
            assertTrue(fs.getattr(fs.rootInode()).isDirectory(), "as the kernel, no check when e2fsck -p would not");
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img, Map.of("check", "full")));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("check=full"), e.getMessage());
        ErrnoException bad = assertThrows(ErrnoException.class, () -> mount(img, Map.of("check", "sometimes")));
        assertEquals(Errno.EINVAL, bad.errno());
    }

    @Test
    void theMaximalMountCountTriggersTheCheckAndACleanFilesystemPasses() throws Exception {
        Path img = dir.resolve("c.img");
        mke2fs(img, "ext4", 1024, "16M");
        run("tune2fs", "-c", "2", "-C", "5", img.toString());
        for (int i = 0; i < 2; i++) {
            try (FileSystemOps fs = mount(img, Map.of())) {
                fs.create(fs.rootInode(), "d" + i, 040755, 0, 0, 0);
            }
        }
        ExtTools.assertClean(img);
        run("debugfs", "-w", "-R", "sif /d0 links_count 7", img.toString());
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img, Map.of()));
        assertTrue(e.getMessage().contains("s_max_mnt_count 2"), e.getMessage());
    }

    @Test
    void theNioProviderPassesTheFilesystemsOptions() throws Exception {
        Path img = damagedExt2("1");
        assertThrows(FileSystemException.class,
                () -> FileSystems.newFileSystem(img, Map.of("options", "check=full")).close());
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of("options", "check=full,force"))) {
            Files.writeString(fs.getPath("/n"), "x");
        }
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("clean with errors"));
    }

    @Test
    void mountDataIsParsedAsMountDashOTakesIt() throws Exception {
        assertEquals(Map.of("force", "", "check", "full"), FileSystemType.Options.parse("force,,check=full"));
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> FileSystemType.Options.parse("=x")).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> FileSystemType.Options.parse("acl,acl")).errno());
        Path img = dir.resolve("o.img");
        mke2fs(img, "ext4", 1024, "8M");
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> Mounts.openImage(host, img.toString(), Mounts.Options.defaults().withFsOptions("data=journal")));
        assertEquals(Errno.EINVAL, e.errno());
    }
}
