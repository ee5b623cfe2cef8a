package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Filesystems we make and fill are readable by fuse2fs through the kernel's FUSE driver: the
 * files, the directory tree and the symlinks come out as we wrote them. Needs fuse2fs and
 * /dev/fuse (root; other users skip it, and say so); it fails, not skips, without the tools.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (/dev/fuse for fuse2fs); ./run-tests, as root, runs it")
class Fuse2fsInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("fuse2fs");

    @AfterEach
    void close() {
        host.close();
    }

    @ParameterizedTest
    @EnumSource(Mkfs.Type.class)
    void fuse2fsMountsWhatWeMadeAndReadsWhatWeWrote(Mkfs.Type type) throws Exception {
        Path img = dir.resolve("ours.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(48L << 20);
        }
        byte[] big = random(2_500_000, 11);
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        Mkfs.format(dev, Mkfs.Options.defaults(type, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                1_790_000_000L).withLabel("ours"));
        try (ExtVfs fs = ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            mkdir(fs, "/dir");
            writeFile(fs, "/dir/big", big);
            fs.symlink(fs.rootInode(), "link", "dir/big", 0, 0);
        }
        assertClean(img);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "fuse2fs", "-o", "ro,fakeroot", img.toString(), mnt.toString()), "fuse2fs: " + out);
        try {
            assertArrayEquals(big, Files.readAllBytes(mnt.resolve("dir/big")));
            assertEquals(Path.of("dir/big"), Files.readSymbolicLink(mnt.resolve("link")));
            assertTrue(Files.isDirectory(mnt.resolve("lost+found")));
        } finally {
            StringBuilder u = new StringBuilder();
            if (exec(u, "fusermount3", "-u", mnt.toString()) != 0) {
                exec(u, "umount", mnt.toString());
            }
        }
    }
}
