package io.jrump.host.virtio.ring;

/**
 * Feature bits and status values of the virtio 1.2 specification (OASIS, sections 2.1, 2.2 and 6)
 * that this driver uses, and the bit helpers that go with them.
 */
public final class VirtioFeatures {
    private VirtioFeatures() {
    }

    /** Descriptors may point at a table of descriptors (2.7.5.3). */
    public static final int RING_INDIRECT_DESC = 28;
    /** {@code used_event} and {@code avail_event} suppress notifications (2.7.7, 2.7.10). */
    public static final int RING_EVENT_IDX = 29;
    /** vhost-user's bit for "the back-end has protocol features" (not a device feature). */
    public static final int VHOST_USER_PROTOCOL_FEATURES = 30;
    /** A modern, little-endian virtio 1.x device. Required: this driver has no legacy mode. */
    public static final int VERSION_1 = 32;
    /** The device reaches memory through an IOMMU or translation (platform addresses). */
    public static final int ACCESS_PLATFORM = 33;
    /** Packed virtqueues (2.8); not used by this driver. */
    public static final int RING_PACKED = 34;

    /** Device status bits (2.1). */
    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    /** Device IDs (5). */
    public static final int DEVICE_NET = 1;
    public static final int DEVICE_BLOCK = 2;

    public static long bit(int feature) {
        return 1L << feature;
    }

    /** The features {@code bits} as one mask. */
    public static long bitsOf(int... bits) {
        long f = 0;
        for (int b : bits) {
            f |= bit(b);
        }
        return f;
    }

    public static boolean has(long features, int feature) {
        return (features >>> feature & 1) != 0;
    }
}
