package io.jrump.host.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.virtio.net.VirtioNic;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-net over vhost-user against DPDK's testpmd bridged to a TAP in a namespace: the frames
 * the driver sends reach the namespace's Linux kernel, whose ARP replies come back through the
 * receive queue. Needs root for the namespace (./run-tests runs as root).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (a network namespace)")
class VhostUserNetTest {
    @TempDir
    Path dir;

    private static final byte[] OUR_IP = {(byte) 198, 18, 0, 2};
    private static final byte[] LINUX_IP = {(byte) 198, 18, 0, 1};

    private static ByteBuffer arpRequest(MacAddress from) {
        ByteBuffer f = ByteBuffer.allocate(60);
        MacAddress.BROADCAST.write(f, 0);
        from.write(f, 6);
        f.putShort(12, (short) 0x0806);
        f.putShort(14, (short) 1).putShort(16, (short) 0x0800).put(18, (byte) 6).put(19, (byte) 4).putShort(20, (short) 1);
        from.write(f, 22);
        f.put(28, OUR_IP);
        f.put(38, LINUX_IP);
        return f;
    }

    /**
     * Asks Linux in the back-end's namespace for its MAC until it answers (20 s; sends refused
     * with ENOBUFS, by a NIC still reconnecting, are tried again); returns the reply.
     */
    private static byte[] arpExchange(HostNic nic, LinkedBlockingQueue<byte[]> received, DpdkNetBackend backend)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try {
                nic.send(arpRequest(nic.mac()));
            } catch (ErrnoException e) {
                assertEquals(Errno.ENOBUFS, e.errno(), e.getMessage());
                Thread.sleep(100);
                continue;
            }
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < end) {
                byte[] f = received.poll(50, TimeUnit.MILLISECONDS);
                if (f != null && f.length >= 42 && (f[12] & 0xff) == 0x08 && f[13] == 0x06 && f[21] == 2) {
                    return f;
                }
            }
        }
        throw new AssertionError("no ARP reply from Linux; testpmd said:\n" + backend.output());
    }

    /**
     * Sends until the NIC, having seen its back-end go, refuses with ENOBUFS (5 s); any other
     * error fails the test.
     */
    private static void awaitSendsRefused(HostNic nic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            try {
                nic.send(arpRequest(nic.mac()));
                Thread.sleep(20);
            } catch (ErrnoException e) {
                assertEquals(Errno.ENOBUFS, e.errno(), e.getMessage());
                return;
            }
        }
        throw new AssertionError("sends still accepted 5 s after the back-end went away");
    }

    private static HostNic open(VirtioHost host, DpdkNetBackend backend, LinkedBlockingQueue<byte[]> received)
            throws Exception {
        return host.networkInterfaces().open(backend.deviceName(), NicOptions.defaults().withOffloads(NicOffload.ALL),
                frame -> {
                    byte[] b = new byte[frame.remaining()];
                    frame.duplicate().get(b);
                    received.add(b);
                });
    }

    @Test
    void arpThroughTestpmdReachesLinuxAndItsReplyComesBack() throws Exception {
        try (DpdkNetBackend backend = DpdkNetBackend.start(dir.resolve("net.sock"));
                VirtioHost host = VirtioHost.create("net")) {
            LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
            HostNic nic = open(host, backend, received);
            assertEquals(1500, nic.mtu());
            assertTrue(nic.toString().contains("VirtioNic"), nic.toString());
            byte[] reply = arpExchange(nic, received, backend);
            byte[] target = new byte[6];
            System.arraycopy(reply, 32, target, 0, 6);
            assertArrayEquals(nic.mac().toBytes(), target, "the reply is to us");
            byte[] sender = new byte[4];
            System.arraycopy(reply, 28, sender, 0, 4);
            assertArrayEquals(LINUX_IP, sender);
            assertTrue(backend.inNamespace("ip", "neigh", "show").contains("198.18.0.2"), "Linux learned our address");
            assertEquals(0, ((VirtioNic) nic).badHeaders());
            nic.close();
        }
    }

    /**
     * testpmd stops and another starts on the same socket (a switch restarted): the NIC waits,
     * reconnects, and the new back-end's Linux answers; while it is away, sends are refused, not
     * lost silently.
     */
    @Test
    void theNicComesBackWhenItsBackEndIsRestartedOnTheSameSocket() throws Exception {
        Path socket = dir.resolve("net.sock");
        try (VirtioHost host = VirtioHost.create("net")) {
            LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
            HostNic nic;
            try (DpdkNetBackend first = DpdkNetBackend.start(socket)) {
                nic = open(host, first, received);
                arpExchange(nic, received, first);
            }
            VirtioNic virtio = (VirtioNic) nic;
            awaitSendsRefused(nic);
            try (DpdkNetBackend second = DpdkNetBackend.start(socket)) {
                received.clear();
                byte[] reply = arpExchange(nic, received, second);
                byte[] target = new byte[6];
                System.arraycopy(reply, 32, target, 0, 6);
                assertArrayEquals(nic.mac().toBytes(), target, "the new back-end's Linux answers us");
                assertEquals(1, virtio.reconnects());
                assertEquals(null, virtio.brokenReason());
            }
            nic.close();
        }
    }

    /** Closing the NIC while it waits for its back-end to come back does not wait out the 10 s. */
    @Test
    void closingWhileTheBackEndIsAwayReturnsAtOnce() throws Exception {
        try (VirtioHost host = VirtioHost.create("net")) {
            LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
            HostNic nic;
            try (DpdkNetBackend backend = DpdkNetBackend.start(dir.resolve("net.sock"))) {
                nic = open(host, backend, received);
                arpExchange(nic, received, backend);
            }
            awaitSendsRefused(nic);
            long start = System.nanoTime();
            nic.close();
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < 2_000, "close took " + millis + " ms");
            assertEquals(null, ((VirtioNic) nic).brokenReason(), "closed, not broken");
        }
    }
}
