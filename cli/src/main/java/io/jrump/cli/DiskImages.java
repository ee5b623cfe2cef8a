package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.Images;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;

/** Opens the disk image a command names, of any supported format, as the block device it holds. */
final class DiskImages {
    private DiskImages() {
    }

    static BlockDevice open(Hypercalls host, String path, boolean readOnly) throws ErrnoException {
        return Images.open(host, path, readOnly);
    }

    /** As {@link #open(Hypercalls, String, boolean)}, as format {@code format} ("auto": by content, "raw": byte for byte). */
    static BlockDevice open(Hypercalls host, String path, String format, boolean readOnly) throws ErrnoException {
        return Images.open(host, path, format, readOnly);
    }
}
