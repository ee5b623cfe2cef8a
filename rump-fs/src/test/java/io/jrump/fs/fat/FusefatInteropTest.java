package io.jrump.fs.fat;

import static io.jrump.fs.fat.FatTools.assertFsckClean;
import static io.jrump.fs.fat.FatTools.exec;
import static io.jrump.fs.fat.FatTools.mount;
import static io.jrump.fs.fat.FatTools.readAll;
import static io.jrump.fs.fat.FatTools.writeAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * fusefat, a FAT driver nobody here wrote, through the kernel's FUSE: it mounts an image we
 * made and wrote, read-write; it reads our files, writes its own; then we read what it wrote
 * and {@code fsck.fat -n} finds the image clean.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (/dev/fuse for fusefat); ./run-tests, as root, runs it")
class FusefatInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("fusefat");

    @AfterEach
    void close() {
        host.close();
    }

    @ParameterizedTest(name = "FAT{0}")
    @ValueSource(ints = {16, 32})
    void fusefatReadsOursAndWeReadItsWrites(int fat) throws Exception {
        Path img = dir.resolve("ours.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(fat == 32 ? 64L << 20 : 32L << 20);
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            FatMkfs.format(dev, FatMkfs.Options.defaults(0x5eed).withType(fat == 32 ? FatType.FAT32 : FatType.FAT16));
        }
        byte[] big = new byte[300_000];
        new Random(fat).nextBytes(big);
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            vfs.mkdir("/Our Directory", 0755);
            writeAll(vfs, "/Our Directory/A Big File.bin", big);
            writeAll(vfs, "/small.txt", "ours".getBytes(StandardCharsets.UTF_8));
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "fusefat", "-o", "rw+", img.toString(), mnt.toString()), "fusefat: " + out);
        try {
            assertArrayEquals(big, Files.readAllBytes(mnt.resolve("Our Directory/A Big File.bin")));
            assertEquals("ours", Files.readString(mnt.resolve("small.txt")));
            Files.createDirectories(mnt.resolve("Their Directory"));
            Files.writeString(mnt.resolve("Their Directory/written by fusefat.txt"), "theirs");
            // New files only: fusefat 0.1a loses the clusters of a file it truncates and rewrites
            // (its entry then points to a free cluster) on mkfs.fat + mcopy images as on ours.
            Files.writeString(mnt.resolve("another.txt"), "also by fusefat");
        } finally {
            StringBuilder u = new StringBuilder();
            if (exec(u, "fusermount", "-u", mnt.toString()) != 0 && exec(u, "fusermount3", "-u", mnt.toString()) != 0) {
                exec(u, "umount", mnt.toString());
            }
            awaitExit(img);
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertEquals("theirs", new String(readAll(vfs, "/Their Directory/written by fusefat.txt"), StandardCharsets.UTF_8));
            assertEquals("also by fusefat", new String(readAll(vfs, "/another.txt"), StandardCharsets.UTF_8));
            assertEquals("ours", new String(readAll(vfs, "/small.txt"), StandardCharsets.UTF_8));
            assertArrayEquals(big, readAll(vfs, "/Our Directory/A Big File.bin"));
        }
    }

    /**
     * fusefat runs on as a daemon after the unmount returns, and writes the FAT's clean bit as it
     * exits: wait for the process serving {@code img} to be gone before checking the image.
     */
    private static void awaitExit(Path img) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline && ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine()
                .map(c -> c.contains("fusefat") && c.contains(img.toString())).orElse(false))) {
            Thread.sleep(20);
        }
    }
}
