package io.jrump.fs;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockLayer;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.MountCalls;
import io.jrump.kernel.sys.Syscalls;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Set;

/**
 * The filesystem layer as a kernel component ({@code "vfs"}, after {@code "blk"}): one {@link Vfs}
 * whose descriptors live in the kernel's table beside its sockets, offered as the kernel's file
 * calls, and {@code mount(2)} over the block layer and the filesystem types on the class path.
 * Found through ServiceLoader. Stopping it closes every file and unmounts everything.
 */
public final class VfsComponent implements Component, MountCalls {
    /** {@code MS_RDONLY}: mount read-only. */
    public static final int MS_RDONLY = 1;
    /** Boot property: the buffer cache under each mount, in bytes (0 for none; 32 MiB by default). */
    public static final String CACHE_BYTES = "vfs.cache_bytes";

    private Vfs vfs;
    private BlockLayer blk;
    private HostClock clock;
    private Syscalls sys;
    private RumpKernel kernel;
    private long cacheBytes;

    @Override
    public String name() {
        return "vfs";
    }

    @Override
    public Set<String> dependencies() {
        return Set.of("blk");
    }

    @Override
    public void start(RumpKernel k) throws ErrnoException {
        kernel = k;
        blk = k.component(BlockLayer.class).orElseThrow(
                () -> new ErrnoException(Errno.ENOENT, "vfs needs the block layer component (blk)"));
        clock = k.host().clock();
        String cache = k.property(CACHE_BYTES).orElse(Long.toString(Mounts.Options.DEFAULT_CACHE));
        try {
            cacheBytes = Long.parseLong(cache);
        } catch (NumberFormatException e) {
            cacheBytes = -1;
        }
        if (cacheBytes < 0) {
            throw new ErrnoException(Errno.EINVAL, CACHE_BYTES + ": '" + cache + "' is not a byte count");
        }
        sys = k.sys();
        vfs = new Vfs(clock::wallNanos, sys.descriptors());
        sys.provide(vfs, this);
    }

    /** The kernel's VFS, for what the system calls do not cover (mounting a {@link FileSystemOps}). */
    public Vfs vfs() {
        return vfs;
    }

    /**
     * Mounts {@code source} at {@code target}: {@code source} is an image or device the host can
     * open, optionally followed by {@code :N} or {@code :NAME} for a partition (a colon followed by
     * no slash). When the part before the last colon does not open ({@code ENOENT}, {@code EINVAL})
     * the whole source is tried as a device, for names with colons of their own
     * ({@code pci:0000:00:05.0}). {@code flags} may hold {@link #MS_RDONLY}; no other flag is known ({@code EINVAL}).
     */
    @Override
    public void mount(String source, String target, String type, int flags) throws ErrnoException {
        mount(source, target, type, flags, "");
    }

    /**
     * As {@link #mount(String, String, String, int)}, with the filesystem's options in {@code data}
     * ({@code "force,check=full"} for ext; each type's guide lists its own).
     */
    @Override
    public void mount(String source, String target, String type, int flags, String data) throws ErrnoException {
        if ((flags & ~MS_RDONLY) != 0) {
            throw new ErrnoException(Errno.EINVAL, "mount " + source + ": unknown flags 0x" + Integer.toHexString(flags));
        }
        boolean readOnly = (flags & MS_RDONLY) != 0;
        String image = source;
        String partition = null;
        int colon = source.lastIndexOf(':');
        if (colon > 0 && colon < source.length() - 1 && source.indexOf('/', colon) < 0) {
            image = source.substring(0, colon);
            partition = source.substring(colon + 1);
        }
        BlockDevice dev;
        try {
            dev = openPart(image, partition, readOnly);
        } catch (ErrnoException e) {
            if (partition == null || e.errno() != Errno.ENOENT && e.errno() != Errno.EINVAL) {
                throw e;
            }
            // The last colon may be the device name's own (pci:0000:00:05.0): the whole source, then.
            try {
                dev = blk.open(source, null, readOnly);
            } catch (ErrnoException whole) {
                throw e.errno() == Errno.EINVAL ? whole : e; // a malformed split says less than the whole name's error
            }
        }
        try {
            vfs.checkMountPoint(target); // a busy target is refused before the filesystem mounts (and replays a journal)
        } catch (ErrnoException e) {
            dev.close();
            throw e;
        }
        FileSystemOps fs = Mounts.open(dev, type, Mounts.Options.defaults().withReadOnly(readOnly)
                .withCacheBytes(cacheBytes).withFsOptions(data), kernel.host(), dev);
        vfs.mountOrClose(target, fs, readOnly);
    }

    /** The partition of {@code image} (or all of it); a disk without a table says what it holds instead. */
    private BlockDevice openPart(String image, String partition, boolean readOnly) throws ErrnoException {
        try {
            return blk.open(image, partition, readOnly);
        } catch (ErrnoException e) {
            if (partition == null || e.errno() != Errno.ENODATA) {
                throw e;
            }
            BlockDevice disk;
            try {
                disk = blk.open(image, null, true);
            } catch (ErrnoException busy) {
                throw e; // the disk is in use (mounted whole, say): what the table lacks is the answer
            }
            try (disk) {
                throw FileSystemTypes.withContents(e, disk); // no table: say what the disk holds instead
            }
        }
    }

    @Override
    public void unmount(String target) throws ErrnoException {
        vfs.unmount(target);
    }

    @Override
    public List<String> mountPoints() {
        return vfs.mountPoints();
    }

    @Override
    public void stop() {
        sys.withdraw(this);
        try {
            vfs.close();
        } catch (ErrnoException e) {
            kernel.host().console().log(Level.ERROR, "vfs: unmounting at shutdown: " + e.getMessage());
        }
    }
}
