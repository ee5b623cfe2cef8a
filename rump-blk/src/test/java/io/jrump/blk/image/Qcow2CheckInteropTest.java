package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.Tool;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Qcow2Check} against {@code qemu-img check} on the same file, image by image: images made
 * by qemu-img with snapshots and persistent bitmaps, then single fields damaged. The verdicts are
 * compared by exit class: 0 clean, 2 corruptions, 3 leaks only, 1 refused. Where qemu refuses to
 * open an image (1), ours must refuse too or report corruption, never clean.
 */
class Qcow2CheckInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-check");

    @AfterEach
    void close() {
        host.close();
    }

    /** Our verdict as qemu-img check's exit code. */
    private int ours(Path img) {
        try (ImageFile f = new ImageFile(host.blockDevices().open(img.toString(), OpenMode.READ_ONLY), host.scheduler())) {
            Qcow2Check.Result r = Qcow2Check.check(f);
            return r.corruptions() > 0 ? 2 : r.leaks() > 0 ? 3 : 0;
        } catch (ErrnoException e) {
            return 1;
        }
    }

    private static int qemu(Path img) {
        return Tool.run("qemu-img", "check", img.toString()).exit();
    }

    /** Asserts qemu's verdict is {@code expected} (the damage did what the case says) and ours agrees. */
    private void agree(Path img, int expected, String what) {
        Tool.Result q = Tool.run("qemu-img", "check", img.toString());
        assertEquals(expected, q.exit(), what + ": qemu-img check said\n" + q.out());
        int o = ours(img);
        if (expected == 1) {
            assertTrue(o == 1 || o == 2, what + ": qemu refuses, we said " + o);
        } else {
            assertEquals(expected, o, what + ": qemu-img check said\n" + q.out());
        }
    }

    private Path image(String name, String... script) {
        Path p = dir.resolve(name);
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", p.toString(), "4M");
        for (String s : script) {
            if (s.startsWith("snapshot ")) {
                Tool.ok("qemu-img", "snapshot", "-c", s.substring(9), p.toString());
            } else if (s.startsWith("bitmap ")) {
                Tool.ok("qemu-img", "bitmap", "--add", p.toString(), s.substring(7));
            } else {
                Tool.ok("qemu-io", "-c", s, p.toString());
            }
        }
        return p;
    }

    static long get(Path p, long offset, int width) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            f.seek(offset);
            return switch (width) {
                case 8 -> f.readLong();
                case 4 -> f.readInt() & 0xffffffffL;
                case 2 -> f.readShort() & 0xffff;
                default -> f.read();
            };
        }
    }

    static void put(Path p, long offset, long value, int width) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(offset);
            switch (width) {
                case 8 -> f.writeLong(value);
                case 4 -> f.writeInt((int) value);
                case 2 -> f.writeShort((int) value);
                default -> f.write((int) value);
            }
        }
    }

    /** The offset of header extension {@code type}'s data, or -1. */
    static long extension(Path p, int type) throws Exception {
        long at = get(p, 100, 4);
        for (int i = 0; i < 64; i++) {
            long t = get(p, at, 4);
            long len = get(p, at + 4, 4);
            if (t == (type & 0xffffffffL)) {
                return at + 8;
            }
            if (t == 0) {
                return -1;
            }
            at += 8 + ((len + 7) & ~7);
        }
        return -1;
    }

    private Path withSnapshots() {
        return image("snap.qcow2", "write -P 1 0 256k", "snapshot s1", "write -P 2 64k 64k", "snapshot s2",
                "write -P 3 1M 64k");
    }

    private Path withBitmap() {
        // The bitmap is enabled on open; qemu-io's writes make it dirty, so it has data clusters.
        return image("bm.qcow2", "write -P 1 0 64k", "bitmap b0", "write -P 2 1M 64k", "write -P 3 3M 64k");
    }

    @Test
    void cleanImagesAgreeIncludingSnapshotsBitmapsAndSizeZero() throws Exception {
        agree(image("plain.qcow2", "write -P 1 0 256k"), 0, "plain");
        Path zero = dir.resolve("zero.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", zero.toString(), "0");
        agree(zero, 0, "size 0");
        agree(withSnapshots(), 0, "two snapshots");
        Path bm = withBitmap();
        assertTrue(extension(bm, 0x23852875) > 0, "qemu-img made a bitmaps extension");
        long dir = get(bm, extension(bm, 0x23852875) + 16, 8);
        long table = get(bm, dir, 8);
        assertNotEquals(0, get(bm, table, 8) & 0x00ff_ffff_ffff_fe00L, "the bitmap has a data cluster");
        agree(bm, 0, "dirty bitmap");
        Path both = image("both.qcow2", "bitmap b1", "write -P 1 0 128k", "snapshot s1", "write -P 2 0 64k");
        agree(both, 0, "bitmap and snapshot");
    }

    @Test
    void progressCountsTheL1EntriesOfTheActiveTableAndEverySnapshotUpToTheirTotal() throws Exception {
        Path img = withSnapshots();
        List<long[]> seen = new ArrayList<>();
        try (ImageFile f = new ImageFile(host.blockDevices().open(img.toString(), OpenMode.READ_ONLY), host.scheduler())) {
            assertTrue(Qcow2Check.check(f, (done, total) -> seen.add(new long[] {done, total})).isClean());
        }
        assertFalse(seen.isEmpty());
        long total = seen.get(0)[1];
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(total, seen.get(i)[1], "one total throughout");
            assertEquals(i + 1, seen.get(i)[0], "one report per L1 entry, in order");
        }
        assertEquals(total, seen.get(seen.size() - 1)[0], "ends at the total: the active table and both snapshots' L1s");
    }

    @Test
    void reservedBitsInL1L2AndRefcountTableEntriesAreCorruptions() throws Exception {
        Path a = image("l1.qcow2", "write -P 1 0 256k");
        long l1 = get(a, 40, 8);
        put(a, l1, get(a, l1, 8) | 2, 8);
        agree(a, 2, "L1 entry bit 1");
        Path b = image("l1hi.qcow2", "write -P 1 0 256k");
        put(b, l1, get(b, l1, 8) | (1L << 56), 8);
        agree(b, 2, "L1 entry bit 56");
        Path c = image("l2.qcow2", "write -P 1 0 256k");
        long l2 = get(c, l1, 8) & 0x00ff_ffff_ffff_fe00L;
        put(c, l2, get(c, l2, 8) | 0x100, 8);
        agree(c, 2, "L2 entry bit 8");
        Path d = image("l2hi.qcow2", "write -P 1 0 256k");
        put(d, l2 + 8, get(d, l2 + 8, 8) | (1L << 61), 8);
        agree(d, 2, "L2 entry bit 61");
        Path e = image("rt.qcow2", "write -P 1 0 256k");
        long rt = get(e, 48, 8);
        put(e, rt, get(e, rt, 8) | 4, 8);
        agree(e, 2, "refcount table entry bit 2");
    }

    @Test
    void leaksAreLeaksInSnapshotImagesToo() throws Exception {
        Path p = withSnapshots();
        // Bump the refcount of the active L1 table's cluster from 1 to 2: a leak.
        long rt = get(p, 48, 8);
        long block = get(p, rt, 8);
        long l1Cluster = get(p, 40, 8) / 65536;
        put(p, block + 2 * l1Cluster, 2, 2);
        agree(p, 3, "refcount 2 on the active L1 table");
    }

    @Test
    void withoutTheSnapshotWalkSharedClustersWouldBeErrors() throws Exception {
        // A snapshot's L1 entry dropped: the clusters only it referenced are leaks for both tools.
        Path p = withSnapshots();
        long snapTable = get(p, 64, 8);
        long snapL1 = get(p, snapTable, 8);
        put(p, snapL1, 0, 8);
        agree(p, 3, "snapshot L1 entry cleared");
    }

    @Test
    void damagedSnapshotTableEntries() throws Exception {
        Path a = withSnapshots();
        long t = get(a, 64, 8);
        put(a, t, get(a, t, 8) + 512, 8);
        agree(a, 2, "snapshot L1 table misaligned");
        Path b = withSnapshots();
        put(b, t + 8, 0x7fff_ffff, 4);
        agree(b, 2, "snapshot L1 table too large");
        Path c = withSnapshots();
        put(c, t + 36, 0x10000, 4);
        agree(c, 1, "snapshot extra data of 64 KiB");
        Path d = withSnapshots();
        put(d, 60, 65537, 4);
        agree(d, 1, "nb_snapshots beyond qemu's limit");
        Path e = withSnapshots();
        put(e, 64, get(e, 64, 8) + 4096, 8);
        agree(e, 1, "snapshot table misaligned");
    }

    @Test
    void damagedBitmaps() throws Exception {
        Path a = withBitmap();
        long ext = extension(a, 0x23852875);
        long dirOffset = get(a, ext + 16, 8);
        long table = get(a, dirOffset, 8);
        long entry = get(a, table, 8);
        put(a, table, entry | 2, 8);
        agree(a, 1, "bitmap table entry reserved bit (qemu cannot load the bitmap)");
        Path b = withBitmap();
        put(b, ext + 16, dirOffset + 512, 8);
        agree(b, 1, "bitmap directory misaligned");
        Path c = withBitmap();
        put(c, 88, 0, 8); // autoclear bit 0 clear: the extension is stale, its clusters leaked
        agree(c, 3, "bitmaps extension not valid");
    }

    @Test
    void compressionTypeAndItsFeatureBitMustAgree() throws Exception {
        Path a = dir.resolve("z.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", a.toString(), "4M");
        agree(a, 0, "zstd image");
        assertEquals(1, get(a, 104, 1));
        put(a, 72, get(a, 72, 8) & ~8L, 8);
        agree(a, 1, "compression_type zstd without the incompatible bit");
        Path b = image("zlib.qcow2", "write -P 1 0 64k");
        put(b, 72, get(b, 72, 8) | 8L, 8);
        agree(b, 1, "the compression bit with compression_type zlib");
        Path c = image("type9.qcow2", "write -P 1 0 64k");
        put(c, 72, get(c, 72, 8) | 8L, 8);
        put(c, 104, 9, 1);
        agree(c, 1, "compression type 9");
    }

    @Test
    void headerFieldsQemuValidates() throws Exception {
        Object[][] cases = {
            {20, 8L, 4, "cluster_bits 8"}, {20, 22L, 4, "cluster_bits 22"}, {96, 7L, 4, "refcount_order 7"},
            {100, 96L, 4, "header_length 96"}, {100, 0x20000L, 4, "header_length beyond the cluster"},
            {56, 0L, 4, "no refcount table"}, {48, 0x10200L, 8, "refcount table misaligned"},
            {40, 0x30200L, 8, "L1 table misaligned"}, {36, 0x1000_0000L, 4, "L1 table too large"},
            {4, 4L, 4, "version 4"}, {72, 1L << 40, 8, "unknown incompatible bit"}, {32, 3L, 4, "crypt_method 3"},
            {8, 0x20000L, 8, "backing file offset beyond the cluster"},
        };
        for (Object[] c : cases) {
            Path p = image("h" + c[3].hashCode() + ".qcow2", "write -P 1 0 64k");
            put(p, (int) c[0], (long) c[1], (int) c[2]);
            Tool.Result q = Tool.run("qemu-img", "check", p.toString());
            assertNotEquals(0, q.exit(), c[3] + ": qemu-img check said\n" + q.out());
            int o = ours(p);
            assertTrue(o == 1 || o == 2, c[3] + ": qemu said " + q.exit() + ", we said " + o);
        }
        // A refcount table of 129 clusters, all inside the file: beyond qemu's 8 MiB limit only.
        Path big = image("rt129.qcow2", "write -P 1 0 64k");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(f.length() + 130L * 65536);
        }
        put(big, 56, 129, 4);
        agree(big, 1, "refcount table of 129 clusters");
    }

    @Test
    void extendedL2AndDataFileImages() throws Exception {
        Path x = dir.resolve("x.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", x.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 2k 2k", "-c", "write -z 8k 4k", "-c", "write -P 2 1M 64k", x.toString());
        agree(x, 0, "extended L2");
        long l2 = get(x, get(x, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        long bitmap = get(x, l2 + 8, 8);
        put(x, l2 + 8, bitmap | (bitmap << 32), 8); // allocated subclusters also marked zero
        agree(x, 2, "subclusters both allocated and zero");
        Path d = dir.resolve("d.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + dir.resolve("d.data"), d.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 128k", "-c", "write -P 2 2M 64k", d.toString());
        agree(d, 0, "external data file");
    }

    @Test
    void ourWriteToAnImageWithBitmapsClearsTheirAutoclearBit() throws Exception {
        Path p = withBitmap();
        try (io.jrump.blk.BlockDevice d = Images.open(host, p.toString(), false)) {
            d.write(0, java.nio.ByteBuffer.allocate(4096));
        }
        assertEquals(0, get(p, 88, 8), "the bitmaps are no longer valid: they missed our write");
        agree(p, 3, "stale bitmaps' clusters are leaked, as qemu sees them");
    }

    @Test
    void moreHeaderAndTableCases() throws Exception {
        Path a = withSnapshots();
        long t = get(a, 64, 8);
        put(a, t + 36, 0, 4);
        agree(a, 1, "v3 snapshot without extra data");
        Path b = image("ac.qcow2", "write -P 1 0 64k");
        put(b, 88, 1, 8);
        agree(b, 0, "bitmaps autoclear bit without the extension");
        Path c = image("dirty.qcow2", "write -P 1 0 64k");
        put(c, 72, 1, 8);
        agree(c, 0, "dirty bit, refcounts right");
        Path d = image("corrupt.qcow2", "write -P 1 0 64k");
        put(d, 72, 2, 8);
        agree(d, 0, "corrupt bit, nothing wrong");
        Path e = image("hl.qcow2", "write -P 1 0 64k");
        put(e, 100, 108, 4);
        agree(e, 1, "header_length 108");
        Path f = image("l1small.qcow2", "write -P 1 0 64k");
        put(f, 24, 1L << 40, 8);
        agree(f, 1, "virtual size beyond the L1 table");
        Path g = image("bf.qcow2", "write -P 1 0 64k");
        put(g, 8, 0x200, 8);
        put(g, 16, 2000, 4);
        agree(g, 1, "backing file name of 2000 bytes");
        Path h = withSnapshots();
        put(h, 64, 1L << 40, 8);
        agree(h, 2, "snapshot table past the end of the file");
        Path k = withBitmap();
        long ext = extension(k, 0x23852875);
        put(k, ext, 2, 4);
        agree(k, 1, "two bitmaps claimed, one in the directory");
        Path m = withBitmap();
        put(m, get(m, ext + 16, 8) + 16, 2, 1);
        agree(m, 1, "bitmap type 2");
        Path v2 = dir.resolve("v2.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 64k", v2.toString());
        Tool.ok("qemu-img", "snapshot", "-c", "s", v2.toString());
        Tool.ok("qemu-io", "-c", "write -P 2 0 64k", v2.toString());
        agree(v2, 0, "compat 0.10 with a snapshot");
    }

    @Test
    void extendedL2DataFileAndRefcountBlockDamage() throws Exception {
        Path x = dir.resolve("x1.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", x.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 2k 2k", x.toString());
        long l2 = get(x, get(x, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(x, l2, 0, 8);
        agree(x, 2, "extended: allocated subclusters, no host");
        x = dir.resolve("x2.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", x.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 2k 2k", x.toString());
        put(x, l2, get(x, l2, 8) | 1, 8);
        agree(x, 0, "extended: bit 0 set");
        Path c = dir.resolve("c.qcow2");
        Files.write(dir.resolve("c.raw"), new byte[1 << 20]);
        byte[] data = new byte[1 << 20];
        java.util.Arrays.fill(data, (byte) 3);
        Files.write(dir.resolve("c.raw"), data);
        Tool.ok("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "extended_l2=on", dir.resolve("c.raw").toString(), c.toString());
        long cl2 = get(c, get(c, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(c, cl2 + 8, 1, 8);
        agree(c, 2, "extended: compressed with a bitmap");
        Path d = dir.resolve("d.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + dir.resolve("d.data"), d.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 128k", d.toString());
        long dl2 = get(d, get(d, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(d, dl2, (1L << 63) | 0x30000, 8);
        agree(d, 0, "data file: cluster 0 at 0x30000");
        Path e = dir.resolve("e.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", e.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 128k", e.toString());
        long el2 = get(e, get(e, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(e, el2, (1L << 62) | (1L << 40), 8);
        agree(e, 2, "compressed cluster past the end");
        Path f = dir.resolve("f.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", f.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 128k", f.toString());
        put(f, get(f, 48, 8), 0x10200, 8);
        agree(f, 1, "refcount block misaligned");
        Path g = dir.resolve("g.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", g.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 128k", g.toString());
        put(g, get(g, 48, 8), 1L << 40, 8);
        agree(g, 2, "refcount block past the end");
    }
}
