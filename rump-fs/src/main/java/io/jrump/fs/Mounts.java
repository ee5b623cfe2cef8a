package io.jrump.fs;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.blk.image.Images;
import io.jrump.blk.part.Partitions;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.Hypercalls;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;


/**
 * Opens the filesystem in a disk image (raw or qcow2, whole or one partition) or on any block
 * device, with a buffer cache below it; the one call behind {@code rump fs}, the nio provider and
 * applications that want a {@link Vfs} over an image.
 */
public final class Mounts {
    /**
     * Where and how: a partition (number, or GPT name; null for the whole disk), read-only, cache
     * size, and the filesystem's own options as {@code mount -o} takes them ({@code "force,acl"};
     * empty for none).
     */
    public record Options(String partition, boolean readOnly, long cacheBytes, String fsOptions) {
        public static final long DEFAULT_CACHE = 32L << 20;

        public Options {
            fsOptions = fsOptions == null ? "" : fsOptions;
        }

        public static Options defaults() {
            return new Options(null, false, DEFAULT_CACHE, "");
        }

        public Options withPartition(String p) {
            return new Options(p, readOnly, cacheBytes, fsOptions);
        }

        public Options withReadOnly(boolean ro) {
            return new Options(partition, ro, cacheBytes, fsOptions);
        }

        public Options withCacheBytes(long bytes) {
            return new Options(partition, readOnly, bytes, fsOptions);
        }

        /** The filesystem's options, comma-separated ({@code "force,check=full"}); a type refuses one it does not know. */
        public Options withFsOptions(String options) {
            return new Options(partition, readOnly, cacheBytes, options);
        }
    }

    /** Requests from this size up bypass the buffer cache. */
    static final int STREAM_BYTES = 64 * 1024;
    /**
     * A metadata miss brings the blocks of its aligned 64 KiB along (as ext4 reads ahead 32 blocks
     * of an inode table): inode tables and directory blocks lie together, and a host file read of
     * 64 KiB costs little more than one of 4 KiB, while each miss costs a round trip to the host.
     */
    static final int READ_AROUND_BYTES = 64 * 1024;

    private Mounts() {
    }

    /**
     * The filesystem in an image file (any format {@link Images} reads). Closing the result
     * unmounts, writes back the cache and closes the image.
     */
    public static FileSystemOps openImage(Hypercalls host, String image, Options options) throws ErrnoException {
        BlockDevice disk = Images.open(host, image, options.readOnly());
        BlockDevice dev;
        try {
            dev = options.partition() == null ? disk : Partitions.open(disk, options.partition());
        } catch (ErrnoException e) {
            try (disk) {
                throw FileSystemTypes.withContents(e, disk);
            }
        } catch (RuntimeException e) {
            disk.close();
            throw e;
        }
        return open(dev, "auto", options, host, disk); // closes the disk if it fails
    }

    /**
     * As {@link #open(BlockDevice, String, Options, HostClock, HostConsole, AutoCloseable...)}, with
     * the host's clock and console, and the host itself for a type that needs more of it (ext4's
     * multi-mount protection waits on its clock and scheduler).
     */
    public static FileSystemOps open(BlockDevice dev, String typeName, Options options, Hypercalls host,
            AutoCloseable... owned) throws ErrnoException {
        return open(dev, typeName, options, host.clock(), host.console(), host, owned);
    }

    /**
     * The filesystem on a block device, of whichever type recognizes it ({@link FileSystemTypes}),
     * under a buffer cache of {@code options.cacheBytes()} (none if 0); timestamps from
     * {@code clock}. {@code owned} are closed after the filesystem is unmounted, or at once if
     * the mount fails.
     *
     * @throws ErrnoException {@code EINVAL} saying what the device holds if no type recognizes it
     */
    public static FileSystemOps open(BlockDevice dev, Options options, HostClock clock, AutoCloseable... owned)
            throws ErrnoException {
        return open(dev, "auto", options, clock, null, owned);
    }

    /**
     * As {@link #open(BlockDevice, Options, HostClock, AutoCloseable...)}, as filesystem type
     * {@code typeName} ({@code "auto"} to probe; else {@code ENODEV} for a type nobody knows), with
     * the filesystem's warnings (damage it works around, such as an htree index it cannot use)
     * written to {@code console} if not null.
     */
    public static FileSystemOps open(BlockDevice dev, String typeName, Options options, HostClock clock,
            HostConsole console, AutoCloseable... owned) throws ErrnoException {
        return open(dev, typeName, options, clock, console, null, owned);
    }

    private static FileSystemOps open(BlockDevice dev, String typeName, Options options, HostClock clock,
            HostConsole console, Hypercalls host, AutoCloseable... owned) throws ErrnoException {
        List<AutoCloseable> closeAfter = new ArrayList<>();
        FileSystemType type;
        try {
            type = typeName.equals("auto") ? FileSystemTypes.identify(dev).type() : FileSystemTypes.byName(typeName);
            if (options.cacheBytes() > 0) {
                // File data moves in extents of 64 KiB and more; it goes around the cache, which keeps
                // metadata (a file streamed once would otherwise evict all of it, and cost two copies).
                BufferCache cache = new BufferCache(dev, CacheOptions.defaults()
                        .withBudget(Math.max(1 << 20, options.cacheBytes())).withStreamBytes(STREAM_BYTES)
                        .withReadAround(READ_AROUND_BYTES), clock);
                closeAfter.add(cache);
                dev = cache;
            }
        } catch (ErrnoException | RuntimeException e) {
            closeQuietly(List.of(owned), e);
            throw e;
        }
        closeAfter.addAll(List.of(owned));
        Map<String, String> fsOptions;
        try {
            fsOptions = FileSystemType.Options.parse(options.fsOptions());
        } catch (ErrnoException e) {
            closeQuietly(closeAfter, e);
            throw e;
        }
        return type.mount(dev, FileSystemType.Options.of(options.readOnly(), clock::wallNanos).withOwned(closeAfter)
                .withOptions(fsOptions).withConsole(console).withHost(host));
    }

    private static void closeQuietly(List<AutoCloseable> things, Throwable failure) {
        for (AutoCloseable c : things) {
            try {
                c.close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** A VFS with the image's filesystem mounted at "/". */
    public static Vfs mountImage(Hypercalls host, String image, Options options) throws ErrnoException {
        FileSystemOps fs = openImage(host, image, options);
        Vfs vfs = new Vfs(host.clock()::wallNanos);
        vfs.mount("/", fs, options.readOnly());
        return vfs;
    }
}
