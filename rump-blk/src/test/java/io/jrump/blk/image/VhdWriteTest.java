package io.jrump.blk.image;

import static io.jrump.blk.image.ImageTools.qemuImg;
import static io.jrump.blk.image.ImageTools.readAll;
import static io.jrump.blk.image.ImageTools.run;
import static io.jrump.blk.image.ImageTools.writeAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.host.jvm.JvmHost;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VHD written by jrump, read by the outside readers: fixed and dynamic disks we create and fill
 * are the same disk to {@code qemu-img compare} and to 7-Zip's extraction; the size is a whole
 * CHS geometry, as qemu and Windows compute it; differencing disks read through to their parent,
 * 7-Zip reading the child over the parent the same; a parent that is not the one the child was
 * made from, and a chain that loops, are refused.
 */
class VhdWriteTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vhd-write");
    private final Random random = new Random(5);

    @AfterEach
    void close() {
        host.close();
    }

    private byte[] id() {
        byte[] id = new byte[16];
        random.nextBytes(id);
        return id;
    }

    private Path create(String name, long size, boolean fixed) throws Exception {
        Path p = dir.resolve(name);
        try (ImageFile f = new ImageFile(host.blockDevices().create(p.toString(), 0), host.scheduler())) {
            VhdImage.create(f, size, fixed, id(), host.clock().wallNanos());
        }
        return p;
    }

    @ParameterizedTest(name = "fixed={0}")
    @ValueSource(booleans = {false, true})
    void whatWeWriteQemuAnd7ZipRead(boolean fixed) throws Exception {
        Path truth = ImageTools.truth(dir, 40L << 20);
        Path vhd = create("ours.vhd", 40L << 20, fixed);
        byte[] data = Files.readAllBytes(truth);
        try (BlockDevice d = Images.open(host, vhd.toString(), false)) {
            assertTrue(d.size() >= data.length, d.size() + " bytes");
            writeAll(d, data);
        }
        String info = qemuImg("info", "-f", "vpc", vhd.toString());
        long size;
        try (BlockDevice d = Images.open(host, vhd.toString(), true)) {
            size = d.size();
            byte[] back = readAll(d);
            assertArrayEquals(data, Arrays.copyOf(back, data.length));
            assertTrue(Arrays.equals(new byte[back.length - data.length], Arrays.copyOfRange(back, data.length, back.length)));
        }
        assertEquals(VhdImage.geometrySize(40L << 20), size, "the CHS size");
        assertTrue(info.contains("(" + size + " bytes)"), info);
        qemuImg("compare", "-f", "vpc", "-F", "raw", vhd.toString(), truth.toString());
        Path extracted = dir.resolve("7z");
        run("7zz", "e", "-y", "-o" + extracted, vhd.toString());
        byte[] seven = Files.readAllBytes(Files.list(extracted).findFirst().orElseThrow());
        assertEquals(size, seven.length);
        assertArrayEquals(data, Arrays.copyOf(seven, data.length));
        if (!fixed) {
            // Holes stay holes: 5 of the 20 blocks hold data, so the file is far below the disk's size.
            assertTrue(Files.size(vhd) < 11L << 20, Files.size(vhd) + " bytes");
        }
    }

    @Test
    void geometryIsWhatQemuComputes() throws Exception {
        for (long size : new long[] {1L << 20, 10L << 20, 127L << 20, 1000L << 20, 5L << 30}) {
            Path q = dir.resolve("q" + size + ".vhd");
            qemuImg("create", "-q", "-f", "vpc", q.toString(), Long.toString(size));
            long qemuSize;
            try (BlockDevice d = Images.open(host, q.toString(), true)) {
                qemuSize = d.size();
            }
            assertEquals(qemuSize, VhdImage.geometrySize(size), "size " + size);
        }
    }

    @Test
    void aDifferencingDiskReadsThroughToItsParentAndKeepsItUnchanged() throws Exception {
        Path truth = ImageTools.truth(dir, 8L << 20);
        byte[] base = Files.readAllBytes(truth);
        Path parentPath = create("base.vhd", 8L << 20, false);
        try (BlockDevice d = Images.open(host, parentPath.toString(), false)) {
            writeAll(d, base);
        }
        Path childPath = dir.resolve("child.vhd");
        try (BlockDevice p = Images.open(host, parentPath.toString(), true);
             ImageFile f = new ImageFile(host.blockDevices().create(childPath.toString(), 0), host.scheduler())) {
            VhdImage.createDifferencing(f, (VhdImage) p, "base.vhd", parentPath.toString(), id(),
                    host.clock().wallNanos());
        }
        byte[] expected = Arrays.copyOf(base, (int) VhdImage.geometrySize(8L << 20));
        try (BlockDevice c = Images.open(host, childPath.toString(), false)) {
            assertTrue(((VhdImage) c).isDifferencing());
            assertArrayEquals(expected, readAll(c), "a new child reads as its parent");
            // Sector-sized writes inside blocks the parent has, a whole block, and zeros over parent data.
            byte[] a = new byte[1024];
            random.nextBytes(a);
            c.write(4096 + 512, ByteBuffer.wrap(a));
            System.arraycopy(a, 0, expected, 4096 + 512, a.length);
            byte[] whole = new byte[2 << 20];
            random.nextBytes(whole);
            c.write(2 << 20, ByteBuffer.wrap(whole));
            System.arraycopy(whole, 0, expected, 2 << 20, whole.length);
            c.write(3L << 20, ByteBuffer.allocate(8192)); // the truth has data here
            Arrays.fill(expected, 3 << 20, (3 << 20) + 8192, (byte) 0);
            assertArrayEquals(expected, readAll(c));
        }
        try (BlockDevice c = Images.open(host, childPath.toString(), true);
             BlockDevice p = Images.open(host, parentPath.toString(), true)) {
            assertArrayEquals(expected, readAll(c), "after reopening");
            assertArrayEquals(Arrays.copyOf(base, (int) p.size()), readAll(p), "the parent is unchanged");
        }
        // 7-Zip finds the parent by the child's locators and reads the child over it the same.
        Path extracted = dir.resolve("7z");
        run("7zz", "e", "-y", "-o" + extracted, childPath.toString());
        byte[] seven = Files.readAllBytes(Files.list(extracted).findFirst().orElseThrow());
        assertArrayEquals(expected, seven);
    }

    @Test
    void aChildOverAnotherParentOrAChainThatLoopsIsRefused() throws Exception {
        Path parentPath = create("base.vhd", 4L << 20, false);
        Path childPath = dir.resolve("child.vhd");
        try (BlockDevice p = Images.open(host, parentPath.toString(), true);
             ImageFile f = new ImageFile(host.blockDevices().create(childPath.toString(), 0), host.scheduler())) {
            VhdImage.createDifferencing(f, (VhdImage) p, "base.vhd", parentPath.toString(), id(), host.clock().wallNanos());
        }
        Files.delete(parentPath);
        create("base.vhd", 4L << 20, false); // same name, another disk
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, childPath.toString(), true));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("unique id"), e.getMessage());

        // A child whose relative locator names itself.
        Path loop = dir.resolve("loop.vhd");
        try (BlockDevice p = Images.open(host, childPath.toString().replace("child", "base"), true);
             ImageFile f = new ImageFile(host.blockDevices().create(loop.toString(), 0), host.scheduler())) {
            VhdImage.createDifferencing(f, (VhdImage) p, "loop.vhd", loop.toString(), id(), host.clock().wallNanos());
        }
        e = assertThrows(ErrnoException.class, () -> Images.open(host, loop.toString(), true));
        assertTrue(e.errno() == Errno.ELOOP || e.errno() == Errno.EUCLEAN, e.toString());

        Files.delete(dir.resolve("base.vhd"));
        e = assertThrows(ErrnoException.class, () -> Images.open(host, childPath.toString(), true));
        assertEquals(Errno.ENOENT, e.errno(), e.getMessage());
    }

    @Test
    void blocksThatOverlapAreRefusedForWriting() throws Exception {
        Path vhd = create("shared.vhd", 8L << 20, false);
        byte[] sector = new byte[512];
        sector[0] = 7;
        try (BlockDevice d = Images.open(host, vhd.toString(), false)) {
            d.write(0, ByteBuffer.wrap(sector));
            d.write(2 << 20, ByteBuffer.wrap(sector));
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(vhd.toFile(), "rw")) {
            f.seek(1536); // the BAT: entry 1 made to name entry 0's block
            int first = f.readInt();
            f.writeInt(first);
        }
        try (BlockDevice d = Images.open(host, vhd.toString(), true)) {
            assertEquals(7, readAll(d)[2 << 20], "read-only opens still read it");
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vhd.toString(), false));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
    }
}
