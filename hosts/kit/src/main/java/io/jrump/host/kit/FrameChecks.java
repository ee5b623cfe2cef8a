package io.jrump.host.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NicOffload;
import java.nio.ByteBuffer;

/** The checks of {@link HostNic#send}, so every host refuses the same frames with the same errno. */
public final class FrameChecks {
    private FrameChecks() {
    }

    /**
     * @param nic   the sending NIC, for its limits and the message
     * @param closed whether it has been closed
     * @throws ErrnoException {@code EBADF}, {@code EINVAL} or {@code EMSGSIZE} as {@link HostNic#send} says
     */
    public static void checkSend(HostNic nic, boolean closed, ByteBuffer frame) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, "NIC " + nic.mac() + " on " + nic.name() + " is closed");
        }
        int len = frame.remaining();
        if (len < HostNic.ETHERNET_HEADER) {
            throw new ErrnoException(Errno.EINVAL, "frame of " + len + " bytes on " + nic.name()
                    + " is shorter than an Ethernet header");
        }
        if (len > nic.maxFrameLength()) {
            throw new ErrnoException(Errno.EMSGSIZE, "frame of " + len + " bytes on " + nic.name()
                    + " exceeds " + nic.maxFrameLength() + " (MTU " + nic.mtu() + ")");
        }
    }

    /**
     * The checks of {@link HostNic#send(ByteBuffer, FrameOffload)}: the offloads asked for are the
     * NIC's, the checksum field lies inside the frame, and only a segmentation request lets the
     * frame exceed {@link HostNic#maxFrameLength()}.
     *
     * @throws ErrnoException {@code EOPNOTSUPP}, {@code EINVAL}, {@code EMSGSIZE} or {@code EBADF}
     */
    public static void checkSend(HostNic nic, boolean closed, ByteBuffer frame, FrameOffload offload)
            throws ErrnoException {
        if (!offload.needsSegmentation()) {
            checkSend(nic, closed, frame);
        } else {
            boolean v6 = FrameOffload.isIpv6(frame);
            if (!nic.offloads().contains(v6 ? NicOffload.TX_TCP6_SEGMENTATION : NicOffload.TX_TCP4_SEGMENTATION)) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "NIC " + nic.name() + " does not segment TCP/IPv" + (v6 ? 6 : 4));
            }
            if (closed) {
                checkSend(nic, true, frame);
            }
            if (frame.remaining() > HostNic.MAX_OFFLOAD_FRAME_LENGTH) {
                throw new ErrnoException(Errno.EMSGSIZE, "frame of " + frame.remaining() + " bytes on " + nic.name()
                        + " exceeds " + HostNic.MAX_OFFLOAD_FRAME_LENGTH + " even with segmentation");
            }
            if (offload.headerLength() >= frame.remaining()) {
                throw new ErrnoException(Errno.EINVAL, "segmentation header length " + offload.headerLength()
                        + " leaves no payload in a frame of " + frame.remaining() + " bytes on " + nic.name());
            }
        }
        if (offload.needsChecksum()) {
            if (!nic.offloads().contains(NicOffload.TX_CHECKSUM)) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "NIC " + nic.name() + " does not complete checksums");
            }
            if (offload.checksumStart() + offload.checksumOffset() + 2 > frame.remaining()) {
                throw new ErrnoException(Errno.EINVAL, "checksum field at " + offload.checksumStart() + "+"
                        + offload.checksumOffset() + " outside a frame of " + frame.remaining() + " bytes on "
                        + nic.name());
            }
        }
    }
}
