package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code rump net bench|ping|stat} and {@code rump demo http} as a user runs them, on both hosts. */
class NetCommandTest {
    private static final String LOSSY = "--loss 0.02 --reorder 0.05 --dup 0.01";

    @TempDir
    Path tmp;

    private static String[] args(String line) {
        return line.trim().split("\\s+");
    }

    private static RumpRun ok(String line) {
        return RumpRun.expect(0, args(line));
    }

    private static long number(RumpRun r, String regex) {
        Matcher m = Pattern.compile("(?m)" + regex).matcher(r.out());
        assertTrue(m.find(), regex + " in:\n" + r.out());
        return Long.parseLong(m.group(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--host jvm", "--host jvm --mtu 65535 --nodelay", "--host sim", "--host sim --mtu 9000",
        "--host sim --mtu 65535 --nodelay"})
    void benchDeliversEveryByteIntact(String host) {
        RumpRun r = ok("net bench --bytes 4M " + host);
        assertEquals(4 << 20, number(r, "^bytes:\\s+(\\d+)$"), r.out());
        assertTrue(r.out().contains("intact:          yes"), r.out());
        assertTrue(Pattern.compile("(?m)^throughput:\\s+\\d+\\.\\d{3} Gbit/s"
                + (r.out().contains("host sim") ? " \\(virtual time\\)" : "") + "$").matcher(r.out()).find(), r.out());
    }

    @Test
    void benchOnALossyReorderingDuplicatingLinkStaysIntactAndRetransmits() {
        RumpRun r = ok("net bench --bytes 4M --host sim --seed 5 " + LOSSY);
        assertTrue(r.out().contains("intact:          yes"), r.out());
        assertTrue(number(r, "^retransmissions: (\\d+)") > 0, r.out());
        assertTrue(number(r, "^link: .* (\\d+) lost") > 0, r.out());
    }

    @Test
    void simulatedRunsAreAPureFunctionOfTheSeed() {
        for (String cmd : List.of("net bench --bytes 1M " + LOSSY, "net ping --count 3", "net stat", "net ping -6 --count 3",
                "net stat -6",
                "demo http --size 1M")) {
            RumpRun first = ok(cmd + " --host sim --seed 9");
            RumpRun again = ok(cmd + " --host sim --seed 9");
            assertEquals(first.out(), again.out(), cmd);
            assertTrue(first.out().contains("\ntrace "), first.out());
        }
        assertFalse(ok("net bench --bytes 1M --host sim --seed 10 " + LOSSY).out()
                .equals(ok("net bench --bytes 1M --host sim --seed 11 " + LOSSY).out()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "sim"})
    void pingPrintsEachReplyAndASummary(String host) {
        RumpRun r = ok("net ping --count 3 --size 100 --interval 0.01 --host " + host);
        assertTrue(r.out().startsWith("PING 198.18.0.2 (198.18.0.2) 100(128) bytes of data.\n"), r.out());
        for (int seq = 1; seq <= 3; seq++) {
            assertTrue(Pattern.compile("(?m)^108 bytes from 198\\.18\\.0\\.2: icmp_seq=" + seq + " time=\\d+\\.\\d{3} ms$")
                    .matcher(r.out()).find(), r.out());
        }
        assertTrue(r.out().contains("3 packets transmitted, 3 received, 0% packet loss"), r.out());
        assertTrue(Pattern.compile("(?m)^rtt min/avg/max/mdev = [\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+ ms$").matcher(r.out()).find(),
                r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "sim"})
    void pingSixPrintsEachReplyAndASummary(String host) {
        RumpRun r = ok("net ping -6 --count 3 --size 100 --interval 0.01 --host " + host);
        assertTrue(r.out().startsWith("PING 2001:db8::2(2001:db8::2) 100 data bytes\n"), r.out());
        for (int seq = 1; seq <= 3; seq++) {
            assertTrue(Pattern.compile("(?m)^108 bytes from 2001:db8::2: icmp_seq=" + seq + " time=\\d+\\.\\d{3} ms$")
                    .matcher(r.out()).find(), r.out());
        }
        assertTrue(r.out().contains("--- 2001:db8::2 ping statistics ---"), r.out());
        assertTrue(r.out().contains("3 packets transmitted, 3 received, 0% packet loss"), r.out());
        RumpRun big = ok("net ping -6 --count 2 --size 4000 --interval 0 --host " + host);
        assertTrue(big.out().contains("2 packets transmitted, 2 received"), "fragmented and reassembled:\n" + big.out());
    }

    @Test
    void statSixShowsIpv6CountersAddressesAndNeighbours() {
        RumpRun r = ok("net stat -6 --host sim");
        assertTrue(r.out().contains("kernel a (2001:db8::1): "), r.out());
        assertTrue(r.out().contains("inet6 fe80::"), "the link-local addresses:\n" + r.out());
        assertTrue(Pattern.compile("(?m)^  a \\{2001:db8::2=Neighbor\\[state=REACHABLE, ").matcher(r.out()).find(), r.out());
        for (String counter : List.of("icmp6.out.echo_reply", "ip6.in", "ip6.out", "nd.out.dad", "mld.out.report", "udp.in",
                "tcp.in")) {
            assertTrue(Pattern.compile("(?m)^  " + Pattern.quote(counter) + " +[1-9]\\d*$").matcher(r.out()).find(),
                    counter + " in\n" + r.out());
        }
    }

    @Test
    void pingWithDataLargerThanTheMtuIsFragmentedAndReassembled() {
        RumpRun r = ok("net ping --count 2 --size 4000 --interval 0 --host sim");
        assertTrue(r.out().contains("2 packets transmitted, 2 received"), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "sim"})
    void statPrintsBothStacksCountersSorted(String host) {
        RumpRun r = ok("net stat --host " + host);
        for (String k : List.of("a (198.18.0.1)", "b (198.18.0.2)")) {
            assertTrue(r.out().contains("kernel " + k + ": "), r.out());
        }
        for (String counter : List.of("icmp.out.echo_reply", "udp.in", "tcp.in", "tcp.out", "arp.in")) {
            assertTrue(Pattern.compile("(?m)^  " + Pattern.quote(counter) + " +[1-9]\\d*$").matcher(r.out()).find(),
                    counter + " in\n" + r.out());
        }
        // Each connection as ss -tin would show it, with what explains a stall.
        for (String end : List.of("a", "b")) {
            assertTrue(Pattern.compile("(?m)^  " + end + " [A-Z_0-9]+ .* snd una=\\d+ .* wnd=\\d+ .* timers=\\S+ probes=\\d+"
                    + " unacceptable_acks=\\d+\\(\\+\\d+ limited\\) drops=.+$").matcher(r.out()).find(), r.out());
        }
        String[] sections = r.out().split("\nkernel ");
        for (int s = 1; s < sections.length; s++) {
            List<String> names = sections[s].lines().skip(1).filter(l -> l.startsWith("  "))
                    .map(l -> l.trim().split("\\s+")[0]).toList();
            assertEquals(names.stream().sorted().toList(), names, "sorted");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "sim"})
    void demoHttpFetchesTheFileAndTheHashesMatch(String host) {
        RumpRun r = ok("demo http --size 3M --host " + host);
        Matcher got = Pattern.compile("(?m)^sha256 received ([0-9a-f]{64})$").matcher(r.out());
        Matcher src = Pattern.compile("(?m)^sha256 source   ([0-9a-f]{64})$").matcher(r.out());
        assertTrue(got.find() && src.find(), r.out());
        assertEquals(src.group(1), got.group(1));
        assertTrue(r.out().contains("a: HTTP/1.1 200 OK, Content-Length 3145728"), r.out());
        assertTrue(r.out().contains("3145728 bytes in "), r.out());
    }

    @Test
    void theFrameDemoIsStillWhatPlainDemoRuns() {
        RumpRun r = ok("demo --rounds 2");
        assertTrue(r.out().contains("got 2 pongs"), r.out());
    }

    @Test
    void usageErrorsExitTwoWithOneLineAndAPointerToHelp() {
        for (String line : List.of("net bench --loss 0.1", "net bench --host jvm --dup 0.1", "net bench --host sim --loss 1.5",
                "net bench --bytes lots", "net bench --bytes 0", "net bench --host mars", "net bench --seed 3",
                "net bench --mtu 20", "net ping --count 0", "net ping --size 70000", "net ping --interval -1",
                "net ping -6 --size 65520",
                "net stat --host bogus", "demo http --size 1Q", "net", "net frob")) {
            RumpRun r = RumpRun.of(args(line));
            assertEquals(2, r.code(), line + "\n" + r.all());
            String[] lines = r.err().strip().split("\n");
            assertEquals(2, lines.length, line + "\n" + r.err());
            assertTrue(lines[0].startsWith("rump: "), r.err());
            assertTrue(lines[1].startsWith("Try 'rump net") || lines[1].startsWith("Try 'rump demo"), r.err());
            assertEquals("", r.out(), line);
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String line : List.of("net --help", "net bench --help", "net ping --help", "net stat --help",
                "demo --help", "demo http --help")) {
            RumpRun r = ok(line);
            assertTrue(r.out().startsWith("Usage: rump "), line + "\n" + r.out());
            assertTrue(r.out().contains("--host"), line + "\n" + r.out());
        }
        assertTrue(ok("net bench --help").out().contains("--loss"));
    }

    /** {@code tshark -r FILE -Y '_ws.malformed || _ws.expert.severity >= error'} prints nothing for our captures. */
    @ParameterizedTest
    @ValueSource(strings = {"net bench --bytes 2M --host jvm", "net bench --bytes 2M --host sim " + LOSSY,
        "net ping --count 2 --size 3000 --interval 0 --host jvm", "net stat --host sim", "demo http --size 1M --host sim"})
    void capturesAreWellFormedAsTsharkSeesThem(String line) throws Exception {
        Path pcap = tmp.resolve("a.pcap");
        ok(line + " --pcap " + pcap);
        String all = tshark("-r", pcap.toString());
        assertTrue(all.lines().count() > 3, "frames in the capture:\n" + all);
        // The payload is random: a segment that happens to start like a Thrift message would be
        // "malformed Thrift" to tshark's heuristic dissector, which says nothing about our frames.
        assertEquals("", tshark("-r", pcap.toString(), "--disable-protocol", "thrift", "-Y",
                        "_ws.malformed || _ws.expert.severity >= error"),
                "malformed or erroneous frames in the capture of: " + line);
    }

    private static String tshark(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("tshark", "-n"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark finished");
        assertEquals(0, p.exitValue(), "tshark " + String.join(" ", args));
        return out;
    }
}
