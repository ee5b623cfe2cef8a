package io.jrump.host.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.virtio.net.VirtioNic;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The virtio-net driver against {@link ModelNetDevice}: frames both ways with the header's
 * offload fields, a frame over several mergeable buffers, and a device that lies — a header that
 * fails the checks drops one frame and is counted; a {@code num_buffers} no frame could need, or a
 * used length beyond the buffer, breaks the device, after which sends fail with {@code EIO}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileNetDeviceTest {
    private static final long FEATURES = VirtioFeatures.bitsOf(0, 1, 15, 29); // CSUM, GUEST_CSUM, MRG_RXBUF, EVENT_IDX
    private final JvmHost host = JvmHost.create("hostile-net");
    private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<Integer> flags = new LinkedBlockingQueue<>();

    @AfterEach
    void close() {
        host.close();
    }

    private VirtioNic open(ModelNetDevice device, int mtu) throws ErrnoException {
        return VirtioNic.open("model", device, NicOptions.mtu(mtu).withOffloads(NicOffload.ALL),
                new io.jrump.hypercall.NetworkInterfaces.FrameReceiver() {
                    @Override
                    public void frameReceived(ByteBuffer frame) {
                        frameReceived(frame, 0);
                    }

                    @Override
                    public void frameReceived(ByteBuffer frame, int rxFlags) {
                        byte[] b = new byte[frame.remaining()];
                        frame.duplicate().get(b);
                        received.add(b);
                        flags.add(rxFlags);
                    }
                }, host.scheduler(), host.random(), n -> { });
    }

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 7 + seed);
        }
        MacAddress.BROADCAST.write(ByteBuffer.wrap(f), 0);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        return f;
    }

    private static byte[] header(int flags, int numBuffers) {
        byte[] h = new byte[12];
        h[0] = (byte) flags;
        h[10] = (byte) numBuffers;
        return h;
    }

    @Test
    void framesGoBothWaysWithTheirHeaders() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES);
        VirtioNic nic = open(device, 9000);
        assertTrue(nic.offloads().contains(NicOffload.TX_CHECKSUM) && nic.offloads().contains(NicOffload.RX_CHECKSUM));
        byte[] out = frame(1000, 1);
        nic.send(ByteBuffer.wrap(out), FrameOffload.checksum(34, 16));
        ModelNetDevice.Sent s = device.sent.poll(10, TimeUnit.SECONDS);
        assertNotNull(s);
        assertArrayEquals(out, s.frame());
        assertEquals(1, s.header()[0], "NEEDS_CSUM");
        assertEquals(34, s.header()[6], "csum_start");
        assertEquals(16, s.header()[8], "csum_offset");
        byte[] in = frame(200, 2);
        assertTrue(device.deliver(header(2, 1), in, 0)); // DATA_VALID
        assertArrayEquals(in, received.poll(10, TimeUnit.SECONDS));
        assertEquals(1, flags.poll(1, TimeUnit.SECONDS)); // RX_CHECKSUM_VALID
        byte[] jumbo = frame(9014, 3); // spans three 4 KiB buffers
        assertTrue(device.deliver(header(0, 3), jumbo, 0));
        assertArrayEquals(jumbo, received.poll(10, TimeUnit.SECONDS));
        for (int i = 0; i < 600; i++) { // more than the ring: buffers come back, frames keep arriving
            assertTrue(device.deliver(header(0, 1), frame(100, i), 0), "buffers returned after frame " + i);
            assertArrayEquals(frame(100, i), received.poll(10, TimeUnit.SECONDS));
        }
        assertEquals(0, nic.badHeaders());
        nic.close();
    }

    /** A 64 KiB TCP/IPv4 segment (GSO) over 17 mergeable buffers arrives whole, flagged large and partial. */
    @Test
    void aLargeSegmentOverManyBuffersArrivesWhole() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES | VirtioFeatures.bitsOf(7)); // GUEST_TSO4
        VirtioNic nic = open(device, 1500);
        assertTrue(nic.offloads().contains(NicOffload.RX_TCP4_LARGE_SEGMENTS), nic.offloads().toString());
        byte[] big = frame(14 + 65535, 5);
        big[12] = 0x08;
        big[13] = 0x00;
        byte[] h = header(1, 17); // NEEDS_CSUM, over 17 buffers
        h[1] = 1; // GSO_TCPV4
        h[2] = 66; // hdr_len
        h[4] = (byte) (1448 & 0xff);
        h[5] = (byte) (1448 >> 8);
        h[6] = 34; // csum_start
        h[8] = 16; // csum_offset
        assertTrue(device.deliver(h, big, 0));
        assertArrayEquals(big, received.poll(10, TimeUnit.SECONDS));
        assertEquals(2 | 4, flags.poll(1, TimeUnit.SECONDS)); // RX_CHECKSUM_PARTIAL | RX_LARGE_SEGMENT
        assertEquals(0, nic.badHeaders());
        nic.close();
    }

    @Test
    void aBadHeaderDropsItsFrameOnly() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES);
        VirtioNic nic = open(device, 1500);
        assertTrue(device.deliver(header(0x80, 1), frame(100, 1), 0)); // an unknown flag
        byte[] good = frame(100, 2);
        assertTrue(device.deliver(header(0, 1), good, 0));
        assertArrayEquals(good, received.poll(10, TimeUnit.SECONDS));
        assertEquals(1, nic.badHeaders());
        nic.close();
    }

    private void expectBroken(ModelNetDevice device, VirtioNic nic, String reasonPart) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (nic.brokenReason() == null && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertNotNull(nic.brokenReason(), "the device was not marked broken");
        assertTrue(nic.brokenReason().contains(reasonPart), nic.brokenReason());
        ErrnoException e = assertThrows(ErrnoException.class, () -> nic.send(ByteBuffer.wrap(frame(100, 9))));
        assertEquals(Errno.EIO, e.errno());
        nic.close();
    }

    @Test
    void numBuffersNoFrameCouldNeedBreaksTheDevice() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES);
        VirtioNic nic = open(device, 1500);
        assertTrue(device.deliver(header(0, 0), frame(100, 1), 0));
        expectBroken(device, nic, "num_buffers 0");
    }

    @Test
    void aUsedLengthBeyondTheBufferBreaksTheDevice() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES);
        VirtioNic nic = open(device, 1500);
        assertTrue(device.deliver(header(0, 1), frame(100, 1), VirtioNic.MERGEABLE_BUFFER));
        expectBroken(device, nic, "the chain offers only");
    }

    @Test
    void aDeviceThatGoesAwayBreaks() throws Exception {
        ModelNetDevice device = new ModelNetDevice(FEATURES);
        VirtioNic nic = open(device, 1500);
        device.disappear();
        expectBroken(device, nic, "went away");
    }
}
