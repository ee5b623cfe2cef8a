package io.jrump.fs;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.blk.image.Images;
import io.jrump.blk.part.Partitions;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.Hypercalls;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;


/**
 * Opens the filesystem in a disk image (raw or qcow2, whole or one partition) or on any block
 * device, with a buffer cache below it; the one call behind {@code rump fs}, the nio provider and
 * applications that want a {@link Vfs} over an image.
 */
public final class Mounts {
    /** Where and how: a partition (number, or GPT name; null for the whole disk), read-only, cache size. */
    public record Options(String partition, boolean readOnly, long cacheBytes) {
        public static final long DEFAULT_CACHE = 32L << 20;

        public static Options defaults() {
            return new Options(null, false, DEFAULT_CACHE);
        }

        public Options withPartition(String p) {
            return new Options(p, readOnly, cacheBytes);
        }

        public Options withReadOnly(boolean ro) {
            return new Options(partition, ro, cacheBytes);
        }

        public Options withCacheBytes(long bytes) {
            return new Options(partition, readOnly, bytes);
        }
    }

    /** Requests from this size up bypass the buffer cache. */
    static final int STREAM_BYTES = 64 * 1024;

    private Mounts() {
    }

    /**
     * The filesystem in an image file (any format {@link Images} reads). Closing the result
     * unmounts, writes back the cache and closes the image.
     */
    public static FileSystemOps openImage(Hypercalls host, String image, Options options) throws ErrnoException {
        BlockDevice disk = Images.open(host, image, options.readOnly());
        try {
            BlockDevice dev = options.partition() == null ? disk : partition(disk, options.partition());
            return open(dev, options, host.clock(), host.console(), disk);
        } catch (ErrnoException | RuntimeException e) {
            disk.close();
            throw e;
        }
    }

    private static BlockDevice partition(BlockDevice disk, String spec) throws ErrnoException {
        if (spec.matches("\\d{1,3}")) {
            return Partitions.open(disk, Integer.parseInt(spec));
        }
        return Partitions.openByName(disk, spec);
    }

    /**
     * The filesystem on a block device, under a buffer cache of {@code options.cacheBytes()}
     * (none if 0); timestamps from {@code clock}. {@code owned} are closed after the filesystem is unmounted.
     */
    public static FileSystemOps open(BlockDevice dev, Options options, HostClock clock, AutoCloseable... owned)
            throws ErrnoException {
        return open(dev, options, clock, (HostConsole) null, owned);
    }

    /**
     * As {@link #open(BlockDevice, Options, HostClock, AutoCloseable...)}, with the filesystem's
     * warnings (damage it works around, such as an htree index it cannot use) written to {@code console}.
     */
    public static FileSystemOps open(BlockDevice dev, Options options, HostClock clock, HostConsole console,
            AutoCloseable... owned) throws ErrnoException {
        String type = probe(dev);
        if (!type.equals("ext")) {
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": " + type);
        }
        BlockDevice below = dev;
        BufferCache cache = null;
        if (options.cacheBytes() > 0) {
            // File data moves in extents of 64 KiB and more; it goes around the cache, which keeps
            // metadata (a file streamed once would otherwise evict all of it, and cost two copies).
            cache = new BufferCache(dev, CacheOptions.defaults().withBudget(Math.max(1 << 20, options.cacheBytes()))
                    .withStreamBytes(STREAM_BYTES), clock);
            below = cache;
        }
        ExtFs.MountOptions mo = options.readOnly() ? ExtFs.MountOptions.readOnlyMount()
                : ExtFs.MountOptions.readWrite(clock::wallNanos);
        if (console != null) {
            mo = mo.withConsole(console);
        }
        ExtVfs fs = ExtVfs.mount(below, mo);
        if (cache != null) {
            fs.closing(cache);
        }
        fs.closing(owned);
        return fs;
    }

    /** A VFS with the image's filesystem mounted at "/". */
    public static Vfs mountImage(Hypercalls host, String image, Options options) throws ErrnoException {
        FileSystemOps fs = openImage(host, image, options);
        Vfs vfs = new Vfs(host.clock()::wallNanos);
        vfs.mount("/", fs, options.readOnly());
        return vfs;
    }

    /** What the device holds: {@code ext} for ext2/3/4, else a sentence saying what was found. */
    static String probe(BlockDevice dev) throws ErrnoException {
        if (dev.size() < 2048) {
            return "too small to hold a filesystem";
        }
        ByteBuffer b = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        if ((b.getShort(1024 + 56) & 0xffff) == 0xEF53) {
            return "ext";
        }
        if ((b.get(510) & 0xff) == 0x55 && (b.get(511) & 0xff) == 0xAA) {
            return "no ext filesystem here; it starts with a boot sector (a partition table? name a partition, "
                    + "or a FAT filesystem, which is not supported yet)";
        }
        return "no filesystem this library knows (ext2/3/4)";
    }
}
