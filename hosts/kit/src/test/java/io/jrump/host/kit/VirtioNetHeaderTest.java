package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link VirtioNetHeader}: byte-exact emits, and parses that refuse every field out of range. */
class VirtioNetHeaderTest {
    private static final int CSUM = FrameReceiver.RX_CHECKSUM_PARTIAL;
    private static final int LARGE = FrameReceiver.RX_LARGE_SEGMENT;

    /** A header from its fields, little-endian as the TAP writes it on x86-64 and arm64. */
    private static ByteBuffer header(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        ByteBuffer b = ByteBuffer.allocate(VirtioNetHeader.LENGTH);
        b.put(0, (byte) flags).put(1, (byte) gsoType);
        b.put(2, (byte) hdrLen).put(3, (byte) (hdrLen >> 8));
        b.put(4, (byte) gsoSize).put(5, (byte) (gsoSize >> 8));
        b.put(6, (byte) csumStart).put(7, (byte) (csumStart >> 8));
        b.put(8, (byte) csumOffset).put(9, (byte) (csumOffset >> 8));
        return b;
    }

    private static int parse(ByteBuffer h, int frameLength) throws ErrnoException {
        return VirtioNetHeader.parse(h, 0, frameLength, true, true);
    }

    private static void refused(ByteBuffer h, int frameLength, String field) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> parse(h, frameLength));
        assertEquals(Errno.EBADMSG, e.errno());
        assertTrue(e.getMessage().startsWith("virtio_net_hdr: ") && e.getMessage().contains(field), e.getMessage());
    }

    @Test
    void emitsTheHeaderOfEachOffloadByteExact() {
        ByteBuffer b = ByteBuffer.allocate(10);
        VirtioNetHeader.emit(b, 0, FrameOffload.NONE);
        assertArrayEquals(new byte[10], b.array());
        VirtioNetHeader.emit(b, 0, FrameOffload.checksum(34, 16));
        assertArrayEquals(new byte[] {1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, b.array());
        VirtioNetHeader.emit(b, 0, FrameOffload.tcp4Segmentation(34, 66, 1448));
        assertArrayEquals(new byte[] {1, 1, 66, 0, (byte) 0xa8, 5, 34, 0, 16, 0}, b.array());
    }

    @Test
    void parsesWhatLinuxSends() throws Exception {
        assertEquals(0, parse(header(0, 0, 0, 0, 0, 0), 60));
        assertEquals(FrameReceiver.RX_CHECKSUM_VALID, parse(header(2, 0, 0, 0, 0, 0), 60));
        assertEquals(CSUM, parse(header(1, 0, 54, 0, 34, 16), 1514));
        assertEquals(CSUM | LARGE, parse(header(1, 1, 66, 1448, 34, 16), 65000));
        assertEquals(CSUM | LARGE, parse(header(1, 0x81, 66, 1448, 34, 16), 65000), "TCPV4 with ECN");
    }

    @Test
    void refusesEveryFieldOutOfRange() {
        refused(header(4, 0, 0, 0, 0, 0), 60, "flags");
        refused(header(0x80, 0, 0, 0, 0, 0), 60, "flags");
        refused(header(3, 0, 0, 0, 34, 16), 60, "flags");
        refused(header(1, 0, 0, 0, 13, 16), 60, "csum_start");
        refused(header(1, 0, 0, 0, 34, 16), 51, "csum_start");
        refused(header(1, 0, 0, 0, 0xffff, 0xffff), 65000, "csum_start");
        refused(header(0, 0, 61, 0, 0, 0), 60, "hdr_len");
        refused(header(0, 0, 0, 1448, 0, 0), 60, "gso_size");
        refused(header(1, 3, 66, 1448, 34, 6), 9000, "gso_type"); // UDP
        refused(header(1, 4, 66, 1448, 54, 16), 9000, "gso_type"); // TCPV6
        refused(header(1, 5, 66, 1448, 34, 6), 9000, "gso_type"); // UDP_L4
        refused(header(0, 1, 66, 1448, 0, 0), 9000, "NEEDS_CSUM");
        refused(header(1, 1, 66, 0, 34, 16), 9000, "gso_size");
        refused(header(1, 1, 66, 1448, 34, 16), 65536 + 18, "gso_size");
        refused(header(0, 0, 0, 0, 0, 0), 13, "shorter");
        refused(header(0, 0, 0, 0, 0, 0), 70000, "without GSO");
    }

    @Test
    void refusesWhatWasNotOffered() throws Exception {
        ByteBuffer gso = header(1, 1, 66, 1448, 34, 16);
        assertThrows(ErrnoException.class, () -> VirtioNetHeader.parse(gso, 0, 9000, true, false));
        assertThrows(ErrnoException.class, () -> VirtioNetHeader.parse(header(1, 0, 0, 0, 34, 16), 0, 60, false, false));
        assertEquals(0, VirtioNetHeader.parse(header(2, 0, 0, 0, 0, 0), 0, 60, false, false),
                "DATA_VALID is a hint, dropped when receive checksums were not asked for");
    }

    @Test
    void arbitraryHeadersParseOrRaiseOnlyEbadmsgAndNeverPointOutsideTheFrame() {
        SplittableRandom r = new SplittableRandom(6);
        byte[] raw = new byte[10];
        for (int i = 0; i < 200_000; i++) {
            for (int j = 0; j < 10; j++) {
                raw[j] = (byte) (r.nextInt(4) == 0 ? r.nextInt(4) : r.nextInt(256));
            }
            int length = r.nextInt(70_000);
            ByteBuffer h = ByteBuffer.wrap(raw);
            try {
                int flags = parse(h, length);
                if ((flags & CSUM) != 0) {
                    int start = (raw[6] & 0xff) | (raw[7] & 0xff) << 8;
                    int offset = (raw[8] & 0xff) | (raw[9] & 0xff) << 8;
                    assertTrue(start >= 14 && start + offset + 2 <= length);
                }
                assertTrue(length >= 14 && length <= 65535 + 18);
            } catch (ErrnoException e) {
                assertEquals(Errno.EBADMSG, e.errno());
            }
        }
    }
}
