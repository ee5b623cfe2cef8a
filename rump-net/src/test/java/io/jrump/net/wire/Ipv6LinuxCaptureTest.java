package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.pcap.PcapReader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * IPv6 frames the Linux kernel sends, parsed by the wire records: two network namespaces this
 * test creates (and deletes) joined by a veth pair with 2001:db8::1 and ::2, a capture of one end
 * with dumpcap while the link comes up (MLDv2 reports behind a hop-by-hop Router Alert, DAD
 * neighbor solicitations from ::, router solicitations) and {@code ping -6} crosses it (neighbor
 * solicitation and advertisement, echo request and reply). Every frame parses, and every ICMPv6
 * message emits back to the kernel's bytes.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (network namespaces); ./run-tests, as root, runs it")
class Ipv6LinuxCaptureTest {
    private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    private final String nsA = "jr6a-" + suffix;
    private final String nsB = "jr6b-" + suffix;

    @AfterEach
    void deleteNamespaces() throws Exception {
        for (String ns : List.of(nsA, nsB)) {
            new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    @Test
    void framesTheKernelSendsParseAndEmitBackExactly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("linux.pcap");
        run("ip", "netns", "add", nsA);
        run("ip", "netns", "add", nsB);
        run("ip", "netns", "exec", nsA, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", nsB);
        run("ip", "netns", "exec", nsA, "ip", "addr", "add", "2001:db8::1/64", "dev", "va", "nodad");
        run("ip", "netns", "exec", nsB, "ip", "addr", "add", "2001:db8::2/64", "dev", "vb", "nodad");
        run("ip", "netns", "exec", nsA, "ip", "link", "set", "va", "up"); // no carrier until vb is up
        Process capture = new ProcessBuilder("ip", "netns", "exec", nsA, "dumpcap", "-q", "-P", "-i", "va",
                "-a", "duration:3", "-w", file.toString()).redirectErrorStream(true).start();
        try {
            Thread.sleep(700); // dumpcap opens the device
            run("ip", "netns", "exec", nsB, "ip", "link", "set", "vb", "up");
            Thread.sleep(300);
            run("ip", "netns", "exec", nsA, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "2001:db8::2");
            String out = new String(capture.getInputStream().readAllBytes());
            assertTrue(capture.waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, capture.exitValue(), out);
        } finally {
            capture.destroy();
        }
        List<PcapReader.Record> records;
        try (InputStream in = Files.newInputStream(file)) {
            records = PcapReader.open(in).readAll();
        }
        Set<Integer> types = new TreeSet<>();
        List<String> seen = new ArrayList<>();
        for (PcapReader.Record r : records) {
            ByteBuf frame = Unpooled.wrappedBuffer(r.data());
            EthernetFrame f = EthernetFrame.parse(frame);
            if (!f.etherType().equals(EtherType.IPV6)) {
                continue;
            }
            ByteBuf ipv6 = f.payload();
            Ipv6Test.Parsed p = Ipv6Test.parse(ipv6);
            assertNull(p.chain().problem(), ByteBufUtil.hexDump(ipv6));
            if (p.icmp() == null) {
                continue;
            }
            types.add(p.icmp().type());
            seen.add(p.icmp().getClass().getSimpleName());
            int at = p.chain().upperLayerIndex();
            int n = p.chain().upperLayerLength();
            ByteBuf again = Unpooled.buffer(n).writerIndex(n);
            p.icmp().emit(again, 0, p.ip().source(), p.ip().destination());
            assertEquals(ByteBufUtil.hexDump(ipv6, at, n), ByteBufUtil.hexDump(again), p.icmp().toString());
        }
        // MLDv2 report, NS, NA, echo request and reply at least (router solicitations come ~1 s after DAD).
        assertTrue(types.containsAll(Set.of(143, 135, 136, 128, 129)), "ICMPv6 types seen " + types + ": " + seen);
    }
}
