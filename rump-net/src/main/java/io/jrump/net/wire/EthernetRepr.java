package io.jrump.net.wire;

import io.jrump.hypercall.MacAddress;
import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * The header of an untagged Ethernet II frame. {@link #parse} drops any VLAN tags (a frame's
 * tags are in {@link EthernetFrame#vlanTags()}), so only untagged frames round-trip byte for byte.
 * Immutable.
 */
public record EthernetRepr(MacAddress destination, MacAddress source, EtherType etherType) {
    public EthernetRepr {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(etherType, "etherType");
        if (etherType.isVlanTag()) {
            throw new IllegalArgumentException("EthernetRepr does not emit VLAN tags: " + etherType);
        }
    }

    public static EthernetRepr parse(EthernetFrame frame) {
        return new EthernetRepr(frame.destination(), frame.source(), frame.etherType());
    }

    /** The header's length: 14 bytes. */
    public int headerLength() {
        return EthernetFrame.HEADER_LENGTH;
    }

    /** Writes the 14-byte header at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset) {
        Wire.checkRange(buf, offset, EthernetFrame.HEADER_LENGTH);
        Wire.setMac(buf, offset + EthernetFrame.DESTINATION, destination);
        Wire.setMac(buf, offset + EthernetFrame.SOURCE, source);
        buf.setShort(offset + EthernetFrame.TYPE, etherType.value());
    }

    @Override
    public String toString() {
        return "Ethernet " + source + " > " + destination + " " + etherType;
    }
}
