package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jrump.host.virtio.StorageDaemon;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image commands on a virtio-blk device: an ext4 image made by {@code mke2fs -d}, exported by
 * {@code qemu-storage-daemon} over vhost-user, named {@code vhost-user:SOCKET} on the command
 * line. What {@code rump fs} lists and reads through jrump's virtio driver is what it lists and
 * reads from the file; what it writes leaves the image {@code e2fsck -fn} clean, and a qcow2
 * back-end {@code qemu-img check} clean.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class VirtioImageCommandsTest {
    @TempDir
    Path dir;

    private Path src;
    private Path img;
    private byte[] big;

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + String.join(" ", cmd));
        }
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
        return out;
    }

    @BeforeEach
    void image() throws Exception {
        src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub/deeper"));
        Files.writeString(src.resolve("hello.txt"), "hello, virtio\n");
        big = new byte[700_000];
        new Random(3).nextBytes(big);
        Files.write(src.resolve("sub/deeper/big.bin"), big);
        img = dir.resolve("disk.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-d", src.toString(), img.toString(), "64M");
    }

    private StorageDaemon export(Path image, String format, boolean writable) throws Exception {
        return StorageDaemon.export(image, format, dir.resolve(format + ".sock"), writable);
    }

    @Test
    void listsAndReadsAsTheFileDoes() throws Exception {
        try (StorageDaemon qsd = export(img, "raw", false)) {
            String dev = qsd.deviceName();
            for (String path : new String[] {"/", "/sub", "/sub/deeper"}) {
                assertEquals(RumpRun.expect(0, "fs", "ls", "-l", img + ":" + path).out(),
                        RumpRun.expect(0, "fs", "ls", "-l", dev + ":" + path).out(), path);
            }
            Path hello = dir.resolve("hello.txt");
            RumpRun.expect(0, "fs", "cp", dev + ":/hello.txt", hello.toString());
            assertEquals("hello, virtio\n", Files.readString(hello));
            Path back = dir.resolve("back.bin");
            RumpRun.expect(0, "fs", "cp", dev + ":/sub/deeper/big.bin", back.toString());
            assertEquals(-1, Files.mismatch(src.resolve("sub/deeper/big.bin"), back));
            assertEquals(0, RumpRun.of("fs", "fsck", dev).code());
            RumpRun missing = RumpRun.expect(1, "fs", "cat", dev + ":/no/such");
            assertTrue(missing.err().contains("No such file"), missing.err());
        }
    }

    @Test
    void writesLeaveTheImageCleanForE2fsck() throws Exception {
        Path local = dir.resolve("local.bin");
        byte[] data = new byte[2_500_000];
        new Random(4).nextBytes(data);
        Files.write(local, data);
        try (StorageDaemon qsd = export(img, "raw", true)) {
            String dev = qsd.deviceName();
            RumpRun.expect(0, "fs", "mkdir", dev + ":/new");
            RumpRun.expect(0, "fs", "cp", local.toString(), dev + ":/new/data.bin");
            RumpRun.expect(0, "fs", "rm", dev + ":/hello.txt");
            Path back = dir.resolve("back.bin");
            RumpRun.expect(0, "fs", "cp", dev + ":/new/data.bin", back.toString());
            assertEquals(-1, Files.mismatch(local, back));
        }
        run("e2fsck", "-fn", img.toString());
        Path viaDebugfs = dir.resolve("debugfs.bin");
        run("debugfs", "-R", "dump /new/data.bin " + viaDebugfs, img.toString());
        assertEquals(-1, Files.mismatch(local, viaDebugfs));
        assertFalse(run("debugfs", "-R", "ls /", img.toString()).contains("hello.txt"));
    }

    @Test
    void aQcow2BackEndStaysCleanForQemuImgCheck() throws Exception {
        Path qcow2 = dir.resolve("disk.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", img.toString(), qcow2.toString());
        try (StorageDaemon qsd = export(qcow2, "qcow2", true)) {
            String dev = qsd.deviceName();
            RumpRun.expect(0, "fs", "cp", src.resolve("sub/deeper/big.bin").toString(), dev + ":/copy.bin");
            assertEquals(0, RumpRun.of("fs", "fsck", dev).code());
        }
        run("qemu-img", "check", qcow2.toString());
        Path raw = dir.resolve("back.raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), raw.toString());
        run("e2fsck", "-fn", raw.toString());
        Path copy = dir.resolve("copy.bin");
        run("debugfs", "-R", "dump /copy.bin " + copy, raw.toString());
        assertEquals(-1, Files.mismatch(src.resolve("sub/deeper/big.bin"), copy));
    }

    /** {@code rump mount} of the device through the kernel's FUSE driver: diff, a write, a clean e2fsck. */
    @Test
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount(2) of /dev/fuse); ./run-tests, as root, runs it")
    void mountsTheDeviceThroughFuse() throws Exception {
        Path mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        try (StorageDaemon qsd = export(img, "raw", true)) {
            CompletableFuture<RumpRun> served = RumpRun.mountInForeground(qsd.deviceName(), mnt);
            try {
                run("diff", "-r", "-x", "lost+found", src.toString(), mnt.toString());
                run("cp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("copy.bin").toString());
                run("cmp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("copy.bin").toString());
            } finally {
                RumpRun.expect(0, "umount", mnt.toString());
            }
            assertEquals(0, served.get(60, TimeUnit.SECONDS).code());
        }
        run("e2fsck", "-fn", img.toString());
        Path copy = dir.resolve("copy.bin");
        run("debugfs", "-R", "dump /copy.bin " + copy, img.toString());
        assertEquals(-1, Files.mismatch(src.resolve("sub/deeper/big.bin"), copy));
    }
}
