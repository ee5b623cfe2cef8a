package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.Tool;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extended L2 entries (subclusters) and external data files against qemu-img and qemu-io: images
 * they write read as qemu reads them (qemu-img convert to raw is the truth), and our writes pass
 * qemu-img check and qemu-img compare.
 */
class Qcow2SubclusterDataFileTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-subcluster");

    @AfterEach
    void close() {
        host.close();
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    private byte[] readAll(String image) throws Exception {
        try (BlockDevice d = Images.open(host, image, true)) {
            ByteBuffer b = ByteBuffer.allocate((int) d.size());
            d.read(0, b);
            return b.array();
        }
    }

    private byte[] truth(String image) throws Exception {
        Path raw = dir.resolve("truth-" + Math.abs(image.hashCode()) + ".raw");
        Files.deleteIfExists(raw);
        Tool.ok("qemu-img", "convert", "-O", "raw", image, raw.toString());
        return Files.readAllBytes(raw);
    }

    /** A backing file with a pattern everywhere, and an overlay with extended L2 written at subcluster granularity. */
    private String subclusterOverlay(String clusterSize) {
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", p("base.qcow2"), "4M");
        Tool.ok("qemu-io", "-c", "write -P 0x11 0 4M", p("base.qcow2"));
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=" + clusterSize,
                "-b", "base.qcow2", "-F", "qcow2", p("top.qcow2"));
        int cs = Integer.parseInt(clusterSize);
        int sub = cs / 32;
        Tool.ok("qemu-io", "-c", "write -P 0x22 " + sub + " " + sub, "-c", "write -P 0x33 " + 5 * sub + " " + 3 * sub,
                "-c", "write -z " + 10 * sub + " " + 2 * sub, "-c", "write -P 0x44 1M 4096",
                "-c", "write -P 0x55 " + (cs - sub) + " " + 2 * sub, "-c", "discard 3M 64k",
                p("top.qcow2"));
        return p("top.qcow2");
    }

    @Test
    void extendedL2ImagesWrittenBySubclusterReadAsQemuReadsThem() throws Exception {
        for (String cs : new String[] {"65536", "16384", "2097152"}) {
            String top = subclusterOverlay(cs);
            assertArrayEquals(truth(top), readAll(top), "cluster size " + cs);
            try (ImageFile f = new ImageFile(host.blockDevices().open(top, OpenMode.READ_ONLY), host.scheduler())) {
                assertTrue(Qcow2Check.check(f).isClean(), Qcow2Check.check(f).toString());
            }
        }
    }

    @Test
    void ourWritesToAnExtendedL2ImageCheckCleanAndCompareEqual() throws Exception {
        String top = subclusterOverlay("65536");
        byte[] expect = truth(top);
        Random rnd = new Random(5);
        try (BlockDevice d = Images.open(host, top, false)) {
            for (int i = 0; i < 40; i++) {
                int len = (1 + rnd.nextInt(16)) * 512;
                int off = rnd.nextInt((SIZE - len) / 512) * 512;
                byte[] b = new byte[len];
                rnd.nextBytes(b);
                d.write(off, ByteBuffer.wrap(b));
                System.arraycopy(b, 0, expect, off, len);
            }
            d.flush();
        }
        Tool.Result check = Tool.run("qemu-img", "check", top);
        assertEquals(0, check.exit(), check.out());
        Files.write(dir.resolve("expect.raw"), expect);
        Tool.ok("qemu-img", "compare", "-F", "raw", top, p("expect.raw"));
        assertArrayEquals(expect, readAll(top));
    }

    @Test
    void aCompressedExtendedL2ImageReads() throws Exception {
        byte[] data = new byte[SIZE];
        for (int i = 0; i < SIZE; i++) {
            data[i] = (byte) ((i / 1000) % 7 == 0 ? i : 0);
        }
        Files.write(dir.resolve("src.raw"), data);
        Tool.ok("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "extended_l2=on", p("src.raw"), p("c.qcow2"));
        assertArrayEquals(data, readAll(p("c.qcow2")));
    }

    @Test
    void externalDataFilesReadAndWrite() throws Exception {
        for (String raw : new String[] {"on", "off"}) {
            String img = p("ext-" + raw + ".qcow2");
            // The name is stored as given. We resolve it against the image's directory, like a backing
            // file; qemu 7.2 resolves it against its working directory: run qemu in the image's directory.
            Tool.sh("cd '" + dir + "' && qemu-img create -q -f qcow2 -o data_file=ext-" + raw + ".data,data_file_raw=" + raw
                    + " ext-" + raw + ".qcow2 4M && qemu-io -c 'write -P 0x61 0 100k' -c 'write -P 0x62 1M 64k'"
                    + " -c 'write -z 2M 64k' ext-" + raw + ".qcow2 && qemu-img convert -O raw ext-" + raw + ".qcow2 truth.raw");
            byte[] expect = Files.readAllBytes(dir.resolve("truth.raw"));
            assertArrayEquals(expect, readAll(img), "data_file_raw=" + raw);
            try (ImageFile f = new ImageFile(host.blockDevices().open(img, OpenMode.READ_ONLY), host.scheduler())) {
                assertTrue(Qcow2Check.check(f).isClean(), Qcow2Check.check(f).toString());
            }
            byte[] b = new byte[70000 / 512 * 512];
            Arrays.fill(b, (byte) 0x7e);
            try (BlockDevice d = Images.open(host, img, false)) {
                d.write(512, ByteBuffer.wrap(b));
                d.write(3 << 20, ByteBuffer.wrap(b));
            }
            System.arraycopy(b, 0, expect, 512, b.length);
            System.arraycopy(b, 0, expect, 3 << 20, b.length);
            Files.write(dir.resolve("expect.raw"), expect);
            Tool.sh("cd '" + dir + "' && qemu-img check ext-" + raw + ".qcow2 && qemu-img compare -F raw ext-" + raw
                    + ".qcow2 expect.raw");
            assertArrayEquals(expect, readAll(img));
            if (raw.equals("on")) {
                assertArrayEquals(expect, Arrays.copyOf(Files.readAllBytes(dir.resolve("ext-on.data")), SIZE),
                        "a raw data file is the disk");
            }
        }
    }

    @Test
    void aDataFileImageThatDoesNotNameItsFileIsRefused() throws Exception {
        String img = p("ext.qcow2");
        Tool.sh("cd '" + dir + "' && qemu-img create -q -f qcow2 -o data_file=ext.data ext.qcow2 4M");
        long ext = Qcow2CheckInteropTest.extension(dir.resolve("ext.qcow2"), 0x44415441);
        assertTrue(ext > 0);
        Qcow2CheckInteropTest.put(dir.resolve("ext.qcow2"), ext - 8, 0x12345678, 4); // now an unknown extension
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, img, true));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("does not name"), e.getMessage());
    }

    @Test
    void snapshotsOfAnExtendedL2ImageReadAsQemuReadsThem() throws Exception {
        String top = subclusterOverlay("65536");
        Tool.ok("qemu-img", "snapshot", "-c", "s1", top);
        Tool.ok("qemu-io", "-c", "write -P 0x66 0 8k", "-c", "write -P 0x67 100k 2k", top);
        Path snap = dir.resolve("s1.raw");
        Tool.ok("qemu-img", "convert", "-O", "raw", "-l", "snapshot.name=s1", top, snap.toString());
        try (BlockDevice d = Images.openQcow2Snapshot(host, top, "s1")) {
            ByteBuffer b = ByteBuffer.allocate((int) d.size());
            d.read(0, b);
            assertArrayEquals(Files.readAllBytes(snap), b.array());
        }
        assertArrayEquals(truth(top), readAll(top));
        try (ImageFile f = new ImageFile(host.blockDevices().open(top, OpenMode.READ_ONLY), host.scheduler())) {
            assertTrue(Qcow2Check.check(f).isClean(), Qcow2Check.check(f).toString());
        }
    }

    /**
     * Random writes, reads and flushes against a byte-array model on three kinds of image qemu
     * made: an extended-L2 overlay on a backing file, an extended-L2 image with a data file, and a
     * raw data file; after each, qemu-img check is clean and qemu reads the model.
     */
    @Test
    void randomWritesReadsAndFlushesMatchAModel() throws Exception {
        String overlay = subclusterOverlay("65536");
        Tool.sh("cd '" + dir + "' && qemu-img create -q -f qcow2 -o extended_l2=on,data_file=xd.data xd.qcow2 4M"
                + " && qemu-io -c 'write -P 0x71 3k 5k' -c 'write -P 0x72 1M 64k' xd.qcow2"
                + " && qemu-img create -q -f qcow2 -o data_file=rd.data,data_file_raw=on rd.qcow2 4M"
                + " && qemu-io -c 'write -P 0x73 0 64k' rd.qcow2");
        String[] images = {overlay, p("xd.qcow2"), p("rd.qcow2")};
        for (int k = 0; k < images.length; k++) {
            String img = images[k];
            Tool.sh("cd '" + dir + "' && qemu-img convert -O raw '" + img + "' model.raw");
            byte[] model = Files.readAllBytes(dir.resolve("model.raw"));
            Random rnd = new Random(100 + k);
            try (BlockDevice d = Images.open(host, img, false)) {
                for (int step = 0; step < 120; step++) {
                    int len = (1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 200)) * 512;
                    int off = rnd.nextInt((SIZE - len) / 512) * 512;
                    switch (rnd.nextInt(4)) {
                        case 0, 1 -> {
                            byte[] b = new byte[len];
                            rnd.nextBytes(b);
                            d.write(off, ByteBuffer.wrap(b));
                            System.arraycopy(b, 0, model, off, len);
                        }
                        case 2 -> d.flush();
                        default -> {
                            ByteBuffer got = ByteBuffer.allocate(len);
                            d.read(off, got);
                            assertArrayEquals(Arrays.copyOfRange(model, off, off + len), got.array(), img + " step " + step);
                        }
                    }
                }
            }
            Files.write(dir.resolve("model.raw"), model);
            Tool.sh("cd '" + dir + "' && qemu-img check '" + img + "' && qemu-img compare -F raw '" + img + "' model.raw");
            assertArrayEquals(model, readAll(img), img + " reopened");
        }
    }
}
