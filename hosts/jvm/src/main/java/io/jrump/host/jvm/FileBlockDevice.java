package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.host.kit.BlockRequests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A block device on a regular host file, through a {@link FileChannel}. Operations run on the
 * host's I/O threads with positional reads and writes, so many can be in flight at once; writes
 * past the end grow the file, and untouched ranges stay holes. Flush is {@code fdatasync(2)}
 * ({@code force(false)}). Discard is not supported: the JDK cannot punch holes.
 *
 * <p>The size is read from the file once, at open, and then follows this device's own writes:
 * {@code fstat(2)} on every request cost more than small requests themselves. Another process
 * changing the file's length meanwhile is not seen; devices are not shared that way.
 */
final class FileBlockDevice extends JvmBlockDevice {
    private static final Logger LOG = LoggerFactory.getLogger(FileBlockDevice.class);

    private final FileChannel channel;
    private final AtomicLong size;

    FileBlockDevice(String name, FileChannel channel, boolean readOnly, EventLoop loop, Executor io,
            Consumer<JvmBlockDevice> onClose) {
        super(name, readOnly, loop, io, onClose);
        this.channel = channel;
        long length;
        try {
            length = channel.size();
        } catch (IOException e) {
            length = 0; // a channel that cannot say its size fails every operation anyway
        }
        this.size = new AtomicLong(length);
    }

    @Override
    public long size() {
        return size.get();
    }

    @Override
    public boolean isGrowable() {
        return true;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCompletion completion) {
        ByteBuffer view = dst.duplicate();
        requests.submit(completion, () -> BlockRequests.checkRead(offset, view, size()), () -> {
            long n = view.remaining();
            long pos = offset;
            while (view.hasRemaining()) {
                int got = channel.read(view, pos);
                if (got < 0) {
                    throw new ErrnoException(Errno.EIO, name() + ": " + BlockRequests.describe("read", offset, n)
                            + ": file shrank under us at 0x" + Long.toHexString(pos));
                }
                pos += got;
            }
            return n;
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCompletion completion) {
        ByteBuffer view = src.duplicate();
        requests.submit(completion, () -> BlockRequests.checkWrite(offset, view.remaining(), size(), isReadOnly(), true), () -> {
            long n = view.remaining();
            long pos = offset;
            while (view.hasRemaining()) {
                pos += channel.write(view, pos);
            }
            size.accumulateAndGet(pos, Math::max);
            return n;
        });
    }

    @Override
    public void flush(IoCompletion completion) {
        requests.submit(completion, () -> null, () -> {
            if (!isReadOnly()) {
                channel.force(false);
            }
            return 0;
        });
    }

    @Override
    public void discard(long offset, long length, IoCompletion completion) {
        Errno invalid = BlockRequests.checkDiscard(offset, length, size(), isReadOnly());
        requests.submit(completion, () -> invalid != null ? invalid : Errno.EOPNOTSUPP, () -> length);
    }

    @Override
    void release() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.warn("{}: close failed: {}", name(), e.toString());
        }
    }
}
