package io.jrump.net.ndp;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Interface identifiers for SLAAC. The default is RFC 7217's semantically opaque identifier: the
 * low 64 bits of F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key) with F = SHA-256 over
 * the fields (each length-prefixed, so no two inputs run together), stable for a given network
 * and prefix yet different across networks, so the address does not track the host. An
 * identifier RFC 5453 reserves is skipped by trying the next DAD_Counter. The modified EUI-64 of
 * RFC 4291 Appendix A ({@link #modifiedEui64}) is the documented non-default option.
 *
 * <p>The secret key must stay the same across restarts for the addresses to be stable: the
 * stack draws it once from host randomness and keeps it (RFC 7217 §5 asks for at least 128 bits).
 */
public final class StableInterfaceId {
    /** RFC 7217 §6: how many times an address found duplicate is made again with the next DAD_Counter. */
    public static final int IDGEN_RETRIES = 3;
    /** fe80::/64. */
    public static final Ipv6Address LINK_LOCAL_PREFIX = Ipv6Address.parse("fe80::");
    /** The fewest secret key bytes accepted (RFC 7217 §5: at least 128 bits). */
    public static final int MIN_KEY_BYTES = 16;

    /** An address made, and the DAD_Counter it was made with (higher than asked if reserved identifiers were skipped). */
    public record Generated(Ipv6Address address, int dadCounter) {
    }

    /** The pseudo-random function F, replaceable in tests to reach the reserved identifiers. */
    interface Function {
        long interfaceId(Ipv6Address prefix, String netIface, byte[] networkId, int dadCounter);
    }

    private final byte[] secretKey;
    private final Function function;

    public StableInterfaceId(byte[] secretKey) {
        if (secretKey.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("an RFC 7217 secret key of " + secretKey.length + " bytes; at least "
                    + MIN_KEY_BYTES + " wanted");
        }
        this.secretKey = secretKey.clone();
        this.function = this::rawInterfaceId;
    }

    /** With another F (tests). */
    StableInterfaceId(Function function) {
        this.secretKey = new byte[0];
        this.function = function;
    }

    /**
     * The RFC 7217 identifier for these inputs, exactly (reserved or not): the low 64 bits of the
     * SHA-256 digest of the prefix's high 64 bits, the interface name, the network id (may be
     * empty) and the counter.
     */
    public long rawInterfaceId(Ipv6Address prefix, String netIface, byte[] networkId, int dadCounter) {
        byte[] name = netIface.getBytes(StandardCharsets.UTF_8);
        ByteBuffer in = ByteBuffer.allocate(8 + 4 + name.length + 4 + networkId.length + 4 + 4 + secretKey.length);
        in.putLong(prefix.high());
        in.putInt(name.length).put(name);
        in.putInt(networkId.length).put(networkId);
        in.putInt(dadCounter);
        in.putInt(secretKey.length).put(secretKey);
        byte[] digest = sha256().digest(in.array());
        return ByteBuffer.wrap(digest, digest.length - 8, 8).getLong();
    }

    /**
     * The address for the /64 {@code prefix} (its low 64 bits are ignored) with the identifier
     * made from {@code dadCounter}, or from the next counter while the identifier is reserved.
     */
    public Generated address(Ipv6Address prefix, String netIface, byte[] networkId, int dadCounter) {
        if (dadCounter < 0) {
            throw new IllegalArgumentException("DAD counter " + dadCounter);
        }
        int counter = dadCounter;
        long iid = function.interfaceId(prefix, netIface, networkId, counter);
        while (isReserved(iid)) { // about 2^-39 per try: ends at once in practice
            if (counter == Integer.MAX_VALUE) {
                throw new IllegalStateException("no unreserved interface identifier for " + prefix);
            }
            counter++;
            iid = function.interfaceId(prefix, netIface, networkId, counter);
        }
        return new Generated(withInterfaceId(prefix, iid), counter);
    }

    /** The link-local address (fe80::/64) made the same way. */
    public Generated linkLocal(String netIface, byte[] networkId, int dadCounter) {
        return address(LINK_LOCAL_PREFIX, netIface, networkId, dadCounter);
    }

    /**
     * Whether RFC 5453 reserves the identifier: the subnet-router anycast 0, the subnet anycast
     * identifiers fdff:ffff:ffff:ff80..fdff:ffff:ffff:ffff (RFC 2526), and the IANA Ethernet block
     * 0200:5eff:fe00:0000..0200:5eff:feff:ffff (0..5212 reserved, 5213 Proxy Mobile IPv6, 5214.. reserved).
     */
    public static boolean isReserved(long iid) {
        return iid == 0
                || Long.compareUnsigned(iid, 0xfdff_ffff_ffff_ff80L) >= 0 && Long.compareUnsigned(iid, 0xfdff_ffff_ffff_ffffL) <= 0
                || (iid >>> 24) == 0x02_005e_fffeL;
    }

    /** The modified EUI-64 identifier of a MAC (RFC 4291 Appendix A): ff:fe in the middle, the universal/local bit inverted. */
    public static long modifiedEui64(MacAddress mac) {
        long m = mac.toLong();
        long eui = (m >>> 24) << 40 | 0xff_feL << 24 | (m & 0xff_ffffL);
        return eui ^ 0x0200_0000_0000_0000L;
    }

    /** The high 64 bits of {@code prefix} with {@code iid} as the low 64. */
    public static Ipv6Address withInterfaceId(Ipv6Address prefix, long iid) {
        return new Ipv6Address(prefix.high(), iid);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
