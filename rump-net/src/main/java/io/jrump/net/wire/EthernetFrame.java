package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * A view over an Ethernet II frame (IEEE 802.3 clause 3, without preamble or FCS): destination,
 * source, type. IEEE 802.1Q and 802.1ad VLAN tags after the source address are passed over:
 * {@link #etherType()} and {@link #payload()} are those of the innermost header.
 *
 * <p>Obtained from {@link #parse}, which checks every length, so the getters cannot fail. Reads
 * with absolute gets only. Not thread-safe (a {@link ByteBuf} is not); does not retain the buffer.
 */
public final class EthernetFrame {
    /** Destination address, source address and type: 14 bytes. */
    public static final int HEADER_LENGTH = 14;
    static final int DESTINATION = 0;
    static final int SOURCE = 6;
    static final int TYPE = 12;
    /** Tag Protocol Identifier (the tag's type) plus Tag Control Information. */
    static final int VLAN_TAG_LENGTH = 4;

    private final ByteBuf buf;
    private final int offset;
    private final int length;
    private final int payloadOffset;
    private final int vlanTags;

    private EthernetFrame(ByteBuf buf, int offset, int length, int payloadOffset, int vlanTags) {
        this.buf = buf;
        this.offset = offset;
        this.length = length;
        this.payloadOffset = payloadOffset;
        this.vlanTags = vlanTags;
    }

    /** A checked view over the buffer's readable bytes. */
    public static EthernetFrame parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /**
     * A checked view over {@code length} bytes at absolute {@code offset}.
     *
     * @throws ErrnoException {@code EBADMSG} if the frame is shorter than its header and tags
     */
    public static EthernetFrame parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < HEADER_LENGTH) {
            throw Wire.malformed("Ethernet frame of " + length + " bytes is shorter than its 14-byte header");
        }
        int type = offset + TYPE;
        int tags = 0;
        while (EtherType.of(buf.getUnsignedShort(type)).isVlanTag()) {
            if (type + VLAN_TAG_LENGTH + 2 > offset + length) {
                throw Wire.malformed("Ethernet VLAN tag at offset " + (type - offset) + " runs past the frame's "
                        + length + " bytes");
            }
            type += VLAN_TAG_LENGTH;
            tags++;
        }
        return new EthernetFrame(buf, offset, length, type + 2 - offset, tags);
    }

    public MacAddress destination() {
        return Wire.getMac(buf, offset + DESTINATION);
    }

    public MacAddress source() {
        return Wire.getMac(buf, offset + SOURCE);
    }

    /** The type of the payload: the innermost type after any VLAN tags. */
    public EtherType etherType() {
        return EtherType.of(buf.getUnsignedShort(offset + payloadOffset - 2));
    }

    /** The Tag Control Information (priority, DEI, VLAN id) of each VLAN tag, outermost first. */
    public List<Integer> vlanTags() {
        List<Integer> tcis = new ArrayList<>(vlanTags);
        for (int i = 0; i < vlanTags; i++) {
            tcis.add(buf.getUnsignedShort(offset + TYPE + 2 + i * VLAN_TAG_LENGTH));
        }
        return tcis;
    }

    /** Where the payload starts, relative to the frame. */
    public int payloadOffset() {
        return payloadOffset;
    }

    /** The frame's length in bytes. */
    public int length() {
        return length;
    }

    /** A slice of the payload (sharing the buffer's memory and reference count, not retained). */
    public ByteBuf payload() {
        return buf.slice(offset + payloadOffset, length - payloadOffset);
    }

    @Override
    public String toString() {
        return "Ethernet " + source() + " > " + destination() + " " + etherType()
                + (vlanTags > 0 ? " vlan " + vlanTags() : "") + " length " + length;
    }
}
