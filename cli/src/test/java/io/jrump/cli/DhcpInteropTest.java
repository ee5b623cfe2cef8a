package io.jrump.cli;

import static io.jrump.cli.TapNamespace.LINUX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.ip.RouteTable;
import io.jrump.net.stack.DhcpSession;
import io.jrump.net.stack.Interface;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our DHCP client on a TAP device against dnsmasq in a namespace the test creates (only
 * 198.18.0.0/24): a renew survives dnsmasq restarts, an unanswered lease expires and takes the
 * address and route with it, and {@code --dhcp-lease-file} makes the second run of a command ask
 * for its address with INIT-REBOOT. dnsmasq's shortest lease is two minutes, so the expiry test
 * takes that long; the renewals use a short T1 (option 58, which dnsmasq sends as configured less
 * a random "fuzz" of up to a sixteenth of the lease).
 * Needs root, ip, ping, tshark and dnsmasq: a missing one fails the test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class DhcpInteropTest {
    /** dnsmasq's least lease (its manual: "the minimum lease time is two minutes"). */
    static final int LEASE_SECONDS = 120;
    /** Less dnsmasq's fuzz (up to 120/16 s), at least 3 s: a restart (well under 1 s) fits between renewals. */
    static final int T1_SECONDS = 10;
    static final String RANGE = "--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0," + LEASE_SECONDS;

    @TempDir
    Path tmp;
    TapNamespace net;
    TapKernel kernel;

    @BeforeEach
    void namespace() throws Exception {
        net = new TapNamespace();
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (kernel != null) {
            kernel.close();
        }
        net.close();
    }

    /** Our kernel on the namespace's TAP with --dhcp, in this JVM; returns once bound (dnsmasq started by {@code server}). */
    private TapKernel bootWithDhcp(ServerStart server) throws Exception {
        TapKernel.Options o = new TapKernel.Options();
        o.tap = net.tap;
        o.dhcp = true;
        o.dhcpTimeout = 60;
        o.mtu = 1500;
        StringWriter err = new StringWriter();
        CompletableFuture<TapKernel> boot = net.adopt(() -> {
            try {
                return TapKernel.boot(o, new PrintWriter(err, true));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        server.start();
        kernel = boot.get(90, TimeUnit.SECONDS);
        return kernel;
    }

    @FunctionalInterface
    private interface ServerStart {
        void start() throws Exception;
    }

    private static void await(String what, int seconds, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + seconds + " s");
            Thread.sleep(50);
        }
    }

    private DhcpLease lease() {
        try {
            return kernel.dhcpSession().lease();
        } catch (ErrnoException e) {
            throw new AssertionError(e);
        }
    }

    /** Waits for a renewal after {@code before} (a later acquisition) and returns the new lease. */
    private DhcpLease awaitRenewal(DhcpLease before) throws InterruptedException {
        await("a renewal", T1_SECONDS + 15, () -> {
            DhcpLease l = lease();
            return l != null && l.acquiredNanos() > before.acquiredNanos();
        });
        return lease();
    }

    private Interface tapInterface() throws ErrnoException {
        return kernel.net.interfaces().stream().filter(i -> i.name().equals(kernel.iface)).findFirst().orElseThrow();
    }

    private static RouteTable.Route defaultRoute(String iface) {
        return new RouteTable.Route(Ipv4Address.ANY, 0, Ipv4Address.parse(LINUX), iface, 0);
    }

    /** The address answers ping from the Linux side: the stack still uses it. */
    private void pingable(Ipv4Address a) throws Exception {
        String ping = net.inNs("ping", "-c", "2", "-i", "0.2", "-W", "3", a.toString());
        assertTrue(ping.contains("2 received"), ping);
    }

    /**
     * Bound and renewed once, then dnsmasq is restarted three times, each just after a renewal and
     * well before the next T1 (3–10 s): (1) with the same lease file: it knows the lease and ACKs the renewal; (2) with an
     * empty lease file and --dhcp-authoritative: it ACKs a renewal of a lease it does not know
     * (dnsmasq's "smooth recovery from a lost lease database"); (3) with an empty lease file, not
     * authoritative: it NAKs ("lease not found"), our client drops the address and DISCOVERs, and
     * gets the same address back (dnsmasq picks a new client's address from its MAC). After each,
     * the address answers ping.
     */
    @Test
    void renewalsSurviveDnsmasqRestartsWithAndWithoutItsLeaseFile() throws Exception {
        Path leases = tmp.resolve("leases");
        String[] options = {RANGE, "--port=0", "--dhcp-option=option:router," + LINUX,
                "--dhcp-option=option:T1," + T1_SECONDS};
        Path log1 = tmp.resolve("dnsmasq1.log");
        Process[] dnsmasq = new Process[1];
        bootWithDhcp(() -> dnsmasq[0] = net.dnsmasq(log1, concat(options, "--dhcp-leasefile=" + leases)));
        DhcpLease first = lease();
        Ipv4Address a = first.address();
        // dnsmasq sends the configured T1 less its "fuzz" of up to lease/16 s (7 s of 8 in one run).
        assertTrue(first.renewalSeconds() <= T1_SECONDS && first.renewalSeconds() >= T1_SECONDS - LEASE_SECONDS / 16,
                "dnsmasq sent our T1: " + first);
        assertEquals(LEASE_SECONDS, first.leaseSeconds());
        assertTrue(Files.readString(leases).contains(a.toString()), "dnsmasq saved the lease");
        // The ARP probe took 4-7 s of the first T1: restart only after a first renewal, with a whole T1 ahead.
        DhcpLease start = awaitRenewal(first);
        assertEquals(a, start.address());
        pingable(a);

        // (1) The same lease file.
        TapNamespace.stop(dnsmasq[0]);
        Path log2 = tmp.resolve("dnsmasq2.log");
        dnsmasq[0] = net.dnsmasq(log2, concat(options, "--dhcp-leasefile=" + leases));
        DhcpLease renewed = awaitRenewal(start);
        assertEquals(a, renewed.address());
        assertEquals(DhcpClient.State.BOUND, kernel.dhcpSession().state());
        assertTrue(Files.readString(log2).contains("DHCPACK(" + net.tap + ") " + a), Files.readString(log2));
        assertTrue(tapInterface().addresses().contains(new Interface.Address(a, 24)));
        pingable(a);

        // (2) A lost lease file, dnsmasq authoritative.
        TapNamespace.stop(dnsmasq[0]);
        Path log3 = tmp.resolve("dnsmasq3.log");
        dnsmasq[0] = net.dnsmasq(log3, concat(options, "--dhcp-leasefile=" + tmp.resolve("empty3"), "--dhcp-authoritative"));
        DhcpLease again = awaitRenewal(renewed);
        assertEquals(a, again.address());
        assertTrue(Files.readString(log3).contains("DHCPREQUEST(" + net.tap + ") " + a), Files.readString(log3));
        assertTrue(Files.readString(log3).contains("DHCPACK(" + net.tap + ") " + a), Files.readString(log3));
        pingable(a);

        // (3) A lost lease file, not authoritative: NAK, then DISCOVER.
        TapNamespace.stop(dnsmasq[0]);
        Path log4 = tmp.resolve("dnsmasq4.log");
        dnsmasq[0] = net.dnsmasq(log4, concat(options, "--dhcp-leasefile=" + tmp.resolve("empty4")));
        await("the NAK and a new lease", T1_SECONDS + 30, () -> {
            DhcpLease l = lease();
            return l != null && l.acquiredNanos() > again.acquiredNanos();
        });
        String l4 = Files.readString(log4);
        assertTrue(l4.contains("DHCPNAK(" + net.tap + ") " + a) && l4.contains("lease not found"), l4);
        assertTrue(l4.contains("DHCPDISCOVER(" + net.tap + ")"), l4);
        assertEquals(a, lease().address(), "dnsmasq gave the same address to the same MAC:\n" + l4);
        assertTrue(kernel.net.stats().get("dhcp.lease.removed") >= 1, "the NAK removed the address first");
        pingable(a);
    }

    /**
     * Bound, then dnsmasq stops for good: RENEWING at T1 and REBINDING at T2 go unanswered, and at
     * expiry (two minutes, dnsmasq's least) the address and the default route leave the stack and
     * the client starts over (SELECTING).
     */
    @Test
    void anUnansweredLeaseExpiresAndTakesTheAddressAndRoute() throws Exception {
        Path log = tmp.resolve("dnsmasq.log");
        Process[] dnsmasq = new Process[1];
        bootWithDhcp(() -> dnsmasq[0] = net.dnsmasq(log, RANGE, "--port=0", "--dhcp-option=option:router," + LINUX,
                "--dhcp-leasefile=" + tmp.resolve("leases")));
        DhcpLease lease = lease();
        Ipv4Address a = lease.address();
        assertEquals(LEASE_SECONDS, lease.leaseSeconds());
        assertTrue(kernel.net.routes().contains(defaultRoute(kernel.iface)), kernel.net.routes().toString());
        TapNamespace.stop(dnsmasq[0]);

        var clock = kernel.kernel.host().clock();
        long expiry = lease.acquiredNanos() + LEASE_SECONDS * 1_000_000_000L;
        await("expiry", LEASE_SECONDS + 15, () -> lease() == null);
        long gone = clock.monotonicNanos();
        assertTrue(gone >= expiry, "removed " + (expiry - gone) / 1_000_000 + " ms before expiry");
        assertTrue(gone < expiry + 5_000_000_000L, "removed " + (gone - expiry) / 1_000_000 + " ms after expiry");
        assertEquals(List.of(), tapInterface().addresses());
        assertFalse(kernel.net.routes().contains(defaultRoute(kernel.iface)), kernel.net.routes().toString());
        assertTrue(kernel.net.routes().stream().noneMatch(r -> r.iface().equals(kernel.iface)), kernel.net.routes().toString());
        DhcpClient.State s = kernel.dhcpSession().state();
        assertTrue(s == DhcpClient.State.SELECTING || s == DhcpClient.State.INIT, s.toString());
        String l = Files.readString(log);
        assertTrue(l.contains("DHCPACK(" + net.tap + ") " + a), l);
    }

    /**
     * {@code rump net resolve --dhcp --dhcp-lease-file F} twice: the first run DISCOVERs, writes F
     * and leaves without DHCPRELEASE; the second (dnsmasq restarted on its lease file, as the TAP is
     * new) asks for the same address with one broadcast REQUEST (option 50, no Server Identifier),
     * no DISCOVER, and gets it.
     */
    @Test
    void theSecondRunWithALeaseFileRebootsIntoTheSameAddress() throws Exception {
        Path leaseFile = tmp.resolve("rump.lease");
        Path leases = tmp.resolve("dnsmasq.leases");
        String[] options = {RANGE, "--listen-address=" + LINUX, "--address=/web.test/" + LINUX,
                "--dhcp-option=option:router," + LINUX, "--dhcp-leasefile=" + leases};

        Path log1 = tmp.resolve("dnsmasq1.log");
        Path pcap1 = tmp.resolve("run1.pcap");
        CompletableFuture<RumpRun> run1 = net.rump("net", "resolve", "--tap", net.tap, "--dhcp", "--dhcp-lease-file",
                leaseFile.toString(), "--server", LINUX, "web.test", "--pcap", pcap1.toString());
        Process d1 = net.dnsmasq(log1, options);
        RumpRun r1 = run1.get(90, TimeUnit.SECONDS);
        assertEquals(0, r1.code(), r1.all() + "\ndnsmasq:\n" + Files.readString(log1));
        assertTrue(r1.out().contains("web.test A " + LINUX), r1.out());
        Ipv4Address a = leasedAddress(r1);
        DhcpLeaseFile saved = DhcpLeaseFile.read(leaseFile);
        assertNotNull(saved, "the lease file was written");
        assertEquals(a, saved.address());
        assertEquals(Ipv4Address.parse(LINUX), saved.server());
        assertFalse(r1.err().contains("INIT-REBOOT"), r1.err());
        List<String> types1 = dhcpTypesSent(pcap1, saved);
        assertTrue(types1.contains("1") && types1.contains("3") && !types1.contains("7"),
                "DISCOVER, REQUEST, and no RELEASE on exit: " + types1);
        TapNamespace.stop(d1);
        assertFalse(Files.readString(log1).contains("DHCPRELEASE"), Files.readString(log1));

        Path log2 = tmp.resolve("dnsmasq2.log");
        Path pcap2 = tmp.resolve("run2.pcap");
        CompletableFuture<RumpRun> run2 = net.rump("net", "resolve", "--tap", net.tap, "--dhcp", "--dhcp-lease-file",
                leaseFile.toString(), "--server", LINUX, "web.test", "--pcap", pcap2.toString());
        net.dnsmasq(log2, options);
        RumpRun r2 = run2.get(90, TimeUnit.SECONDS);
        String l2 = Files.readString(log2);
        assertEquals(0, r2.code(), r2.all() + "\ndnsmasq:\n" + l2);
        assertTrue(r2.err().contains("DHCP asks for " + a + " again (INIT-REBOOT"), r2.err());
        assertEquals(a, leasedAddress(r2), "the same address");
        // Our capture: only REQUESTs (the first may have left before the TAP reached the namespace).
        List<String> types = dhcpTypesSent(pcap2, saved);
        assertFalse(types.isEmpty());
        assertTrue(types.stream().allMatch("3"::equals), "REQUESTs only, no DISCOVER: " + types);
        String requests = tshark(pcap2, "dhcp.option.dhcp == 3", "dhcp.option.requested_ip_address",
                "dhcp.option.dhcp_server_id", "dhcp.ip.client", "dhcp.flags.bc");
        for (String line : requests.lines().toList()) {
            List<String> f = List.of(line.split("\t", -1));
            assertEquals(List.of(a.toString(), "", "0.0.0.0"), f.subList(0, 3),
                    "option 50, no Server Identifier, ciaddr 0: " + requests);
            assertTrue(f.get(3).equals("1") || f.get(3).equalsIgnoreCase("true"), "broadcast flag: " + requests);
        }
        for (Path p : List.of(pcap1, pcap2)) {
            assertEquals("", tshark(p, "_ws.malformed || _ws.expert.severity >= error", "frame.number").strip(),
                    "tshark flags nothing in " + p);
        }
        assertTrue(l2.contains("DHCPREQUEST(" + net.tap + ") " + a) && l2.contains("DHCPACK(" + net.tap + ") " + a), l2);
        assertFalse(l2.contains("DHCPDISCOVER"), l2);
        DhcpLeaseFile second = DhcpLeaseFile.read(leaseFile);
        assertEquals(saved.mac(), second.mac(), "the same MAC, so the same client to dnsmasq");
        assertTrue(second.expires().isAfter(saved.expires()), second.expires() + " after " + saved.expires());
    }

    private static Ipv4Address leasedAddress(RumpRun r) {
        Matcher m = Pattern.compile("DHCP lease (198\\.18\\.0\\.\\d+)/24 from " + Pattern.quote(LINUX)).matcher(r.err());
        assertTrue(m.find(), r.all());
        return Ipv4Address.parse(m.group(1));
    }

    /** The DHCP message types our MAC sent in the capture, in order (tshark's decoding). */
    private static List<String> dhcpTypesSent(Path pcap, DhcpLeaseFile lease) throws Exception {
        return tshark(pcap, "dhcp && eth.src == " + lease.mac(), "dhcp.option.dhcp").lines().map(String::strip).toList();
    }

    private static String tshark(Path pcap, String filter, String... fields) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("tshark", "-r", pcap.toString(), "-Y", filter, "-T", "fields"));
        for (String f : fields) {
            cmd.addAll(List.of("-e", f));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap);
        return out;
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
