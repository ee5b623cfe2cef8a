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
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qcow2 features beyond the basics, against images qemu-img makes: size 0, the cache of
 * decompressed clusters, zstd compression, internal snapshots.
 */
class Qcow2FeaturesTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-features");

    @AfterEach
    void close() {
        host.close();
    }

    private ImageFile file(Path p) throws ErrnoException {
        return new ImageFile(host.blockDevices().open(p.toString(), OpenMode.READ_ONLY), host.scheduler());
    }

    private Qcow2Image open(Path p) throws ErrnoException {
        return Qcow2Image.open(file(p), true, host.clock(), null, 0);
    }

    private Path raw(String name, long seed) throws Exception {
        byte[] data = new byte[SIZE];
        Random rnd = new Random(seed);
        for (int i = 0; i < SIZE; i += 65536) {
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    for (int j = i; j < i + 65536; j++) {
                        data[j] = (byte) (rnd.nextInt(4) * 17); // compressible, not trivially
                    }
                }
                case 1 -> { }
                default -> Arrays.fill(data, i, i + 65536, (byte) (i >> 16));
            }
        }
        Path p = dir.resolve(name);
        Files.write(p, data);
        return p;
    }

    private static byte[] readAll(BlockDevice d) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate((int) d.size());
        d.read(0, b);
        return b.array();
    }

    @Test
    void anImageOfSizeZeroOpensAndChecksClean() throws Exception {
        Path z = dir.resolve("z.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", z.toString(), "0");
        try (Qcow2Image q = open(z)) {
            assertEquals(0, q.size());
            assertTrue(q.snapshots().isEmpty());
        }
        try (ImageFile f = file(z)) {
            assertTrue(Qcow2Check.check(f).isClean());
        }
        try (BlockDevice d = Images.open(host, z.toString(), false)) {
            assertEquals(0, d.size());
            d.flush();
        }
        assertEquals(0, Tool.run("qemu-img", "check", z.toString()).exit());
    }

    @Test
    void smallReadsOfACompressedClusterDecompressItOnce() throws Exception {
        Path raw = raw("truth.raw", 7);
        Path img = dir.resolve("c.qcow2");
        Tool.ok("qemu-img", "convert", "-O", "qcow2", "-c", raw.toString(), img.toString());
        byte[] truth = Files.readAllBytes(raw);
        try (Qcow2Image q = open(img)) {
            // 128 reads of 512 bytes across cluster 0 (compressed or zero: pick a compressed one).
            int c = firstNonZeroCluster(truth);
            ByteBuffer b = ByteBuffer.allocate(512);
            for (int i = 0; i < 128; i++) {
                b.clear();
                q.read((long) c * 65536 + i * 512L, b);
                assertArrayEquals(Arrays.copyOfRange(truth, c * 65536 + i * 512, c * 65536 + i * 512 + 512), b.array());
            }
            assertEquals(1, q.decompressions(), "one decompression for 128 reads of one cluster");
            assertArrayEquals(truth, readAll(q));
            long whole = q.decompressions();
            assertArrayEquals(truth, readAll(q));
            assertTrue(q.decompressions() <= 2 * whole, "the cache is small: a second pass decompresses again");
        }
    }

    private static int firstNonZeroCluster(byte[] truth) {
        for (int c = 0; c < truth.length / 65536; c++) {
            for (int i = c * 65536; i < (c + 1) * 65536; i++) {
                if (truth[i] != 0) {
                    return c;
                }
            }
        }
        throw new AssertionError("no data");
    }

    @Test
    void zstdCompressedImagesReadAsTheirSource() throws Exception {
        Path raw = raw("truth.raw", 11);
        for (String cs : new String[] {"65536", "4096", "2097152"}) {
            Path img = dir.resolve("z" + cs + ".qcow2");
            Tool.ok("qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd,cluster_size=" + cs,
                    raw.toString(), img.toString());
            try (Qcow2Image q = open(img)) {
                assertEquals("zstd", q.compressionType());
                assertArrayEquals(Files.readAllBytes(raw), readAll(q), "cluster size " + cs);
                assertTrue(q.decompressions() > 0);
            }
            try (ImageFile f = file(img)) {
                assertTrue(Qcow2Check.check(f).isClean(), cs);
            }
        }
    }

    @Test
    void writingAZstdImageKeepsItsCompressedClustersReadable() throws Exception {
        Path raw = raw("truth.raw", 12);
        Path img = dir.resolve("zw.qcow2");
        Tool.ok("qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd", raw.toString(), img.toString());
        byte[] truth = Files.readAllBytes(raw);
        byte[] patch = new byte[4096];
        Arrays.fill(patch, (byte) 0x77);
        System.arraycopy(patch, 0, truth, 70000, patch.length);
        Files.write(raw, truth);
        try (BlockDevice d = Images.open(host, img.toString(), false)) {
            d.write(70000 / 512 * 512, ByteBuffer.wrap(Arrays.copyOfRange(truth, 70000 / 512 * 512, 70000 / 512 * 512 + 8192)));
        }
        assertEquals(0, Tool.run("qemu-img", "check", img.toString()).exit());
        Tool.ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", img.toString(), raw.toString());
    }

    @Test
    void zstdBytesThatAreNotAFrameAreEuclean() throws Exception {
        byte[] out = new byte[65536];
        Qcow2Decompressor.BadData e = assertThrows(Qcow2Decompressor.BadData.class,
                () -> Qcow2Decompressor.decompress(Qcow2Header.COMPRESSION_ZSTD, new byte[512], out));
        assertTrue(e.getMessage().contains("magic"), e.getMessage());
        byte[] frame = {(byte) 0x28, (byte) 0xb5, (byte) 0x2f, (byte) 0xfd, 0x20, 0x10, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        assertThrows(Qcow2Decompressor.BadData.class,
                () -> Qcow2Decompressor.decompress(Qcow2Header.COMPRESSION_ZSTD, frame, out));
    }

    @Test
    void snapshotsAreListedAndReadLikeQemuImg() throws Exception {
        Path img = dir.resolve("s.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 1 0 192k", img.toString());
        Tool.ok("qemu-img", "snapshot", "-c", "first", img.toString());
        Tool.ok("qemu-io", "-c", "write -P 2 64k 64k", img.toString());
        Tool.ok("qemu-img", "resize", "-q", img.toString(), "8M");
        Tool.ok("qemu-img", "snapshot", "-c", "second", img.toString());
        Tool.ok("qemu-io", "-c", "write -P 3 0 4k", img.toString());
        String listing = Tool.ok("qemu-img", "snapshot", "-l", img.toString());
        try (Qcow2Image q = open(img)) {
            List<Qcow2Snapshot> s = q.snapshots();
            assertEquals(2, s.size());
            assertEquals("1", s.get(0).id());
            assertEquals("first", s.get(0).name());
            assertEquals("second", s.get(1).name());
            assertEquals(4 << 20, s.get(0).diskSize());
            assertEquals(8 << 20, s.get(1).diskSize());
            assertTrue(listing.contains("first") && listing.contains("second"), listing);
            assertTrue(Math.abs(s.get(0).dateSeconds() - Files.getLastModifiedTime(img).toMillis() / 1000) < 600);
            assertEquals("2", q.findSnapshot("second").id());
            assertEquals("first", q.findSnapshot("1").name());
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> q.findSnapshot("third")).errno());
        }
        for (String name : new String[] {"first", "second"}) {
            Path truth = dir.resolve(name + ".raw");
            Tool.ok("qemu-img", "convert", "-O", "raw", "-l", "snapshot.name=" + name, img.toString(), truth.toString());
            try (Qcow2Image s = Qcow2Image.openSnapshot(file(img), name, host.clock(), null, 0)) {
                assertTrue(s.isReadOnly());
                // qemu-img convert -l keeps the image's current size (8 MiB); the snapshot's own size is
                // what it recorded, as 'qemu-img snapshot -a' would restore it. The rest reads as zeros there.
                byte[] t = Files.readAllBytes(truth);
                assertEquals(name.equals("first") ? 4 << 20 : 8 << 20, s.size());
                assertArrayEquals(Arrays.copyOf(t, (int) s.size()), readAll(s), name);
                assertTrue(Arrays.equals(new byte[t.length - (int) s.size()], Arrays.copyOfRange(t, (int) s.size(), t.length)));
                assertEquals(Errno.EROFS, assertThrows(ErrnoException.class,
                        () -> s.write(0, ByteBuffer.allocate(512))).errno());
            }
        }
    }

    @Test
    void aSnapshotWithABadL1TableIsEuclean() throws Exception {
        Path img = dir.resolve("s.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "4M");
        Tool.ok("qemu-img", "snapshot", "-c", "s", img.toString());
        long table = Qcow2CheckInteropTest.get(img, 64, 8);
        Qcow2CheckInteropTest.put(img, table + 8, 0, 4); // L1 of 0 entries for a 4 MiB disk
        ErrnoException e = assertThrows(ErrnoException.class, () -> Qcow2Image.openSnapshot(file(img), "s", host.clock(), null, 0));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        Qcow2CheckInteropTest.put(img, table + 8, 1, 4);
        Qcow2CheckInteropTest.put(img, table, 0x7000_0000_0000L, 8);
        e = assertThrows(ErrnoException.class, () -> Qcow2Image.openSnapshot(file(img), "s", host.clock(), null, 0));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("past the end"), e.getMessage());
    }
}
