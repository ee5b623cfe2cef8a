package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LinuxBlockDevice} through {@link LinuxHost}: {@code O_DIRECT} files and a loop device.
 * The loop-device test needs root for {@code losetup} (as in CI); other users skip it, and say so.
 */
class LinuxBlockDeviceTest {
    @TempDir
    Path dir;
    private LinuxHost host;

    @BeforeEach
    void start() {
        host = LinuxHost.create("blk");
    }

    @AfterEach
    void stop() {
        host.close();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void ok(long bytes, BlockIo.Result r) {
        assertNull(r.error(), "error");
        assertEquals(bytes, r.bytes());
    }

    @Test
    void directFileRoundTripsUnalignedBuffersOffsetsAndLengths() throws Exception {
        Path f = dir.resolve("direct.img");
        HostBlockDevice dev = host.blockDevices().create(LinuxHost.DIRECT_PREFIX + f, 64 * 1024);
        assertTrue(((LinuxBlockDevice) dev).isDirect());
        assertEquals(4096, dev.sectorSize());
        assertEquals(64 * 1024, dev.size());
        byte[] model = new byte[64 * 1024];
        Random r = new Random(42);
        for (int i = 0; i < 200; i++) {
            int off = r.nextInt(model.length - 1);
            int len = 1 + r.nextInt(Math.min(9000, model.length - off));
            byte[] data = random(len, i);
            ByteBuffer src = switch (i % 3) {
                case 0 -> ByteBuffer.wrap(data);
                case 1 -> ByteBuffer.allocateDirect(len + 3).position(3).put(data).position(3); // misaligned address
                default -> io.jrump.host.linux.nat.Sys.alignedBuffer(len, 4096).put(data).flip();
            };
            int pos = src.position();
            ok(len, BlockIo.write(dev, off, src));
            assertEquals(pos, src.position());
            System.arraycopy(data, 0, model, off, len);
            int roff = r.nextInt(model.length - 1);
            int rlen = 1 + r.nextInt(model.length - roff);
            ByteBuffer dst = i % 2 == 0 ? ByteBuffer.allocate(rlen) : ByteBuffer.allocateDirect(rlen + 1).position(1);
            int dpos = dst.position();
            ok(rlen, BlockIo.read(dev, roff, dst));
            byte[] got = new byte[rlen];
            dst.get(dpos, got);
            assertArrayEquals(java.util.Arrays.copyOfRange(model, roff, roff + rlen), got, "read at " + roff);
        }
        assertEquals(64 * 1024, dev.size());
        ok(0, BlockIo.flush(dev));
        dev.close();
        assertArrayEquals(model, Files.readAllBytes(f));
    }

    @Test
    void directWritesPastTheEndGrowTheFileToExactlyTheirEnd() throws Exception {
        Path f = dir.resolve("grow.img");
        HostBlockDevice dev = host.blockDevices().create(LinuxHost.DIRECT_PREFIX + f, 1000);
        assertEquals(1000, dev.size());
        ok(10, BlockIo.write(dev, 500, ByteBuffer.wrap(random(10, 1)))); // inside, but its sector is not
        assertEquals(1000, dev.size());
        assertEquals(1000, Files.size(f));
        ok(100, BlockIo.write(dev, 5000, ByteBuffer.wrap(random(100, 2))));
        assertEquals(5100, dev.size());
        assertEquals(5100, Files.size(f));
        ByteBuffer back = ByteBuffer.allocate(5100);
        ok(5100, BlockIo.read(dev, 0, back));
        assertArrayEquals(random(10, 1), java.util.Arrays.copyOfRange(back.array(), 500, 510));
        assertArrayEquals(random(100, 2), java.util.Arrays.copyOfRange(back.array(), 5000, 5100));
        assertEquals(0, back.array()[4999]);
        dev.close();
    }

    @Test
    void discardPunchesAHoleThatReadsAsZerosAndFreesBlocks() throws Exception {
        Path f = dir.resolve("hole.img");
        int size = 1 << 20;
        HostBlockDevice dev = host.blockDevices().create(LinuxHost.DIRECT_PREFIX + f, size);
        ok(size, BlockIo.write(dev, 0, ByteBuffer.wrap(random(size, 3))));
        ok(0, BlockIo.flush(dev));
        long before = allocatedBytes(f);
        assertTrue(before >= size, "fully written file has " + before + " bytes allocated");
        ok(512 * 1024, BlockIo.discard(dev, 256 * 1024, 512 * 1024));
        ok(0, BlockIo.flush(dev));
        long after = allocatedBytes(f);
        assertTrue(after <= before - 512 * 1024, "after punching 512 KiB: " + before + " -> " + after);
        ByteBuffer back = ByteBuffer.allocate(size);
        ok(size, BlockIo.read(dev, 0, back));
        byte[] expected = random(size, 3);
        java.util.Arrays.fill(expected, 256 * 1024, 768 * 1024, (byte) 0);
        assertArrayEquals(expected, back.array());
        assertEquals(size, dev.size());
        dev.close();
    }

    /** {@code stat -c '%b %B'}: blocks allocated times their unit. */
    private static long allocatedBytes(Path f) throws Exception {
        String[] s = Commands.run("stat", "-c", "%b %B", f.toString()).trim().split(" ");
        return Long.parseLong(s[0]) * Long.parseLong(s[1]);
    }

    @Test
    void readOnlyDirectFileRefusesWritesAndDiscards() throws Exception {
        Path f = Files.write(dir.resolve("ro.img"), random(8192, 4));
        HostBlockDevice dev = host.blockDevices().open(LinuxHost.DIRECT_PREFIX + f, OpenMode.READ_ONLY);
        assertTrue(dev.isReadOnly());
        assertEquals(Errno.EROFS, BlockIo.write(dev, 0, ByteBuffer.allocate(10)).error());
        assertEquals(Errno.EROFS, BlockIo.discard(dev, 0, 4096).error());
        ok(0, BlockIo.flush(dev));
        ByteBuffer b = ByteBuffer.allocate(100);
        ok(100, BlockIo.read(dev, 4000, b));
        assertArrayEquals(java.util.Arrays.copyOfRange(random(8192, 4), 4000, 4100), b.array());
        assertEquals(Errno.EINVAL, BlockIo.read(dev, 8100, ByteBuffer.allocate(100)).error());
        dev.close();
        assertEquals(Errno.EBADF, BlockIo.read(dev, 0, ByteBuffer.allocate(1)).error());
    }

    @Test
    void missingAndExistingNamesFailLikeTheContractSays() throws Exception {
        Path f = dir.resolve("none.img");
        assertEquals(Errno.ENOENT, errnoOf(() -> host.blockDevices().open(LinuxHost.DIRECT_PREFIX + f, OpenMode.READ_WRITE)));
        Files.write(f, new byte[1]);
        assertEquals(Errno.EEXIST, errnoOf(() -> host.blockDevices().create(LinuxHost.DIRECT_PREFIX + f, 10)));
        assertEquals(Errno.EISDIR, errnoOf(() -> host.blockDevices().open(LinuxHost.DIRECT_PREFIX + dir, OpenMode.READ_WRITE)));
        assertEquals(Errno.EINVAL, errnoOf(() -> host.blockDevices().create(LinuxHost.DIRECT_PREFIX, 10)));
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static Errno errnoOf(Call c) throws Exception {
        try {
            c.run();
        } catch (io.jrump.hypercall.ErrnoException e) {
            return e.errno();
        }
        throw new AssertionError("no error");
    }

    /**
     * A loop device made with {@code losetup -f --show FILE} over a 3 MiB file: opened by its
     * {@code /dev} path it is a fixed-size block device whose size comes from {@code BLKGETSIZE64}
     * and sector from {@code BLKSSZGET}; with {@code direct:} the same with {@code O_DIRECT}.
     */
    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (losetup); ./run-tests, as root, runs it")
    void loopDeviceReportsItsSizeAndSectorAndRoundTripsData() throws Exception {
        Path f = dir.resolve("loop.img");
        int size = 3 << 20;
        Files.write(f, new byte[size]);
        String loop = Commands.run("losetup", "-f", "--show", f.toString()).trim();
        try {
            HostBlockDevice dev = host.blockDevices().open(loop, OpenMode.READ_WRITE);
            assertEquals(size, dev.size());
            assertEquals(Integer.parseInt(Commands.run("blockdev", "--getss", loop).trim()), dev.sectorSize());
            assertTrue(!dev.isGrowable());
            assertTrue(!((LinuxBlockDevice) dev).isDirect());
            ok(300, BlockIo.write(dev, 1000, ByteBuffer.wrap(random(300, 5))));
            assertEquals(Errno.ENOSPC, BlockIo.write(dev, size - 10, ByteBuffer.allocate(20)).error());
            ok(0, BlockIo.flush(dev));
            dev.close();

            HostBlockDevice direct = host.blockDevices().open(LinuxHost.DIRECT_PREFIX + loop, OpenMode.READ_WRITE);
            assertTrue(((LinuxBlockDevice) direct).isDirect());
            assertEquals(size, direct.size());
            ByteBuffer b = ByteBuffer.allocate(300);
            ok(300, BlockIo.read(direct, 1000, b));
            assertArrayEquals(random(300, 5), b.array());
            ok(77, BlockIo.write(direct, size - 77, ByteBuffer.wrap(random(77, 6))));
            BlockIo.Result d = BlockIo.discard(direct, 1 << 20, 1 << 20);
            assertTrue(d.error() == null || d.error() == Errno.EOPNOTSUPP, "discard: " + d);
            if (d.error() == null) { // supported on the loop driver of the kernel this was written on (6.18)
                ok(300, BlockIo.write(direct, (1 << 20) - 100, ByteBuffer.wrap(random(300, 7))));
                ok(1 << 20, BlockIo.discard(direct, 1 << 20, 1 << 20));
                ByteBuffer z = ByteBuffer.allocate(1 << 20);
                ok(1 << 20, BlockIo.read(direct, 1 << 20, z));
                assertArrayEquals(new byte[1 << 20], z.array());
                ByteBuffer edge = ByteBuffer.allocate(100);
                ok(100, BlockIo.read(direct, (1 << 20) - 100, edge));
                assertArrayEquals(java.util.Arrays.copyOf(random(300, 7), 100), edge.array());
            }
            assertEquals(Errno.EOPNOTSUPP, BlockIo.discard(direct, 100, 4096).error()); // not sector-aligned
            ok(0, BlockIo.flush(direct));
            direct.close();
            Commands.run("losetup", "-d", loop);
            loop = null;
            byte[] file = Files.readAllBytes(f);
            assertArrayEquals(random(300, 5), java.util.Arrays.copyOfRange(file, 1000, 1300));
            assertArrayEquals(random(77, 6), java.util.Arrays.copyOfRange(file, size - 77, size));
        } finally {
            if (loop != null) {
                Commands.tryRun("losetup", "-d", loop);
            }
        }
    }
}
