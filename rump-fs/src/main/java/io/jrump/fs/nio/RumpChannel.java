package io.jrump.fs.nio;

import io.jrump.fs.vfs.OpenFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;

/**
 * A {@link SeekableByteChannel} on a VFS file descriptor. As the SPI asks, {@link #truncate}
 * only shrinks; writing past the end grows the file (with a hole). With {@code sync} every write
 * is followed by {@code fsync}; with {@code deleteOnClose} the name is removed on close.
 * Thread-safe: operations are serialized on the channel; it fails with
 * {@link ClosedChannelException} once it or its filesystem is closed.
 */
final class RumpChannel implements SeekableByteChannel {
    private final RumpFileSystem fs;
    private final RumpPath path;
    private final int fd;
    private final int flags;
    private final boolean sync;
    private final boolean deleteOnClose;
    private boolean open = true;

    RumpChannel(RumpFileSystem fs, RumpPath path, int fd, int flags, boolean sync, boolean deleteOnClose) {
        this.fs = fs;
        this.path = path;
        this.fd = fd;
        this.flags = flags;
        this.sync = sync;
        this.deleteOnClose = deleteOnClose;
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!open || !fs.isOpen()) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public synchronized int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY) {
            throw new NonReadableChannelException();
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        int n = fs.call(path, null, vfs -> vfs.read(fd, dst));
        return n == 0 ? -1 : n;
    }

    @Override
    public synchronized int write(ByteBuffer src) throws IOException {
        ensureOpen();
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY) {
            throw new NonWritableChannelException();
        }
        int total = fs.call(path, null, vfs -> {
            int sum = 0;
            while (src.hasRemaining()) {
                int n = vfs.write(fd, src);
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
        return total;
    }

    @Override
    public synchronized long position() throws IOException {
        ensureOpen();
        return fs.call(path, null, vfs -> vfs.lseek(fd, 0, OpenFlags.SEEK_CUR));
    }

    @Override
    public synchronized SeekableByteChannel position(long newPosition) throws IOException {
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
    public synchronized SeekableByteChannel truncate(long size) throws IOException {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        ensureOpen();
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY) {
            throw new NonWritableChannelException();
        }
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

    @Override
    public synchronized boolean isOpen() {
        return open && fs.isOpen();
    }

    @Override
    public synchronized void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        if (!fs.isOpen()) {
            return; // closing the filesystem closed the descriptor
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
