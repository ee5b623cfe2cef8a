package io.jrump.fs.exfat;

import static io.jrump.fs.exfat.ExFatTools.assertFsckClean;
import static io.jrump.fs.exfat.ExFatTools.fuse;
import static io.jrump.fs.exfat.ExFatTools.mount;
import static io.jrump.fs.fat.FatTools.assertSameTree;
import static io.jrump.fs.fat.FatTools.tree;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.kernel.sys.OpenFlags;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * exfat-fuse, an exFAT driver nobody here wrote, through the kernel's FUSE: it reads what we
 * wrote, and we read what it wrote, tree for tree. Needs root: /dev/fuse, and a free loop device
 * (exfat-fuse run by root mounts only block devices).
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (/dev/fuse for exfat-fuse); ./run-tests, as root, runs it")
class ExFatFuseInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("exfat-fuse");

    @AfterEach
    void close() {
        host.close();
    }

    @Test
    void weReadWhatExfatFuseWrote() throws Exception {
        Path img = ExFatTools.mkfs(dir.resolve("theirs.img"), 64L << 20, "-L", "FUSED");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Random r = new Random(16);
        Map<String, byte[]> want;
        try (AutoCloseable m = fuse(img, mnt, "rw")) {
            Files.createDirectories(mnt.resolve("Their Directory/Deeper"));
            Files.writeString(mnt.resolve(ExFatInteropTest.UNICODE), "unicode");
            Files.writeString(mnt.resolve(ExFatInteropTest.LONG_NAME), "long");
            Files.writeString(mnt.resolve("Their Directory/MixedCase.Txt"), "case");
            for (int i = 0; i < 8; i++) { // interleaved appends: fragmented files
                byte[] a = new byte[6000 + i * 313];
                byte[] b = new byte[9000];
                r.nextBytes(a);
                r.nextBytes(b);
                Files.write(mnt.resolve("frag-a.bin"), a, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                Files.write(mnt.resolve("Their Directory/Deeper/frag-b.bin"), b, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            }
            for (int i = 0; i < 120; i++) {
                Files.writeString(mnt.resolve("Their Directory/file " + i + ".txt"), "n" + i);
            }
            want = tree(mnt);
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertSameTree(want, tree(vfs, "/"));
            assertEquals("case", new String(io.jrump.fs.fat.FatTools.readAll(vfs, "/THEIR DIRECTORY/mixedcase.txt"),
                    StandardCharsets.UTF_8));
        }
    }

    @Test
    void exfatFuseReadsWhatWeWrote() throws Exception {
        Path img = ExFatTools.mkfs(dir.resolve("theirs.img"), 64L << 20);
        Map<String, byte[]> want;
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            want = ExFatInteropTest.writeTree(vfs, 3);
        }
        assertFsckClean(img);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        try (AutoCloseable m = fuse(img, mnt, "ro")) {
            Map<String, byte[]> got = tree(mnt);
            // exfat-fuse 1.3.0 ignores ValidDataLength: past it, a file grown by truncate shows
            // whatever its clusters held before (here: a truncated file's old bytes), where the
            // specification, Linux (6.8 on) and we read zeros. Only the valid part is compared.
            String grown = "/Dir One/frag-b.bin";
            byte[] w = want.remove(grown);
            byte[] g = got.remove(grown);
            assertEquals(w.length, g.length, grown + ": size");
            int valid = w.length - 100_000;
            assertArrayEquals(java.util.Arrays.copyOf(w, valid), java.util.Arrays.copyOf(g, valid), grown);
            assertSameTree(want, got);
        }
    }

    @Test
    void ourMkfsMountsInExfatFuse() throws Exception {
        Path img = dir.resolve("ours.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(40L << 20);
        }
        try (var dev = io.jrump.blk.HostDisk.open(host, img.toString(), io.jrump.hypercall.BlockDevices.OpenMode.READ_WRITE)) {
            ExFatMkfs.format(dev, ExFatMkfs.Options.defaults(1).withLabel("OURS"));
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        try (AutoCloseable m = fuse(img, mnt, "rw")) {
            Files.writeString(mnt.resolve("by fuse.txt"), "fuse");
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertEquals("fuse", new String(io.jrump.fs.fat.FatTools.readAll(vfs, "/by fuse.txt"), StandardCharsets.UTF_8));
        }
    }

    /**
     * A file past 4 GiB that costs no data writes: truncate leaves ValidDataLength at the 1 MiB
     * written, so the rest reads as zeros (through us and through exfat-fuse) without being stored.
     */
    @Test
    void aFileLargerThan4GiB() throws Exception {
        long big = (4L << 30) + (100L << 20);
        Path img = ExFatTools.mkfs(dir.resolve("big.img"), (4L << 30) + (300L << 20));
        byte[] head = new byte[1 << 20];
        new Random(4).nextBytes(head);
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            io.jrump.fs.fat.FatTools.writeAll(vfs, "/big.bin", head);
            vfs.truncate("/big.bin", big);
            assertEquals(big, vfs.stat("/big.bin").size());
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            int fd = vfs.open("/big.bin", OpenFlags.O_RDONLY, 0);
            ByteBuffer b = ByteBuffer.allocate(head.length);
            vfs.pread(fd, b, 0);
            assertArrayEquals(head, b.array());
            ByteBuffer tail = ByteBuffer.allocate(4096);
            assertEquals(4096, vfs.pread(fd, tail, big - 4096));
            assertArrayEquals(new byte[4096], tail.array());
            vfs.close(fd);
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        try (AutoCloseable m = fuse(img, mnt, "ro")) {
            assertEquals(big, Files.size(mnt.resolve("big.bin")));
            try (RandomAccessFile f = new RandomAccessFile(mnt.resolve("big.bin").toFile(), "r")) {
                byte[] got = new byte[head.length];
                f.readFully(got);
                assertArrayEquals(head, got);
                f.seek(big - 4096);
                byte[] t = new byte[4096];
                f.readFully(t);
                assertArrayEquals(new byte[4096], t);
            }
        }
    }
}
