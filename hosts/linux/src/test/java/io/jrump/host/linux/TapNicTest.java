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
import org.junit.jupiter.api.Test;

/**
 * {@link TapNic} against the Linux network stack. Each test creates a TAP interface in the root
 * namespace, moves it into a fresh namespace {@code jrtest-XXXX} (the descriptor keeps working),
 * gives the Linux side 198.18.0.1/24 there and talks only to 198.18.0.2, our side. Needs root and
 * {@code /dev/net/tun}; fails, not skips, without them. The namespace is deleted after each test.
 */
class TapNicTest {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final byte[] LINUX_IP = {(byte) 198, 18, 0, 1};
    private static final byte[] OUR_IP = {(byte) 198, 18, 0, 2};

    private final String ns = "jrtest-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    private final String ifname = "jrt" + (ProcessHandle.current().pid() % 100000) + "x" + COUNTER.incrementAndGet();
    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
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
        HostNic nic = host.networkInterfaces().open(LinuxHost.TAP_PREFIX + ifname, NicOptions.defaults(), f -> {
            byte[] b = new byte[f.remaining()];
            f.get(f.position(), b);
            received.add(b);
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
