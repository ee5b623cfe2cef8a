package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The offload additions to the NIC contract: {@link FrameOffload}'s invariants, the checks of
 * {@link FrameChecks} for offloaded sends, and the default methods that leave hosts without
 * offloads unchanged.
 */
class FrameChecksTest {
    /** A NIC with an MTU of 1500 and the given offloads that keeps what it is sent. */
    private static final class Nic implements HostNic {
        final Set<NicOffload> offloads;
        final List<Integer> sent = new ArrayList<>();

        Nic(Set<NicOffload> offloads) {
            this.offloads = offloads;
        }

        @Override
        public String name() {
            return "nic0";
        }

        @Override
        public MacAddress mac() {
            return MacAddress.of(0x020000000001L);
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public Set<NicOffload> offloads() {
            return offloads;
        }

        @Override
        public void send(ByteBuffer frame) throws ErrnoException {
            FrameChecks.checkSend(this, false, frame);
            sent.add(frame.remaining());
        }

        @Override
        public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
            FrameChecks.checkSend(this, false, frame, offload);
            sent.add(frame.remaining());
        }

        @Override
        public void close() {
        }
    }

    private static Errno errno(Nic nic, int length, FrameOffload offload) {
        return assertThrows(ErrnoException.class, () -> nic.send(ByteBuffer.allocate(length), offload)).errno();
    }

    @Test
    void frameOffloadHoldsOnlyValidRequests() {
        assertEquals(FrameOffload.NONE, new FrameOffload(-1, 0, 0, 0));
        assertTrue(FrameOffload.tcp4Segmentation(34, 66, 1448).needsSegmentation());
        assertThrows(IllegalArgumentException.class, () -> new FrameOffload(-1, 16, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FrameOffload(-1, 0, 1448, 66));
        assertThrows(IllegalArgumentException.class, () -> FrameOffload.checksum(13, 16));
        assertThrows(IllegalArgumentException.class, () -> FrameOffload.checksum(34, -1));
        assertThrows(IllegalArgumentException.class, () -> new FrameOffload(34, 16, 1448, 0));
        assertThrows(IllegalArgumentException.class, () -> new FrameOffload(34, 16, 0, 66));
        assertThrows(IllegalArgumentException.class, () -> FrameOffload.tcp4Segmentation(34, 40, 1448));
        assertThrows(IllegalArgumentException.class, () -> FrameOffload.tcp4Segmentation(34, 66, 65536));
    }

    @Test
    void offloadedSendsAreCheckedAgainstTheNicAndTheFrame() throws Exception {
        Nic all = new Nic(NicOffload.ALL);
        all.send(ByteBuffer.allocate(60), FrameOffload.checksum(34, 6));
        all.send(ByteBuffer.allocate(65_000), FrameOffload.tcp4Segmentation(34, 66, 1448));
        assertEquals(List.of(60, 65_000), all.sent);
        assertEquals(Errno.EINVAL, errno(all, 40, FrameOffload.checksum(34, 6)), "field past the end");
        assertEquals(Errno.EINVAL, errno(all, 66, FrameOffload.tcp4Segmentation(34, 66, 1448)), "no payload");
        assertEquals(Errno.EMSGSIZE, errno(all, 2000, FrameOffload.checksum(34, 16)), "large without segmentation");
        assertEquals(Errno.EMSGSIZE, errno(all, HostNic.MAX_OFFLOAD_FRAME_LENGTH + 1,
                FrameOffload.tcp4Segmentation(34, 66, 1448)));
        Nic csum = new Nic(EnumSet.of(NicOffload.TX_CHECKSUM));
        assertEquals(Errno.EOPNOTSUPP, errno(csum, 9000, FrameOffload.tcp4Segmentation(34, 66, 1448)));
        Nic none = new Nic(NicOffload.NONE);
        assertEquals(Errno.EOPNOTSUPP, errno(none, 60, FrameOffload.checksum(34, 6)));
    }

    @Test
    void theDefaultsLeaveAHostWithoutOffloadsAsItWas() throws Exception {
        List<Integer> sent = new ArrayList<>();
        HostNic plain = new HostNic() {
            @Override
            public String name() {
                return "plain";
            }

            @Override
            public MacAddress mac() {
                return MacAddress.of(0x020000000002L);
            }

            @Override
            public int mtu() {
                return 1500;
            }

            @Override
            public void send(ByteBuffer frame) {
                sent.add(frame.remaining());
            }

            @Override
            public void close() {
            }
        };
        assertEquals(Set.of(), plain.offloads());
        plain.send(ByteBuffer.allocate(60), FrameOffload.NONE);
        assertEquals(List.of(60), sent);
        assertEquals(Errno.EOPNOTSUPP, assertThrows(ErrnoException.class,
                () -> plain.send(ByteBuffer.allocate(60), FrameOffload.checksum(34, 6))).errno());

        List<String> got = new ArrayList<>();
        FrameReceiver r = f -> got.add("frame " + f.remaining());
        r.frameReceived(ByteBuffer.allocate(70), FrameReceiver.RX_CHECKSUM_VALID);
        assertEquals(List.of("frame 70"), got);

        assertEquals(Set.of(), NicOptions.mtu(1500).offloads());
        assertEquals(NicOffload.ALL, NicOptions.defaults().withOffloads(NicOffload.ALL).offloads());
        assertEquals(new NicOptions(1500, null), new NicOptions(1500, null, Set.of()));
    }
}
