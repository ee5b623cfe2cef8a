package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PacketsTest {
    @Test
    void describesEachLayerInOneLine() {
        assertEquals("TCP 127.0.0.1:57684 > 127.0.0.1:18080 [S] seq 3128594626 win 65495 options [mss 65495,sackOK,"
                + "TS val 3976981449 ecr 0,wscale 10] length 0", Packets.describe(Fixtures.buf(Fixtures.TCP_SYN)));
        assertEquals("UDP 127.0.0.1:59995 > 127.0.0.1:9999 length 11", Packets.describe(Fixtures.buf(Fixtures.UDP)));
        assertEquals("IP 127.0.0.1 > 127.0.0.1 ICMP echo request, id 4660, seq 1, length 18",
                Packets.describe(Fixtures.buf(Fixtures.ICMP_ECHO_REQUEST)));
        assertEquals("ARP reply 198.18.0.2 is-at 02:00:00:00:00:02", Packets.describe(Fixtures.buf(Fixtures.ARP_REPLY)));
        assertEquals("malformed Ethernet: Ethernet frame of 3 bytes is shorter than its 14-byte header: Bad message (EBADMSG)",
                Packets.describe(Fixtures.buf("000102")));
    }
}
