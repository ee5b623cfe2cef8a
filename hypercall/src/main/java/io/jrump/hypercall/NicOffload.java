package io.jrump.hypercall;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * A piece of work a NIC may do for the kernel, in the manner of virtio-net's feature bits and
 * Linux's {@code TUN_F_*} flags. The kernel asks for the ones it can handle in
 * {@link NicOptions#offloads()}; the host grants a subset ({@link HostNic#offloads()}). The
 * transmit ones are used per frame through {@link HostNic#send(java.nio.ByteBuffer, FrameOffload)};
 * the receive ones let the host flag frames through
 * {@link NetworkInterfaces.FrameReceiver#frameReceived(java.nio.ByteBuffer, int)}. Immutable.
 */
public enum NicOffload {
    /**
     * Transmit checksum: the host completes one TCP or UDP checksum per frame, from
     * {@link FrameOffload#checksumStart()} to the end of the frame (virtio {@code NEEDS_CSUM}).
     */
    TX_CHECKSUM,
    /**
     * TCP/IPv4 segmentation (TSO4): a frame may carry one TCP/IPv4 segment of up to 65,535 IP
     * bytes, which the host cuts into segments of {@link FrameOffload#segmentSize()} payload bytes.
     * Needs {@link #TX_CHECKSUM}.
     */
    TX_TCP4_SEGMENTATION,
    /**
     * Receive checksum: the host may flag frames {@link NetworkInterfaces.FrameReceiver#RX_CHECKSUM_VALID}
     * or {@link NetworkInterfaces.FrameReceiver#RX_CHECKSUM_PARTIAL}; the receiver must then not
     * verify their TCP or UDP checksum.
     */
    RX_CHECKSUM,
    /**
     * Receive large TCP/IPv4 segments (GRO, or a sender's TSO kept whole): frames flagged
     * {@link NetworkInterfaces.FrameReceiver#RX_LARGE_SEGMENT} may exceed
     * {@link HostNic#maxFrameLength()}, up to {@link HostNic#MAX_OFFLOAD_FRAME_LENGTH}. Needs
     * {@link #RX_CHECKSUM}.
     */
    RX_TCP4_LARGE_SEGMENTS,
    /**
     * TCP/IPv6 segmentation (TSO6): as {@link #TX_TCP4_SEGMENTATION} for a TCP segment right
     * after a fixed IPv6 header (no extension headers) whose Payload Length carries the whole
     * segment. Needs {@link #TX_CHECKSUM}.
     */
    TX_TCP6_SEGMENTATION,
    /**
     * Receive large TCP/IPv6 segments: as {@link #RX_TCP4_LARGE_SEGMENTS} for IPv6. Needs
     * {@link #RX_CHECKSUM}.
     */
    RX_TCP6_LARGE_SEGMENTS;

    /** Every offload. */
    public static final Set<NicOffload> ALL = Collections.unmodifiableSet(EnumSet.allOf(NicOffload.class));
    /** No offload: the frame-at-a-time contract of version 1. */
    public static final Set<NicOffload> NONE = Set.of();
}
