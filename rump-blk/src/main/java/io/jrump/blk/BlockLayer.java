package io.jrump.blk;

import io.jrump.blk.image.Images;
import io.jrump.blk.part.Partitions;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The block layer as a kernel component ({@code "blk"}), NetBSD's rumpblk: opens disks and images
 * on the kernel's host — raw or qcow2, whole or one partition — and closes whatever is still open
 * when the kernel stops. Found through ServiceLoader; the filesystem component mounts what it
 * opens. Thread-safe.
 */
public final class BlockLayer implements Component {
    private final List<BlockDevice> open = new ArrayList<>();
    private volatile Hypercalls host;

    @Override
    public String name() {
        return "blk";
    }

    @Override
    public void start(RumpKernel kernel) {
        host = kernel.host();
    }

    /**
     * Opens the image or device {@code name} on the host (any format {@link Images} reads) and, if
     * {@code partition} is not null, that partition of it (a number or a GPT name). Closing the
     * result closes the disk below it too.
     */
    public BlockDevice open(String name, String partition, boolean readOnly) throws ErrnoException {
        Hypercalls h = host;
        if (h == null) {
            throw new ErrnoException(Errno.ESHUTDOWN, "the block layer is not running");
        }
        BlockDevice disk = Images.open(h, name, readOnly);
        BlockDevice part;
        try {
            part = partition == null ? disk : Partitions.open(disk, partition);
        } catch (ErrnoException | RuntimeException e) {
            disk.close();
            throw e;
        }
        BlockDevice dev = new ForwardingBlockDevice(part) {
            @Override
            public void close() throws ErrnoException {
                synchronized (open) {
                    open.remove(this);
                }
                try {
                    super.close();
                } finally {
                    if (part != disk) {
                        disk.close();
                    }
                }
            }
        };
        synchronized (open) {
            open.add(dev);
        }
        return dev;
    }

    @Override
    public void stop() {
        List<BlockDevice> left;
        synchronized (open) {
            left = new ArrayList<>(open);
            open.clear();
        }
        for (BlockDevice d : left) {
            try {
                d.close();
            } catch (ErrnoException e) {
                host.console().log(Level.ERROR, "blk: closing " + d.name() + " at shutdown: " + e.getMessage());
            }
        }
    }
}
