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
 * qcow2 through {@link Qcow2Image} with its backing chain opened read-only, VMDK through
 * {@link VmdkImage} with its extent files; names resolved against the directory of the image that
 * names them, as qemu does.
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
                            (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d), depth);
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
            case VMDK -> {
                try {
                    return VmdkImage.open(file, path, readOnly, host.clock(), host.random(), new VmdkImage.ExtentFiles() {
                        @Override
                        public String resolve(String name) {
                            return Images.resolve(path, name);
                        }

                        @Override
                        public ImageFile open(String extent, boolean ro) throws ErrnoException {
                            return new ImageFile(host.blockDevices().open(extent, ro ? OpenMode.READ_ONLY
                                    : OpenMode.READ_WRITE), host.scheduler());
                        }

                        @Override
                        public BlockDevice openParent(String parent, int d) throws ErrnoException {
                            return Images.open(host, parent, null, true, d);
                        }
                    }, depth);
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            default -> {
                file.close();
                // Never read as raw: the container's bytes are not the disk's.
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": " + format.title() + " images are not supported yet"
                        + " (jrump reads raw, qcow2, VHD, VDI and VMDK images); found " + detected.evidence());
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
}
