package io.jrump.blk.image;

import static io.jrump.blk.image.Qcow2CheckInteropTest.extension;
import static io.jrump.blk.image.Qcow2CheckInteropTest.get;
import static io.jrump.blk.image.Qcow2CheckInteropTest.put;
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
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile values in the newer qcow2 structures (snapshot table, bitmaps extension, compression
 * type, zstd data, extended L2 entries, external data files) give precise errors: EUCLEAN naming
 * the structure, EOPNOTSUPP naming the feature; never a crash, a hang or a huge allocation.
 */
class Qcow2FeatureBadInputTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-feature-bad");

    @AfterEach
    void close() {
        host.close();
    }

    private Path img(String name, String options, String... writes) {
        Path p = dir.resolve(name);
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, p.toString(), "4M");
        for (String w : writes) {
            Tool.ok("qemu-io", "-c", w, p.toString());
        }
        return p;
    }

    private ErrnoException fails(Errno errno, String fragment, Path p, boolean snapshot) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> {
            if (snapshot) {
                try (BlockDevice d = Images.openQcow2Snapshot(host, p.toString(), "s")) {
                    d.read(0, ByteBuffer.allocate((int) d.size()));
                }
            } else {
                try (BlockDevice d = Images.open(host, p.toString(), true)) {
                    d.read(0, ByteBuffer.allocate((int) d.size()));
                }
            }
        });
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should mention " + fragment);
        return e;
    }

    private Path withSnapshot() {
        Path p = img("s.qcow2", "compat=1.1", "write -P 1 0 64k");
        Tool.ok("qemu-img", "snapshot", "-c", "s", p.toString());
        return p;
    }

    @Test
    void snapshotTableEntries() throws Exception {
        Path p = withSnapshot();
        long t = get(p, 64, 8);
        put(p, t + 36, 0x7fff_fff0L, 4);
        fails(Errno.EUCLEAN, "extra data of 2147483632 bytes", p, false);
        p = withSnapshot();
        put(p, 60, 2000, 4); // more entries than the file holds
        fails(Errno.EUCLEAN, "runs past the end of the file", p, false);
        p = withSnapshot();
        put(p, t + 36, 1025, 4); // qemu's limit is 1 KiB of extra data
        fails(Errno.EUCLEAN, "snapshot table entry 0 at 0x" + Long.toHexString(t) + ": extra data of 1025 bytes", p, false);
        p = withSnapshot();
        put(p, t, get(p, t, 8) + 512, 8);
        fails(Errno.EUCLEAN, "is not cluster aligned", p, true);
        p = withSnapshot();
        put(p, t + 8, 0x7fff_ffff, 4);
        fails(Errno.EUCLEAN, "too large", p, true);
        p = withSnapshot();
        put(p, t + 48, -1L, 8); // disk size
        fails(Errno.EUCLEAN, "disk size", p, true);
    }

    @Test
    void bitmapsExtension() throws Exception {
        Path p = img("b.qcow2", "compat=1.1");
        Tool.ok("qemu-img", "bitmap", "--add", p.toString(), "b");
        long ext = extension(p, 0x23852875);
        put(p, ext, 0, 4);
        fails(Errno.EUCLEAN, "bitmaps extension: 0 bitmaps", p, false);
        put(p, ext, 1, 4);
        put(p, ext + 8, 1L << 40, 8);
        fails(Errno.EUCLEAN, "bitmaps extension", p, false);
        put(p, 88, 0, 8); // not valid: ignored
        try (BlockDevice d = Images.open(host, p.toString(), true)) {
            assertEquals(4 << 20, d.size());
        }
    }

    @Test
    void compressionType() throws Exception {
        Path p = img("c.qcow2", "compression_type=zstd");
        put(p, 104, 2, 1);
        fails(Errno.EOPNOTSUPP, "compression type 2", p, false);
        put(p, 104, 0, 1);
        fails(Errno.EUCLEAN, "disagrees with the compression incompatible-feature bit", p, false);
    }

    @Test
    void zstdGarbageIsEuclean() throws Exception {
        Path raw = dir.resolve("r.raw");
        java.nio.file.Files.write(raw, new byte[1 << 20].clone());
        byte[] data = new byte[1 << 20];
        java.util.Arrays.fill(data, (byte) 7);
        java.nio.file.Files.write(raw, data);
        Path p = dir.resolve("z.qcow2");
        Tool.ok("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", raw.toString(), p.toString());
        long l2 = get(p, get(p, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        long entry = get(p, l2, 8);
        long offset = entry & ((1L << 54) - 1);
        put(p, offset, 0x0102030405060708L, 8); // no zstd magic
        fails(Errno.EUCLEAN, "no zstd frame magic", p, false);
    }

    @Test
    void extendedL2Entries() throws Exception {
        Path p = img("x.qcow2", "extended_l2=on,cluster_size=16384", "write -P 1 0 4k");
        put(p, 20, 13, 4);
        fails(Errno.EUCLEAN, "extended L2 entries with clusters of 8192 bytes", p, false);
        p = img("x2.qcow2", "extended_l2=on", "write -P 1 0 4k");
        long l2 = get(p, get(p, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(p, l2, 0, 8); // allocated subclusters, no host cluster
        fails(Errno.EUCLEAN, "allocated subclusters but no host cluster", p, false);
        p = img("x3.qcow2", "extended_l2=on", "write -P 1 0 4k");
        put(p, l2 + 8, get(p, l2 + 8, 8) | (1L << 32), 8);
        fails(Errno.EUCLEAN, "both allocated and zero", p, false);
    }

    @Test
    void externalDataFiles() throws Exception {
        Path p = img("d.qcow2", "data_file=" + dir.resolve("d.data") + ",data_file_raw=on", "write -P 1 0 64k");
        long l2 = get(p, get(p, 40, 8), 8) & 0x00ff_ffff_ffff_fe00L;
        put(p, l2, (1L << 63) | 0x10000, 8); // guest cluster 0 at data offset 64 KiB
        fails(Errno.EUCLEAN, "not to its guest offset", p, false);
        put(p, l2, (1L << 62) | 0x10000, 8);
        fails(Errno.EUCLEAN, "compressed cluster 0 in an image with an external data file", p, false);
        Path q = img("q.qcow2", "compat=1.1");
        put(q, 88, 2, 8);
        fails(Errno.EUCLEAN, "data_file_raw without an external data file", q, false);
    }

    @Test
    void aSizeZeroImageWithAMisalignedL1IsEuclean() throws Exception {
        Path z = dir.resolve("z.qcow2");
        Tool.ok("qemu-img", "create", "-q", "-f", "qcow2", z.toString(), "0");
        put(z, 40, 0x200, 8);
        try (ImageFile f = new ImageFile(host.blockDevices().open(z.toString(), OpenMode.READ_ONLY), host.scheduler())) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> Qcow2Check.check(f));
            assertEquals(Errno.EUCLEAN, e.errno());
        }
    }
}
