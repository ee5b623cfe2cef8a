package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VMDK against qemu-img and 7-Zip: every subformat qemu-img writes reads the same bytes as the raw
 * disk it was converted from; a monolithicSparse image created and written by jrump passes
 * {@code qemu-img check} and {@code qemu-img compare}; a streamOptimized image jrump writes is
 * read back by qemu-img and 7-Zip; damaged headers, tables and descriptors give EUCLEAN, ENOENT
 * or ELOOP naming what and where.
 */
class VmdkImageTest {
    private static final long SIZE = 24L << 20;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vmdk");

    @AfterEach
    void close() {
        host.close();
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    private static byte[] stdout(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
        return out;
    }

    /** A raw disk with holes, scattered sectors, a whole run of random grains and a partial last grain. */
    private Path truth(long size) throws Exception {
        Path raw = dir.resolve("truth.raw");
        Random r = new Random(7);
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(size);
            for (long at : new long[] {0, 1L << 20, (7L << 20) + 512, (32L << 20) - 4096, size - 4096}) {
                if (at + 4096 <= size) {
                    byte[] b = new byte[4096];
                    r.nextBytes(b);
                    f.seek(at);
                    f.write(b);
                }
            }
            byte[] full = new byte[(int) (size / 8)];
            r.nextBytes(full);
            f.seek(size * 5 / 12 / 65536 * 65536);
            f.write(full);
        }
        return raw;
    }

    private void assertReadsAs(BlockDevice d, Path raw) throws Exception {
        assertEquals(Files.size(raw), d.size());
        ByteBuffer all = ByteBuffer.allocate((int) d.size());
        d.read(0, all);
        assertArrayEquals(Files.readAllBytes(raw), all.array());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
        "streamOptimized"})
    void readsWhatQemuImgWrote(String subformat) throws Exception {
        Path raw = truth(SIZE + (64 << 10) + 512); // a last grain only partly inside the disk
        Path vmdk = dir.resolve("disk.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=" + subformat, raw.toString(),
                vmdk.toString());
        try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
            assertTrue(d instanceof VmdkImage, d.toString());
            assertEquals(subformat, ((VmdkImage) d).subformat());
            assertReadsAs(d, raw);
        }
        // qemu's own reading of the image is the truth too.
        Path back = dir.resolve("back.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", vmdk.toString(), back.toString());
        assertArrayEquals(Files.readAllBytes(raw), Files.readAllBytes(back));
        if (subformat.equals("streamOptimized")) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vmdk.toString(), false));
            assertEquals(Errno.EOPNOTSUPP, e.errno(), e.getMessage());
        }
    }

    @Test
    void fullDisksReadInEverySubformat() throws Exception {
        Path raw = dir.resolve("full.raw");
        byte[] all = new byte[6 << 20];
        new Random(21).nextBytes(all);
        Files.write(raw, all);
        for (String sub : new String[] {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
            "streamOptimized"}) {
            Path vmdk = dir.resolve("full-" + sub + ".vmdk");
            run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=" + sub, raw.toString(),
                    vmdk.toString());
            try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
                assertReadsAs(d, raw);
            }
        }
    }

    @Test
    void aSparseFileHoldingOnlyADescriptorNamesItsExtents() throws Exception {
        Path raw = truth(4L << 20);
        Path flat = dir.resolve("f.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw.toString(),
                flat.toString());
        byte[] text = Files.readString(flat).replace("\0", "").getBytes(StandardCharsets.UTF_8);
        VmdkHeader h = new VmdkHeader(1, VmdkHeader.FLAG_NEWLINE_TEST, 0, 128, 1, 20, 512, 0, 0, 0, 0);
        ByteBuffer img = ByteBuffer.allocate(21 * 512).put(0, h.encode(), 0, 512).put(512, text);
        Path vmdk = dir.resolve("in-sparse.vmdk");
        Files.write(vmdk, img.array());
        Path back = dir.resolve("in-sparse.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", vmdk.toString(), back.toString());
        assertArrayEquals(Files.readAllBytes(raw), Files.readAllBytes(back));
        try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
            assertEquals("monolithicFlat", ((VmdkImage) d).subformat());
            assertReadsAs(d, raw);
        }
    }

    @Test
    void shortCidsAreRenewedInPlaceAndCompareAsNumbers() throws Exception {
        Path raw = truth(4L << 20);
        Path base = dir.resolve("b.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw.toString(),
                base.toString());
        // qemu writes the CID it renews on a write without leading zeros.
        String text = Files.readString(base).replace("\0", "");
        Files.writeString(base, text.replaceFirst("CID=[0-9a-f]+", "CID=1a"));
        Path child = dir.resolve("c.vmdk");
        run("qemu-img", "create", "-q", "-f", "vmdk", "-b", "b.vmdk", "-F", "vmdk", child.toString());
        assertTrue(new String(Files.readAllBytes(child), StandardCharsets.ISO_8859_1).contains("parentCID=1a"));
        try (BlockDevice d = Images.open(host, child.toString(), true)) {
            assertReadsAs(d, raw);
        }
        try (BlockDevice d = Images.open(host, base.toString(), false)) {
            d.write(0, ByteBuffer.allocate(512));
        }
        String cid = Files.readString(base).lines().filter(l -> l.startsWith("CID=")).findFirst().orElseThrow();
        assertTrue(cid.matches("CID=[0-9a-f]{2}") && !cid.equals("CID=1a"), cid);
        openFails(child, Errno.EUCLEAN, "changed since");
    }

    @Test
    void imagesCreateMakesMonolithicSparseAndChildren() throws Exception {
        Path raw = truth(4L << 20);
        Path base = dir.resolve("base.vmdk");
        Images.create(host, base.toString(), "vmdk", 4L << 20, java.util.Map.of());
        try (BlockDevice d = Images.open(host, base.toString(), false)) {
            copyInto(d, raw);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", base.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), base.toString());

        Path child = dir.resolve("child.vmdk");
        Images.create(host, child.toString(), "vmdk", -1, java.util.Map.of("backing_file", "base.vmdk"));
        assertTrue(run("qemu-img", "info", child.toString()).contains("backing file: base.vmdk"));
        try (BlockDevice d = Images.open(host, child.toString(), false)) {
            d.write(2L << 20, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 1));
        }
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.seek(2L << 20);
            f.write(new byte[4096]);
            f.seek(2L << 20);
            f.write(1);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", child.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), child.toString());

        Path stream = dir.resolve("stream.vmdk");
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.create(host, stream.toString(), "vmdk",
                4L << 20, java.util.Map.of("subformat", "streamOptimized")));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("convert"), e.getMessage());
        assertTrue(!Files.exists(stream), "nothing created");
        e = assertThrows(ErrnoException.class, () -> Images.create(host, dir.resolve("x.vmdk").toString(), "vmdk",
                4L << 20, java.util.Map.of("backing_file", "base.vmdk", "backing_fmt", "qcow2")));
        assertEquals(Errno.EINVAL, e.errno());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"monolithicFlat", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse"})
    void imagesCreateMakesDescriptorDisks(String subformat) throws Exception {
        Path raw = truth(SIZE);
        Path vmdk = dir.resolve("made.vmdk");
        Images.create(host, vmdk.toString(), "vmdk", SIZE, java.util.Map.of("subformat", subformat));
        try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
            assertEquals(subformat, ((VmdkImage) d).subformat());
            copyInto(d, raw);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
        assertTrue(run("qemu-img", "info", vmdk.toString()).contains(subformat));
    }

    @Test
    void twoGbDisksWeCreateSplitAsQemuDoes() throws Exception {
        long size = (2L << 30) + (8 << 20);
        byte[] data = new byte[1 << 20];
        new Random(4).nextBytes(data);
        long at = (2L << 30) - (512 << 10);
        Path raw = dir.resolve("big.raw");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(size);
            f.seek(at);
            f.write(data);
        }
        for (String sub : new String[] {"twoGbMaxExtentSparse", "twoGbMaxExtentFlat"}) {
            Path vmdk = dir.resolve("big-" + sub + ".vmdk");
            Images.create(host, vmdk.toString(), "vmdk", size, java.util.Map.of("subformat", sub));
            assertEquals(List.of("RW 4194304", "RW 16384"), Files.readAllLines(vmdk).stream()
                    .filter(l -> l.startsWith("RW ")).map(l -> l.substring(0, l.indexOf(' ', 3))).toList());
            try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
                d.write(at, ByteBuffer.wrap(data));
            }
            run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
            String out = run("qemu-io", "-f", "vmdk", "-c", "read -v " + at + " 512", vmdk.toString());
            assertTrue(out.contains(String.format("%02x", data[0])), out);
            run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
        }
    }

    @Test
    void extentNamesAreUtf8() throws Exception {
        Path raw = truth(4L << 20);
        Path vmdk = dir.resolve("d\u00efsk \u00e9t\u00e9.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw.toString(),
                vmdk.toString());
        try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
            assertReadsAs(d, raw);
            d.write(0, ByteBuffer.allocate(512)); // rewrites the CID digits in place; the descriptor stays whole
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"twoGbMaxExtentSparse", "twoGbMaxExtentFlat"})
    void readsAcrossExtentFiles(String subformat) throws Exception {
        long size = (2L << 30) + (8 << 20);
        Path raw = dir.resolve("big.raw");
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        long boundary = (2L << 30) - (512 << 10); // the data runs across the first extent's end, wherever qemu puts it
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(size);
            f.seek(boundary);
            f.write(data);
            f.seek(boundary + (4 << 20));
            f.write(data);
        }
        Path vmdk = dir.resolve("big.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=" + subformat, raw.toString(),
                vmdk.toString());
        assertTrue(Files.readString(vmdk).lines().filter(l -> l.startsWith("RW ")).count() >= 2);
        try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
            assertEquals(size, d.size());
            ByteBuffer b = ByteBuffer.allocate(8 << 20);
            d.read(boundary - (1 << 20), b);
            byte[] want = new byte[8 << 20];
            System.arraycopy(data, 0, want, 1 << 20, data.length);
            System.arraycopy(data, 0, want, 5 << 20, data.length);
            assertArrayEquals(want, b.array());
        }
    }

    private ImageFile newFile(Path p) throws Exception {
        return new ImageFile(host.blockDevices().create(p.toString(), 0), host.scheduler());
    }

    /**
     * Writes {@code raw} into {@code d} in 64 KiB pieces in a scrambled order, some pieces in two
     * writes (a sector, then the rest), then once more across the first grain boundary.
     */
    private static void copyInto(BlockDevice d, Path raw) throws Exception {
        byte[] all = Files.readAllBytes(raw);
        int piece = 64 << 10;
        int pieces = (all.length + piece - 1) / piece;
        for (int k = 0; k < pieces; k++) {
            int i = (int) ((k * 7919L) % pieces);
            int from = i * piece;
            int n = Math.min(piece, all.length - from);
            if (i % 3 == 0 && n > 512) {
                d.write(from, ByteBuffer.wrap(all, from, 512));
                d.write(from + 512, ByteBuffer.wrap(all, from + 512, n - 512));
            } else {
                d.write(from, ByteBuffer.wrap(all, from, n));
            }
        }
        d.write(piece - 512, ByteBuffer.wrap(all, piece - 512, 1024));
    }

    @Test
    void monolithicSparseWeCreateIsCleanForQemu() throws Exception {
        Path raw = truth(SIZE);
        Path vmdk = dir.resolve("ours.vmdk");
        try (VmdkImage img = VmdkImage.create(newFile(vmdk), SIZE, "monolithicSparse", host.clock(), host.random())) {
            copyInto(img, raw);
            assertReadsAs(img, raw);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
        assertTrue(Files.size(vmdk) < SIZE / 2, "stays sparse: " + Files.size(vmdk));
        assertArrayEquals(Files.readAllBytes(raw), stdout("7zz", "x", "-so", vmdk.toString()));
        // Reopened read-write through Images: overwrite a hole and some data, qemu sees the result.
        byte[] patch = new byte[128 << 10];
        new Random(9).nextBytes(patch);
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.seek(5L << 20);
            f.write(patch);
            f.seek(11L << 20);
            f.write(patch);
        }
        try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
            d.write(5L << 20, ByteBuffer.wrap(patch));
            d.write(11L << 20, ByteBuffer.wrap(patch));
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
    }

    @Test
    void largeImagesAreCreatedSparseAndWrittenAtTheirEnd() throws Exception {
        long size = 256L << 30;
        Path vmdk = dir.resolve("large.vmdk");
        try (VmdkImage img = VmdkImage.create(newFile(vmdk), size, null, host.clock(), host.random())) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            while (b.hasRemaining()) {
                b.put((byte) 0x5a);
            }
            img.write(size - 4096, b.flip());
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        String out = run("qemu-io", "-f", "vmdk", "-c", "read -P 0x5a " + (size - 4096) + " 4096", "-c",
                "read -P 0 0 1M", vmdk.toString());
        assertTrue(!out.contains("Pattern verification failed"), out);
    }

    @Test
    void writesIntoQemuImagesItReads() throws Exception {
        Path raw = truth(SIZE);
        for (String sub : new String[] {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse"}) {
            Path vmdk = dir.resolve("q-" + sub + ".vmdk");
            run("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + sub, vmdk.toString(), String.valueOf(SIZE));
            try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
                copyInto(d, raw);
            }
            run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
            run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
        }
    }

    @Test
    void streamOptimizedWeWriteIsReadByQemuAnd7zip() throws Exception {
        Path raw = truth(SIZE + (64 << 10) + 512);
        Path vmdk = dir.resolve("stream.vmdk");
        try (BlockDevice src = Images.open(host, raw.toString(), true); ImageFile out = newFile(vmdk)) {
            VmdkImage.writeStreamOptimized(out, src, host.random());
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
        assertTrue(Files.size(vmdk) < (4L << 20), "compressed and sparse: " + Files.size(vmdk));
        assertArrayEquals(Files.readAllBytes(raw), stdout("7zz", "x", "-so", vmdk.toString()));
        try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
            assertEquals("streamOptimized", ((VmdkImage) d).subformat());
            assertReadsAs(d, raw);
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vmdk.toString(), false));
        assertEquals(Errno.EOPNOTSUPP, e.errno(), e.getMessage());
    }

    @Test
    void zeroGrainsReadAsZerosAndTakeWrites() throws Exception {
        Path vmdk = dir.resolve("z.vmdk");
        run("qemu-img", "create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", vmdk.toString(), "4M");
        run("qemu-io", "-f", "vmdk", "-c", "write -P 0x55 0 1M", "-c", "write -z 64k 128k", vmdk.toString());
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(vmdk)).order(ByteOrder.LITTLE_ENDIAN);
        assertTrue((h.getInt(8) & VmdkHeader.FLAG_ZERO_GRAIN) != 0);
        long gt = Integer.toUnsignedLong(h.getInt((int) (h.getLong(0x38) * 512))) * 512;
        assertEquals(1, h.getInt((int) gt + 4), "qemu-io wrote grain 1 as a zero grain");
        Path raw = dir.resolve("z.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", vmdk.toString(), raw.toString());
        try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
            assertReadsAs(d, raw);
            d.write((64 << 10) + 4096, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 7));
        }
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.seek((64 << 10) + 4096);
            f.write(7);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", vmdk.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), vmdk.toString());
    }

    private String qemuInfo(Path img, String key) throws Exception {
        String out = run("qemu-img", "info", "--output=json", img.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\": (\\d+)").matcher(out);
        assertTrue(m.find(), out);
        return String.format("%08x", Long.parseLong(m.group(1)));
    }

    @Test
    void childDisksReadThroughTheirParentAndCopyGrainsOnWrite() throws Exception {
        Path raw = truth(4L << 20);
        Path base = dir.resolve("base.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", raw.toString(), base.toString());
        Path child = dir.resolve("child.vmdk");
        run("qemu-img", "create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child.toString());
        run("qemu-io", "-f", "vmdk", "-c", "write -P 0x22 512k 4k", child.toString());
        Path want = dir.resolve("want.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", child.toString(), want.toString());
        try (BlockDevice d = Images.open(host, child.toString(), true)) {
            assertReadsAs(d, want);
        }
        // A sector written into a grain the child lacks: the rest of the grain still reads the parent's data.
        String cid = qemuInfo(child, "cid");
        try (BlockDevice d = Images.open(host, child.toString(), false)) {
            d.write((1L << 20) + 4096, ByteBuffer.wrap(new byte[512]).put(0, (byte) 0x33));
        }
        try (RandomAccessFile f = new RandomAccessFile(want.toFile(), "rw")) {
            f.seek((1L << 20) + 4096);
            f.write(new byte[512]);
            f.seek((1L << 20) + 4096);
            f.write(0x33);
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", child.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", want.toString(), child.toString());
        String after = qemuInfo(child, "cid");
        assertTrue(!cid.equals(after), "the first write gives the child a new CID: " + cid + " then " + after);
        // Writing into the parent gives it a new CID: its child no longer matches and is refused.
        try (BlockDevice d = Images.open(host, base.toString(), false)) {
            d.write(0, ByteBuffer.allocate(512));
        }
        openFails(child, Errno.EUCLEAN, "parent \"base.vmdk\"", "changed since");
    }

    @Test
    void createRefusesWhatItDoesNotMake() throws Exception {
        for (String sub : new String[] {"streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse"}) {
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> VmdkImage.create(newFile(dir.resolve(sub)), SIZE, sub, host.clock(), host.random()));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertTrue(e.getMessage().contains(sub), e.getMessage());
        }
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> VmdkImage.create(newFile(dir.resolve("odd")), 1000, null, host.clock(), host.random()));
        assertEquals(Errno.EINVAL, e.errno());
    }

    private static void patch(Path img, long at, ByteBuffer bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes.array());
        }
    }

    private static ByteBuffer le32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, (int) v);
    }

    private static ByteBuffer le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
    }

    private ErrnoException openFails(Path img, Errno errno, String... words) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> {
            try (BlockDevice d = Images.open(host, img.toString(), true)) {
                d.read(0, ByteBuffer.allocate((int) Math.min(d.size(), 8 << 20)));
            }
        });
        assertEquals(errno, e.errno(), e.getMessage());
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), e.getMessage());
        }
        return e;
    }

    @Test
    void damagedSparseExtentsAreNamed() throws Exception {
        Path raw = truth(4L << 20);
        Path vmdk = dir.resolve("bad.vmdk");
        Object[][] cases = {
            {0x14L, le64(3), "grainSize"},
            {0x14L, le64(1L << 40), "grainSize"},
            {0x2cL, le32(0x7fffffff), "numGTEsPerGT"},
            {0xcL, le64(Long.MAX_VALUE / 1024), "capacity"},
            {0xcL, le64(1L << 40), "grains, more than"},
            {0xcL, le64(1L << 36), "grain directory"},
            {0x38L, le64(0x7fffffffL), "grain directory"},
            {0x24L, le64(1L << 30), "descriptorSize"},
            {0x49L, ByteBuffer.wrap(new byte[] {'\n', ' ', '\n', '\n'}), "newline"},
        };
        for (Object[] c : cases) {
            run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", raw.toString(), vmdk.toString());
            patch(vmdk, (long) c[0], (ByteBuffer) c[1]);
            openFails(vmdk, Errno.EUCLEAN, (String) c[2], "bad.vmdk");
        }
        // A directory entry, then a table entry, pointing past the end of the file.
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", raw.toString(), vmdk.toString());
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(vmdk)).order(ByteOrder.LITTLE_ENDIAN);
        long gd = h.getLong(0x38) * 512;
        long gt = Integer.toUnsignedLong(h.getInt((int) gd)) * 512;
        patch(vmdk, gd, le32(0x7ffffff0L));
        openFails(vmdk, Errno.EUCLEAN, "grain directory entry 0", "past the end");
        patch(vmdk, gd, le32(gt / 512));
        patch(vmdk, gt + 4 * 16, le32(0x7ffffff0L)); // grain 16: 1 MiB in, which holds data
        openFails(vmdk, Errno.EUCLEAN, "grain table 0", "entry 16", "past the end");
        // A grain inside the metadata: read as it is, never written to.
        patch(vmdk, gt + 4 * 16, le32(2));
        try (BlockDevice d = Images.open(host, vmdk.toString(), true)) {
            d.read(16 * 65536, ByteBuffer.allocate(65536));
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> {
            try (BlockDevice d = Images.open(host, vmdk.toString(), false)) {
                d.write(16 * 65536, ByteBuffer.allocate(512));
            }
        });
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("inside the metadata"), e.getMessage());
    }

    @Test
    void damagedStreamGrainsAreNamed() throws Exception {
        Path raw = truth(4L << 20);
        Path vmdk = dir.resolve("bad-stream.vmdk");
        try (BlockDevice src = Images.open(host, raw.toString(), true); ImageFile out = newFile(vmdk)) {
            VmdkImage.writeStreamOptimized(out, src, host.random());
        }
        long first = 128 * 512; // the first grain (disk offset 0 holds data) follows the 64 KiB overhead
        patch(vmdk, first + 12, ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
        openFails(vmdk, Errno.EUCLEAN, "compressed grain 0", "deflate");
        patch(vmdk, first, le64(999));
        openFails(vmdk, Errno.EUCLEAN, "compressed grain 0", "marker says sector 999");
        // The footer is the only place saying where the directory is.
        long size = Files.size(vmdk);
        patch(vmdk, size - 1536 + 12, le32(7));
        openFails(vmdk, Errno.EUCLEAN, "footer marker");
    }

    @Test
    void descriptorsThatLieAreRefused() throws Exception {
        Path raw = truth(4L << 20);
        Path vmdk = dir.resolve("d.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw.toString(),
                vmdk.toString());
        String good = Files.readString(vmdk).replace("\0", ""); // qemu pads it with NULs
        String extent = good.lines().filter(l -> l.startsWith("RW ")).findFirst().orElseThrow();

        Files.writeString(vmdk, good.replace(extent, extent.replace("RW 8192", "RW 8200")));
        openFails(vmdk, Errno.EUCLEAN, "line 8", "runs past the end");

        Files.writeString(vmdk, good.replace(extent, "RW 8192 FLAT \"missing-flat.vmdk\" 0"));
        openFails(vmdk, Errno.ENOENT, "missing-flat.vmdk", "line 8");

        Files.writeString(vmdk, good.replace(extent, "RW 8192 FLAT \"d.vmdk\" 0"));
        openFails(vmdk, Errno.ELOOP, "d.vmdk", "descriptor itself");

        Files.writeString(vmdk, good.replace(extent, "RW 8192 SPARSE \"d-flat.vmdk\""));
        openFails(vmdk, Errno.EUCLEAN, "KDMV");

        Files.writeString(vmdk, good.replace(extent, "RW banana"));
        openFails(vmdk, Errno.EUCLEAN, "line 8", "banana");

        Files.writeString(vmdk, good.replace(extent, extent + "\nRW 8192 VMFSSPARSE \"truth.raw\""));
        openFails(vmdk, Errno.EUCLEAN, "line 9", "VMFSSPARSE", "COWD");

        Files.writeString(vmdk, good.replace(extent, extent + "\n" + extent.replace("FLAT", "SESPARSE")));
        openFails(vmdk, Errno.EOPNOTSUPP, "SESPARSE");

        Files.writeString(vmdk, good.replace("parentCID=ffffffff", "parentCID=12345678\nparentFileNameHint=\"base.vmdk\""));
        openFails(vmdk, Errno.ENOENT, "parent \"base.vmdk\"", "no such file");

        Files.writeString(vmdk, good.replace("parentCID=ffffffff", "parentCID=12345678\nparentFileNameHint=\"d.vmdk\""));
        openFails(vmdk, Errno.ELOOP, "d.vmdk");

        StringBuilder many = new StringBuilder(good);
        for (int i = 0; i < VmdkDescriptor.MAX_EXTENTS + 1; i++) {
            many.append("RW 1 ZERO\n");
        }
        Files.writeString(vmdk, many);
        openFails(vmdk, Errno.EUCLEAN, "more than 4096 extents");

        byte[] huge = new byte[VmdkDescriptor.MAX_BYTES + 1];
        Arrays.fill(huge, (byte) '#');
        System.arraycopy("# Disk DescriptorFile\n".getBytes(StandardCharsets.US_ASCII), 0, huge, 0, 22);
        Files.write(vmdk, huge);
        openFails(vmdk, Errno.EUCLEAN, "larger than");

        // A sparse extent shorter than its descriptor line says.
        Path s = dir.resolve("s.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse",
                raw.toString(), s.toString());
        String sd = Files.readString(s);
        Files.writeString(s, sd.replace("RW 8192 SPARSE", "RW 8193 SPARSE"));
        openFails(s, Errno.EUCLEAN, "8193 sectors", "capacity is 8192");
        String sparseLine = sd.lines().filter(l -> l.startsWith("RW ")).findFirst().orElseThrow();
        Files.writeString(s, sd.replace(sparseLine, sparseLine + "\n" + sparseLine));
        openFails(s, Errno.EUCLEAN, "is already an extent (line 8)");
        String sparseFile = sparseLine.substring(sparseLine.indexOf('"') + 1, sparseLine.lastIndexOf('"'));
        Files.writeString(s, sd.replace("parentCID=ffffffff", "parentCID=12345678\nparentFileNameHint=\"" + sparseFile + "\""));
        openFails(s, Errno.ELOOP, "own extents");
    }

    /** A 1 MiB ESX sparse extent in 4 KiB grains: header, directory at sector 4, one table, grains 0 and 100. */
    private static byte[] cowd(byte[] grain0, byte[] grain100) {
        ByteBuffer b = ByteBuffer.allocate((4 + 1 + 32 + 16) * 512).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, VmdkHeader.COWD_MAGIC).putInt(4, 1).putInt(8, 3).putInt(12, 2048).putInt(16, 8).putInt(20, 4)
                .putInt(24, 1).putInt(28, 4 + 1 + 32 + 16);
        b.putInt(4 * 512, 5); // directory entry 0: the table at sector 5
        b.putInt(5 * 512, 37).putInt(5 * 512 + 100 * 4, 45); // table: grain 0 at sector 37, grain 100 at 45
        b.put(37 * 512, grain0).put(45 * 512, grain100);
        // qemu reads a CID from a descriptor at byte 0x200 of a COWD file; jrump does not need one.
        b.put(512, "CID=fffffffe\nparentCID=ffffffff\n".getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /**
     * A hand-built monolithicSparse of 8 MiB in grains of {@code grain} sectors (qemu-img only
     * writes 64 KiB): every third grain holds data, every fifth is a zero grain (table entry 1,
     * zeroed-grain flag), the rest are unallocated.
     */
    private static byte[] sparse(int grain, long seed) {
        int capacity = 16384;
        int grains = capacity / grain;
        int tables = (grains + 511) / 512;
        int gdSectors = (tables * 4 + 511) / 512;
        int firstTable = 2 + gdSectors;
        int firstGrain = firstTable + tables * 4;
        int data = (grains + 2) / 3;
        ByteBuffer b = ByteBuffer.allocate((firstGrain + data * grain) * 512).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new VmdkHeader(1, VmdkHeader.FLAG_NEWLINE_TEST | VmdkHeader.FLAG_ZERO_GRAIN, capacity, grain, 1, 1, 512, 0,
                2, firstGrain, 0).encode(), 0, 512);
        b.put(512, ("# Disk DescriptorFile\nversion=1\nCID=0000abcd\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n"
                + "RW " + capacity + " SPARSE \"x.vmdk\"\n").getBytes(StandardCharsets.US_ASCII));
        Random r = new Random(seed);
        int next = firstGrain;
        for (int t = 0; t < tables; t++) {
            b.putInt(2 * 512 + t * 4, firstTable + t * 4);
        }
        for (int g = 0; g < grains; g++) {
            int entry = 0;
            if (g % 3 == 0) {
                entry = next;
                byte[] bytes = new byte[grain * 512];
                r.nextBytes(bytes);
                b.put(next * 512, bytes);
                next += grain;
            } else if (g % 5 == 0) {
                entry = 1;
            }
            b.putInt((firstTable + g / 512 * 4) * 512 + g % 512 * 4, entry);
        }
        return b.array();
    }

    @ParameterizedTest(name = "grains of {0} sectors")
    @ValueSource(ints = {1, 8, 128, 2048})
    void grainSizesQemuImgDoesNotWriteAreReadAsQemuReadsThem(int grain) throws Exception {
        Path img = dir.resolve("g.vmdk");
        Files.write(img, sparse(grain, grain));
        Path raw = dir.resolve("g.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", img.toString(), raw.toString());
        try (BlockDevice d = Images.open(host, img.toString(), false)) {
            assertReadsAs(d, raw);
            // Writes into a data grain, a zero grain and an unallocated grain.
            d.write(0, ByteBuffer.wrap(new byte[512]).put(0, (byte) 9));
            d.write(5L * grain * 512, ByteBuffer.wrap(new byte[512]).put(0, (byte) 9));
            d.write(7L * grain * 512, ByteBuffer.wrap(new byte[512]).put(0, (byte) 9));
        }
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            for (long g : new long[] {0, 5, 7}) {
                f.seek(g * grain * 512);
                f.write(new byte[512]);
                f.seek(g * grain * 512);
                f.write(9);
            }
        }
        run("qemu-img", "check", "-q", "-f", "vmdk", img.toString());
        run("qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", raw.toString(), img.toString());
    }

    @Test
    void esxCowdExtentsAreReadLikeQemuReadsThem() throws Exception {
        byte[] a = new byte[4096];
        byte[] c = new byte[4096];
        new Random(11).nextBytes(a);
        new Random(12).nextBytes(c);
        Path img = dir.resolve("esx.vmdk");
        Files.write(img, cowd(a, c));
        Path raw = dir.resolve("esx.raw");
        run("qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", img.toString(), raw.toString());
        byte[] truth = Files.readAllBytes(raw);
        assertArrayEquals(a, Arrays.copyOfRange(truth, 0, 4096));
        assertArrayEquals(c, Arrays.copyOfRange(truth, 100 * 4096, 101 * 4096));
        try (BlockDevice d = Images.open(host, img.toString(), true)) {
            assertEquals("vmfsSparse", ((VmdkImage) d).subformat());
            assertReadsAs(d, raw);
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, img.toString(), false));
        assertEquals(Errno.EOPNOTSUPP, e.errno(), e.getMessage());
        // Named by a descriptor as a VMFSSPARSE extent.
        Path desc = dir.resolve("esx-desc.vmdk");
        Files.writeString(desc, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                + "createType=\"vmfsSparse\"\n\nRW 2048 VMFSSPARSE \"esx.vmdk\"\n");
        try (BlockDevice d = Images.open(host, desc.toString(), true)) {
            assertReadsAs(d, raw);
        }
        // A directory too short for the capacity.
        ByteBuffer bad = ByteBuffer.wrap(cowd(a, c)).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 64 << 20);
        Files.write(img, bad.array());
        openFails(img, Errno.EUCLEAN, "COWD", "grain directory entries");
    }

    @Test
    void readOnlyHostFileStillReads() throws Exception {
        Path raw = truth(4L << 20);
        Path vmdk = dir.resolve("ro.vmdk");
        run("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", raw.toString(), vmdk.toString());
        ImageFile f = new ImageFile(host.blockDevices().open(vmdk.toString(), OpenMode.READ_ONLY), host.scheduler());
        try (VmdkImage d = VmdkImage.open(f, vmdk.toString(), true, host.clock(), null, null, 0)) { // closes f
            assertTrue(d.isReadOnly());
            assertReadsAs(d, raw);
        }
    }
}
