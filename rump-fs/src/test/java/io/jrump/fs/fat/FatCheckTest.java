package io.jrump.fs.fat;

import static io.jrump.fs.fat.FatTools.exec;
import static io.jrump.fs.fat.FatTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FatCheck} against {@code fsck.fat -n}: on clean images both find nothing; on images
 * damaged in the ways a crash or a bad tool leaves them, both find something, and ours names it.
 */
class FatCheckTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("fat-check");

    @AfterEach
    void close() {
        host.close();
    }

    /** A FAT16 image with A.TXT (3 clusters), B.TXT (1 cluster) and a directory D in the root. */
    private Path image() throws Exception {
        Path img = dir.resolve("check.img");
        run("mkfs.fat", "-C", "-F", "16", "-s", "4", img.toString(), "16384");
        Path a = Files.write(dir.resolve("A.TXT"), new byte[5000]);
        Path b = Files.write(dir.resolve("B.TXT"), new byte[100]);
        Files.createDirectories(dir.resolve("D"));
        run("mcopy", "-i", img.toString(), a.toString(), b.toString(), "::");
        run("mmd", "-i", img.toString(), "::D");
        return img;
    }

    private FatCheck.Result check(Path img) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY);
        try (FatFs fs = FatFs.mount(dev, FatMountOptions.defaults(), true, () -> FatTools.NOW, null).closing(dev)) {
            return FatCheck.check(fs);
        }
    }

    /** Layout facts read straight from the image: where the FATs and the root directory are. */
    private record Geometry(long fat1, long fat2, long root, long data, int clusterBytes) {
        static Geometry of(Path img) throws Exception {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(img), 0, 512).slice().order(ByteOrder.LITTLE_ENDIAN);
            int bps = b.getShort(11) & 0xffff;
            int spc = b.get(13) & 0xff;
            int reserved = b.getShort(14) & 0xffff;
            int fatSize = b.getShort(22) & 0xffff;
            int rootEntries = b.getShort(17) & 0xffff;
            long fat1 = (long) reserved * bps;
            long fat2 = fat1 + (long) fatSize * bps;
            long root = fat2 + (long) fatSize * bps;
            return new Geometry(fat1, fat2, root, root + rootEntries * 32L, bps * spc);
        }
    }

    /** The root entry with this 11-byte short name: its offset in the image. */
    private static long entry(Path img, Geometry g, String name11) throws Exception {
        byte[] all = Files.readAllBytes(img);
        for (long at = g.root(); at < g.data(); at += 32) {
            if (new String(all, (int) at, 11, java.nio.charset.StandardCharsets.US_ASCII).equals(name11)) {
                return at;
            }
        }
        throw new AssertionError(name11 + " not in the root directory");
    }

    private static int firstCluster(Path img, long entry) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(entry + 26);
            return f.read() | f.read() << 8;
        }
    }

    /** Sets a FAT16 entry in both copies (or only the first). */
    private static void setFat(Path img, Geometry g, int cluster, int value, boolean both) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            for (long base : both ? new long[] {g.fat1(), g.fat2()} : new long[] {g.fat1()}) {
                f.seek(base + 2L * cluster);
                f.write(value & 0xff);
                f.write(value >>> 8 & 0xff);
            }
        }
    }

    private static void patch(Path img, long at, byte... bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes);
        }
    }

    private void assertBothFind(Path img, String ours) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "fsck.fat", "-n", img.toString());
        assertNotEquals(0, rc, "fsck.fat -n finds the damage:\n" + out);
        FatCheck.Result r = check(img);
        assertFalse(r.isClean(), "FatCheck finds it too");
        assertTrue(r.problems().stream().anyMatch(p -> p.contains(ours)), ours + " in " + r.problems()
                + "\nfsck.fat said:\n" + out);
    }

    @Test
    void aCleanImageIsCleanToBoth() throws Exception {
        Path img = image();
        assertEquals(0, exec(new StringBuilder(), "fsck.fat", "-n", img.toString()));
        FatCheck.Result r = check(img);
        assertTrue(r.isClean(), r.problems().toString());
        assertEquals(2, r.files());
        assertEquals(2, r.directories());
    }

    @ParameterizedTest(name = "FAT{0}")
    @ValueSource(ints = {12, 16, 32})
    void ourMkfsIsCleanToBoth(int fat) throws Exception {
        Path img = dir.resolve("ours.img");
        Files.write(img, new byte[0]);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(fat == 32 ? 64L << 20 : fat == 16 ? 32L << 20 : 2L << 20);
        }
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        try (dev) {
            FatMkfs.format(dev, FatMkfs.Options.defaults(0x1234abcdL).withType(FatType.valueOf("FAT" + fat))
                    .withLabel("Ours"));
        }
        FatTools.assertFsckClean(img);
        assertTrue(run("mlabel", "-s", "-i", img.toString(), "::").contains("OURS"));
        assertTrue(check(img).isClean());
    }

    @Test
    void aLoopingChain() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        int a = firstCluster(img, entry(img, g, "A       TXT"));
        setFat(img, g, a + 2, a, true); // the last cluster points back to the first
        assertBothFind(img, "loops");
    }

    @Test
    void fatCopiesThatDiffer() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        setFat(img, g, 1000, 0xFFFF, false);
        assertBothFind(img, "FATs differ");
    }

    @Test
    void aCrossLink() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        int a = firstCluster(img, entry(img, g, "A       TXT"));
        long b = entry(img, g, "B       TXT");
        patch(img, b + 26, (byte) a, (byte) (a >>> 8)); // B starts at A's first cluster
        assertBothFind(img, "cross-linked");
    }

    @Test
    void aLostCluster() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        setFat(img, g, 2000, 0xFFFF, true);
        assertBothFind(img, "lost clusters");
    }

    @Test
    void aSizeLongerThanTheChain() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        long b = entry(img, g, "B       TXT");
        patch(img, b + 28, (byte) 0x00, (byte) 0x40, (byte) 0, (byte) 0); // 16 KiB in one 2 KiB cluster
        assertBothFind(img, "File size is");
    }

    @Test
    void aChainIntoAFreeCluster() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        int a = firstCluster(img, entry(img, g, "A       TXT"));
        setFat(img, g, a, 3000, true);
        assertBothFind(img, "free cluster");
    }

    @Test
    void aDirectoryWhoseDotDotIsWrong() throws Exception {
        Path img = image();
        Geometry g = Geometry.of(img);
        int d = firstCluster(img, entry(img, g, "D          "));
        long dotdot = g.data() + (long) (d - 2) * g.clusterBytes() + 32;
        patch(img, dotdot + 26, (byte) 7, (byte) 0);
        assertBothFind(img, "parent");
    }

    @Test
    void theDirtyBit() throws Exception {
        Path img = image();
        patch(img, 37, (byte) 1);
        StringBuilder out = new StringBuilder();
        exec(out, "fsck.fat", "-n", img.toString());
        assertTrue(out.toString().contains("Dirty bit"), out.toString());
        FatCheck.Result r = check(img);
        assertTrue(r.problems().stream().anyMatch(p -> p.contains("Dirty bit")), r.problems().toString());
    }
}
