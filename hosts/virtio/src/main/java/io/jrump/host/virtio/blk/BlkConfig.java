package io.jrump.host.virtio.blk;

import io.jrump.host.virtio.ring.BrokenDeviceException;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The virtio-blk feature bits and configuration space (virtio 1.2, 5.2.3-5.2.4), read once and
 * checked: a capacity that overflows a byte count, a block size that is not a power of two from
 * 512 to 64 KiB, limits of zero where the feature says there is one, are a broken device.
 *
 * @param capacitySectors the size in 512-byte sectors
 * @param blockSize the logical block size, the unit of every request (512 without {@code BLK_SIZE})
 * @param sizeMax the largest single buffer, 0 for no limit
 * @param segMax the most data buffers in a request, 0 for no limit
 * @param physicalBlockExponent log2 of physical blocks per logical block ({@code TOPOLOGY})
 * @param optimalIoBlocks the optimal I/O size in logical blocks, 0 unknown
 * @param maxWriteZeroesSectors the longest write-zeroes request, in sectors (0 without the feature)
 */
record BlkConfig(long capacitySectors, int blockSize, int sizeMax, int segMax, int physicalBlockExponent,
        int optimalIoBlocks, long maxWriteZeroesSectors) {

    static final int F_SIZE_MAX = 1;
    static final int F_SEG_MAX = 2;
    static final int F_RO = 5;
    static final int F_BLK_SIZE = 6;
    static final int F_FLUSH = 9;
    static final int F_TOPOLOGY = 10;
    static final int F_WRITE_ZEROES = 14;

    /** The configuration fields this driver reads: up to and including {@code write_zeroes_may_unmap}. */
    static final int SIZE = 57;

    /** The largest capacity whose byte count fits a {@code long}. */
    private static final long MAX_SECTORS = Long.MAX_VALUE / 512;

    /**
     * Reads the configuration through {@code transport}, twice: a device whose two reads differ
     * changed it under the driver.
     */
    static BlkConfig read(VirtioTransport transport, long features) throws ErrnoException {
        ByteBuffer first = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        transport.readConfig(0, first);
        ByteBuffer second = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        transport.readConfig(0, second);
        if (!first.equals(second)) {
            throw new BrokenDeviceException(transport.describe() + ": virtio-blk configuration changed between two reads");
        }
        return parse(transport.describe(), first, features);
    }

    static BlkConfig parse(String device, ByteBuffer c, long features) throws BrokenDeviceException {
        long capacity = c.getLong(0);
        if (capacity < 0 || capacity > MAX_SECTORS) {
            throw new BrokenDeviceException(device + ": virtio-blk capacity of " + Long.toUnsignedString(capacity)
                    + " sectors is more bytes than a long holds");
        }
        int sizeMax = VirtioFeatures.has(features, F_SIZE_MAX) ? c.getInt(8) : 0;
        int segMax = VirtioFeatures.has(features, F_SEG_MAX) ? c.getInt(12) : 0;
        if (VirtioFeatures.has(features, F_SIZE_MAX) && (sizeMax != 0 && Integer.compareUnsigned(sizeMax, 512) < 0)) {
            throw new BrokenDeviceException(device + ": virtio-blk size_max " + Integer.toUnsignedString(sizeMax)
                    + " is smaller than a sector");
        }
        if (sizeMax < 0) {
            sizeMax = 0; // beyond 2 GiB: no limit this driver can reach
        }
        if (segMax < 0) {
            segMax = 0;
        }
        int blockSize = 512;
        if (VirtioFeatures.has(features, F_BLK_SIZE)) {
            blockSize = c.getInt(20);
            if (blockSize < 512 || blockSize > 65536 || Integer.bitCount(blockSize) != 1) {
                throw new BrokenDeviceException(device + ": virtio-blk blk_size " + Integer.toUnsignedString(blockSize)
                        + " is not a power of two from 512 to 65536");
            }
        }
        int physicalExp = 0;
        int optimal = 0;
        if (VirtioFeatures.has(features, F_TOPOLOGY)) {
            physicalExp = Byte.toUnsignedInt(c.get(24));
            optimal = c.getInt(28);
            if (physicalExp > 16 || optimal < 0) {
                throw new BrokenDeviceException(device + ": virtio-blk topology has physical_block_exp " + physicalExp
                        + " and opt_io_size " + Integer.toUnsignedString(optimal));
            }
        }
        long maxWriteZeroes = 0;
        if (VirtioFeatures.has(features, F_WRITE_ZEROES)) {
            maxWriteZeroes = Integer.toUnsignedLong(c.getInt(48));
            if (maxWriteZeroes * 512 < blockSize || c.getInt(52) == 0) {
                throw new BrokenDeviceException(device + ": virtio-blk offers WRITE_ZEROES with max_write_zeroes_sectors "
                        + maxWriteZeroes + " and max_write_zeroes_seg " + Integer.toUnsignedString(c.getInt(52)));
            }
        }
        if (capacity % (blockSize / 512) != 0) {
            throw new BrokenDeviceException(device + ": virtio-blk capacity of " + capacity
                    + " sectors is not a whole number of " + blockSize + "-byte blocks");
        }
        return new BlkConfig(capacity, blockSize, sizeMax, segMax, physicalExp, optimal, maxWriteZeroes);
    }

    long sizeBytes() {
        return capacitySectors * 512;
    }
}
