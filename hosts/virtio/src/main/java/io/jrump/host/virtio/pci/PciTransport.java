package io.jrump.host.virtio.pci;

import io.jrump.host.linux.nat.Sys;
import io.jrump.host.linux.nat.Vfio;
import io.jrump.host.virtio.ring.BrokenDeviceException;
import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-pci transport for modern devices (virtio 1.2, 4.1), driven from user space through
 * VFIO: the function's configuration space is read for the virtio capabilities (common, notify,
 * ISR, device configuration), the BARs they point into are mapped, every queue and the
 * configuration get an MSI-X vector whose eventfd VFIO signals, and the device reaches our memory
 * through the IOMMU at I/O virtual addresses we choose ({@code VFIO_IOMMU_MAP_DMA}), so a device
 * that names another address faults in the IOMMU instead of touching memory. The device must be
 * bound to vfio-pci ({@code driver_override}), its IOMMU group viable, and an IOMMU present (an
 * emulated one in a VM: QEMU's {@code intel-iommu} with {@code iommu_platform=on}).
 *
 * <p>Thread-safe: register access is serialized on this object, except kicks (one 16-bit store).
 */
public final class PciTransport implements VirtioTransport {
    private static final Logger LOG = LoggerFactory.getLogger(PciTransport.class);

    /** The device-name prefix: {@code pci:0000:00:05.0}. */
    public static final String PREFIX = "pci:";
    private static final Pattern ADDRESS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final long IOVA_BASE = 1L << 32;
    private static final int VENDOR_VIRTIO = 0x1af4;
    private static final int CAP_VENDOR = 0x09;
    private static final int CFG_COMMON = 1;
    private static final int CFG_NOTIFY = 2;
    private static final int CFG_DEVICE = 4;
    private static final int NO_VECTOR = 0xffff;
    // Common configuration fields (4.1.4.3).
    private static final int DEVICE_FEATURE_SELECT = 0;
    private static final int DEVICE_FEATURE = 4;
    private static final int DRIVER_FEATURE_SELECT = 8;
    private static final int DRIVER_FEATURE = 12;
    private static final int MSIX_CONFIG = 16;
    private static final int NUM_QUEUES = 18;
    private static final int DEVICE_STATUS = 20;
    private static final int CONFIG_GENERATION = 21;
    private static final int QUEUE_SELECT = 22;
    private static final int QUEUE_SIZE = 24;
    private static final int QUEUE_MSIX_VECTOR = 26;
    private static final int QUEUE_ENABLE = 28;
    private static final int QUEUE_NOTIFY_OFF = 30;
    private static final int QUEUE_DESC = 32;
    private static final int QUEUE_DRIVER = 40;
    private static final int QUEUE_DEVICE = 48;

    private final String address;
    private final int deviceType;
    private final int container;
    private final int group;
    private final int device;
    private final Sys.Mapping[] barMaps = new Sys.Mapping[6];
    private final ByteBuffer common;
    private final ByteBuffer notify;
    private final int notifyMultiplier;
    private final ByteBuffer config;
    private final int[] vectors; // eventfds: [0] configuration, [1 + q] queue q
    private final int[] notifyOffset;
    private long deviceFeatures;
    private int memfd = -1;
    private Sys.Mapping memory;
    private volatile boolean closed;

    private PciTransport(String address, int container, int group, int device) throws ErrnoException {
        this.address = address;
        this.container = container;
        this.group = group;
        this.device = device;
        Vfio.Region cfg = Vfio.region(device, Vfio.CONFIG_REGION);
        ByteBuffer space = ByteBuffer.allocateDirect(256).order(ByteOrder.LITTLE_ENDIAN);
        if (Sys.pread(device, space, cfg.offset(), describe() + " configuration space") != 256) {
            throw new ErrnoException(Errno.EIO, describe() + ": short read of the PCI configuration space");
        }
        int vendor = Short.toUnsignedInt(space.getShort(0));
        int id = Short.toUnsignedInt(space.getShort(2));
        if (vendor != VENDOR_VIRTIO || id < 0x1000 || id > 0x107f) {
            throw new ErrnoException(Errno.ENODEV, describe() + ": " + String.format("%04x:%04x", vendor, id)
                    + " is not a virtio device");
        }
        this.deviceType = id >= 0x1040 ? id - 0x1040 : Short.toUnsignedInt(space.getShort(0x2e)); // subsystem id, transitional
        ByteBuffer commonAt = null;
        ByteBuffer notifyAt = null;
        ByteBuffer deviceAt = null;
        int multiplier = 0;
        if ((space.getShort(6) & 0x10) == 0) {
            throw new ErrnoException(Errno.ENODEV, describe() + ": no PCI capability list, so no modern virtio interface");
        }
        int seen = 0;
        for (int at = Byte.toUnsignedInt(space.get(0x34)) & 0xfc; at != 0; at = Byte.toUnsignedInt(space.get(at + 1)) & 0xfc) {
            if (at < 0x40 || at > 256 - 16 || ++seen > 48) {
                throw new BrokenDeviceException(describe() + ": PCI capability list is malformed at 0x" + Integer.toHexString(at));
            }
            if (Byte.toUnsignedInt(space.get(at)) != CAP_VENDOR) {
                continue;
            }
            int type = Byte.toUnsignedInt(space.get(at + 3));
            int bar = Byte.toUnsignedInt(space.get(at + 4));
            long offset = Integer.toUnsignedLong(space.getInt(at + 8));
            long length = Integer.toUnsignedLong(space.getInt(at + 12));
            if (type != CFG_COMMON && type != CFG_NOTIFY && type != CFG_DEVICE || commonAt != null && type == CFG_COMMON
                    || notifyAt != null && type == CFG_NOTIFY || deviceAt != null && type == CFG_DEVICE) {
                continue; // ISR (we use MSI-X), PCI_CFG, vendor-specific, or a later duplicate: the first one counts
            }
            if (bar > 5) {
                continue; // a capability for a BAR that does not exist is to be ignored (4.1.4)
            }
            ByteBuffer window = barWindow(bar, offset, length);
            switch (type) {
                case CFG_COMMON -> commonAt = window;
                case CFG_NOTIFY -> {
                    notifyAt = window;
                    multiplier = space.getInt(at + 16);
                }
                default -> deviceAt = window;
            }
        }
        if (commonAt == null || notifyAt == null || commonAt.capacity() < 56) {
            throw new ErrnoException(Errno.ENODEV, describe() + ": no modern virtio-pci common and notify structures"
                    + " (a legacy-only device is unsupported)");
        }
        this.common = commonAt;
        this.notify = notifyAt;
        this.notifyMultiplier = multiplier;
        this.config = deviceAt;
        // Bus mastering and memory space on: vfio-pci leaves them as they were.
        ByteBuffer command = ByteBuffer.allocateDirect(2).order(ByteOrder.LITTLE_ENDIAN);
        command.putShort(0, (short) (space.getShort(4) | 0x6));
        Sys.pwrite(device, command, cfg.offset() + 4, describe() + " command register");
        // Reset, then ACKNOWLEDGE | DRIVER (3.1.1).
        setStatus(0);
        for (int i = 0; getStatus() != 0; i++) {
            if (i > 1000) {
                throw new BrokenDeviceException(describe() + ": the device does not finish its reset");
            }
            Thread.onSpinWait();
        }
        setStatus(VirtioFeatures.STATUS_ACKNOWLEDGE);
        setStatus(VirtioFeatures.STATUS_ACKNOWLEDGE | VirtioFeatures.STATUS_DRIVER);
        int queues = Short.toUnsignedInt(common.getShort(NUM_QUEUES));
        int msix = Vfio.irqCount(device, Vfio.MSIX_IRQ);
        if (msix < 2) {
            throw new ErrnoException(Errno.ENODEV, describe() + ": " + msix + " MSI-X vectors; at least 2 needed");
        }
        int used = Math.min(msix, 1 + queues);
        this.vectors = new int[used];
        java.util.Arrays.fill(vectors, -1);
        for (int i = 0; i < used; i++) {
            vectors[i] = Sys.eventfd(describe() + " vector " + i);
        }
        Vfio.setMsix(device, vectors);
        common.putShort(MSIX_CONFIG, (short) 0);
        this.notifyOffset = new int[queues];
        long low = selectFeatures(0);
        long high = selectFeatures(1);
        this.deviceFeatures = low | high << 32;
    }

    /**
     * Opens the virtio-pci function {@code address} ({@code 0000:00:05.0}) through VFIO.
     *
     * @throws ErrnoException {@code ENOENT} if there is no such device, {@code ENODEV} if it is not
     *     a modern virtio device or not bound to vfio-pci (the message says how to bind it),
     *     {@code EBUSY} if its IOMMU group is not viable, {@code EOPNOTSUPP} without an IOMMU
     */
    public static PciTransport open(String address) throws ErrnoException {
        if (!ADDRESS.matcher(address).matches()) {
            throw new ErrnoException(Errno.EINVAL, "'" + address + "' is not a PCI address such as 0000:00:05.0");
        }
        Path dev = Path.of("/sys/bus/pci/devices", address);
        if (!Files.exists(dev)) {
            throw new ErrnoException(Errno.ENOENT, "no PCI device " + address);
        }
        if (!Files.isSymbolicLink(dev.resolve("iommu_group"))) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "PCI device " + address + " has no IOMMU group: no IOMMU"
                    + " (in a VM: QEMU -device intel-iommu, the device with iommu_platform=on, intel_iommu=on)");
        }
        String driver;
        int groupNumber;
        try {
            driver = Files.isSymbolicLink(dev.resolve("driver")) ? Files.readSymbolicLink(dev.resolve("driver")).getFileName().toString() : "none";
            groupNumber = Integer.parseInt(Files.readSymbolicLink(dev.resolve("iommu_group")).getFileName().toString());
        } catch (IOException | NumberFormatException e) {
            throw new ErrnoException(Errno.EIO, "reading " + dev + ": " + e.getMessage());
        }
        if (!driver.equals("vfio-pci")) {
            throw new ErrnoException(Errno.ENODEV, "PCI device " + address + " is bound to " + driver + ", not vfio-pci:"
                    + " modprobe vfio-pci; echo vfio-pci > " + dev + "/driver_override; echo " + address
                    + " > " + dev + "/driver/unbind; echo " + address + " > /sys/bus/pci/drivers_probe");
        }
        int container = Vfio.openContainer();
        int group = -1;
        int device = -1;
        try {
            group = Vfio.openGroup(container, groupNumber);
            device = Vfio.openDevice(group, address);
            return new PciTransport(address, container, group, device);
        } catch (ErrnoException | RuntimeException e) {
            if (device >= 0) {
                Sys.close(device, address);
            }
            if (group >= 0) {
                Sys.close(group, "vfio group " + groupNumber);
            }
            Sys.close(container, "vfio container");
            throw e;
        }
    }

    /** The virtio device type (1 net, 2 block). */
    public int deviceType() {
        return deviceType;
    }

    /** A window of {@code length} bytes at {@code offset} of BAR {@code bar}, mapped once per BAR. */
    private ByteBuffer barWindow(int bar, long offset, long length) throws ErrnoException {
        Vfio.Region r = Vfio.region(device, bar);
        if (!r.mappable() || offset + length > r.size() || r.size() > Integer.MAX_VALUE) {
            throw new BrokenDeviceException(describe() + ": virtio structure at BAR " + bar + "+0x" + Long.toHexString(offset)
                    + " of " + length + " bytes does not lie in that BAR (" + r.size() + " bytes, mappable "
                    + r.mappable() + ")");
        }
        Sys.Mapping m = barMaps[bar];
        if (m == null) {
            m = Sys.mapShared(device, r.offset(), (int) r.size(), describe() + " BAR " + bar);
            barMaps[bar] = m;
        }
        return m.buffer().slice((int) offset, (int) length).order(ByteOrder.LITTLE_ENDIAN);
    }

    private long selectFeatures(int half) {
        common.putInt(DEVICE_FEATURE_SELECT, half);
        return Integer.toUnsignedLong(common.getInt(DEVICE_FEATURE));
    }

    private int getStatus() {
        return Byte.toUnsignedInt(common.get(DEVICE_STATUS));
    }

    private void setStatus(int status) {
        common.put(DEVICE_STATUS, (byte) status);
    }

    @Override
    public String describe() {
        return PREFIX + address;
    }

    @Override
    public long deviceFeatures() {
        return deviceFeatures;
    }

    @Override
    public boolean hasConfigSpace() {
        return config != null;
    }

    @Override
    public synchronized void readConfig(int offset, ByteBuffer dst) throws ErrnoException {
        if (config == null) {
            throw new ErrnoException(Errno.EOPNOTSUPP, describe() + ": the device has no configuration structure");
        }
        int n = dst.remaining();
        if (offset < 0 || offset + n > config.capacity()) {
            // Past the structure the device exposes: reads as zeros, as fields of features not offered.
            ByteBuffer zeros = dst.duplicate();
            while (zeros.hasRemaining()) {
                zeros.put((byte) 0);
            }
            n = Math.max(0, Math.min(n, config.capacity() - offset));
            if (n == 0) {
                return;
            }
        }
        // The generation must not change across the read (4.1.4.3.1), else read again.
        for (int attempt = 0; attempt < 16; attempt++) {
            int before = Byte.toUnsignedInt(common.get(CONFIG_GENERATION));
            for (int i = 0; i < n; i++) {
                dst.put(dst.position() + i, config.get(offset + i));
            }
            if (Byte.toUnsignedInt(common.get(CONFIG_GENERATION)) == before) {
                return;
            }
        }
        throw new BrokenDeviceException(describe() + ": configuration generation kept changing over 16 reads");
    }

    @Override
    public synchronized void setFeatures(long features) throws ErrnoException {
        // We reach memory through the IOMMU, which is what ACCESS_PLATFORM asks of a driver.
        long f = features | (deviceFeatures & VirtioFeatures.bit(VirtioFeatures.ACCESS_PLATFORM));
        common.putInt(DRIVER_FEATURE_SELECT, 0);
        common.putInt(DRIVER_FEATURE, (int) f);
        common.putInt(DRIVER_FEATURE_SELECT, 1);
        common.putInt(DRIVER_FEATURE, (int) (f >>> 32));
        setStatus(getStatus() | VirtioFeatures.STATUS_FEATURES_OK);
        if ((getStatus() & VirtioFeatures.STATUS_FEATURES_OK) == 0) {
            setStatus(getStatus() | VirtioFeatures.STATUS_FAILED);
            throw new ErrnoException(Errno.EIO, describe() + ": the device refused features 0x" + Long.toHexString(f));
        }
    }

    @Override
    public synchronized int maxQueueSize(int index) {
        if (index >= notifyOffset.length) {
            return 0;
        }
        common.putShort(QUEUE_SELECT, (short) index);
        return Short.toUnsignedInt(common.getShort(QUEUE_SIZE));
    }

    @Override
    public int queueCount() {
        return notifyOffset.length;
    }

    @Override
    public synchronized DmaMemory allocateMemory(int bytes) throws ErrnoException {
        if (memory != null) {
            throw new IllegalStateException("memory allocated twice");
        }
        int size = (bytes + 4095) & -4096;
        memfd = Sys.memfd("jrump-virtio-pci", size);
        memory = Sys.mapShared(memfd, 0, size, "memfd for " + describe());
        Vfio.mapDma(container, memory.address(), IOVA_BASE, size);
        return new DmaMemory(memory.buffer(), IOVA_BASE);
    }

    @Override
    public synchronized void startQueue(SplitQueue queue) throws ErrnoException {
        int q = queue.index();
        if (q >= notifyOffset.length || 1 + q >= vectors.length) {
            throw new ErrnoException(Errno.ENODEV, describe() + ": no queue " + q + " (or no MSI-X vector for it)");
        }
        common.putShort(QUEUE_SELECT, (short) q);
        int max = Short.toUnsignedInt(common.getShort(QUEUE_SIZE));
        if (queue.size() > max) {
            throw new IllegalArgumentException("queue of " + queue.size() + " entries; the device takes " + max);
        }
        common.putShort(QUEUE_SIZE, (short) queue.size());
        putAddress(QUEUE_DESC, IOVA_BASE + queue.descriptorTableOffset());
        putAddress(QUEUE_DRIVER, IOVA_BASE + queue.availableRingOffset());
        putAddress(QUEUE_DEVICE, IOVA_BASE + queue.usedRingOffset());
        common.putShort(QUEUE_MSIX_VECTOR, (short) (1 + q));
        if (Short.toUnsignedInt(common.getShort(QUEUE_MSIX_VECTOR)) == NO_VECTOR) {
            throw new ErrnoException(Errno.EIO, describe() + ": the device gave queue " + q + " no MSI-X vector");
        }
        long off = (long) Short.toUnsignedInt(common.getShort(QUEUE_NOTIFY_OFF)) * Integer.toUnsignedLong(notifyMultiplier);
        if (off + 2 > notify.capacity()) {
            throw new BrokenDeviceException(describe() + ": queue " + q + "'s notify address lies outside the notify structure");
        }
        notifyOffset[q] = (int) off;
        common.putShort(QUEUE_ENABLE, (short) 1);
    }

    /** A 64-bit register as two 32-bit stores, low half first (4.1.3.1). */
    private void putAddress(int field, long value) {
        common.putInt(field, (int) value);
        common.putInt(field + 4, (int) (value >>> 32));
    }

    @Override
    public synchronized void driverOk() throws ErrnoException {
        setStatus(getStatus() | VirtioFeatures.STATUS_DRIVER_OK);
        if ((getStatus() & VirtioFeatures.STATUS_NEEDS_RESET) != 0) {
            throw new BrokenDeviceException(describe() + ": the device needs a reset right after setup");
        }
    }

    @Override
    public void kick(int index) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, describe() + " is closed");
        }
        notify.putShort(notifyOffset[index], (short) index);
    }

    @Override
    public void awaitInterrupt(int index) throws ErrnoException {
        int fd = vectors[1 + index];
        Sys.pollReadable(new int[] {fd}, -1, describe());
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, describe() + " is closed");
        }
        Sys.eventfdWait(fd, describe() + " vector " + (1 + index));
    }

    @Override
    public void wakeUp(int index) {
        try {
            Sys.eventfdSignal(vectors[1 + index], describe() + " wake-up");
        } catch (ErrnoException e) {
            LOG.debug("{}: wake-up: {}", describe(), e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        setStatus(0); // reset: the device stops using our memory
        for (int i = 0; getStatus() != 0 && i < 1000; i++) {
            Thread.onSpinWait();
        }
        try {
            Vfio.setMsix(device, new int[0]);
        } catch (ErrnoException e) {
            LOG.debug("{}: MSI-X off: {}", describe(), e.getMessage());
        }
        for (Sys.Mapping b : barMaps) {
            if (b != null) {
                Sys.unmap(b, describe() + " BAR");
            }
        }
        if (memory != null) {
            try {
                Vfio.unmapDma(container, IOVA_BASE, memory.length());
            } catch (ErrnoException e) {
                LOG.debug("{}: DMA unmap: {}", describe(), e.getMessage());
            }
            Sys.unmap(memory, "memory of " + describe());
            Sys.close(memfd, "memfd of " + describe());
        }
        for (int fd : vectors) {
            if (fd >= 0) {
                Sys.close(fd, "MSI-X eventfd");
            }
        }
        Sys.close(device, describe());
        Sys.close(group, "vfio group");
        Sys.close(container, "vfio container");
    }

    @Override
    public String toString() {
        return "PciTransport[" + address + ", type " + deviceType + ", features 0x" + Long.toHexString(deviceFeatures) + "]";
    }
}
