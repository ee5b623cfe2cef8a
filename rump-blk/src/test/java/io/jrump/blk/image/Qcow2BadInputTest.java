package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.Tool;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile qcow2 images give precise errors, and the check finds what qemu-img check finds.
 * Fixtures start from {@code qemu-img create -f qcow2 img 4M; qemu-io -c 'write -P 0x5a 0 256k' img}
 * and patch single fields.
 */
class Qcow2BadInputTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("qcow2-bad");
    private Path img;

    @BeforeEach
    void fixture() {
        img = dir.resolve("img.qcow2");
        Tool.ok("qemu-img", "create", "-f", "qcow2", img.toString(), "4M");
        Tool.ok("qemu-io", "-c", "write -P 0x5a 0 256k", img.toString());
    }

    @AfterEach
    void close() {
        host.close();
    }

    private void patch(long offset, long value, int width) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(offset);
            switch (width) {
                case 8 -> f.writeLong(value);
                case 4 -> f.writeInt((int) value);
                default -> f.writeShort((int) value);
            }
        }
    }

    private long field(long offset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(offset);
            return f.readLong();
        }
    }

    /** Where the 16-bit refcount of the cluster holding virtual cluster 0 is stored. */
    private long firstDataClusterRefcount() throws Exception {
        long block = field(field(48));
        long l2 = field(field(40)) & 0x00ff_ffff_ffff_fe00L;
        long data = field(l2) & 0x00ff_ffff_ffff_fe00L;
        return block + 2 * (data / 65536);
    }

    private ErrnoException openFails(Errno errno, String fragment) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> {
            try (BlockDevice d = Images.open(host, img.toString(), true)) {
                d.read(0, ByteBuffer.allocate(256 * 1024));
            }
        });
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should mention " + fragment);
        return e;
    }

    private Qcow2Check.Result check() throws Exception {
        try (ImageFile f = new ImageFile(host.blockDevices().open(img.toString(), OpenMode.READ_ONLY), host.scheduler())) {
            return Qcow2Check.check(f);
        }
    }

    @Test
    void aCleanImageChecksCleanLikeQemuImg() throws Exception {
        assertTrue(check().isClean(), check().messages().toString());
        assertEquals(0, Tool.run("qemu-img", "check", img.toString()).exit());
    }

    @Test
    void clusterBitsOutOfRange() throws Exception {
        patch(20, 30, 4);
        openFails(Errno.EUCLEAN, "cluster_bits 30");
    }

    @Test
    void aHugeL1TableIsRefusedBeforeAllocation() throws Exception {
        patch(36, 0x7fff_ffff, 4);
        openFails(Errno.EUCLEAN, "l1_size 2147483647");
    }

    @Test
    void anL1TablePastTheEndOfTheFile() throws Exception {
        patch(40, 1L << 40, 8);
        openFails(Errno.EUCLEAN, "L1 table");
    }

    @Test
    void unknownIncompatibleFeaturesAndEncryptionAreRefusedByName() throws Exception {
        patch(72, 1L << 40, 8);
        openFails(Errno.EOPNOTSUPP, "unknown incompatible feature bits 0x10000000000");
        patch(72, 0, 8);
        patch(32, 1, 4);
        openFails(Errno.EOPNOTSUPP, "encryption");
    }

    @Test
    void aTruncatedImageIsEio() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(50);
        }
        openFails(Errno.EIO, "shorter than a header");
    }

    @Test
    void anL2PointerIntoTheHeaderIsEucleanAndACorruptionForTheCheck() throws Exception {
        long l1 = field(40);
        patch(l1, (1L << 63) | 512, 8);
        openFails(Errno.EUCLEAN, "L2 table (L1 index 0) at 0x200");
        Qcow2Check.Result r = check();
        assertTrue(r.corruptions() > 0, r.toString());
        assertEquals(2, Tool.run("qemu-img", "check", img.toString()).exit(), "qemu-img agrees: corruption");
    }

    @Test
    void aRefcountOfZeroForAClusterInUseIsACorruption() throws Exception {
        patch(firstDataClusterRefcount(), 0, 2);
        Qcow2Check.Result r = check();
        // As qemu-img: the refcount below the reference, and the COPIED flag contradicting it.
        assertEquals(2, r.corruptions(), r.messages().toString());
        assertTrue(r.messages().get(0).contains("refcount=0 reference=1"), r.messages().toString());
        String qemu = Tool.run("qemu-img", "check", img.toString()).out();
        assertTrue(qemu.contains("2 errors were found"), qemu);
    }

    @Test
    void aRefcountTooHighIsALeak() throws Exception {
        patch(firstDataClusterRefcount(), 2, 2); // one reference, counted twice
        Qcow2Check.Result r = check();
        assertEquals(1, r.leaks(), r.toString());
        assertTrue(r.messages().get(0).contains("refcount=2 reference=1"), r.messages().toString());
        // qemu-img also sees the COPIED flag contradicting the refcount, and calls that an error.
        assertEquals(1, r.corruptions(), r.messages().toString());
        assertTrue(r.messages().get(1).contains("OFLAG_COPIED"), r.messages().toString());
        String qemu = Tool.run("qemu-img", "check", img.toString()).out();
        assertTrue(qemu.contains("1 leaked clusters") && qemu.contains("1 errors"), qemu);
    }

    @Test
    void aBackingChainThatLoopsIsRefused() throws Exception {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        Tool.ok("qemu-img", "create", "-f", "qcow2", a.toString(), "1M");
        Tool.ok("qemu-img", "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b.toString());
        Tool.ok("qemu-img", "rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", a.toString());
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, b.toString(), true).close());
        assertEquals(Errno.ELOOP, e.errno(), e.getMessage());
    }

    @Test
    void garbageInACompressedClusterIsEuclean() throws Exception {
        Path raw = dir.resolve("r.raw");
        byte[] pattern = new byte[1 << 20];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i % 7);
        }
        Files.write(raw, pattern);
        Tool.ok("qemu-img", "convert", "-c", "-O", "qcow2", raw.toString(), img.toString());
        long l1 = field(40);
        long l2 = field(l1) & 0x00ff_ffff_ffff_fe00L;
        long entry = field(l2);
        assertTrue((entry & (1L << 62)) != 0, "the fixture's first cluster is compressed");
        long offset = entry & ((1L << 54) - 1);
        patch(offset, 0xdeadbeefcafebabeL, 8);
        openFails(Errno.EUCLEAN, "compressed cluster 0");
        assertFalse(check().corruptions() > 0, "garbage inside a cluster is not a metadata corruption");
    }
}
