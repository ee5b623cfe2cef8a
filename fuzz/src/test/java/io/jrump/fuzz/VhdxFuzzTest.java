package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.Qcow2Image;
import io.jrump.blk.image.VhdxImage;
import io.jrump.fuzz.kit.MemoryFile;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Arbitrary bytes as the structures of a VHDX file: opening it read-only (which replays a log in
 * memory), opening it read-write (which replays a log on the file), reading across it and writing
 * its first and last sectors either work or fail with a defined errno — never an unchecked
 * exception, a hang or an allocation sized by a field nobody checked; what was written reads
 * back, also after a reopen.
 *
 * <p>A VHDX is at least 4 MiB (its structures are 1 MiB aligned), too big for a fuzzer's input, so
 * the input is the file's structures only: a flags byte, then the bytes of {@link #SEGMENTS} in
 * order (the file identifier, both headers, both region tables, 16 KiB of log, 4 KiB at 2, 3 and
 * 4 MiB, 64 KiB after 2 and 3 MiB — where qemu-img and jrump put the BAT, the metadata table and
 * items and the first data block — and 32 KiB after 3 MiB, where a 1 MiB-block differencing
 * disk's first sector-bitmap entry lies); the rest of the 16 MiB file is zeros. Flag bits make
 * the harness recompute the checksums of the headers (1), the region tables (2) and the log
 * entries (4), so that mutations get past them. The file grows on writes past its end, as a host
 * file does, up to 64 MiB. A differencing disk reads over {@link #parent}, whatever its locator
 * names. Seeds, segments cut this way (flags 7): {@code qemu-img convert -O vhdx -o
 * subformat=dynamic,block_size=1M} and {@code subformat=fixed} of a 4 MiB raw disk with data in
 * blocks 0 and 3; a 4 MiB dynamic image VhdxImage.create made with 8 KiB written at 0; the same
 * with its BAT sector as before that write and the log entry that records it (a crash between
 * the log and the BAT write), which must be replayed; a differencing child of the parent,
 * written ({@link #differencingSeed}).
 */
class VhdxFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP,
            Errno.EROFS, Errno.ENOSPC, Errno.ELOOP, Errno.ENOENT);
    private static final long MIB = 1 << 20;
    static final long[][] SEGMENTS = {{0, 8}, {0x10000, 4096}, {0x20000, 4096}, {0x30000, 4096}, {0x40000, 4096},
        {MIB, 16384}, {2 * MIB, 4096}, {2 * MIB + 0x10000, 4096}, {3 * MIB, 4096}, {3 * MIB + 0x10000, 4096},
        {4 * MIB, 4096}, {3 * MIB + 0x8000, 4096}};
    private static final long FILE_SIZE = 16 * MIB;
    private static final long MAX_FILE_SIZE = 64 * MIB;

    @FuzzTest(maxDuration = "60s")
    void openReplayReadAndWriteAreTotal(byte[] input) throws Exception {
        if (input.length < 2 || input.length > 1 + Arrays.stream(SEGMENTS).mapToLong(s -> s[1]).sum()) {
            return;
        }
        MemoryFile disk = image(input);
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        // A differencing disk's parent, whatever its locator names, is PARENT (a 4 MiB dynamic
        // image with data in blocks 1 and 3): the seed child links to its DataWriteGuid.
        MemoryFile parentFile = parent();
        Qcow2Image.BackingOpener parents = (name, format, depth) -> VhdxImage.open(
                new ImageFile(parentFile.handle(true), host.scheduler()), true, host.clock(), null, null, depth);
        try (VhdxImage img = VhdxImage.open(new ImageFile(disk.handle(true), host.scheduler()), true, host.clock(), null,
                parents, 0)) {
            long step = Math.max(img.sectorSize(), img.size() / 16 / img.sectorSize() * img.sectorSize());
            for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
                img.read(off, ByteBuffer.allocate(4096));
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        long size = -1;
        byte[] first = null;
        byte[] last = null;
        try (VhdxImage img = VhdxImage.open(new ImageFile(disk.handle(false), host.scheduler()), false, host.clock(),
                host.random(), parents, 0)) {
            int sector = img.sectorSize();
            first = pattern(sector, 0x5a);
            last = pattern(sector, 0xa5);
            img.write(0, ByteBuffer.wrap(first));
            img.write(img.size() - sector, ByteBuffer.wrap(last));
            assertArrayEquals(first, read(img, 0, sector));
            assertArrayEquals(last, read(img, img.size() - sector, sector));
            img.flush();
            size = img.size();
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        if (size > 0) {
            // What a clean read-write session left must open and read back.
            try (VhdxImage img = VhdxImage.open(new ImageFile(disk.handle(true), host.scheduler()), true, host.clock(),
                    null, parents, 0)) {
                assertArrayEquals(first, read(img, 0, first.length));
                assertArrayEquals(last, read(img, size - last.length, last.length));
            }
        }
    }

    private static MemoryFile parent;

    /** The parent every differencing input reads over, made once, always the same (a seeded world). */
    static synchronized MemoryFile parent() throws ErrnoException {
        if (parent == null) {
            SimWorld world = new SimWorld(7);
            SimHost host = world.newHost("parent");
            MemoryFile f = new MemoryFile("fuzz.vhdx", 0, MAX_FILE_SIZE);
            VhdxImage.create(new ImageFile(f.handle(false), host.scheduler()), 4 * MIB, (int) MIB, false, 512,
                    host.random());
            try (VhdxImage img = VhdxImage.open(new ImageFile(f.handle(false), host.scheduler()), false, host.clock(),
                    host.random())) {
                img.write(MIB + 4096, ByteBuffer.wrap(pattern(65536, 0x11)));
                img.write(3 * MIB, ByteBuffer.wrap(pattern(8192, 0x22)));
            }
            parent = f;
        }
        return parent;
    }

    /** An input holding {@code f}'s segments, checksums to be fixed (flags 7): how seeds are cut. */
    static byte[] cut(MemoryFile f) {
        int total = 1 + (int) Arrays.stream(SEGMENTS).mapToLong(s -> s[1]).sum();
        ByteBuffer out = ByteBuffer.allocate(total);
        out.put((byte) 7);
        for (long[] s : SEGMENTS) {
            ByteBuffer seg = ByteBuffer.allocate((int) s[1]);
            if (s[0] < f.size()) {
                f.copy(s[0], seg.duplicate().limit((int) Math.min(s[1], f.size() - s[0])), false);
            }
            out.put(seg);
        }
        return out.array();
    }

    /**
     * The differencing seed: a child of {@link #parent} made by VhdxImage.createDifferencing,
     * written over blocks 0, 1 and 3, so that its BAT has present blocks over the parent's.
     */
    static byte[] differencingSeed() throws ErrnoException {
        SimWorld world = new SimWorld(9);
        SimHost host = world.newHost("child");
        MemoryFile child = new MemoryFile("fuzz.vhdx", 0, MAX_FILE_SIZE);
        MemoryFile p = parent();
        try (VhdxImage parentImg = VhdxImage.open(new ImageFile(p.handle(true), host.scheduler()), true, host.clock(),
                null)) {
            VhdxImage.createDifferencing(new ImageFile(child.handle(false), host.scheduler()), parentImg, "parent.vhdx",
                    "/parent.vhdx", host.random());
        }
        Qcow2Image.BackingOpener parents = (name, format, depth) -> VhdxImage.open(
                new ImageFile(p.handle(true), host.scheduler()), true, host.clock(), null, null, depth);
        try (VhdxImage img = VhdxImage.open(new ImageFile(child.handle(false), host.scheduler()), false, host.clock(),
                host.random(), parents, 0)) {
            img.write(0, ByteBuffer.wrap(pattern(4096, 0x33)));
            img.write(MIB + 512, ByteBuffer.wrap(pattern(1024, 0x44)));
        }
        return cut(child);
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 31);
        }
        return b;
    }

    private static byte[] read(VhdxImage img, long at, int n) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(n);
        img.read(at, b);
        return b.array();
    }

    /** The file the input describes, its checksums recomputed as its flags ask. */
    static MemoryFile image(byte[] input) {
        int flags = input[0];
        MemoryFile f = new MemoryFile("fuzz.vhdx", FILE_SIZE, MAX_FILE_SIZE);
        int at = 1;
        for (long[] s : SEGMENTS) {
            byte[] seg = new byte[(int) s[1]];
            int n = Math.max(0, Math.min(seg.length, input.length - at));
            System.arraycopy(input, Math.min(at, input.length), seg, 0, n);
            at += seg.length;
            ByteBuffer b = ByteBuffer.wrap(seg).order(ByteOrder.LITTLE_ENDIAN);
            boolean header = s[0] == 0x10000 || s[0] == 0x20000;
            boolean regions = s[0] == 0x30000 || s[0] == 0x40000;
            if (header && (flags & 1) != 0) {
                b.putInt(4, crc(seg, 0, seg.length, 0));
            } else if (regions && (flags & 2) != 0) {
                b.putInt(4, crc(seg, 0, seg.length, 0x10000 - seg.length));
            } else if (s[0] == MIB && (flags & 4) != 0) {
                // Entries from log offset 0 on, each by its EntryLength, while they fit in the segment.
                for (int e = 0; e + 4096 <= seg.length; ) {
                    int length = b.getInt(e + 8);
                    if (length < 4096 || length % 4096 != 0 || length > seg.length - e) {
                        break;
                    }
                    b.putInt(e + 4, crc(seg, e, length, 0));
                    e += length;
                }
            }
            f.put(s[0], seg);
        }
        return f;
    }

    /** CRC-32C of {@code length} bytes at {@code from} with the checksum field (bytes 4..7) as zero, then {@code zeros} zero bytes. */
    private static int crc(byte[] b, int from, int length, int zeros) {
        CRC32C c = new CRC32C();
        c.update(b, from, 4);
        c.update(new byte[4]);
        c.update(b, from + 8, length - 8);
        c.update(new byte[zeros]);
        return (int) c.getValue();
    }
}
