package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.nio.ByteBuffer;

/** Opens the disk image a command names, as the block device it holds. */
final class DiskImages {
    private DiskImages() {
    }

    static BlockDevice open(Hypercalls host, String path, boolean readOnly) throws ErrnoException {
        HostDisk file = HostDisk.open(host, path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        if (file.size() >= 512) {
            ByteBuffer magic = ByteBuffer.allocate(512);
            file.read(0, magic);
            if (magic.getInt(0) == 0x514649fb) { // "QFI\xfb"
                file.close();
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": qcow2 images are not supported here yet");
            }
        }
        return file;
    }
}
