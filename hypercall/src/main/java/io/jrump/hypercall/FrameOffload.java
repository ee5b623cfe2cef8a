package io.jrump.hypercall;

/**
 * What a sender asks the NIC to finish in one frame (the transmit half of virtio-net's
 * {@code struct virtio_net_hdr}). Offsets count from the frame's first byte (the destination MAC).
 *
 * <p>With a checksum request the field at {@code checksumStart + checksumOffset} holds the
 * one's-complement sum of the IPv4 or IPv6 pseudo-header (RFC 9293 3.1, RFC 8200 8.1; with the TCP
 * or UDP length of this whole frame's segment), folded to 16 bits but <em>not</em> complemented; the host adds the bytes from
 * {@code checksumStart} to the frame's end (the field included) and stores the complement of the
 * sum there, as a virtio device does for {@code VIRTIO_NET_HDR_F_NEEDS_CSUM}. With segmentation
 * ({@code segmentSize > 0}) the frame is one TCP segment whose IP header carries the whole length
 * (TCP/IPv4 with DF, or TCP/IPv6 right after the fixed header: the frame's EtherType says which);
 * the host sends it as segments of {@code segmentSize} payload bytes (the last may be shorter),
 * each with its own IP length, identification and checksums, as TSO does.
 * Immutable; the constructor throws {@link IllegalArgumentException} for a request no frame could
 * satisfy (a programming error), the host {@link Errno#EINVAL} for one that does not fit the frame.
 *
 * @param checksumStart where the checksummed range starts (the TCP or UDP header), at least
 *     {@link HostNic#ETHERNET_HEADER}; -1 for no checksum request
 * @param checksumOffset where the checksum field is, from {@code checksumStart} (16 for TCP, 6 for UDP)
 * @param segmentSize the MSS to segment with, or 0 for no segmentation
 * @param headerLength with segmentation, the bytes before the TCP payload (Ethernet, IP and TCP
 *     headers): every segment repeats them; else 0
 */
public record FrameOffload(int checksumStart, int checksumOffset, int segmentSize, int headerLength) {
    /** Nothing to do: the frame is complete. */
    public static final FrameOffload NONE = new FrameOffload(-1, 0, 0, 0);

    public FrameOffload {
        if (checksumStart < 0) {
            if (checksumStart != -1 || checksumOffset != 0 || segmentSize != 0 || headerLength != 0) {
                throw new IllegalArgumentException("frame offload without a checksum request must be NONE");
            }
        } else if (checksumStart < HostNic.ETHERNET_HEADER || checksumOffset < 0 || checksumOffset > 0xffff - 2
                || checksumStart > 0xffff || segmentSize < 0 || segmentSize > 0xffff
                || (segmentSize > 0) != (headerLength > 0) || headerLength < 0
                || segmentSize > 0 && headerLength < checksumStart + checksumOffset + 2) {
            throw new IllegalArgumentException("frame offload out of range: checksum at " + checksumStart + "+"
                    + checksumOffset + ", segment size " + segmentSize + ", header length " + headerLength);
        }
    }

    /** A checksum to complete, no segmentation. */
    public static FrameOffload checksum(int checksumStart, int checksumOffset) {
        return new FrameOffload(checksumStart, checksumOffset, 0, 0);
    }

    /** A TCP/IPv4 segment to cut into {@code segmentSize}-byte pieces, its checksums completed. */
    public static FrameOffload tcp4Segmentation(int tcpStart, int headerLength, int segmentSize) {
        return new FrameOffload(tcpStart, 16, segmentSize, headerLength);
    }

    /** A TCP/IPv6 segment to cut into {@code segmentSize}-byte pieces ({@link NicOffload#TX_TCP6_SEGMENTATION}). */
    public static FrameOffload tcp6Segmentation(int tcpStart, int headerLength, int segmentSize) {
        return new FrameOffload(tcpStart, 16, segmentSize, headerLength);
    }

    /** The EtherType of IPv6 (0x86DD), by which a host tells a TCP/IPv6 segmentation request from a TCP/IPv4 one. */
    public static final int ETHERTYPE_IPV6 = 0x86dd;

    /** Whether {@code frame} (from its position) carries IPv6: its EtherType, untagged. */
    public static boolean isIpv6(java.nio.ByteBuffer frame) {
        int at = frame.position() + 12;
        return frame.limit() >= at + 2 && (frame.getShort(at) & 0xffff) == ETHERTYPE_IPV6;
    }

    public boolean needsChecksum() {
        return checksumStart >= 0;
    }

    public boolean needsSegmentation() {
        return segmentSize > 0;
    }
}
