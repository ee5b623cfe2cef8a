package io.jrump.fs.nio;

import io.jrump.kernel.sys.OpenFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A {@link FileChannel} on a VFS file descriptor, for both {@code newByteChannel} and
 * {@code newFileChannel}. As the contract says, {@link #truncate} only shrinks; writing past the
 * end grows the file (with a hole). With {@code sync} every write is followed by {@code fsync};
 * with {@code deleteOnClose} the name is removed on close. Not supported: {@link #map}, {@link #lock},
 * {@link #tryLock} ({@link UnsupportedOperationException}); operations are not interruptible.
 *
 * <p>Thread-safe: operations are serialized on the channel. Once it or its filesystem is closed
 * they throw {@link ClosedChannelException}; closing the filesystem closes the channel.
 */
final class RumpFileChannel extends FileChannel {
    private static final int CHUNK = 64 << 10;

    private final RumpFileSystem fs;
    private final RumpPath path;
    private final int fd;
    private final int flags;
    private final boolean sync;
    private final boolean deleteOnClose;

    RumpFileChannel(RumpFileSystem fs, RumpPath path, int fd, int flags, boolean sync, boolean deleteOnClose) {
        this.fs = fs;
        this.path = path;
        this.fd = fd;
        this.flags = flags;
        this.sync = sync;
        this.deleteOnClose = deleteOnClose;
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!isOpen() || !fs.isOpen()) {
            throw new ClosedChannelException();
        }
    }

    private void ensureReadable() throws ClosedChannelException {
        ensureOpen();
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY) {
            throw new NonReadableChannelException();
        }
    }

    private void ensureWritable() throws ClosedChannelException {
        ensureOpen();
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY) {
            throw new NonWritableChannelException();
        }
    }

    @Override
    public synchronized int read(ByteBuffer dst) throws IOException {
        ensureReadable();
        if (!dst.hasRemaining()) {
            return 0;
        }
        int n = fs.call(path, null, vfs -> vfs.read(fd, dst));
        return n == 0 ? -1 : n;
    }

    @Override
    public synchronized long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        ensureReadable();
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            if (!dsts[i].hasRemaining()) {
                continue;
            }
            int n = read(dsts[i]);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            total += n;
            if (dsts[i].hasRemaining()) {
                break;
            }
        }
        return total;
    }

    @Override
    public synchronized int read(ByteBuffer dst, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        ensureReadable();
        if (!dst.hasRemaining()) {
            return 0;
        }
        int n = fs.call(path, null, vfs -> vfs.pread(fd, dst, position));
        return n == 0 ? -1 : n;
    }

    @Override
    public synchronized int write(ByteBuffer src) throws IOException {
        ensureWritable();
        return writeAll(src, (vfs, done) -> vfs.write(fd, src));
    }

    /** One write call of the loop: the VFS, and how much of the buffer went already. */
    @FunctionalInterface
    private interface WriteStep {
        int write(io.jrump.kernel.sys.Syscalls sys, int done) throws io.jrump.hypercall.ErrnoException;
    }

    /** Writes until the buffer is empty (or the VFS takes nothing), then fsyncs if SYNC/DSYNC asked. */
    private int writeAll(ByteBuffer src, WriteStep step) throws IOException {
        return fs.call(path, null, vfs -> {
            int sum = 0;
            while (src.hasRemaining()) {
                int n = step.write(vfs, sum);
                if (n <= 0) {
                    break;
                }
                sum += n;
            }
            if (sync) {
                vfs.fsync(fd);
            }
            return sum;
        });
    }

    @Override
    public synchronized long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        ensureWritable();
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            total += write(srcs[i]);
        }
        return total;
    }

    @Override
    public synchronized int write(ByteBuffer src, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        ensureWritable();
        return writeAll(src, (vfs, done) -> vfs.pwrite(fd, src, position + done));
    }

    @Override
    public synchronized long position() throws IOException {
        ensureOpen();
        return fs.call(path, null, vfs -> vfs.lseek(fd, 0, OpenFlags.SEEK_CUR));
    }

    @Override
    public synchronized FileChannel position(long newPosition) throws IOException {
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition);
        }
        ensureOpen();
        fs.call(path, null, vfs -> vfs.lseek(fd, newPosition, OpenFlags.SEEK_SET));
        return this;
    }

    @Override
    public synchronized long size() throws IOException {
        ensureOpen();
        return fs.call(path, null, vfs -> vfs.fstat(fd).size());
    }

    @Override
    public synchronized FileChannel truncate(long size) throws IOException {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        ensureWritable();
        fs.call(path, null, vfs -> {
            if (size < vfs.fstat(fd).size()) {
                vfs.ftruncate(fd, size);
                if (sync) {
                    vfs.fsync(fd);
                }
            }
            if (vfs.lseek(fd, 0, OpenFlags.SEEK_CUR) > size) {
                vfs.lseek(fd, size, OpenFlags.SEEK_SET);
            }
            return null;
        });
        return this;
    }

    /** fsync: the filesystem commits everything, so {@code metaData} makes no difference. */
    @Override
    public synchronized void force(boolean metaData) throws IOException {
        ensureOpen();
        fs.call(path, null, vfs -> {
            vfs.fsync(fd);
            return null;
        });
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        if (position < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count");
        }
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(CHUNK, count - done));
            int n = read(buf, position + done);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                if (target.write(buf) == 0) {
                    return done + n - buf.remaining(); // a non-blocking target is full
                }
            }
            done += n;
        }
        return done;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        if (position < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count");
        }
        ensureWritable();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(CHUNK, count - done));
            int n = src.read(buf);
            if (n <= 0) {
                break;
            }
            buf.flip();
            write(buf, position + done);
            done += n;
        }
        return done;
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException("rump files cannot be memory-mapped");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException("rump files have no locks");
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException("rump files have no locks");
    }

    @Override
    protected void implCloseChannel() throws IOException {
        fs.forget(this);
        if (!fs.isOpen()) {
            return; // the VFS closed every descriptor when the filesystem closed
        }
        fs.call(path, null, vfs -> {
            try {
                vfs.close(fd);
            } finally {
                if (deleteOnClose) {
                    vfs.unlink(path.vfsPath());
                }
            }
            return null;
        });
    }
}
