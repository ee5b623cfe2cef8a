package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.blk.Tool;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A dynamic VHDX on a fixed-size simulated disk with torn writes, driven by random writes,
 * flushes, reads, reopens and power cuts from a seed, against a byte-array model. Blocks are
 * allocated inside the device (after the last one in use, written whole), each recorded through
 * the log. After every cut, a copy of the disk goes to qemu, which replays its log
 * ({@code qemu-img check -r all}, exit 0) and reads it; jrump then reopens the disk read-write
 * (replaying the log itself) and must read what qemu read, and every sector not written since the
 * last flush as it was then.
 */
class VhdxPowerCutTest {
    private static final int SIZE = 6 << 20;
    private static final int SECTORS = SIZE / 512;

    @TempDir
    Path tmp;

    private static VhdxImage open(SimHost host) throws ErrnoException {
        ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler());
        return VhdxImage.open(f, false, host.clock(), host.random());
    }

    private static byte[] readAll(VhdxImage v) throws ErrnoException {
        ByteBuffer all = ByteBuffer.allocate(SIZE);
        v.read(0, all);
        return all.array();
    }

    /** The disk as qemu reads it once it has replayed the log on a copy of the disk. */
    private byte[] qemuView(SimHost host, String where) throws Exception {
        Path copy = tmp.resolve("img.vhdx");
        Path raw = tmp.resolve("img.raw");
        Files.deleteIfExists(raw);
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler())) {
            ByteBuffer all = ByteBuffer.allocate((int) f.size());
            f.read(0, all);
            Files.write(copy, all.array());
        }
        Tool.Result check = Tool.run("qemu-img", "check", "-r", "all", "-f", "vhdx", copy.toString());
        assertEquals(0, check.exit(), where + ": qemu-img check -r all:\n" + check.out());
        Tool.Result convert = Tool.run("qemu-img", "convert", "-f", "vhdx", "-O", "raw", copy.toString(), raw.toString());
        assertEquals(0, convert.exit(), where + ": qemu-img convert:\n" + convert.out());
        return Files.readAllBytes(raw);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void powerCutsLoseNothingFlushedAndQemuReplaysTheSame(long seed) throws Exception {
        SimWorld world = new SimWorld(seed);
        SimHost host = world.newHost("m");
        SimDisk disk = world.createDisk("img", 11 << 20);
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            VhdxImage.create(f, SIZE, 1 << 20, false, 512, host.random());
        }
        disk.setTornWrites(true);
        Random rnd = new Random(seed);
        byte[] current = new byte[SIZE];
        byte[] durable = new byte[SIZE];
        BitSet unflushed = new BitSet(SECTORS);
        VhdxImage v = open(host);
        for (int step = 0; step < 120; step++) {
            String where = "seed " + seed + " step " + step;
            int sectors = 1 + rnd.nextInt(new int[] {3, 64, 512}[rnd.nextInt(3)]);
            int first = rnd.nextInt(SECTORS - sectors);
            int op = rnd.nextInt(20);
            if (op < 9) {
                byte[] data = new byte[sectors * 512];
                rnd.nextBytes(data);
                v.write(first * 512L, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, current, first * 512, data.length);
                unflushed.set(first, first + sectors);
            } else if (op < 11) {
                v.flush();
                durable = current.clone();
                unflushed.clear();
            } else if (op < 16) {
                ByteBuffer got = ByteBuffer.allocate(sectors * 512);
                v.read(first * 512L, got);
                assertArrayEquals(Arrays.copyOfRange(current, first * 512, (first + sectors) * 512), got.array(), where);
            } else if (op < 19) {
                disk.powerCut();
                try {
                    v.close(); // its handle died with the power
                } catch (ErrnoException e) {
                    // the flush at close fails: expected
                }
                byte[] qemu = qemuView(host, where + " after a power cut");
                v = open(host);
                byte[] after = readAll(v);
                assertArrayEquals(qemu, after, where + ": jrump's replay and qemu's read the same disk");
                for (int s = 0; s < SECTORS; s++) {
                    if (!unflushed.get(s)) {
                        assertArrayEquals(Arrays.copyOfRange(durable, s * 512, s * 512 + 512),
                                Arrays.copyOfRange(after, s * 512, s * 512 + 512), where + ": flushed sector " + s);
                    }
                }
                current = after;
                durable = after.clone();
                unflushed.clear();
            } else {
                v.close();
                v = open(host);
            }
        }
        v.flush();
        v.close();
        disk.powerCut();
        assertArrayEquals(current, qemuView(host, "seed " + seed + " at the end"));
    }

    /**
     * An allocating write cut at each of its disk operations in turn (the operation fails, then
     * the power goes): the block extension, the header update that sets the LogGuid, the log
     * entry, the BAT sector, the data, and the flushes between them. Whatever the cut, jrump's
     * replay and qemu's read the same disk; every sector outside the write reads as before, and
     * every sector inside it either as before or as written.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void anAllocatingWriteCutAtEveryStepLeavesOldOrNewData(int cutAt) throws Exception {
        SimWorld world = new SimWorld(cutAt);
        SimHost host = world.newHost("m");
        SimDisk disk = world.createDisk("img", 11 << 20);
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            byte[] old = new byte[(int) f.size()];
            new Random(-cutAt).nextBytes(old); // a device that held other data: the new block must not show it
            f.write(0, ByteBuffer.wrap(old));
            VhdxImage.create(f, SIZE, 1 << 20, false, 512, host.random());
        }
        byte[] before = new byte[SIZE];
        new Random(cutAt).nextBytes(before);
        Arrays.fill(before, 2 << 20, 3 << 20, (byte) 0); // block 2 stays absent
        final VhdxImage v = open(host);
        v.write(0, ByteBuffer.wrap(before, 0, 2 << 20));
        v.write(3 << 20, ByteBuffer.wrap(before, 3 << 20, SIZE - (3 << 20)));
        v.flush();
        disk.setTornWrites(true);
        byte[] data = new byte[64 << 10];
        new Random(100 + cutAt).nextBytes(data);
        long at = (2L << 20) + 8192;
        disk.failOperation(cutAt, io.jrump.hypercall.Errno.EIO);
        // Ten operations: the block zeroed (the device's old data) and flushed, the header with a
        // LogGuid and its flush, the BAT sector read, the log entry and its flush, the BAT sector
        // and its flush, the data.
        ErrnoException cut = org.junit.jupiter.api.Assertions.assertThrows(ErrnoException.class,
                () -> v.write(at, ByteBuffer.wrap(data)), "the allocating write takes ten operations");
        assertEquals(io.jrump.hypercall.Errno.EIO, cut.errno());
        disk.powerCut();
        try {
            v.close();
        } catch (ErrnoException e) {
            // the handle died with the power
        }
        String where = "cut at operation " + cutAt;
        byte[] qemu = qemuView(host, where);
        VhdxImage again = open(host);
        byte[] after = readAll(again);
        again.close();
        assertArrayEquals(qemu, after, where + ": jrump's replay and qemu's read the same disk");
        for (int s = 0; s < SECTORS; s++) {
            byte[] got = Arrays.copyOfRange(after, s * 512, s * 512 + 512);
            byte[] old = Arrays.copyOfRange(before, s * 512, s * 512 + 512);
            long off = s * 512L;
            if (off >= at && off < at + data.length) {
                byte[] neu = Arrays.copyOfRange(data, (int) (off - at), (int) (off - at) + 512);
                org.junit.jupiter.api.Assertions.assertTrue(Arrays.equals(got, old) || Arrays.equals(got, neu),
                        where + ": sector " + s + " is neither as before nor as written");
            } else {
                assertArrayEquals(old, got, where + ": sector " + s + " changed");
            }
        }
    }
}
