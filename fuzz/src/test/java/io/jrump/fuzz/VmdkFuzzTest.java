package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.VmdkImage;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Arbitrary bytes as a VMDK file — a sparse extent or a descriptor naming extents (only the
 * image itself exists, so a descriptor meets ENOENT or ELOOP): opening it, reading across it and,
 * read-write, writing a pattern at the start, middle and end and reading it back either work or
 * fail with a defined errno ({@link ImageFuzz#DEFINED}) — never an unchecked exception, a hang or
 * an allocation sized by a field nobody checked. The file is a growable in-memory device of
 * exactly the input's length, as a host file is: a VMDK allocates grains at the end of its file,
 * and a stream's footer is found at the end. Seeds are hand-built 1 MiB disks in 4 KiB grains
 * that qemu-img check and 7zz accept: a monolithicSparse extent with two data grains and a zero
 * grain, the same as a streamOptimized stream (compressed grains, directory in the footer), and a
 * monolithicFlat descriptor; an ESX COWD extent with one grain that qemu-img reads; a child
 * descriptor naming a parent and extents (ENOENT here); and an input the fuzzer found (a CID
 * line after a NUL).
 */
class VmdkFuzzTest {
    /** Largest the in-memory file grows to; past it, writes are ENOSPC. */
    private static final int MAX_FILE = 16 << 20;

    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        if (input.length < 1 || input.length > (1 << 20)) {
            return;
        }
        SimHost host = new SimWorld(1).newHost("fuzz");
        VmdkImage.ExtentFiles files = new VmdkImage.ExtentFiles() {
            @Override
            public String resolve(String name) {
                return name;
            }

            @Override
            public ImageFile open(String path, boolean readOnly) throws ErrnoException {
                throw new ErrnoException(Errno.ENOENT, path);
            }

            @Override
            public BlockDevice openParent(String path, int depth) throws ErrnoException {
                throw new ErrnoException(Errno.ENOENT, path);
            }
        };
        try (VmdkImage img = open(host, input, true, files)) {
            long step = Math.max(512, img.size() / 16 / 512 * 512);
            for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
                img.read(off, ByteBuffer.allocate(4096));
            }
        } catch (ErrnoException e) {
            assertTrue(ImageFuzz.DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        byte[] pattern = new byte[1024];
        Arrays.fill(pattern, (byte) 0xa5);
        try (VmdkImage img = open(host, input, false, files)) {
            for (long off : new long[] {0, img.size() / 2 / 512 * 512, img.size() - pattern.length}) {
                if (off >= 0 && off + pattern.length <= img.size()) {
                    img.write(off, ByteBuffer.wrap(pattern));
                    ByteBuffer back = ByteBuffer.allocate(pattern.length);
                    img.read(off, back);
                    assertArrayEquals(pattern, back.array(), "read back at " + off + " of " + img);
                }
            }
        } catch (ErrnoException e) {
            assertTrue(ImageFuzz.DEFINED.contains(e.errno()), e.getMessage());
        }
    }

    /** Opens {@code input} as the VMDK file "img"; the file is closed when the open fails, as Images does. */
    private static VmdkImage open(SimHost host, byte[] input, boolean readOnly, VmdkImage.ExtentFiles files)
            throws ErrnoException {
        ImageFile file = new ImageFile(new MemoryFile(input, readOnly), host.scheduler());
        try {
            return VmdkImage.open(file, "img", readOnly, host.clock(), host.random(), files, 0);
        } catch (ErrnoException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * A host file in memory: any byte length, growing on writes past its end (up to {@link #MAX_FILE});
     * reads and writes complete at once and leave the buffers' positions, as the contract says.
     */
    private static final class MemoryFile implements HostBlockDevice {
        private byte[] data;
        private int size;
        private final boolean readOnly;

        MemoryFile(byte[] content, boolean readOnly) {
            this.data = content.clone();
            this.size = content.length;
            this.readOnly = readOnly;
        }

        @Override
        public String name() {
            return "img";
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public int sectorSize() {
            return 512;
        }

        @Override
        public boolean isReadOnly() {
            return readOnly;
        }

        @Override
        public boolean isGrowable() {
            return true;
        }

        @Override
        public void read(long offset, ByteBuffer dst, IoCompletion completion) {
            int n = dst.remaining();
            if (offset < 0 || offset + n > size) {
                completion.done(0, Errno.EIO);
                return;
            }
            dst.put(dst.position(), data, (int) offset, n); // positional: the buffer's position stays
            completion.done(n, null);
        }

        @Override
        public void write(long offset, ByteBuffer src, IoCompletion completion) {
            int n = src.remaining();
            if (readOnly) {
                completion.done(0, Errno.EROFS);
                return;
            }
            if (offset < 0 || offset + n > MAX_FILE) {
                completion.done(0, Errno.ENOSPC);
                return;
            }
            int end = (int) offset + n;
            if (end > data.length) {
                data = Arrays.copyOf(data, Math.max(end, Math.min(MAX_FILE, data.length * 2)));
            }
            src.get(src.position(), data, (int) offset, n);
            size = Math.max(size, end);
            completion.done(n, null);
        }

        @Override
        public void flush(IoCompletion completion) {
            completion.done(0, null);
        }

        @Override
        public void discard(long offset, long length, IoCompletion completion) {
            completion.done(0, Errno.EOPNOTSUPP);
        }

        @Override
        public void close() {
        }
    }
}
