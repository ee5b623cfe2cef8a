package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * The Linux kernel's own ext4 driver against ours, through a loop device (root in CI; the test
 * fails rather than skips without one): it mounts a filesystem we made and filled and reads our
 * files; then it writes, and we read what it wrote, and e2fsck is clean at the end.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
class KernelMountInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("kernel-mount");

    @AfterEach
    void close() {
        host.close();
    }

    private void sh(String... cmd) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, cmd), String.join(" ", cmd) + ": " + out);
    }

    @ParameterizedTest
    @EnumSource(Mkfs.Type.class)
    void theKernelReadsWhatWeWroteAndWeReadWhatItWrote(Mkfs.Type type) throws Exception {
        Path img = dir.resolve("k.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        byte[] ours = random(3_000_000, 21);
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        Mkfs.format(dev, Mkfs.Options.defaults(type, new byte[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6},
                1_790_000_000L));
        try (ExtVfs fs = ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            mkdir(fs, "/ours");
            writeFile(fs, "/ours/data", ours);
            fs.symlink(fs.rootInode(), "link", "ours/data", 0, 0);
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path theirs = dir.resolve("theirs");
        byte[] kernelData = random(1_500_000, 22);
        Files.write(theirs, kernelData);
        sh("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            assertArrayEquals(ours, Files.readAllBytes(mnt.resolve("ours/data")));
            assertEquals(Path.of("ours/data"), Files.readSymbolicLink(mnt.resolve("link")));
            Files.createDirectories(mnt.resolve("kernel/sub"));
            Files.copy(theirs, mnt.resolve("kernel/sub/data"));
            Files.delete(mnt.resolve("link"));
        } finally {
            sh("umount", mnt.toString());
        }
        assertClean(img);
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertArrayEquals(kernelData, readFile(fs, "/kernel/sub/data"));
            assertArrayEquals(ours, readFile(fs, "/ours/data"));
            fs.unlink(ExtWriteTest.resolve(fs, "/kernel/sub"), "data", false);
        }
        assertClean(img);
    }
}
