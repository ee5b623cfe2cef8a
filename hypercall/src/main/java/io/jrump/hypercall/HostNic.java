package io.jrump.hypercall;

import java.nio.ByteBuffer;
import java.util.Set;

/**
 * One open network interface: a port on a host Ethernet segment. Thread-safe.
 */
public interface HostNic {

    /** Ethernet II header length: destination, source, EtherType. */
    int ETHERNET_HEADER = 14;
    /** Room for one 802.1Q tag in a frame. */
    int VLAN_TAG = 4;

    /**
     * The longest frame an offload lets through: an Ethernet header, a VLAN tag and an IPv4 packet
     * of the largest total length (65,535).
     */
    int MAX_OFFLOAD_FRAME_LENGTH = ETHERNET_HEADER + VLAN_TAG + 65535;

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

    /**
     * The offloads this NIC does (a subset of those asked for in {@link NicOptions#offloads()}).
     * Constant. The default, for hosts that offer none: the empty set.
     */
    default Set<NicOffload> offloads() {
        return NicOffload.NONE;
    }

    /**
     * Sends one frame as {@link #send(ByteBuffer)} does, asking the host to finish it as
     * {@code offload} says (see {@link FrameOffload} for the checksum field's contents). With
     * {@link FrameOffload#needsSegmentation()} the frame may be up to
     * {@link #MAX_OFFLOAD_FRAME_LENGTH} bytes. The default sends a frame that needs nothing and
     * refuses any other.
     *
     * @throws ErrnoException {@link Errno#EOPNOTSUPP} if {@code offload} asks for something
     *     {@link #offloads()} lacks; {@link Errno#EINVAL} if its offsets do not fit the frame;
     *     else as {@link #send(ByteBuffer)}
     */
    default void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        if (offload.needsChecksum()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "NIC " + name() + " does no transmit offloads");
        }
        send(frame);
    }

    /**
     * Sends one frame as {@link #send(ByteBuffer, FrameOffload)} does, but lent, not copied: the
     * host may go on reading the buffer after this returns, until it runs {@code release} — once,
     * on any thread, perhaps before this returns, and also when it throws. Until then the caller
     * neither writes the bytes nor reuses the buffer. A host that hands a frame to a receiver on
     * its own loop can so skip a copy per frame, as a veth passes its buffer to the peer. The
     * default copies as {@code send} does and releases at once.
     *
     * @param offload what the host finishes, or {@link FrameOffload#NONE}
     * @throws ErrnoException as {@link #send(ByteBuffer, FrameOffload)}
     */
    default void sendLent(ByteBuffer frame, FrameOffload offload, Runnable release) throws ErrnoException {
        try {
            if (offload.needsChecksum()) {
                send(frame, offload);
            } else {
                send(frame);
            }
        } finally {
            release.run();
        }
    }

    /** Leaves the segment; no frame is delivered to the receiver after this returns. Idempotent. */
    void close();
}
