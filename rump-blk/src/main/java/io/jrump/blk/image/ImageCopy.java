package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;

/**
 * Copies one device's contents onto another of at least its size, as {@code qemu-img convert}
 * does: in 1 MiB steps, leaving all-zero steps unwritten so that a new image stays sparse, then a
 * flush. When the source is host storage ({@link HostDisk}) the next reads are in flight while a
 * step is written, so reading and writing overlap.
 */
public final class ImageCopy {
    static final int STEP = 1 << 20;
    private static final int READS_AHEAD = 4;

    private ImageCopy() {
    }

    /** Copies {@code src} onto {@code dst}, telling {@code progress} how many bytes are done after each step. */
    public static void copy(BlockDevice src, BlockDevice dst, LongConsumer progress) throws ErrnoException {
        long size = src.size();
        if (src instanceof HostDisk disk) {
            copyAhead(disk, dst, size, progress);
        } else {
            ByteBuffer buf = ByteBuffer.allocateDirect(STEP);
            for (long off = 0; off < size; off += STEP) {
                ByteBuffer chunk = buf.clear().limit((int) Math.min(STEP, size - off));
                src.read(off, chunk);
                writeUnlessZero(dst, off, chunk);
                progress.accept(off + chunk.remaining());
            }
        }
        dst.flush();
    }

    private record Pending(long offset, ByteBuffer buf, CompletableFuture<Void> read) {
    }

    private static void copyAhead(HostDisk src, BlockDevice dst, long size, LongConsumer progress) throws ErrnoException {
        ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
        for (int i = 0; i < READS_AHEAD; i++) {
            free.add(ByteBuffer.allocateDirect(STEP));
        }
        ArrayDeque<Pending> inFlight = new ArrayDeque<>();
        long next = 0;
        try {
            while (next < size || !inFlight.isEmpty()) {
                while (next < size && !free.isEmpty()) {
                    ByteBuffer b = free.poll().clear().limit((int) Math.min(STEP, size - next));
                    inFlight.add(new Pending(next, b, src.readAsync(next, b)));
                    next += b.remaining();
                }
                Pending p = inFlight.poll();
                src.scheduler().await(p.read());
                writeUnlessZero(dst, p.offset(), p.buf());
                progress.accept(p.offset() + p.buf().remaining());
                free.add(p.buf());
            }
        } finally {
            // A failed step: the reads still in flight finish before their buffers are dropped.
            for (Pending p : inFlight) {
                try {
                    src.scheduler().await(p.read());
                } catch (ErrnoException ignored) {
                    // the step that failed first is the error reported
                }
            }
        }
    }

    private static void writeUnlessZero(BlockDevice dst, long offset, ByteBuffer chunk) throws ErrnoException {
        if (!BlockMapImage.isZero(chunk)) {
            dst.write(offset, chunk);
        }
    }
}
