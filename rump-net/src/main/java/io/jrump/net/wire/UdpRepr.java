package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.netty.buffer.ByteBuf;
import java.util.Locale;
import java.util.Objects;

/**
 * A UDP datagram (RFC 768): ports and data. The payload is a slice of the parsed buffer (valid as
 * long as it is) and compares by content. {@link #emit} always sends a checksum, 0xFFFF when the
 * computed one is 0, so datagrams received without one (checksum 0) do not round-trip byte for byte.
 */
public record UdpRepr(int sourcePort, int destinationPort, ByteBuf payload) {
    public UdpRepr {
        Wire.checkU16("source port", sourcePort);
        Wire.checkU16("destination port", destinationPort);
        Objects.requireNonNull(payload, "payload");
        if (payload.readableBytes() > 0xffff - UdpDatagram.HEADER_LENGTH) {
            throw new IllegalArgumentException("UDP payload of " + payload.readableBytes() + " bytes");
        }
    }

    /**
     * @throws ErrnoException {@code EBADMSG} if a checksum was sent and does not verify
     */
    public static UdpRepr parse(UdpDatagram datagram, IpAddress source, IpAddress destination)
            throws ErrnoException {
        return parse(datagram, source, destination, true);
    }

    /** As {@link #parse(UdpDatagram, IpAddress, IpAddress)}, verifying the checksum only if asked to. */
    public static UdpRepr parse(UdpDatagram datagram, IpAddress source, IpAddress destination,
            boolean verifyChecksum) throws ErrnoException {
        if (verifyChecksum && !datagram.verifyChecksum(source, destination)) {
            throw Wire.malformed(String.format(Locale.ROOT, "UDP Checksum 0x%04x at offset 6 does not verify",
                    datagram.checksum()));
        }
        return new UdpRepr(datagram.sourcePort(), datagram.destinationPort(), datagram.payload());
    }

    /** Header plus payload. */
    public int bufferLength() {
        return UdpDatagram.HEADER_LENGTH + payload.readableBytes();
    }

    /** Writes the datagram at absolute {@code offset} with its checksum over the pseudo-header. */
    public void emit(ByteBuf buf, int offset, IpAddress source, IpAddress destination) {
        int length = bufferLength();
        Wire.checkRange(buf, offset, length);
        buf.setShort(offset + UdpDatagram.SOURCE_PORT, sourcePort);
        buf.setShort(offset + UdpDatagram.DESTINATION_PORT, destinationPort);
        buf.setShort(offset + UdpDatagram.LENGTH, length);
        buf.setShort(offset + UdpDatagram.CHECKSUM, 0);
        buf.setBytes(offset + UdpDatagram.HEADER_LENGTH, payload, payload.readerIndex(), payload.readableBytes());
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.UDP.value(), length);
        int checksum = Checksum.finish(Checksum.add(sum, buf, offset, length));
        buf.setShort(offset + UdpDatagram.CHECKSUM, checksum == 0 ? 0xffff : checksum);
    }

    @Override
    public String toString() {
        return "UDP " + sourcePort + " > " + destinationPort + " length " + payload.readableBytes();
    }
}
