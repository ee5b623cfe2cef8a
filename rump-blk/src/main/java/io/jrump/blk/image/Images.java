package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.Hypercalls;
import java.nio.file.Path;

/**
 * Opens a disk image of any supported format as a {@link BlockDevice}: raw images as they are,
 * qcow2 through {@link Qcow2Image} with its backing chain opened read-only, names resolved against
 * the directory of the image that names them, as qemu does.
 */
public final class Images {
    private Images() {
    }

    public static BlockDevice open(Hypercalls host, String path, boolean readOnly) throws ErrnoException {
        return open(host, path, null, readOnly, 0);
    }

    private static BlockDevice open(Hypercalls host, String path, String expectedFormat, boolean readOnly, int depth)
            throws ErrnoException {
        HostBlockDevice dev = host.blockDevices().open(path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        ImageFile file = new ImageFile(dev, host.scheduler());
        ImageFormat.Detection detected;
        try {
            detected = ImageFormat.identify(file);
        } catch (ErrnoException e) {
            file.close();
            throw e;
        }
        ImageFormat format = detected.format();
        if (expectedFormat != null && !expectedFormat.equalsIgnoreCase(format.displayName())) {
            file.close();
            throw new ErrnoException(Errno.EINVAL, path + ": backing format says " + expectedFormat + " but the file is "
                    + format.displayName());
        }
        switch (format) {
            case RAW -> {
                file.close();
                return HostDisk.open(host, path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
            }
            case QCOW2 -> {
                try {
                    return Qcow2Image.open(file, readOnly, host.clock(),
                            (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d),
                            (name, ro) -> new ImageFile(host.blockDevices().open(resolve(path, name),
                                    ro ? OpenMode.READ_ONLY : OpenMode.READ_WRITE), host.scheduler()), depth);
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            case VHD, VDI -> {
                try {
                    return format == ImageFormat.VHD ? VhdImage.open(file, readOnly, host.clock())
                            : VdiImage.open(file, readOnly, host.clock());
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            default -> {
                file.close();
                // Never read as raw: the container's bytes are not the disk's.
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": " + format.title() + " images are not supported yet"
                        + " (jrump reads raw, qcow2, VHD and VDI images); found " + detected.evidence());
            }
        }
    }

    /** A backing file name relative to the directory of the image naming it, as qemu resolves it. */
    static String resolve(String image, String backing) {
        Path b = Path.of(backing);
        if (b.isAbsolute()) {
            return backing;
        }
        Path dir = Path.of(image).toAbsolutePath().getParent();
        return dir == null ? backing : dir.resolve(b).normalize().toString();
    }

    /**
     * Opens an internal snapshot of a qcow2 image, by ID or name, read-only: {@code ENOENT} if it
     * has none by that ID or name, {@code EINVAL} if the image is not qcow2.
     */
    public static Qcow2Image openQcow2Snapshot(Hypercalls host, String path, String idOrName) throws ErrnoException {
        ImageFile file = new ImageFile(host.blockDevices().open(path, OpenMode.READ_ONLY), host.scheduler());
        try {
            ImageFormat.Detection detected = ImageFormat.identify(file);
            if (detected.format() != ImageFormat.QCOW2) {
                throw new ErrnoException(Errno.EINVAL, path + ": only qcow2 images have internal snapshots; this is "
                        + detected.format().displayName());
            }
            return Qcow2Image.openSnapshot(file, idOrName, host.clock(),
                    (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d),
                    (name, ro) -> new ImageFile(host.blockDevices().open(resolve(path, name), OpenMode.READ_ONLY),
                            host.scheduler()), 0);
        } catch (ErrnoException | RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
