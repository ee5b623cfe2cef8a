package io.jrump.hypercall;

import java.nio.ByteBuffer;

/**
 * The network-interface group: attaches the kernel to a host Ethernet segment by name. On the JVM
 * and simulation hosts the name is a virtual switch (NICs opened with the same name are on one L2
 * segment); on Linux, a TAP device. Thread-safe.
 */
public interface NetworkInterfaces {

    /**
     * Opens an interface; frames arriving on it are handed to {@code receiver} on the event loop.
     *
     * @throws ErrnoException {@link Errno#ENODEV} if there is no such segment or device,
     *     {@link Errno#EINVAL} for an MTU or MAC the host cannot give, {@link Errno#EADDRINUSE} if
     *     the requested MAC is already on that segment, {@link Errno#ESHUTDOWN} after the host closed
     */
    HostNic open(String name, NicOptions options, FrameReceiver receiver) throws ErrnoException;

    /** Receives frames from an interface. */
    @FunctionalInterface
    interface FrameReceiver {
        /**
         * One whole Ethernet frame, destination MAC first, without preamble or FCS. Runs on the
         * event loop. The buffer is read-only and valid only until this method returns: copy what
         * must be kept.
         */
        void frameReceived(ByteBuffer frame);
    }
}
