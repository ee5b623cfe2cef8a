package io.jrump.hypercall;

import java.nio.ByteBuffer;

/**
 * One open network interface: a port on a host Ethernet segment. Thread-safe.
 */
public interface HostNic {

    /** Ethernet II header length: destination, source, EtherType. */
    int ETHERNET_HEADER = 14;
    /** Room for one 802.1Q tag in a frame. */
    int VLAN_TAG = 4;

    /** The name it was opened by. */
    String name();

    /** Its hardware address. */
    MacAddress mac();

    /** The largest payload (L3 packet) a frame may carry on this interface, in bytes. */
    int mtu();

    /** The largest whole frame {@link #send} takes: {@code mtu() + ETHERNET_HEADER + VLAN_TAG}. */
    default int maxFrameLength() {
        return mtu() + ETHERNET_HEADER + VLAN_TAG;
    }

    /**
     * Sends one Ethernet frame: {@code frame.remaining()} bytes from its position, destination MAC
     * first, no FCS. The host has taken the bytes when this returns (the buffer is the caller's
     * again) and does not change its position or limit. Delivery is best effort, like a wire: a
     * frame the segment drops is not an error. Does not block.
     *
     * @throws ErrnoException {@link Errno#EINVAL} if shorter than {@link #ETHERNET_HEADER},
     *     {@link Errno#EMSGSIZE} if longer than {@link #maxFrameLength()}, {@link Errno#EBADF}
     *     after {@link #close()}, {@link Errno#ENOBUFS} if the host's queue is full
     */
    void send(ByteBuffer frame) throws ErrnoException;

    /** Leaves the segment; no frame is delivered to the receiver after this returns. Idempotent. */
    void close();
}
