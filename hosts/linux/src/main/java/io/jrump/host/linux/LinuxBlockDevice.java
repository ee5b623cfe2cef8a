package io.jrump.host.linux;

import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostScheduler;
import io.jrump.host.kit.BlockRequests;
import io.jrump.host.kit.DeviceRequests;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A block device on a host file or a Linux block device, through {@code pread}/{@code pwrite} on a
 * file descriptor, optionally opened with {@code O_DIRECT}.
 *
 * <p>With {@code O_DIRECT} the kernel takes only transfers whose memory address, offset and length
 * are multiples of the {@link #sectorSize()}; any other request goes through an aligned bounce
 * buffer, and an unaligned write becomes read-modify-write of the sectors it touches. Such writes
 * (and writes that grow a file) hold the device's write lock so that no other write lands in those
 * sectors meanwhile; every other operation holds the read lock, so aligned I/O runs in parallel.
 *
 * <p>Regular files grow on writes past their end and report {@code 4096} as sector size; block
 * devices have the size {@code BLKGETSIZE64} reports and the sector size {@code BLKSSZGET} does.
 * Flush is {@code fdatasync(2)}; discard is {@code fallocate(PUNCH_HOLE|KEEP_SIZE)}, which on a
 * block device needs sector-aligned ranges (others fail with {@code EOPNOTSUPP}).
 *
 * <p>Operations run as {@link DeviceRequests} places them (on the caller's thread when alone, else on
 * the host's I/O threads) and complete on the event loop. Thread-safe.
 */
final class LinuxBlockDevice implements HostBlockDevice {
    private static final Logger LOG = LoggerFactory.getLogger(LinuxBlockDevice.class);
    /** The sector size assumed for regular files: a multiple of every logical block size in use. */
    static final int FILE_SECTOR = 4096;

    private final String name;
    private final int fd;
    private final boolean readOnly;
    private final boolean blockDevice;
    private final boolean direct;
    private final int sector;
    private final DeviceRequests requests;
    private final Consumer<LinuxBlockDevice> onClose;
    private final ReadWriteLock sectors = new ReentrantReadWriteLock();
    private volatile long size;

    private LinuxBlockDevice(String name, int fd, boolean readOnly, boolean blockDevice, boolean direct, int sector,
            long size, HostScheduler loop, Executor io, Consumer<LinuxBlockDevice> onClose) {
        this.name = name;
        this.fd = fd;
        this.readOnly = readOnly;
        this.blockDevice = blockDevice;
        this.direct = direct;
        this.sector = sector;
        this.size = size;
        this.requests = new DeviceRequests(name, io, task -> {
            try {
                loop.execute(task);
            } catch (IllegalStateException e) {
                LOG.debug("{}: completion dropped, the host has closed", name);
            }
        }, loop::inEventLoop, e -> e instanceof ErrnoException x ? x.errno() : Errno.EIO);
        this.onClose = onClose;
    }

    /**
     * Opens {@code path}, a regular file or a block device ({@code blockDevice}), creating it with
     * {@code createSize} bytes if that is not negative.
     */
    static LinuxBlockDevice open(String name, String path, boolean blockDevice, boolean readOnly, boolean direct,
            long createSize, HostScheduler loop, Executor io, Consumer<LinuxBlockDevice> onClose)
            throws ErrnoException {
        int flags = (readOnly ? Sys.O_RDONLY : Sys.O_RDWR) | (direct ? Sys.O_DIRECT : 0)
                | (createSize >= 0 ? Sys.O_CREAT | Sys.O_EXCL : 0);
        int fd = Sys.open(path, flags, 0644);
        try {
            if (createSize >= 0) {
                Sys.ftruncate(fd, createSize, path);
            }
            int sector = blockDevice ? Sys.blockSectorSize(fd, path) : FILE_SECTOR;
            long size = blockDevice ? Sys.blockDeviceSize(fd, path) : Sys.seekEnd(fd, path);
            return new LinuxBlockDevice(name, fd, readOnly, blockDevice, direct, sector, size, loop, io, onClose);
        } catch (ErrnoException | RuntimeException e) {
            Sys.close(fd, path);
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public int sectorSize() {
        return sector;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean isGrowable() {
        return !blockDevice;
    }

    /** Whether it was opened with {@code O_DIRECT}. */
    boolean isDirect() {
        return direct;
    }

    private boolean aligned(long offset, long length, ByteBuffer buf) {
        return offset % sector == 0 && length % sector == 0 && buf.isDirect()
                && buf.alignmentOffset(buf.position(), sector) == 0;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCompletion completion) {
        ByteBuffer view = dst.duplicate();
        int n = view.remaining();
        requests.submit(completion, () -> BlockRequests.checkRead(offset, view, size), () -> {
            sectors.readLock().lock();
            try {
                if (view.isDirect() && (!direct || aligned(offset, n, view))) {
                    readFully(view, offset);
                } else {
                    long start = direct ? offset & -sector : offset;
                    long end = direct ? (offset + n + sector - 1) & -(long) sector : offset + n;
                    ByteBuffer bounce = Sys.alignedBuffer(Math.toIntExact(end - start), sector);
                    readFully(bounce, start);
                    view.put(bounce.position((int) (offset - start)).limit((int) (offset - start) + n));
                }
            } finally {
                sectors.readLock().unlock();
            }
            return n;
        });
    }

    /** Reads until {@code buf} is full or the end of the file; what lies past the end stays as it was. */
    private void readFully(ByteBuffer buf, long offset) throws ErrnoException {
        ByteBuffer b = buf.duplicate();
        long pos = offset;
        while (b.hasRemaining()) {
            int got = Sys.pread(fd, b, pos, name);
            if (got == 0) {
                break; // only past the end, which a checked read reaches only inside a bounce buffer
            }
            b.position(b.position() + got);
            pos += got;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCompletion completion) {
        ByteBuffer view = src.duplicate();
        int n = view.remaining();
        requests.submit(completion, () -> BlockRequests.checkWrite(offset, n, size, readOnly, !blockDevice), () -> {
            // With O_DIRECT whole sectors are written, which may carry a file past its end even
            // when the request itself does not.
            boolean grows = (direct ? end(offset, n) : offset + n) > size;
            boolean plain = view.isDirect() && (!direct || aligned(offset, n, view));
            boolean exclusive = grows || (direct && !aligned(offset, n, view));
            var lock = exclusive ? sectors.writeLock() : sectors.readLock();
            lock.lock();
            try {
                if (plain) {
                    writeFully(view, offset);
                } else if (!direct) {
                    ByteBuffer bounce = ByteBuffer.allocateDirect(n).put(view.duplicate()).flip();
                    writeFully(bounce, offset);
                } else {
                    long start = offset & -sector;
                    long end = (offset + n + sector - 1) & -(long) sector;
                    ByteBuffer bounce = Sys.alignedBuffer(Math.toIntExact(end - start), sector);
                    if (start < offset) {
                        readFully(bounce.duplicate().limit(sector), start);
                    }
                    if (end > offset + n && (end - sector > start || start == offset)) {
                        readFully(bounce.duplicate().position((int) (end - sector - start)), end - sector);
                    }
                    bounce.put((int) (offset - start), view, view.position(), n);
                    writeFully(bounce, start);
                }
                if (grows) {
                    long newSize = Math.max(size, offset + n);
                    if (direct) {
                        Sys.ftruncate(fd, newSize, name); // the sectors written may reach past the new end
                    }
                    size = newSize;
                }
            } finally {
                lock.unlock();
            }
            return n;
        });
    }

    private long end(long offset, int n) {
        return (offset + n + sector - 1) & -(long) sector;
    }

    private void writeFully(ByteBuffer buf, long offset) throws ErrnoException {
        ByteBuffer b = buf.duplicate();
        long pos = offset;
        while (b.hasRemaining()) {
            int put = Sys.pwrite(fd, b, pos, name);
            b.position(b.position() + put);
            pos += put;
        }
    }

    @Override
    public void flush(IoCompletion completion) {
        requests.submit(completion, () -> null, () -> {
            if (!readOnly) {
                Sys.fdatasync(fd, name);
            }
            return 0;
        });
    }

    @Override
    public void discard(long offset, long length, IoCompletion completion) {
        requests.submit(completion, () -> {
            Errno invalid = BlockRequests.checkDiscard(offset, length, size, readOnly);
            if (invalid == null && blockDevice && (offset % sector != 0 || length % sector != 0)) {
                return Errno.EOPNOTSUPP;
            }
            return invalid;
        }, () -> {
            if (length > 0) {
                sectors.readLock().lock();
                try {
                    Sys.fallocate(fd, Sys.FALLOC_FL_PUNCH_HOLE | Sys.FALLOC_FL_KEEP_SIZE, offset, length, name);
                } finally {
                    sectors.readLock().unlock();
                }
            }
            return length;
        });
    }

    @Override
    public void close() {
        if (requests.close()) {
            Sys.close(fd, name);
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "LinuxBlockDevice[" + name + (direct ? " O_DIRECT" : "") + ", sector " + sector + "]";
    }
}
