package io.jrump.host.linux.nat;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.charset.StandardCharsets;

/**
 * The VFIO calls a user-space PCI driver needs (linux/vfio.h): a container with the type-1 IOMMU,
 * a group, a device's file descriptor, its regions (configuration space, BARs), DMA mappings and
 * MSI-X interrupts as eventfds. Plain Java values in and out; a failed call is an
 * {@link ErrnoException} naming the call and the device. Stateless and thread-safe.
 */
public final class Vfio {
    private Vfio() {
    }

    private static final long TYPE = ';' << 8;
    private static final long GET_API_VERSION = TYPE | 100;
    private static final long CHECK_EXTENSION = TYPE | 101;
    private static final long SET_IOMMU = TYPE | 102;
    private static final long GROUP_GET_STATUS = TYPE | 103;
    private static final long GROUP_SET_CONTAINER = TYPE | 104;
    private static final long GROUP_GET_DEVICE_FD = TYPE | 106;
    private static final long DEVICE_GET_REGION_INFO = TYPE | 108;
    private static final long DEVICE_GET_IRQ_INFO = TYPE | 109;
    private static final long DEVICE_SET_IRQS = TYPE | 110;
    private static final long DEVICE_RESET = TYPE | 111;
    private static final long IOMMU_MAP_DMA = TYPE | 113;
    private static final long IOMMU_UNMAP_DMA = TYPE | 114;

    private static final int API_VERSION = 0;
    private static final int TYPE1_IOMMU = 1;
    private static final int GROUP_FLAGS_VIABLE = 1;

    /** Region indices of a PCI device: BARs 0-5, then the configuration space. */
    public static final int CONFIG_REGION = 7;
    /** The MSI-X interrupt index. */
    public static final int MSIX_IRQ = 2;

    public static final int REGION_READ = 1;
    public static final int REGION_WRITE = 2;
    public static final int REGION_MMAP = 4;

    /** A device region: its size, where it lies in the device file, and how it may be used. */
    public record Region(int index, long size, long offset, int flags) {
        public boolean mappable() {
            return (flags & REGION_MMAP) != 0;
        }
    }

    /** One ioctl(2), for {@link #retrying}. */
    private interface Call {
        int run();
    }

    /** Runs {@code call} again on {@code EINTR}; its result, or the errno naming {@code what}. */
    private static int retrying(Call call, String what) throws ErrnoException {
        while (true) {
            int r = call.run();
            if (r >= 0) {
                return r;
            }
            if (Native.getLastError() != Errno.EINTR.number()) {
                throw Sys.lastError(what);
            }
        }
    }

    private static int ioctl(int fd, long request, Pointer arg, String what) throws ErrnoException {
        return retrying(() -> LibC.ioctl(fd, request, arg), what);
    }

    private static int ioctl(int fd, long request, long arg, String what) throws ErrnoException {
        return retrying(() -> LibC.ioctl(fd, request, arg), what);
    }

    /**
     * A container on {@code /dev/vfio/vfio}, checked for the API version and the type-1 IOMMU.
     *
     * @throws ErrnoException {@code ENOENT} without the vfio module, {@code EOPNOTSUPP} without a type-1 IOMMU
     */
    public static int openContainer() throws ErrnoException {
        int fd = Sys.open("/dev/vfio/vfio", Sys.O_RDWR, 0);
        try {
            int version = ioctl(fd, GET_API_VERSION, 0, "VFIO_GET_API_VERSION");
            if (version != API_VERSION) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "VFIO API version " + version + ", not " + API_VERSION);
            }
            if (ioctl(fd, CHECK_EXTENSION, TYPE1_IOMMU, "VFIO_CHECK_EXTENSION") == 0) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "VFIO has no type-1 IOMMU here (no IOMMU, or no-IOMMU mode)");
            }
            return fd;
        } catch (ErrnoException e) {
            Sys.close(fd, "/dev/vfio/vfio");
            throw e;
        }
    }

    /**
     * Opens IOMMU group {@code group}, checks that it is viable (every device in it bound to
     * vfio-pci or to no driver), joins it to {@code container} and sets the container's IOMMU.
     */
    public static int openGroup(int container, int group) throws ErrnoException {
        String path = "/dev/vfio/" + group;
        int fd = Sys.open(path, Sys.O_RDWR, 0);
        try (Memory status = new Memory(8); Memory containerFd = new Memory(4)) {
            status.setInt(0, 8);
            status.setInt(4, 0);
            ioctl(fd, GROUP_GET_STATUS, status, "VFIO_GROUP_GET_STATUS " + path);
            if ((status.getInt(4) & GROUP_FLAGS_VIABLE) == 0) {
                throw new ErrnoException(Errno.EBUSY, path + " is not viable: a device of IOMMU group " + group
                        + " is bound to a driver other than vfio-pci");
            }
            containerFd.setInt(0, container);
            ioctl(fd, GROUP_SET_CONTAINER, containerFd, "VFIO_GROUP_SET_CONTAINER " + path);
            ioctl(container, SET_IOMMU, TYPE1_IOMMU, "VFIO_SET_IOMMU");
            return fd;
        } catch (ErrnoException e) {
            Sys.close(fd, path);
            throw e;
        }
    }

    /** The file descriptor of device {@code name} ({@code 0000:00:05.0}) in {@code group}. */
    public static int openDevice(int group, String name) throws ErrnoException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        try (Memory arg = new Memory(n.length)) {
            arg.write(0, n, 0, n.length);
            return ioctl(group, GROUP_GET_DEVICE_FD, arg, "VFIO_GROUP_GET_DEVICE_FD " + name);
        }
    }

    /** Region {@code index} of {@code device}. */
    public static Region region(int device, int index) throws ErrnoException {
        try (Memory info = new Memory(32)) {
            info.clear();
            info.setInt(0, 32);
            info.setInt(8, index);
            ioctl(device, DEVICE_GET_REGION_INFO, info, "VFIO_DEVICE_GET_REGION_INFO " + index);
            return new Region(index, info.getLong(16), info.getLong(24), info.getInt(4));
        }
    }

    /** How many interrupts of kind {@code index} ({@link #MSIX_IRQ}) the device has. */
    public static int irqCount(int device, int index) throws ErrnoException {
        try (Memory info = new Memory(16)) {
            info.clear();
            info.setInt(0, 16);
            info.setInt(8, index);
            ioctl(device, DEVICE_GET_IRQ_INFO, info, "VFIO_DEVICE_GET_IRQ_INFO " + index);
            return info.getInt(12);
        }
    }

    /** Signals {@code eventfds[i]} for MSI-X vector {@code i}; an empty array turns them all off. */
    public static void setMsix(int device, int[] eventfds) throws ErrnoException {
        int n = eventfds.length;
        try (Memory set = new Memory(20 + 4L * Math.max(1, n))) {
            set.clear();
            set.setInt(0, 20 + 4 * n);
            set.setInt(4, n == 0 ? 1 | 32 : 4 | 32); // DATA_NONE or DATA_EVENTFD, ACTION_TRIGGER
            set.setInt(8, MSIX_IRQ);
            set.setInt(12, 0);
            set.setInt(16, n);
            for (int i = 0; i < n; i++) {
                set.setInt(20 + 4L * i, eventfds[i]);
            }
            ioctl(device, DEVICE_SET_IRQS, set, "VFIO_DEVICE_SET_IRQS MSI-X");
        }
    }

    /** Resets the device (function-level reset or what VFIO has). */
    public static void reset(int device) throws ErrnoException {
        ioctl(device, DEVICE_RESET, 0, "VFIO_DEVICE_RESET");
    }

    /** Maps {@code size} bytes of this process at {@code vaddr} for the device at I/O address {@code iova}, read-write. */
    public static void mapDma(int container, long vaddr, long iova, long size) throws ErrnoException {
        try (Memory map = new Memory(32)) {
            map.setInt(0, 32);
            map.setInt(4, 3); // READ | WRITE
            map.setLong(8, vaddr);
            map.setLong(16, iova);
            map.setLong(24, size);
            ioctl(container, IOMMU_MAP_DMA, map, "VFIO_IOMMU_MAP_DMA");
        }
    }

    /** Undoes {@link #mapDma}. */
    public static void unmapDma(int container, long iova, long size) throws ErrnoException {
        try (Memory map = new Memory(32)) {
            map.clear();
            map.setInt(0, 32);
            map.setLong(16, iova);
            map.setLong(24, size);
            ioctl(container, IOMMU_UNMAP_DMA, map, "VFIO_IOMMU_UNMAP_DMA");
        }
    }
}
