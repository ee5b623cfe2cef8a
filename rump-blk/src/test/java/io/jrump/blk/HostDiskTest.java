package io.jrump.blk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bottom of the stack and byte ranges of it, on the simulation host. */
class HostDiskTest {
    private final SimWorld world = new SimWorld(3);
    private final SimHost host = world.newHost("t");

    private interface Call {
        void run() throws Exception;
    }

    private static void assertErrno(Errno errno, Call call) {
        ErrnoException e = assertThrows(ErrnoException.class, call::run);
        assertEquals(errno, e.errno(), e.getMessage());
    }

    @Test
    void blockingReadsAndWritesRunTheSimulationWhileTheyWait() throws Exception {
        try (HostDisk disk = HostDisk.create(host, "d", 1 << 20)) {
            byte[] data = new byte[4096];
            new Random(1).nextBytes(data);
            long before = world.now();
            disk.write(8192, ByteBuffer.wrap(data));
            ByteBuffer back = ByteBuffer.allocate(4096);
            disk.read(8192, back);
            assertArrayEquals(data, back.array());
            disk.flush();
            assertTrue(world.now() > before, "virtual time passed while waiting");
            assertEquals(1, disk.stats().get(BlockStats.Op.WRITE).count());
            assertEquals(4096, disk.stats().get(BlockStats.Op.READ).bytes());
            assertTrue(disk.stats().get(BlockStats.Op.READ).meanNanos() >= 10_000, "latency is virtual time");
        }
    }

    @Test
    void misalignedAndOutOfRangeRequestsAreRefusedBeforeTheHost() throws Exception {
        try (HostDisk disk = HostDisk.create(host, "d", 1 << 20)) {
            assertErrno(Errno.EINVAL, () -> disk.read(1, ByteBuffer.allocate(512)));
            assertErrno(Errno.EINVAL, () -> disk.read(0, ByteBuffer.allocate(100)));
            assertErrno(Errno.EINVAL, () -> disk.read(1 << 20, ByteBuffer.allocate(512)));
            assertErrno(Errno.ENOSPC, () -> disk.write((1 << 20) - 512, ByteBuffer.allocate(1024)));
            assertEquals(0, disk.stats().get(BlockStats.Op.READ).count());
        }
        HostDisk ro = HostDisk.open(host, "d", OpenMode.READ_ONLY);
        assertErrno(Errno.EROFS, () -> ro.write(0, ByteBuffer.allocate(512)));
        assertErrno(Errno.EROFS, () -> ro.discard(0, 512));
        ro.close();
        assertErrno(Errno.EINVAL, () -> HostDisk.open(host, "d", OpenMode.READ_ONLY, 1000));
    }

    @Test
    void hostErrorsSurfaceWithTheDeviceAndRange() throws Exception {
        try (HostDisk disk = HostDisk.create(host, "d", 1 << 20)) {
            world.disk("d").orElseThrow().failOperation(1, Errno.EIO);
            ErrnoException e = assertThrows(ErrnoException.class, () -> disk.read(4096, ByteBuffer.allocate(512)));
            assertEquals(Errno.EIO, e.errno());
            assertTrue(e.getMessage().startsWith("d: read range of 512 bytes at 0x1000"), e.getMessage());
            assertEquals(1, disk.stats().get(BlockStats.Op.READ).errors());
        }
    }

    @Test
    void aSliceSeesOnlyItsRangeAndCannotReachOutsideIt() throws Exception {
        try (HostDisk disk = HostDisk.create(host, "d", 1 << 20)) {
            byte[] ones = new byte[1 << 20];
            Arrays.fill(ones, (byte) 1);
            disk.write(0, ByteBuffer.wrap(ones));
            BlockDevice part = disk.slice("d:p1", 4096, 8192);
            assertEquals(8192, part.size());
            part.write(0, ByteBuffer.allocate(8192));
            assertErrno(Errno.ENOSPC, () -> part.write(4096, ByteBuffer.allocate(8192)));
            assertErrno(Errno.EINVAL, () -> part.read(8192, ByteBuffer.allocate(512)));
            ByteBuffer all = ByteBuffer.allocate(1 << 20);
            disk.read(0, all);
            for (int i = 0; i < ones.length; i++) {
                assertEquals(i >= 4096 && i < 4096 + 8192 ? 0 : 1, all.get(i), "byte " + i);
            }
            assertErrno(Errno.EINVAL, () -> disk.slice("bad", 512, 1 << 20));
            part.close();
            assertErrno(Errno.EBADF, () -> part.read(0, ByteBuffer.allocate(512)));
        }
    }
}
