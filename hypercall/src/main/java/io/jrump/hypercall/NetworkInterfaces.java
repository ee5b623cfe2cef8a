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

    /**
     * Receives frames from an interface. A host calls {@link #frameReceived(ByteBuffer, int)}; flags
     * other than 0 only for offloads the NIC has ({@link HostNic#offloads()}), which it grants only
     * when asked for in {@link NicOptions#offloads()}, so a receiver that asked for none may
     * implement the one-argument method alone.
     */
    @FunctionalInterface
    interface FrameReceiver {
        /**
         * The host verified the frame's TCP or UDP checksum (virtio {@code DATA_VALID}): do not
         * verify it again. Only with {@link NicOffload#RX_CHECKSUM}.
         */
        int RX_CHECKSUM_VALID = 1;
        /**
         * The frame comes from the host's own stack with its TCP or UDP checksum field holding only
         * the pseudo-header sum (virtio {@code NEEDS_CSUM}, as {@link FrameOffload} describes): the
         * checksum must not be verified, it would fail; the data is as trustworthy as a valid
         * checksum would make it. Only with {@link NicOffload#RX_CHECKSUM}.
         */
        int RX_CHECKSUM_PARTIAL = 2;
        /**
         * The frame is one TCP/IPv4 segment that may be longer than {@link HostNic#maxFrameLength()}
         * (up to {@link HostNic#MAX_OFFLOAD_FRAME_LENGTH}; its IP total length covers it all),
         * received or sent as several segments of the peer's MSS. Always with one of the checksum
         * flags. Only with {@link NicOffload#RX_TCP4_LARGE_SEGMENTS}.
         */
        int RX_LARGE_SEGMENT = 4;

        /**
         * One whole Ethernet frame, destination MAC first, without preamble or FCS. Runs on the
         * event loop. The buffer is valid only until this method returns (copy what must be
         * kept) and is not to be written: a host may pass a read-only buffer, or its own frame
         * buffer to save making a read-only view of it per frame.
         */
        void frameReceived(ByteBuffer frame);

        /**
         * One frame as {@link #frameReceived(ByteBuffer)} delivers it, with {@code rxFlags}, a set
         * of {@code RX_*} bits saying what the host already did. The default ignores the flags,
         * which is right for a receiver that asked for no receive offloads.
         */
        default void frameReceived(ByteBuffer frame, int rxFlags) {
            frameReceived(frame);
        }
    }
}
