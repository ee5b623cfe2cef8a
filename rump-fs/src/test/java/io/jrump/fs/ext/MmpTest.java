package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mmp: a read-write mount takes the MMP block (debugfs dump_mmp shows our node and e2fsprogs'
 * "in use" sequence while mounted, CLEAN after), refuses with EBUSY naming the node and device
 * when a tool holds it or another node keeps updating it, takes over a sequence left unchanged
 * by a node that died, and without a host to wait on mounts read-only. Waits are shortened.
 */
class MmpTest {
    private static final long WAIT = 400_000_000L;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-mmp");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW).withMmp(MmpHost.of(host).withWaitNanos(WAIT)));
    }

    private static String dumpMmp(Path img) throws Exception {
        return run("debugfs", "-R", "dump_mmp", img.toString());
    }

    private static long mmpBlock(Path img) throws Exception {
        Matcher m = Pattern.compile("(?m)^MMP block number:\\s+(\\d+)").matcher(run("dumpe2fs", "-h", img.toString()));
        assertTrue(m.find());
        return Long.parseLong(m.group(1));
    }

    /** Writes the MMP sequence and node name straight into an image without metadata_csum (no checksum to keep). */
    private static void setMmp(Path img, int blockSize, int seq, String node) throws Exception {
        long at = mmpBlock(img) * blockSize;
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at + 4);
            f.write(new byte[] {(byte) seq, (byte) (seq >>> 8), (byte) (seq >>> 16), (byte) (seq >>> 24)});
            if (node != null) {
                byte[] name = new byte[64];
                byte[] n = node.getBytes(StandardCharsets.UTF_8);
                System.arraycopy(n, 0, name, 0, n.length);
                f.seek(at + 16);
                f.write(name);
            }
        }
    }

    @Test
    void aMountHoldsTheBlockAndLeavesItClean() throws Exception {
        Path img = dir.resolve("m.img");
        mke2fs(img, "ext4", 4096, "16M", "-O", "mmp");
        byte[] data = ExtWriteTest.random(20_000, 1);
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly());
            ExtWriteTest.writeFile(fs, "/f", data);
            fs.sync();
            String held = dumpMmp(img);
            assertTrue(held.contains("sequence: e24d4d50"), held);
            assertTrue(held.contains("node_name: " + host.params().hostname()), held);
            assertTrue(held.contains("device_name: m.img"), held);
        }
        String after = dumpMmp(img);
        assertTrue(after.contains("sequence: ff4d4d50"), after);
        assertClean(img);
        assertArrayEquals(data, ExtTools.debugfsCat(img, "/f"));
    }

    @Test
    @org.junit.jupiter.api.Tag("root")
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
    void theKernelRefusesAFilesystemWeHold() throws Exception {
        Path img = dir.resolve("k.img");
        mke2fs(img, "ext4", 4096, "16M", "-O", "mmp");
        Path mnt = java.nio.file.Files.createDirectories(dir.resolve("mnt"));
        try (ExtVfs fs = mount(img)) {
            ExtWriteTest.writeFile(fs, "/f", new byte[5000]);
            fs.sync();
            StringBuilder out = new StringBuilder();
            int rc = ExtTools.exec(out, "mount", "-o", "loop", img.toString(), mnt.toString());
            if (rc == 0) {
                EaInodeTest.umount(mnt);
            }
            assertTrue(rc != 0, "the kernel mounted a filesystem we hold: " + out);
        }
        // Given back CLEAN, the kernel takes the block itself (its own 11 s wait) and writes.
        EaInodeTest.loop(img, mnt, "loop");
        try {
            assertEquals(5000, java.nio.file.Files.size(mnt.resolve("f")));
            java.nio.file.Files.write(mnt.resolve("kernel"), new byte[100]);
        } finally {
            EaInodeTest.umount(mnt);
        }
        assertClean(img);
        assertTrue(dumpMmp(img).contains("sequence: ff4d4d50"));
    }

    @Test
    void mountsThroughMountsWaitOnTheHostAsE2fsprogsDoes() throws Exception {
        Path img = dir.resolve("w.img");
        mke2fs(img, "ext4", 4096, "16M", "-O", "mmp");
        long start = System.nanoTime();
        try (io.jrump.fs.vfs.FileSystemOps fs = io.jrump.fs.Mounts.openImage(host, img.toString(),
                io.jrump.fs.Mounts.Options.defaults())) {
            assertFalse(fs.isReadOnly(), "the host reached ext4 through FileSystemType");
            assertTrue(System.nanoTime() - start >= 11_000_000_000L, "2 x 5 s + 1 s, as e2fsprogs waits");
            assertTrue(dumpMmp(img).contains("sequence: e24d4d50"));
        }
        assertTrue(dumpMmp(img).contains("sequence: ff4d4d50"));
        assertClean(img);
    }

    @Test
    void aBlockHeldByAToolIsRefusedNamingItsNode() throws Exception {
        Path img = dir.resolve("t.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "mmp,^metadata_csum");
        setMmp(img, 1024, Mmp.SEQ_FSCK, "othernode");
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img));
        assertEquals(Errno.EBUSY, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("othernode") && e.getMessage().contains("t.img"), e.getMessage());
        // Read-only mounts only read.
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            assertTrue(fs.isReadOnly());
        }
        assertTrue(dumpMmp(img).contains("node_name: othernode"));
    }

    @Test
    void aSequenceThatMovesWhileWeWaitIsAnotherNodeAlive() throws Exception {
        Path img = dir.resolve("n.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "mmp,^metadata_csum");
        setMmp(img, 1024, 0x1234, "livenode");
        Thread other = new Thread(() -> {
            try {
                Thread.sleep(WAIT / 4_000_000L);
                setMmp(img, 1024, 0x1235, null); // the other node's update
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        });
        other.start();
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img));
        other.join();
        assertEquals(Errno.EBUSY, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("livenode"), e.getMessage());
    }

    @Test
    void aSequenceLeftUnchangedByADeadNodeIsTakenOver() throws Exception {
        Path img = dir.resolve("d.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "mmp,^metadata_csum");
        setMmp(img, 1024, 0x1234, "deadnode");
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly());
            assertTrue(dumpMmp(img).contains("node_name: " + host.params().hostname()));
        }
        assertTrue(dumpMmp(img).contains("sequence: ff4d4d50"));
        assertClean(img);
    }

    @Test
    void withoutAHostToWaitOnTheMountIsReadOnly() throws Exception {
        Path img = dir.resolve("r.img");
        mke2fs(img, "ext4", 4096, "16M", "-O", "mmp");
        try (HostDisk dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ExtFs fs = ExtFs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
            assertTrue(fs.isReadOnly());
            assertTrue(fs.readOnlyReason().contains("mmp"), fs.readOnlyReason());
        }
        assertTrue(dumpMmp(img).contains("sequence: ff4d4d50"));
    }
}
