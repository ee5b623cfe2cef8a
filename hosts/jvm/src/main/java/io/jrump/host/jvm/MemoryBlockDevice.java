package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.host.kit.BlockRequests;
import io.jrump.host.kit.SparseMemory;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A handle on a memory disk ({@code mem:NAME}). The copy happens on the calling thread, which is
 * faster than a hand-off for memory; the completion still runs later on the event loop. Fixed size.
 */
final class MemoryBlockDevice extends JvmBlockDevice {
    private final MemoryDisk disk;

    /** A memory disk's bytes and size, kept by the host while handles come and go. */
    record MemoryDisk(SparseMemory data, long size) {
    }

    MemoryBlockDevice(String name, MemoryDisk disk, boolean readOnly, EventLoop loop,
            Consumer<JvmBlockDevice> onClose) {
        super(name, readOnly, loop, Runnable::run, onClose); // never submits: copies on the caller's thread
        this.disk = disk;
    }

    @Override
    public long size() {
        return disk.size();
    }

    @Override
    public boolean isGrowable() {
        return false;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCompletion completion) {
        run(completion, BlockRequests.checkRead(offset, dst, disk.size()), () -> {
            disk.data().read(offset, dst);
            return dst.remaining();
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCompletion completion) {
        run(completion, BlockRequests.checkWrite(offset, src.remaining(), disk.size(), isReadOnly(), false), () -> {
            disk.data().write(offset, src);
            return src.remaining();
        });
    }

    @Override
    public void flush(IoCompletion completion) {
        run(completion, null, () -> 0);
    }

    @Override
    public void discard(long offset, long length, IoCompletion completion) {
        run(completion, BlockRequests.checkDiscard(offset, length, disk.size(), isReadOnly()), () -> {
            disk.data().zero(offset, length);
            return length;
        });
    }

    private interface Op {
        long run();
    }

    private void run(IoCompletion completion, Errno invalid, Op op) {
        if (!requests.begin()) {
            requests.complete(completion, 0, Errno.EBADF);
            return;
        }
        try {
            if (invalid != null) {
                requests.complete(completion, 0, invalid);
            } else {
                requests.complete(completion, op.run(), null);
            }
        } finally {
            requests.end();
        }
    }

    @Override
    void release() {
        // The disk outlives its handles; nothing to free.
    }
}
