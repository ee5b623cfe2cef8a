package io.jrump.net.dns;

/**
 * The EDNS(0) pseudo-record's fields (RFC 6891 §6.1.3), read from or made into an OPT record.
 *
 * @param udpPayloadSize the largest UDP payload the sender reassembles; values under 512 count as 512
 * @param extendedRcode the upper 8 bits of the 12-bit RCODE
 */
public record Edns(int udpPayloadSize, int extendedRcode, int version, boolean dnssecOk, byte[] options) {
    public Edns {
        if (udpPayloadSize < 0 || udpPayloadSize > 0xffff || extendedRcode < 0 || extendedRcode > 0xff
                || version < 0 || version > 0xff) {
            throw new IllegalArgumentException("EDNS payload size, extended RCODE or version out of range");
        }
        options = options.clone();
    }

    /** Version 0, no options, DO clear, advertising {@code udpPayloadSize}. */
    public static Edns of(int udpPayloadSize) {
        return new Edns(udpPayloadSize, 0, 0, false, new byte[0]);
    }

    /** The payload size a sender may use towards the owner of this record: at least 512. */
    public int effectivePayloadSize() {
        return Math.max(512, udpPayloadSize);
    }

    @Override
    public byte[] options() {
        return options.clone();
    }

    /** The OPT record carrying these fields. */
    public DnsRecord toRecord() {
        long ttl = (long) extendedRcode << 24 | (long) version << 16 | (dnssecOk ? 0x8000 : 0);
        return new DnsRecord(DnsName.ROOT, DnsType.OPT, udpPayloadSize, ttl, new DnsRdata.Opaque(options));
    }

    static Edns of(DnsRecord opt) {
        long ttl = opt.ttl();
        return new Edns(opt.rclass(), (int) (ttl >>> 24), (int) (ttl >>> 16 & 0xff), (ttl & 0x8000) != 0,
                ((DnsRdata.Opaque) opt.data()).shared());
    }
}
