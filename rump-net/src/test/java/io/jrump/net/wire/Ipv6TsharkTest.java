package io.jrump.net.wire;

import io.jrump.net.Tshark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.pcap.PcapWriter;
import io.netty.buffer.ByteBuf;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outside oracle for the IPv6 wire formats: every frame of {@link Ipv6Frames#frames} (each
 * ICMPv6 error, echo, NDP message with its options, an MLDv2 report behind a hop-by-hop Router
 * Alert, an extension header chain, an atomic fragment and a fragmented echo) written to a pcap
 * and decoded by tshark (package {@code tshark}, in {@code .ci/apt-packages}; the test fails
 * without it) as the message meant, checksums good, nothing malformed, no expert error.
 */
class Ipv6TsharkTest {
    @Test
    void tsharkDecodesEveryFrameAsMeant(@TempDir Path dir) throws Exception {
        Map<String, ByteBuf> frames = Ipv6Frames.frames();
        Path file = dir.resolve("ipv6.pcap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             PcapWriter pcap = PcapWriter.open(ch)) {
            long t = 1_000_000_000L;
            for (ByteBuf f : frames.values()) {
                pcap.write(t += 1_000_000, f);
            }
        }
        String seeds = System.getProperty("ipv6.seeds.dir");
        if (seeds != null) { // writes the fuzz seeds and the capture: -Dipv6.seeds.dir=...
            Files.createDirectories(Path.of(seeds));
            Files.copy(file, Path.of(seeds).resolveSibling("ipv6.pcap"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            for (Map.Entry<String, ByteBuf> e : frames.entrySet()) {
                ByteBuf b = e.getValue();
                byte[] bytes = new byte[b.readableBytes()];
                b.getBytes(b.readerIndex(), bytes);
                Files.write(Path.of(seeds, e.getKey()), bytes);
            }
        }
        String flagged = Tshark.run(file, "-o", "ip.check_checksum:TRUE", "-Y",
                "_ws.malformed || _ws.expert.severity >= error || icmpv6.checksum.status == \"Bad\"");
        assertEquals("", flagged.strip(), "tshark flags these frames");
        String verbose = Tshark.run(file, "-V");
        assertFalse(verbose.contains("Malformed"), verbose);
        assertFalse(verbose.contains("Expert Info (Error"), verbose);
        // Per frame: the ICMPv6 type, code and checksum status tshark read.
        List<String> lines = Tshark.run(file, "-T", "fields", "-E", "separator=;", "-E", "occurrence=f", "-e", "icmpv6.type", "-e", "icmpv6.code",
                "-e", "icmpv6.checksum.status", "-e", "ipv6.fragment.count").lines().toList();
        List<String> expected = new ArrayList<>(List.of(
                "128;0;1;", "129;0;1;", "1;3;1;", "2;0;1;", "3;0;1;", "4;1;1;", "133;0;1;", "134;0;1;",
                "135;0;1;", "135;0;1;", "136;0;1;", "137;0;1;", "143;0;1;", "128;0;1;", "128;0;1;",
                ";;;", ";;;", "128;0;1;3"));
        assertEquals(expected, lines);
        String v = verbose;
        for (String wanted : List.of(
                "Prefix information : 2001:db8::/64", "On-link flag(L): Set", "Autonomous address-configuration flag(A): Set", "Recursive DNS Servers: 2001:db8::53", "MTU: 1500",
                "Target Address: 2001:db8::2", "Destination Address: 2001:db8:1::9",
                "Router: Set", "Solicited: Set", "Override: Set",
                "Multicast Address Record Include: ff3e::8000:1", "Number of Sources: 2", "Record Type: Changed to exclude (4)", "Router Alert",
                "Identification: 0x12345678", "[3 IPv6 Fragments (3008 bytes)")) {
            assertTrue(v.contains(wanted), "tshark -V shows '" + wanted + "'");
        }
    }

}
