package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.Objects;

/** An Ethernet/IPv4 ARP request or reply (RFC 826). Immutable. */
public record ArpRepr(
        Operation operation,
        MacAddress senderHardwareAddress,
        Ipv4Address senderProtocolAddress,
        MacAddress targetHardwareAddress,
        Ipv4Address targetProtocolAddress) {

    /** ar$op: the two operations of RFC 826 (RARP and InARP are not handled). */
    public enum Operation {
        REQUEST(ArpPacket.OPERATION_REQUEST),
        REPLY(ArpPacket.OPERATION_REPLY);

        private final int code;

        Operation(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    public ArpRepr {
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(senderHardwareAddress, "senderHardwareAddress");
        Objects.requireNonNull(senderProtocolAddress, "senderProtocolAddress");
        Objects.requireNonNull(targetHardwareAddress, "targetHardwareAddress");
        Objects.requireNonNull(targetProtocolAddress, "targetProtocolAddress");
    }

    /** @throws ErrnoException {@code EPROTONOSUPPORT} for an operation other than request or reply */
    public static ArpRepr parse(ArpPacket packet) throws ErrnoException {
        Operation op = switch (packet.operation()) {
            case ArpPacket.OPERATION_REQUEST -> Operation.REQUEST;
            case ArpPacket.OPERATION_REPLY -> Operation.REPLY;
            default -> throw Wire.unsupported("ARP operation " + packet.operation() + " at offset 6");
        };
        return new ArpRepr(op, packet.senderHardwareAddress(), packet.senderProtocolAddress(),
                packet.targetHardwareAddress(), packet.targetProtocolAddress());
    }

    /** 28 bytes. */
    public int bufferLength() {
        return ArpPacket.LENGTH;
    }

    /** Writes the 28-byte packet at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset) {
        Wire.checkRange(buf, offset, ArpPacket.LENGTH);
        buf.setShort(offset + ArpPacket.HTYPE, ArpPacket.HARDWARE_ETHERNET);
        buf.setShort(offset + ArpPacket.PTYPE, EtherType.IPV4.value());
        buf.setByte(offset + ArpPacket.HLEN, MacAddress.LENGTH);
        buf.setByte(offset + ArpPacket.PLEN, 4);
        buf.setShort(offset + ArpPacket.OPER, operation.code());
        Wire.setMac(buf, offset + ArpPacket.SHA, senderHardwareAddress);
        Wire.setIpv4(buf, offset + ArpPacket.SPA, senderProtocolAddress);
        Wire.setMac(buf, offset + ArpPacket.THA, targetHardwareAddress);
        Wire.setIpv4(buf, offset + ArpPacket.TPA, targetProtocolAddress);
    }

    @Override
    public String toString() {
        return operation == Operation.REQUEST
                ? "ARP who-has " + targetProtocolAddress + " tell " + senderProtocolAddress + " (" + senderHardwareAddress + ")"
                : "ARP reply " + senderProtocolAddress + " is-at " + senderHardwareAddress;
    }
}
