package io.jrump.hypercall.hostkit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
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
}
