package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * More than 65,000 subdirectories in one directory (dir_nlink): past the limit the parent's link
 * count is 1, as ext4 keeps it, and e2fsck agrees; indexed by {@code e2fsck -fyD} afterwards, it
 * is read through its htree; without the feature the next mkdir is EMLINK.
 * Fixtures: {@code mke2fs -q -F -t ext4 -b 1024 -N 70000 -O ^has_journal img 160M} (no journal:
 * 65,001 mkdirs commit many transactions, and the journal would double their writes), and for
 * EMLINK {@code mke2fs -q -F -t ext4 -O ^dir_nlink img 16M} with a directory whose link count is
 * set to 65,000 by {@code debugfs -w -R 'sif /p links_count 65000'}.
 */
class DirNlinkTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("dir-nlink");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img, boolean readOnly) throws ErrnoException {
        HostDisk d = HostDisk.open(host, img.toString(), readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        return ExtVfs.mount(d, readOnly ? ExtFs.MountOptions.readOnlyMount()
                : ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW)).closing(d);
    }

    @Test
    void aDirectoryPastSixtyFiveThousandSubdirectoriesCountsOneLinkAndE2fsckAgrees() throws Exception {
        Path img = dir.resolve("many");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-N", "70000", "-O", "^has_journal", img.toString(), "160M");
        long p;
        long t0 = System.nanoTime();
        try (ExtVfs fs = mount(img, false)) {
            p = fs.create(fs.rootInode(), "p", 040755, 0, 0, 0);
            for (int i = 0; i < 64_998; i++) {
                fs.create(p, "d" + i, 040755, 0, 0, 0);
            }
            assertEquals(65_000, fs.getattr(p).nlink(), "64,998 subdirectories, '.' and the parent's entry");
            fs.create(p, "d64998", 040755, 0, 0, 0);
            assertEquals(1, fs.getattr(p).nlink(), "past 65,000: 1");
            fs.create(p, "d64999", 040755, 0, 0, 0);
            assertEquals(1, fs.getattr(p).nlink(), "and it stays 1");
            fs.create(p, "f", 0100644, 0, 0, 0);
            assertEquals(1, fs.getattr(p).nlink(), "a file does not count");
        }
        System.out.printf("65,000 mkdirs: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        ExtTools.assertClean(img);
        // Indexed, as the kernel would keep so large a directory: read through its htree.
        int rc = ExtTools.exec(new StringBuilder(), "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, "e2fsck -fyD exited " + rc);
        ExtTools.assertClean(img);
        try (ExtVfs fs = mount(img, true)) {
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(p)), "e2fsck -D indexed it");
            assertEquals(1, fs.getattr(p).nlink(), "stat shows 1, as on Linux");
            long d = fs.lookup(p, "d64999");
            assertEquals(2, fs.getattr(d).nlink());
            assertEquals(p, fs.lookup(d, ".."));
            assertTrue(fs.lookup(p, "d12345") > 0);
            assertEquals(java.util.List.of(), fs.ext().warnings());
        }
    }

    @Test
    void withoutDirNlinkTheNextSubdirectoryIsEmlink() throws Exception {
        Path img = dir.resolve("limited");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-O", "^dir_nlink", img.toString(), "16M");
        run("debugfs", "-w", "-R", "mkdir /p", img.toString());
        run("debugfs", "-w", "-R", "mkdir /q", img.toString());
        run("debugfs", "-w", "-R", "sif /p links_count 65000", img.toString());
        try (ExtVfs fs = mount(img, false)) {
            long p = fs.lookup(fs.rootInode(), "p");
            ErrnoException e = assertThrows(ErrnoException.class, () -> fs.create(p, "sub", 040755, 0, 0, 0));
            assertEquals(Errno.EMLINK, e.errno());
            assertTrue(e.getMessage().contains("dir_nlink"), e.getMessage());
            e = assertThrows(ErrnoException.class, () -> fs.rename(fs.rootInode(), "q", p, "q", ino -> false));
            assertEquals(Errno.EMLINK, e.errno(), "rename into it too");
            fs.create(p, "file", 0100644, 0, 0, 0); // files do not count
            assertEquals(65_000, fs.getattr(p).nlink());
        }
    }

    @Test
    void linkCountsFollowExt4() {
        assertEquals(3, ExtWriter.withSubdirectory(2));
        assertEquals(65_000, ExtWriter.withSubdirectory(64_999));
        assertEquals(1, ExtWriter.withSubdirectory(65_000));
        assertEquals(1, ExtWriter.withSubdirectory(1));
    }
}
