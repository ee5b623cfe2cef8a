package io.jrump.host.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 10-byte {@code struct virtio_net_hdr} (virtio 1.2, 5.1.6) that a TAP opened with
 * {@code IFF_VNET_HDR} puts before every frame: {@code flags} (u8), {@code gso_type} (u8),
 * {@code hdr_len}, {@code gso_size}, {@code csum_start}, {@code csum_offset} (little-endian
 * u16s; the TAP uses the host's order, little-endian on x86-64 and arm64). The 12-byte form adds
 * {@code num_buffers}, which only mergeable receive buffers use; we read one frame per
 * {@code read(2)}, so 10 bytes, which also leaves the IP header 8-byte aligned after the
 * 14-byte Ethernet header.
 *
 * <p>{@link #parse} treats the header as hostile (it comes from another kernel, but a TAP can be
 * attached to by anyone with the rights): every field is checked against the frame behind it.
 * Stateless and thread-safe.
 */
public final class VirtioNetHeader {
    public static final int LENGTH = 10;
    /**
     * The header of a virtio 1.x device ({@code VIRTIO_F_VERSION_1}): always 12 bytes, the last
     * two {@code num_buffers} (the buffers a mergeable frame spans; 0 from the driver).
     */
    public static final int LENGTH_V1 = 12;
    /** Where {@code num_buffers} lies in the 12-byte header. */
    public static final int NUM_BUFFERS = 10;
    public static final int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    public static final int VIRTIO_NET_HDR_F_DATA_VALID = 2;
    public static final int VIRTIO_NET_HDR_GSO_NONE = 0;
    public static final int VIRTIO_NET_HDR_GSO_TCPV4 = 1;
    public static final int VIRTIO_NET_HDR_GSO_TCPV6 = 4;
    public static final int VIRTIO_NET_HDR_GSO_ECN = 0x80;
    private static final int FLAGS = 0;
    private static final int GSO_TYPE = 1;
    private static final int HDR_LEN = 2;
    private static final int GSO_SIZE = 4;
    private static final int CSUM_START = 6;
    private static final int CSUM_OFFSET = 8;

    private VirtioNetHeader() {
    }

    /**
     * The receive flags ({@code FrameReceiver.RX_*}) of the header at {@code buf}'s absolute
     * {@code offset}, followed by a frame of {@code frameLength} bytes.
     *
     * @param rxChecksum whether partial checksums may come (we asked for {@code TUN_F_CSUM}); without
     *     it {@code DATA_VALID} is ignored and {@code NEEDS_CSUM} refused
     * @param allowLarge whether a TCP/IPv4 GSO frame may come (we asked for {@code TUN_F_TSO4})
     * @throws ErrnoException {@code EBADMSG} naming the field that is out of range
     */
    public static int parse(ByteBuffer buf, int offset, int frameLength, boolean rxChecksum, boolean allowLarge) throws ErrnoException {
        return parse(buf, offset, frameLength, rxChecksum, allowLarge, false);
    }

    /**
     * As {@link #parse(ByteBuffer, int, int, boolean, boolean)}; {@code allowLarge6}: whether a
     * TCP/IPv6 GSO frame may come (we asked for {@code TUN_F_TSO6}).
     */
    public static int parse(ByteBuffer buf, int offset, int frameLength, boolean rxChecksum, boolean allowLarge,
            boolean allowLarge6) throws ErrnoException {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int flags = Byte.toUnsignedInt(b.get(offset + FLAGS));
        int gsoType = Byte.toUnsignedInt(b.get(offset + GSO_TYPE));
        int hdrLen = Short.toUnsignedInt(b.getShort(offset + HDR_LEN));
        int gsoSize = Short.toUnsignedInt(b.getShort(offset + GSO_SIZE));
        int csumStart = Short.toUnsignedInt(b.getShort(offset + CSUM_START));
        int csumOffset = Short.toUnsignedInt(b.getShort(offset + CSUM_OFFSET));
        if (frameLength < HostNic.ETHERNET_HEADER) {
            throw bad("frame of " + frameLength + " bytes is shorter than an Ethernet header");
        }
        if ((flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) != 0
                || flags == (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) {
            throw bad("flags 0x" + Integer.toHexString(flags) + " unknown or contradictory");
        }
        int rx = 0;
        if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0) {
            if (!rxChecksum) {
                throw bad("NEEDS_CSUM, but partial checksums were not offered");
            }
            if (csumStart < HostNic.ETHERNET_HEADER || csumStart + csumOffset + 2 > frameLength) {
                throw bad("csum_start " + csumStart + " + csum_offset " + csumOffset + " outside a frame of "
                        + frameLength + " bytes");
            }
            rx |= FrameReceiver.RX_CHECKSUM_PARTIAL;
        } else if ((flags & VIRTIO_NET_HDR_F_DATA_VALID) != 0 && rxChecksum) {
            rx |= FrameReceiver.RX_CHECKSUM_VALID;
        }
        if (hdrLen > frameLength) {
            throw bad("hdr_len " + hdrLen + " beyond a frame of " + frameLength + " bytes");
        }
        int type = gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
        if (gsoType == VIRTIO_NET_HDR_GSO_NONE) {
            if (gsoSize != 0) {
                throw bad("gso_size " + gsoSize + " without a gso_type");
            }
            if (frameLength > HostNic.ETHERNET_HEADER + HostNic.VLAN_TAG + 65535) {
                throw bad("frame of " + frameLength + " bytes without GSO");
            }
            return rx;
        }
        if (!(type == VIRTIO_NET_HDR_GSO_TCPV4 && allowLarge || type == VIRTIO_NET_HDR_GSO_TCPV6 && allowLarge6)) {
            throw bad("gso_type 0x" + Integer.toHexString(gsoType) + " not offered");
        }
        if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0) {
            throw bad("gso_type " + (type == VIRTIO_NET_HDR_GSO_TCPV6 ? "TCPV6" : "TCPV4") + " without NEEDS_CSUM");
        }
        // hdr_len is advisory on receive (Linux puts the skb's linear length there), so only its
        // bound above is checked.
        if (gsoSize == 0 || frameLength > HostNic.MAX_OFFLOAD_FRAME_LENGTH) {
            throw bad("gso_size " + gsoSize + " in a frame of " + frameLength
                    + " bytes: not a large TCP segment the stack can take");
        }
        return rx | FrameReceiver.RX_LARGE_SEGMENT;
    }

    /** Writes the header for {@code offload} at {@code buf}'s absolute {@code offset}, for a TCP/IPv4 segment if any. */
    public static void emit(ByteBuffer buf, int offset, FrameOffload offload) {
        emit(buf, offset, offload, false);
    }

    /** As {@link #emit(ByteBuffer, int, FrameOffload)}; {@code ipv6}: a segmentation request is for TCP/IPv6. */
    public static void emit(ByteBuffer buf, int offset, FrameOffload offload, boolean ipv6) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        boolean csum = offload.needsChecksum();
        boolean gso = offload.needsSegmentation();
        b.put(offset + FLAGS, (byte) (csum ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0));
        b.put(offset + GSO_TYPE, (byte) (!gso ? VIRTIO_NET_HDR_GSO_NONE
                : ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4));
        b.putShort(offset + HDR_LEN, (short) (gso ? offload.headerLength() : 0));
        b.putShort(offset + GSO_SIZE, (short) offload.segmentSize());
        b.putShort(offset + CSUM_START, (short) (csum ? offload.checksumStart() : 0));
        b.putShort(offset + CSUM_OFFSET, (short) (csum ? offload.checksumOffset() : 0));
    }

    private static ErrnoException bad(String what) {
        return new ErrnoException(Errno.EBADMSG, "virtio_net_hdr: " + what);
    }
}
