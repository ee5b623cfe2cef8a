package io.jrump.net.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/**
 * Real frames, captured on Linux 6.18 loopback with {@code dumpcap -P -i lo -w lo.pcap} while
 * running: a raw-socket ICMP echo to 127.0.0.1 (id 0x1234, seq 1, data "jrump-ping"), {@code
 * python3 -c "socket(AF_INET, SOCK_DGRAM).sendto(b'hello jrump', ('127.0.0.1', 9999))"} (answered
 * by the port unreachable), and {@code urllib.request.urlopen('http://127.0.0.1:18080/nonexist')}
 * against {@code python3 -m http.server 18080}. Loopback hands TCP and UDP checksums to "hardware"
 * (CHECKSUM_PARTIAL), so the capture holds only the folded pseudo-header sum in them (kept in
 * {@code *_PARTIAL_CHECKSUM}); the fixtures have the full checksum filled in by python3, as a
 * real NIC would have done. Frame bytes are otherwise as captured.
 */
final class Fixtures {
    private Fixtures() {}

    static final String ICMP_ECHO_REQUEST = "000000000000000000000000080045000026"
            + "9af540004001a1df7f0000017f0000010800b6ec123400016a72756d702d70696e67";
    static final String ICMP_ECHO_REPLY = "000000000000000000000000080045000026"
            + "9af600004001e1de7f0000017f0000010000beec123400016a72756d702d70696e67";
    static final String UDP = "000000000000000000000000080045000027a77b4000401195487f0000017f000001"
            + "ea5b270f00135c8868656c6c6f206a72756d70";
    static final int UDP_PARTIAL_CHECKSUM = 0xfe26;
    /** The port unreachable for {@link #UDP}, quoting it as sent (with the partial checksum). */
    static final String ICMP_PORT_UNREACHABLE = "000000000000000000000000080045c000439af700004001e100"
            + "7f0000017f000001030359850000000045000027a77b4000401195487f0000017f000001ea5b270f0013fe26"
            + "68656c6c6f206a72756d70";
    static final String TCP_SYN = "00000000000000000000000008004500003cd9434000400663767f0000017f000001"
            + "e15446a0ba7a90c200000000a002ffd703f700000204ffd70402080aed0bebc9000000000103030a";
    static final int TCP_SYN_PARTIAL_CHECKSUM = 0xfe30;
    static final String TCP_SYN_ACK = "00000000000000000000000008004500003c0000400040063cba7f0000017f000001"
            + "46a0e1546a309657ba7a90c3a012ffcb594500000204ffd70402080a533156f3ed0bebc90103030a";
    static final String TCP_ACK = "000000000000000000000000080045000034d94440004006637d7f0000017f000001"
            + "e15446a0ba7a90c36a3096588010004081c400000101080aed0bebc9533156f3";
    static final int TCP_ACK_PARTIAL_CHECKSUM = 0xfe28;
    static final String TCP_DATA = "0000000000000000000000000800450000b3d9454000400662fd7f0000017f000001"
            + "e15446a0ba7a90c36a30965880180040261200000101080aed0bebc9533156f3"
            + "474554202f6e6f6e657869737420485454502f312e310d0a4163636570742d456e636f64696e673a206964656e"
            + "746974790d0a486f73743a203132372e302e302e313a31383038300d0a557365722d4167656e743a2050797468"
            + "6f6e2d75726c6c69622f332e31310d0a436f6e6e656374696f6e3a20636c6f73650d0a0d0a";
    static final int TCP_DATA_PARTIAL_CHECKSUM = 0xfea7;
    /**
     * An ARP request, "who-has 198.18.0.2 tell 198.18.0.1" from 02:00:00:00:00:01, padded to the
     * 60-byte Ethernet minimum; written by hand from RFC 826 and checked with {@code tshark}.
     */
    static final String ARP_REQUEST = "ffffffffffff0200000000010806" + "0001080006040001"
            + "020000000001c6120001" + "000000000000c6120002" + "00".repeat(18);
    /** The reply, "198.18.0.2 is-at 02:00:00:00:00:02", unpadded. */
    static final String ARP_REPLY = "0200000000010200000000020806" + "0001080006040002"
            + "020000000002c6120002" + "020000000001c6120001";
    /**
     * The IPv4 header used as the example on Wikipedia's "Internet checksum" and "IPv4 header
     * checksum" pages: checksum 0xb861.
     */
    static final String IPV4_HEADER_EXAMPLE = "450000730000400040110000c0a80001c0a800c7";
    static final String[] ALL = {ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY, UDP, ICMP_PORT_UNREACHABLE, TCP_SYN,
            TCP_SYN_ACK, TCP_ACK, TCP_DATA, ARP_REQUEST, ARP_REPLY};

    static ByteBuf buf(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }

    static String hex(ByteBuf buf) {
        return ByteBufUtil.hexDump(buf);
    }
}
