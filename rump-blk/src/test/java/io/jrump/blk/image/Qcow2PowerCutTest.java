package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.Tool;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A qcow2 image on a fixed-size simulated disk with torn writes, driven by random writes,
 * flushes, reads, reopens and power cuts from a seed, against a byte-array model. Most seeds
 * commit metadata after every allocating write, so that cuts fall between the steps of a commit
 * (without the host flushes between those steps, they fail). After every cut
 * the image is reopened: every sector not written since the last flush must read as it was then,
 * and {@link Qcow2Check} and {@code qemu-img check} (on a copy of the disk, every time) may find
 * leaked clusters but no corruption, and agree on whether there are leaks. Small clusters (512 bytes)
 * put many L2 tables and refcount blocks in play; 1-bit and 64-bit refcounts are run too, the
 * latter growing (moving) the refcount table amid the power cuts.
 */
class Qcow2PowerCutTest {
    private static final int SIZE = 2 << 20;
    private static final int SECTORS = SIZE / 512;

    private static Qcow2Image open(SimHost host, boolean readOnly) throws ErrnoException {
        ImageFile f = new ImageFile(host.blockDevices().open("img", readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE),
                host.scheduler());
        return Qcow2Image.open(f, readOnly, host.clock(), null, 0);
    }

    /** {@code eager}: metadata committed after every allocating write, so cuts land between commit steps. */
    private static Qcow2Image open(SimHost host, boolean readOnly, boolean eager) throws ErrnoException {
        Qcow2Image q = open(host, readOnly);
        if (eager) {
            q.commitAfter(1);
        }
        return q;
    }

    @TempDir
    Path tmp;

    /**
     * Our check and, as the outside oracle, {@code qemu-img check} on a copy of the disk: both may
     * find leaked clusters after a cut (qemu-img exits 3) but never corruption (exit 2).
     */
    private Qcow2Check.Result check(SimHost host, String where) throws Exception {
        Qcow2Check.Result ours;
        Path copy = tmp.resolve("img.qcow2");
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler())) {
            ours = Qcow2Check.check(f);
            ByteBuffer all = ByteBuffer.allocate((int) f.size());
            f.read(0, all);
            Files.write(copy, all.array());
        }
        Tool.Result qemu = Tool.run("qemu-img", "check", "-f", "qcow2", copy.toString());
        assertTrue(qemu.exit() == 0 || qemu.exit() == 3, where + ": qemu-img check exited " + qemu.exit() + ":\n"
                + qemu.out() + "\nours: " + ours.messages());
        assertEquals(qemu.exit() == 3, ours.leaks() > 0, where + ": qemu-img and Qcow2Check disagree on leaks:\n"
                + qemu.out() + "\nours: " + ours.messages());
        return ours;
    }

    private static byte[] readAll(Qcow2Image q) throws ErrnoException {
        ByteBuffer all = ByteBuffer.allocate(SIZE);
        q.read(0, all);
        return all.array();
    }

    @ParameterizedTest
    @CsvSource({"1,4,true", "2,4,true", "3,4,true", "4,4,true", "5,0,true", "6,0,true", "7,6,true", "8,6,true",
        "9,4,false", "10,6,false"})
    void powerCutsLoseNothingFlushedAndLeaveNoCorruption(long seed, int refcountOrder, boolean eager) throws Exception {
        SimWorld world = new SimWorld(seed);
        SimHost host = world.newHost("m");
        SimDisk disk = world.createDisk("img", 5 << 20);
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            Qcow2Image.create(f, SIZE, null, null, 9, refcountOrder);
        }
        disk.setTornWrites(true);
        Random rnd = new Random(seed);
        byte[] current = new byte[SIZE];
        byte[] durable = new byte[SIZE];
        BitSet unflushed = new BitSet(SECTORS);
        int cuts = 0;
        Qcow2Image q = open(host, false, eager);
        for (int step = 0; step < 400; step++) {
            String where = "seed " + seed + " step " + step;
            int sectors = 1 + rnd.nextInt(new int[] {3, 64, 512}[rnd.nextInt(3)]);
            int first = rnd.nextInt(SECTORS - sectors);
            int op = rnd.nextInt(20);
            if (step == 200) {
                // Every cluster written, flushed three quarters of the way: the file outgrows what
                // one cluster of 64-bit refcount table covers, and power cuts follow.
                for (int k = 0; k < 8; k++) {
                    byte[] data = new byte[SIZE / 8];
                    rnd.nextBytes(data);
                    q.write((long) k * data.length, ByteBuffer.wrap(data));
                    System.arraycopy(data, 0, current, k * data.length, data.length);
                    unflushed.set(k * data.length / 512, (k + 1) * data.length / 512);
                    if (k == 5) {
                        q.flush();
                        durable = current.clone();
                        unflushed.clear();
                    }
                }
            } else if (op < 9) {
                byte[] data = new byte[sectors * 512];
                rnd.nextBytes(data);
                q.write(first * 512L, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, current, first * 512, data.length);
                unflushed.set(first, first + sectors);
            } else if (op < 11) {
                q.flush();
                durable = current.clone();
                unflushed.clear();
            } else if (op < 17) {
                ByteBuffer got = ByteBuffer.allocate(sectors * 512);
                q.read(first * 512L, got);
                assertArrayEquals(Arrays.copyOfRange(current, first * 512, (first + sectors) * 512), got.array(), where);
            } else if (op < 19) {
                disk.powerCut();
                cuts++;
                try {
                    q.close(); // its handle died with the power: the flush at close fails, and close says so
                } catch (io.jrump.hypercall.ErrnoException e) {
                    assertEquals(io.jrump.hypercall.Errno.EIO, e.errno(), where);
                    assertTrue(e.getMessage().contains("metadata not written at close"), e.getMessage());
                }
                Qcow2Check.Result r = check(host, where + " after a power cut");
                assertEquals(0, r.corruptions(), where + " after a power cut: " + r.messages());
                q = open(host, false, eager);
                byte[] after = readAll(q);
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
                q.close();
                q = open(host, false, eager);
            }
        }
        q.flush();
        q.close();
        disk.powerCut();
        try (Qcow2Image again = open(host, true)) {
            assertArrayEquals(current, readAll(again), "seed " + seed + " after the last flush and a cut");
        }
        Qcow2Check.Result r = check(host, "seed " + seed + " at the end");
        assertEquals(0, r.corruptions(), r.messages().toString());
        assertTrue(cuts > 0, "seed " + seed + " cut the power at least once");
        if (refcountOrder == 6) {
            // One table cluster of 64-bit refcounts covers 2 MiB of 512-byte clusters: it grew and moved.
            try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler())) {
                Qcow2Header h = Qcow2Header.read(f);
                assertTrue(h.refcountTableClusters() > 1 && h.refcountTableOffset() != 512, h.toString());
            }
        }
    }

    /** Allocation stays inside a device of fixed size: what does not fit is ENOSPC, and the image stays consistent. */
    @Test
    void aFullDeviceIsEnospcAndTheImageStaysConsistent() throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("m");
        world.createDisk("img", 1 << 20);
        try (ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            Qcow2Image.create(f, SIZE, null, null, 9, 4);
        }
        byte[] data = new byte[64 << 10];
        new Random(1).nextBytes(data);
        int written = 0;
        try (Qcow2Image q = open(host, false)) {
            ErrnoException e = null;
            try {
                for (; written < SIZE; written += data.length) {
                    q.write(written, ByteBuffer.wrap(data));
                }
            } catch (ErrnoException x) {
                e = x;
            }
            assertTrue(e != null && e.errno() == Errno.ENOSPC, "ENOSPC on a full 1 MiB device, not " + e);
            q.flush();
        }
        assertTrue(written >= 512 << 10, "most of the device holds data: " + written);
        Qcow2Check.Result r = check(host, "a full device");
        assertEquals(0, r.corruptions(), r.messages().toString());
        try (Qcow2Image q = open(host, true)) {
            ByteBuffer got = ByteBuffer.allocate(data.length);
            q.read(written - data.length, got);
            assertArrayEquals(data, got.array(), "the last whole write before ENOSPC reads back");
        }
    }
}
