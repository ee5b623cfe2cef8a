package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.Tool;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qcow2 against qemu-img and qemu-io: images they make read byte-identical to the raw truth, and
 * images we make and write pass {@code qemu-img check} and {@code qemu-img compare}.
 */
class Qcow2InteropTest {
    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-interop");

    @AfterEach
    void close() {
        host.close();
    }

    private byte[] readAll(String image) throws Exception {
        try (BlockDevice d = Images.open(host, image, true)) {
            ByteBuffer b = ByteBuffer.allocate((int) d.size());
            d.read(0, b);
            return b.array();
        }
    }

    private Path randomRaw(String name, long seed) throws Exception {
        byte[] data = new byte[SIZE];
        Random rnd = new Random(seed);
        // Mixed content: random, zeros and a repeating pattern, so compression and zero detection both matter.
        for (int i = 0; i < SIZE; i += 65536) {
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    byte[] r = new byte[65536];
                    rnd.nextBytes(r);
                    System.arraycopy(r, 0, data, i, 65536);
                }
                case 1 -> { }
                default -> java.util.Arrays.fill(data, i, i + 65536, (byte) (i >> 16));
            }
        }
        Path p = dir.resolve(name);
        Files.write(p, data);
        return p;
    }

    /** Fixture: qemu-img convert -O qcow2 [-c] truth.raw img.qcow2. */
    @Test
    void imagesConvertedByQemuImgReadAsTheirSource() throws Exception {
        Path raw = randomRaw("truth.raw", 1);
        for (String[] opts : new String[][] {{}, {"-c"}, {"-o", "cluster_size=4096"}, {"-o", "compat=0.10"}}) {
            Path img = dir.resolve("conv" + opts.length + (opts.length > 0 ? opts[opts.length - 1].hashCode() : 0) + ".qcow2");
            String[] cmd = new String[6 + opts.length];
            cmd[0] = "qemu-img";
            cmd[1] = "convert";
            cmd[2] = "-O";
            cmd[3] = "qcow2";
            System.arraycopy(opts, 0, cmd, 4, opts.length);
            cmd[4 + opts.length] = raw.toString();
            cmd[5 + opts.length] = img.toString();
            Tool.ok(cmd);
            assertArrayEquals(Files.readAllBytes(raw), readAll(img.toString()), String.join(" ", opts));
        }
    }

    /**
     * Fixture: qemu-img create -f qcow2 base.qcow2 8M; qemu-io -c 'write -P 0xab 0 1M' base.qcow2;
     * qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2; qemu-io -c 'write -P 0xcd 512k 1M'
     * -c 'write -z 4M 64k' top.qcow2 — a backing chain with partial overlap and a zero cluster.
     */
    @Test
    void aBackingChainReadsAsQemuSeesIt() throws Exception {
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        Tool.ok("qemu-img", "create", "-f", "qcow2", base.toString(), "8M");
        Tool.ok("qemu-io", "-c", "write -P 0xab 0 1M", "-c", "write -P 0x11 4M 128k", base.toString());
        Tool.ok("qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top.toString());
        Tool.ok("qemu-io", "-c", "write -P 0xcd 512k 1M", "-c", "write -z 4M 64k", top.toString());
        Path truth = dir.resolve("top.raw");
        Tool.ok("qemu-img", "convert", "-O", "raw", top.toString(), truth.toString());
        assertArrayEquals(Files.readAllBytes(truth), readAll(top.toString()));
    }

    private Qcow2Image create(Path p, long size, String backing, String fmt) throws Exception {
        HostBlockDevice dev = host.blockDevices().create(p.toString(), 0);
        ImageFile f = new ImageFile(dev, host.scheduler());
        Qcow2Image.create(f, size, backing, fmt);
        return Qcow2Image.open(f, false, host.clock(),
                (name, format, depth) -> Images.open(host, Images.resolve(p.toString(), name), true), 0);
    }

    @Test
    void imagesWeWritePassQemuImgCheckAndCompare() throws Exception {
        Path img = dir.resolve("ours.qcow2");
        byte[] truth = new byte[SIZE];
        Random rnd = new Random(3);
        try (Qcow2Image q = create(img, SIZE, null, null)) {
            for (int i = 0; i < 200; i++) {
                int sectors = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 400);
                int first = rnd.nextInt(SIZE / 512 - sectors);
                byte[] data = new byte[sectors * 512];
                rnd.nextBytes(data);
                q.write(first * 512L, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, truth, first * 512, data.length);
            }
            q.flush();
            ByteBuffer back = ByteBuffer.allocate(SIZE);
            q.read(0, back);
            assertArrayEquals(truth, back.array());
        }
        Path raw = dir.resolve("truth.raw");
        Files.write(raw, truth);
        String check = Tool.ok("qemu-img", "check", img.toString());
        assertTrue(check.contains("No errors were found"), check);
        Tool.ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", img.toString(), raw.toString());
    }

    @Test
    void writingOverABackingFileKeepsTheBaseAndPassesQemuImgCheck() throws Exception {
        Path baseRaw = randomRaw("base.raw", 5);
        Path base = dir.resolve("base.qcow2");
        Tool.ok("qemu-img", "convert", "-c", "-O", "qcow2", baseRaw.toString(), base.toString());
        Path top = dir.resolve("top.qcow2");
        byte[] truth = Files.readAllBytes(baseRaw);
        try (Qcow2Image q = create(top, SIZE, "base.qcow2", "qcow2")) {
            byte[] data = new byte[3000 / 512 * 512];
            java.util.Arrays.fill(data, (byte) 0x77);
            for (long off : new long[] {512, 70_000 / 512 * 512, 5L << 20}) {
                q.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, truth, (int) off, data.length);
            }
        }
        Path expected = dir.resolve("expected.raw");
        Files.write(expected, truth);
        String check = Tool.ok("qemu-img", "check", top.toString());
        assertTrue(check.contains("No errors were found"), check);
        Tool.ok("qemu-img", "compare", "-F", "raw", top.toString(), expected.toString());
        assertArrayEquals(Files.readAllBytes(baseRaw), readAll(base.toString()), "the base image is untouched");
        String info = Tool.ok("qemu-img", "info", top.toString());
        assertTrue(info.contains("backing file: base.qcow2"), info);
    }

    /** Random writes into an open image, mirrored into {@code truth}. */
    private static void randomWrites(Qcow2Image q, byte[] truth, Random rnd, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            int sectors = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 400);
            int first = rnd.nextInt(truth.length / 512 - sectors);
            byte[] data = new byte[sectors * 512];
            rnd.nextBytes(data);
            q.write(first * 512L, ByteBuffer.wrap(data));
            System.arraycopy(data, 0, truth, first * 512, data.length);
        }
    }

    private Qcow2Image openRw(Path p) throws Exception {
        return Qcow2Image.open(new ImageFile(host.blockDevices().open(p.toString(),
                io.jrump.hypercall.BlockDevices.OpenMode.READ_WRITE), host.scheduler()), false, host.clock(), null, 0);
    }

    private Qcow2Check.Result ourCheck(Path p) throws Exception {
        try (ImageFile f = new ImageFile(host.blockDevices().open(p.toString(),
                io.jrump.hypercall.BlockDevices.OpenMode.READ_ONLY), host.scheduler())) {
            return Qcow2Check.check(f);
        }
    }

    /**
     * Every refcount width qemu offers, read by our check and written by us: fixtures from
     * {@code qemu-img convert -O qcow2 -o refcount_bits=N,cluster_size=4096 truth.raw rcN.qcow2}
     * for N in 1, 2, 4, 8, 16, 32, 64; after our random writes qemu-img check finds no errors and
     * qemu-img compare finds the written data.
     */
    @Test
    void writesOnEveryRefcountWidthPassQemuImgCheck() throws Exception {
        Path raw = randomRaw("truth.raw", 7);
        for (int bits = 1; bits <= 64; bits *= 2) {
            Path img = dir.resolve("rc" + bits + ".qcow2");
            Tool.ok("qemu-img", "convert", "-O", "qcow2", "-o", "refcount_bits=" + bits + ",cluster_size=4096",
                    raw.toString(), img.toString());
            Qcow2Check.Result before = ourCheck(img);
            assertTrue(before.isClean(), bits + "-bit refcounts as qemu wrote them: " + before.messages());
            byte[] truth = Files.readAllBytes(raw);
            try (Qcow2Image q = openRw(img)) {
                randomWrites(q, truth, new Random(bits), 80);
            }
            Path expected = dir.resolve("expected" + bits + ".raw");
            Files.write(expected, truth);
            String check = Tool.ok("qemu-img", "check", img.toString());
            assertTrue(check.contains("No errors were found"), bits + " bits: " + check);
            Tool.ok("qemu-img", "compare", "-F", "raw", img.toString(), expected.toString());
            assertTrue(ourCheck(img).isClean(), bits + " bits: our check");
        }
    }

    /**
     * A refcount table that fills up grows: {@code qemu-img create -f qcow2 -o cluster_size=512
     * small.qcow2 12M} has a one-cluster table (64 refcount blocks of 256 clusters: 8 MiB of file);
     * writing all 12 MiB in 1 MiB requests moves it to a bigger place, and qemu-img check and compare
     * accept the result.
     */
    @Test
    void aFullRefcountTableGrows() throws Exception {
        Path img = dir.resolve("small.qcow2");
        Tool.ok("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=512", img.toString(), "12M");
        int size = 12 << 20;
        byte[] truth = new byte[size];
        new Random(4).nextBytes(truth);
        try (Qcow2Image q = openRw(img)) {
            for (int off = 0; off < size; off += 1 << 20) {
                q.write(off, ByteBuffer.wrap(truth, off, 1 << 20));
            }
        }
        Path expected = dir.resolve("expected.raw");
        Files.write(expected, truth);
        String check = Tool.ok("qemu-img", "check", img.toString());
        assertTrue(check.contains("No errors were found"), check);
        Tool.ok("qemu-img", "compare", "-F", "raw", img.toString(), expected.toString());
        try (ImageFile f = new ImageFile(host.blockDevices().open(img.toString(),
                io.jrump.hypercall.BlockDevices.OpenMode.READ_ONLY), host.scheduler())) {
            Qcow2Header h = Qcow2Header.read(f);
            assertTrue(h.refcountTableClusters() > 1 && h.refcountTableOffset() != 512, "the table grew and moved: " + h);
        }
        assertTrue(ourCheck(img).isClean());
    }

    /** Images we create with 1-bit and 64-bit refcounts and 512-byte clusters pass qemu-img check once written. */
    @Test
    void imagesWeCreateWithOtherRefcountWidthsPassQemuImgCheck() throws Exception {
        for (int order : new int[] {0, 6}) {
            Path img = dir.resolve("ours" + order + ".qcow2");
            try (ImageFile f = new ImageFile(host.blockDevices().create(img.toString(), 0), host.scheduler())) {
                Qcow2Image.create(f, SIZE, null, null, 9, order);
            }
            byte[] truth = new byte[SIZE];
            try (Qcow2Image q = openRw(img)) {
                randomWrites(q, truth, new Random(order), 100);
            }
            Path expected = dir.resolve("ours" + order + ".raw");
            Files.write(expected, truth);
            String check = Tool.ok("qemu-img", "check", img.toString());
            assertTrue(check.contains("No errors were found"), "refcount_order " + order + ": " + check);
            Tool.ok("qemu-img", "compare", "-F", "raw", img.toString(), expected.toString());
        }
    }

    @Test
    void formatsAreDetectedByContent() throws Exception {
        Path raw = randomRaw("r.raw", 9);
        Path q = dir.resolve("q.qcow2");
        Tool.ok("qemu-img", "convert", "-O", "qcow2", raw.toString(), q.toString());
        Path vmdk = dir.resolve("v.vmdk");
        Tool.ok("qemu-img", "convert", "-O", "vmdk", raw.toString(), vmdk.toString());
        Path vhd = dir.resolve("v.vhd");
        Tool.ok("qemu-img", "convert", "-O", "vpc", raw.toString(), vhd.toString());
        for (Object[] c : new Object[][] {{raw, ImageFormat.RAW}, {q, ImageFormat.QCOW2}, {vmdk, ImageFormat.VMDK},
            {vhd, ImageFormat.VHD}}) {
            try (ImageFile f = new ImageFile(host.blockDevices().open(c[0].toString(),
                    io.jrump.hypercall.BlockDevices.OpenMode.READ_ONLY), host.scheduler())) {
                assertEquals(c[1], ImageFormat.detect(f), c[0].toString());
            }
        }
    }
}
