package io.jrump.fs.exfat;

import static io.jrump.fs.exfat.ExFatTools.assertFsckClean;
import static io.jrump.fs.exfat.ExFatTools.mount;
import static io.jrump.fs.fat.FatTools.assertSameTree;
import static io.jrump.fs.fat.FatTools.readAll;
import static io.jrump.fs.fat.FatTools.tree;
import static io.jrump.fs.fat.FatTools.writeAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.fat.FatTools;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * exFAT volumes made by {@code mkfs.exfat} and by us, written by us and checked by
 * {@code fsck.exfat -n}; read back through our VFS after unmount.
 */
class ExFatInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("exfat-interop");

    @AfterEach
    void close() {
        host.close();
    }

    static final String LONG_NAME = ("Long name of 255 units " + "x".repeat(255)).substring(0, 255);
    static final String UNICODE = "Ünïcødé – 日本語 ✓ \uD83D\uDE00.txt";

    /** Writes a tree with long, Unicode and case-colliding names and a fragmented file; returns what it holds. */
    static Map<String, byte[]> writeTree(Vfs vfs, long seed) throws Exception {
        Map<String, byte[]> want = new TreeMap<>();
        Random r = new Random(seed);
        vfs.mkdir("/Dir One", 0755);
        vfs.mkdir("/Dir One/Sub", 0755);
        want.put("/Dir One", null);
        want.put("/Dir One/Sub", null);
        byte[] big = new byte[1_234_567];
        r.nextBytes(big);
        writeAll(vfs, "/Dir One/Sub/big.bin", big);
        want.put("/Dir One/Sub/big.bin", big);
        writeAll(vfs, "/" + LONG_NAME, "long".getBytes(StandardCharsets.UTF_8));
        want.put("/" + LONG_NAME, "long".getBytes(StandardCharsets.UTF_8));
        writeAll(vfs, "/" + UNICODE, "unicode".getBytes(StandardCharsets.UTF_8));
        want.put("/" + UNICODE, "unicode".getBytes(StandardCharsets.UTF_8));
        writeAll(vfs, "/ReadMe.TXT", "case".getBytes(StandardCharsets.UTF_8));
        want.put("/ReadMe.TXT", "case".getBytes(StandardCharsets.UTF_8));
        ErrnoException taken = assertThrows(ErrnoException.class,
                () -> vfs.open("/README.txt", OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY, 0644));
        assertEquals(Errno.EEXIST, taken.errno());
        assertArrayEquals("case".getBytes(StandardCharsets.UTF_8), readAll(vfs, "/readme.txt"));
        // Two files appended in turn: each breaks the other's run, so both go to FAT chains.
        byte[] a = new byte[0];
        byte[] b = new byte[0];
        for (int i = 0; i < 6; i++) {
            byte[] pa = new byte[5000 + i * 977];
            byte[] pb = new byte[7000 + i * 131];
            r.nextBytes(pa);
            r.nextBytes(pb);
            a = append(vfs, "/frag-a.bin", a, pa);
            b = append(vfs, "/Dir One/frag-b.bin", b, pb);
        }
        want.put("/frag-a.bin", a);
        want.put("/Dir One/frag-b.bin", b);
        // Many files: the root grows past its first cluster.
        vfs.mkdir("/many", 0755);
        want.put("/many", null);
        for (int i = 0; i < 150; i++) {
            String p = "/many/file number " + i + " with a name of some length.txt";
            writeAll(vfs, p, ("file " + i).getBytes(StandardCharsets.UTF_8));
            want.put(p, ("file " + i).getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 0; i < 150; i += 3) {
            vfs.unlink("/many/file number " + i + " with a name of some length.txt");
            want.remove("/many/file number " + i + " with a name of some length.txt");
        }
        // The root grows too (a FAT chain from mkfs, unlike new directories).
        for (int i = 0; i < 70; i++) {
            String p = "/root file " + i + " with a longer name.txt";
            writeAll(vfs, p, new byte[i]);
            want.put(p, new byte[i]);
        }
        // Renames: across directories, a directory, in place by case.
        vfs.rename("/Dir One/Sub/big.bin", "/moved big.bin");
        want.put("/moved big.bin", want.remove("/Dir One/Sub/big.bin"));
        vfs.rename("/Dir One/Sub", "/many/Sub moved");
        want.remove("/Dir One/Sub");
        want.put("/many/Sub moved", null);
        vfs.rename("/ReadMe.TXT", "/README.txt");
        want.put("/README.txt", want.remove("/ReadMe.TXT"));
        vfs.mkdir("/gone", 0755);
        vfs.rmdir("/gone");
        // Truncate: shrink, and grow (the new bytes read as zeros without being written).
        vfs.truncate("/frag-a.bin", 12_345);
        want.put("/frag-a.bin", java.util.Arrays.copyOf(a, 12_345));
        vfs.truncate("/Dir One/frag-b.bin", b.length + 100_000);
        want.put("/Dir One/frag-b.bin", java.util.Arrays.copyOf(b, b.length + 100_000));
        // Trailing dots are dropped, as Linux's exfat drops them.
        writeAll(vfs, "/dots...", "dots".getBytes(StandardCharsets.UTF_8));
        want.put("/dots", "dots".getBytes(StandardCharsets.UTF_8));
        return want;
    }

    private static byte[] append(Vfs vfs, String path, byte[] old, byte[] more) throws Exception {
        int fd = vfs.open(path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_APPEND, 0644);
        try {
            ByteBuffer buf = ByteBuffer.wrap(more);
            while (buf.hasRemaining()) {
                vfs.write(fd, buf);
            }
        } finally {
            vfs.close(fd);
        }
        byte[] all = java.util.Arrays.copyOf(old, old.length + more.length);
        System.arraycopy(more, 0, all, old.length, more.length);
        return all;
    }

    @Test
    void ourWritesToAMkfsExfatImageAreCleanAndReadBack() throws Exception {
        Path img = ExFatTools.mkfs(dir.resolve("theirs.img"), 64L << 20, "-L", "THEIRS");
        Map<String, byte[]> want;
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            want = writeTree(vfs, 1);
            assertSameTree(want, tree(vfs, "/"));
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertSameTree(want, tree(vfs, "/"));
            assertEquals(java.util.List.of(), ExFatCheck.check((ExFatFs) vfs.mounted("/")).problems());
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            assertEquals("exfat, 4096-byte clusters, 15872 clusters, label 'THEIRS'",
                    FileSystemTypes.identify(dev).description());
        }
    }

    @Test
    void ourMkfsIsCleanAndHoldsWhatWeWrite() throws Exception {
        Path img = dir.resolve("ours.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(48L << 20);
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ExFatMkfs.format(dev, ExFatMkfs.Options.defaults(0x5eed).withLabel("OURS"));
        }
        assertFsckClean(img);
        Map<String, byte[]> want;
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            want = writeTree(vfs, 2);
        }
        assertFsckClean(img);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertSameTree(want, tree(vfs, "/"));
            ExFatCheck.Result r = ExFatCheck.check((ExFatFs) vfs.mounted("/"));
            assertEquals(java.util.List.of(), r.problems());
        }
        String label = FatTools.run("exfatlabel", img.toString());
        assertEquals(true, label.contains("OURS"), label);
    }
}
