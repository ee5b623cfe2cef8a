package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * {@link TapNic} against the Linux network stack. Each test creates a TAP interface in the root
 * namespace, moves it into a fresh namespace {@code jrtest-XXXX} (the descriptor keeps working),
 * gives the Linux side 198.18.0.1/24 there and talks only to 198.18.0.2, our side. Needs root and
 * {@code /dev/net/tun}; other users skip it, and say so; as root it fails, not skips, without the tun device. The namespace is deleted after each test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class TapNicTest {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final byte[] LINUX_IP = {(byte) 198, 18, 0, 1};
    private static final byte[] OUR_IP = {(byte) 198, 18, 0, 2};

    private final String ns = "jrtest-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    private final String ifname = "jrt" + (ProcessHandle.current().pid() % 100000) + "x" + COUNTER.incrementAndGet();
    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final BlockingQueue<Integer> receivedFlags = new LinkedBlockingQueue<>();
    private LinuxHost host;

    @BeforeEach
    void start() throws Exception {
        assertTrue(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun is missing");
        host = LinuxHost.create("tap");
        Commands.run("ip", "netns", "add", ns);
    }

    @AfterEach
    void stop() {
        if (host != null) {
            host.close();
        }
        Commands.tryRun("ip", "netns", "del", ns);
    }

    private HostNic openAndMoveIntoNamespace() throws Exception {
        return openAndMoveIntoNamespace(NicOptions.defaults());
    }

    private HostNic openAndMoveIntoNamespace(NicOptions options) throws Exception {
        HostNic nic = host.networkInterfaces().open(LinuxHost.TAP_PREFIX + ifname, options, new FrameReceiver() {
            @Override
            public void frameReceived(ByteBuffer f) {
                frameReceived(f, 0);
            }

            @Override
            public void frameReceived(ByteBuffer f, int rxFlags) {
                byte[] b = new byte[f.remaining()];
                f.get(f.position(), b);
                received.add(b);
                receivedFlags.add(rxFlags);
            }
        });
        Commands.run("ip", "link", "set", ifname, "netns", ns);
        Commands.run("ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", ifname);
        Commands.run("ip", "-n", ns, "link", "set", ifname, "up");
        return nic;
    }

    /** Makes Linux resolve 198.18.0.2: a UDP datagram to it from bash's {@code /dev/udp}. */
    private void sendUdpFromLinux() throws Exception {
        Commands.run("ip", "netns", "exec", ns, "bash", "-c", "echo jrump > /dev/udp/198.18.0.2/9");
    }

    private byte[] awaitArpRequestFor(byte[] ip) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            byte[] f = received.poll(100, TimeUnit.MILLISECONDS);
            if (f != null && f.length >= 42 && ethertype(f) == 0x0806 && (f[21] & 0xff) == 1
                    && java.util.Arrays.equals(java.util.Arrays.copyOfRange(f, 38, 42), ip)) {
                return f;
            }
        }
        return null;
    }

    private static int ethertype(byte[] f) {
        return ((f[12] & 0xff) << 8) | (f[13] & 0xff);
    }

    @Test
    void opensATapWithALocallyAdministeredMacAndTheInterfaceMtu() throws Exception {
        HostNic nic = host.networkInterfaces().open(LinuxHost.TAP_PREFIX + ifname, NicOptions.defaults(), f -> { });
        assertEquals(LinuxHost.TAP_PREFIX + ifname, nic.name());
        assertEquals(ifname, ((TapNic) nic).interfaceName());
        assertTrue(nic.mac().isLocallyAdministered());
        assertFalse(nic.mac().isMulticast());
        assertEquals(1500, nic.mtu());
        assertTrue(Commands.run("ip", "-d", "link", "show", ifname).contains("tun type tap"));
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> nic.send(ByteBuffer.allocate(10))).errno());
        assertEquals(Errno.EMSGSIZE, assertThrows(ErrnoException.class,
                () -> nic.send(ByteBuffer.allocate(nic.maxFrameLength() + 1))).errno());
        nic.send(ByteBuffer.wrap(arpReply(nic.mac(), MacAddress.BROADCAST))); // the interface is down: a drop, not an error
        assertEquals(1, ((TapNic) nic).sendDrops());
        nic.close();
        nic.close();
        ErrnoException e = assertThrows(ErrnoException.class, () -> nic.send(ByteBuffer.allocate(60)));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void receivesTheArpRequestLinuxSendsForOurAddress() throws Exception {
        openAndMoveIntoNamespace();
        sendUdpFromLinux();
        byte[] arp = awaitArpRequestFor(OUR_IP);
        assertNotNull(arp, "no ARP request for 198.18.0.2 among " + received.size() + " other frames");
        assertTrue(MacAddress.read(ByteBuffer.wrap(arp), 0).isBroadcast());
        assertTrue(java.util.Arrays.equals(java.util.Arrays.copyOfRange(arp, 28, 32), LINUX_IP));
    }

    @Test
    void linuxLearnsOurAddressFromAnArpReplyWeSend() throws Exception {
        HostNic nic = openAndMoveIntoNamespace();
        sendUdpFromLinux();
        byte[] request = awaitArpRequestFor(OUR_IP);
        assertNotNull(request, "no ARP request for 198.18.0.2");
        MacAddress linuxMac = MacAddress.read(ByteBuffer.wrap(request), 6);
        nic.send(ByteBuffer.wrap(arpReply(nic.mac(), linuxMac)));
        String neigh = "";
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            neigh = Commands.run("ip", "netns", "exec", ns, "ip", "neigh", "show", "198.18.0.2");
            if (neigh.contains(nic.mac().toString()) && !neigh.contains("FAILED") && !neigh.contains("INCOMPLETE")) {
                break;
            }
            Thread.sleep(50);
        }
        assertTrue(neigh.contains("lladdr " + nic.mac()), "neighbour table: " + neigh);
    }

    /** An ARP reply (RFC 826) from us, 198.18.0.2 at {@code ours}, to Linux at 198.18.0.1, padded to 60 bytes. */
    private static byte[] arpReply(MacAddress ours, MacAddress linux) {
        ByteBuffer b = ByteBuffer.allocate(60);
        linux.write(b, 0);
        ours.write(b, 6);
        b.putShort(12, (short) 0x0806);
        b.putShort(14, (short) 1); // hardware type Ethernet
        b.putShort(16, (short) 0x0800); // protocol IPv4
        b.put(18, (byte) 6).put(19, (byte) 4);
        b.putShort(20, (short) 2); // reply
        ours.write(b, 22);
        b.put(28, OUR_IP);
        linux.write(b, 32);
        b.put(38, LINUX_IP);
        return b.array();
    }

    @Test
    void withOffloadsTheTapHasAVnetHeaderAndLinuxItsOffloads() throws Exception {
        HostNic nic = openAndMoveIntoNamespace(NicOptions.defaults().withOffloads(NicOffload.ALL));
        assertEquals(NicOffload.ALL, nic.offloads());
        String features = Commands.run("ip", "netns", "exec", ns, "ethtool", "-k", ifname);
        assertTrue(features.contains("tcp-segmentation-offload: on"), features);
        // The header is parsed: Linux's ARP request arrives as a frame, not 10 bytes off.
        sendUdpFromLinux();
        assertNotNull(awaitArpRequestFor(OUR_IP), "no ARP request for 198.18.0.2");
        assertEquals(0, ((TapNic) nic).badHeaders());
    }

    @Test
    void withoutOffloadsTheTapHasNone() throws Exception {
        HostNic nic = openAndMoveIntoNamespace();
        assertEquals(NicOffload.NONE, nic.offloads());
        assertEquals(Errno.EOPNOTSUPP, assertThrows(ErrnoException.class,
                () -> nic.send(ByteBuffer.allocate(60), FrameOffload.checksum(34, 6))).errno());
        String features = Commands.run("ip", "netns", "exec", ns, "ethtool", "-k", ifname);
        assertTrue(features.contains("tcp-segmentation-offload: off"), features);
    }

    @Test
    void aDatagramWithAPartialChecksumReachesALinuxSocket() throws Exception {
        HostNic nic = openAndMoveIntoNamespace(NicOptions.defaults().withOffloads(NicOffload.ALL));
        Process listener = new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-c",
                "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('198.18.0.1',9999));"
                        + "print('bound',flush=True);s.settimeout(10);print(s.recv(100).decode(),flush=True)")
                .redirectErrorStream(true).start();
        java.io.BufferedReader said = new java.io.BufferedReader(
                new java.io.InputStreamReader(listener.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("bound", said.readLine(), "the listener is bound before the datagram is sent");
        byte[] frame = udpFrame(nic.mac(), parseMac(Commands.run("ip", "netns", "exec", ns, "cat",
                "/sys/class/net/" + ifname + "/address").strip()), "offloaded".getBytes());
        nic.send(ByteBuffer.wrap(frame), FrameOffload.checksum(34, 6));
        String out = String.valueOf(said.readLine()).strip();
        assertTrue(listener.waitFor(15, TimeUnit.SECONDS));
        assertEquals("offloaded", out, "Linux took the datagram whose checksum the TAP completed");
    }

    /**
     * A 60,000-byte datagram from Linux leaves as 41 fragments in one go; the receive thread reads
     * what is there before it hands frames to the event loop, so they arrive in fewer batches.
     */
    @Test
    void aBurstArrivesInOrderInFewerBatchesThanFrames() throws Exception {
        HostNic nic = openAndMoveIntoNamespace(NicOptions.defaults().withOffloads(NicOffload.ALL));
        Commands.run("ip", "-n", ns, "neigh", "replace", "198.18.0.2", "lladdr", nic.mac().toString(), "dev", ifname);
        Commands.run("ip", "netns", "exec", ns, "python3", "-c",
                "import socket,time;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                        + "for i in range(20):\n s.sendto(bytes([i])*60000,('198.18.0.2',9)); time.sleep(0.02)");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int fragments = 0;
        int lastOffset = -1;
        while (fragments < 20 * 41 && System.nanoTime() < end) {
            byte[] f = received.poll(100, TimeUnit.MILLISECONDS);
            if (f == null || ethertype(f) != 0x0800 || f[23] != 17
                    || !java.util.Arrays.equals(java.util.Arrays.copyOfRange(f, 30, 34), OUR_IP)) {
                continue; // not a fragment of those datagrams (ARP, IPv6, IGMP)
            }
            int offset = (((f[20] & 0x1f) << 8) | (f[21] & 0xff)) * 8;
            assertTrue(offset == 0 || offset > lastOffset, "fragments in the order sent");
            lastOffset = offset;
            fragments++;
        }
        assertEquals(20 * 41, fragments);
        TapNic tap = (TapNic) nic;
        assertTrue(tap.receiveBatches() < fragments, tap.receiveBatches() + " batches for " + fragments + " frames");
        assertEquals(0, tap.receiveDrops());
    }

    private static MacAddress parseMac(String text) {
        byte[] b = new byte[6];
        String[] parts = text.split(":");
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return MacAddress.read(ByteBuffer.wrap(b), 0);
    }

    /** UDP from 198.18.0.2:4242 to 198.18.0.1:9999, its checksum field holding the pseudo-header sum. */
    private static byte[] udpFrame(MacAddress ours, MacAddress linux, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(42 + data.length);
        linux.write(b, 0);
        ours.write(b, 6);
        b.putShort(12, (short) 0x0800);
        b.put(14, (byte) 0x45).putShort(16, (short) (28 + data.length)).put(22, (byte) 64).put(23, (byte) 17);
        b.put(26, OUR_IP).put(30, LINUX_IP);
        int sum = 0;
        for (int i = 14; i < 34; i += 2) {
            sum += b.getShort(i) & 0xffff;
        }
        b.putShort(24, (short) ~fold(sum));
        b.putShort(34, (short) 4242).putShort(36, (short) 9999).putShort(38, (short) (8 + data.length));
        b.put(42, data);
        int pseudo = (198 << 8 | 18) * 2 + 2 + 1 + 17 + 8 + data.length; // 198.18.0.2 + 198.18.0.1, UDP, length
        b.putShort(40, (short) fold(pseudo));
        return b.array();
    }

    private static int fold(int sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum;
    }

    @Test
    void closeStopsDeliveryAndRemovesTheInterfaceItCreated() throws Exception {
        HostNic nic = host.networkInterfaces().open(LinuxHost.TAP_PREFIX + ifname, NicOptions.defaults(), f -> { });
        long start = System.nanoTime();
        nic.close();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "close took too long");
        AssertionError gone = assertThrows(AssertionError.class, () -> Commands.run("ip", "link", "show", ifname));
        assertTrue(gone.getMessage().contains("does not exist"), gone.getMessage());
    }

    @Test
    void aClosedHostRefusesTaps() {
        host.close();
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> host.networkInterfaces().open(LinuxHost.TAP_PREFIX + ifname, NicOptions.defaults(), f -> { }));
        assertEquals(Errno.ESHUTDOWN, e.errno());
    }
}
