package io.jrump.host.virtio.ring;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * How the driver reaches one virtio device: vhost-user messages to a back-end process, or the
 * registers of a virtio-pci function. The driver calls these in the order of the specification's
 * initialization (virtio 1.2, 3.1.1): {@link #deviceFeatures()}, {@link #readConfig},
 * {@link #setFeatures}, {@link #allocateMemory}, {@link #startQueue} for each queue, then
 * {@link #driverOk()}; afterwards {@link #kick} and {@link #awaitInterrupt} from any thread.
 */
public interface VirtioTransport extends AutoCloseable {

    /** What the device is, for messages: {@code vhost-user:/run/blk.sock}. */
    String describe();

    /** The feature bits the device offers. */
    long deviceFeatures() throws ErrnoException;

    /**
     * Whether the device has a configuration space to read. A vhost-user net back-end usually has
     * none: there the front-end (QEMU, or this driver) makes up the MAC and MTU itself.
     */
    boolean hasConfigSpace();

    /**
     * Reads {@code dst.remaining()} bytes of the device configuration space from {@code offset}.
     *
     * @throws ErrnoException {@code EOPNOTSUPP} without {@link #hasConfigSpace()}
     */
    void readConfig(int offset, ByteBuffer dst) throws ErrnoException;

    /** Accepts {@code features} (a subset of {@link #deviceFeatures()}); fails if the device refuses them. */
    void setFeatures(long features) throws ErrnoException;

    /** The largest size the device takes for queue {@code index}; 0 if it has no such queue. */
    int maxQueueSize(int index) throws ErrnoException;

    /** The queues the device offers (0 if the transport cannot say, as plain vhost-user cannot). */
    int queueCount() throws ErrnoException;

    /** Memory of {@code bytes} the device can reach, allocated once for the device's whole life. */
    DmaMemory allocateMemory(int bytes) throws ErrnoException;

    /** Tells the device where {@code queue}'s rings are (in the memory {@link #allocateMemory} gave) and enables it. */
    void startQueue(SplitQueue queue) throws ErrnoException;

    /** Setup is complete: the device may use the queues. */
    void driverOk() throws ErrnoException;

    /** Notifies the device that queue {@code index} has new available entries. */
    void kick(int index) throws ErrnoException;

    /**
     * Blocks until the device signals queue {@code index} (or any queue, on a transport with one
     * interrupt), or {@link #wakeUp} is called.
     *
     * @throws ErrnoException if the device went away (the back-end closed its socket) or the
     *     transport was closed
     */
    void awaitInterrupt(int index) throws ErrnoException;

    /** Makes a thread in {@link #awaitInterrupt}{@code (index)} return. */
    void wakeUp(int index);

    /** Whether {@link #reconnect} can bring back a device that went away (vhost-user: a restarted back-end). */
    default boolean canReconnect() {
        return false;
    }

    /**
     * Reaches the device again after it went away, within {@code waitMillis}, with the features
     * accepted before and the same memory; the driver then starts its queues again, empty.
     *
     * @throws ErrnoException {@code EOPNOTSUPP} where {@link #canReconnect()} is false; else why it failed
     */
    default void reconnect(long waitMillis) throws ErrnoException {
        throw new ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, describe() + " cannot reconnect");
    }

    /** Stops the device and releases the memory and descriptors. Idempotent. */
    @Override
    void close();
}
