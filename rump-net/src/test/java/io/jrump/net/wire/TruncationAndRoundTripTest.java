package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Properties over whole frames: every layer at once. */
class TruncationAndRoundTripTest {
    @Test
    void everyCapturedFrameParsesAndEmitsBackByteForByte() throws ErrnoException {
        for (String hex : Fixtures.ALL) {
            ByteBuf frame = Fixtures.buf(hex);
            Layers l = Layers.parse(frame);
            String expected = hex.equals(Fixtures.ARP_REQUEST) ? hex.substring(0, 2 * 42) : hex; // padding dropped
            assertEquals(expected, Fixtures.hex(l.emit()), l.toString());
        }
    }

    @Test
    void everyTruncationOfACapturedFrameIsRejected() {
        for (String hex : Fixtures.ALL) {
            ByteBuf frame = Fixtures.buf(hex);
            int needed = hex.equals(Fixtures.ARP_REQUEST) ? 42 : frame.readableBytes();
            for (int n = 0; n < needed; n++) {
                ByteBuf cut = frame.slice(0, n);
                ErrnoException e = assertThrows(ErrnoException.class, () -> Layers.parse(cut), hex + " cut at " + n);
                assertEquals(Errno.EBADMSG, e.errno(), e.getMessage());
            }
        }
    }

    @Test
    void randomRecordsRoundTrip() throws ErrnoException {
        RandomReprs g = new RandomReprs(20260101);
        for (int i = 0; i < 5000; i++) {
            Layers l = g.frame();
            ByteBuf bytes = l.emit();
            Layers back = Layers.parse(bytes);
            assertEquals(l, back, "record " + i);
            assertEquals(Fixtures.hex(bytes), Fixtures.hex(back.emit()), "record " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void everySingleByteCorruptionIsRejectedOrParsesToSomethingThatEmits(long seed) {
        // Corrupting any byte either fails a check (length, offset or checksum) or still parses:
        // never an unchecked exception.
        RandomReprs g = new RandomReprs(seed);
        Random r = g.random();
        for (int i = 0; i < 200; i++) {
            ByteBuf bytes = g.frame().emit();
            for (int at = 0; at < bytes.readableBytes(); at++) {
                ByteBuf copy = bytes.copy();
                copy.setByte(at, copy.getByte(at) ^ (1 + r.nextInt(255)));
                try {
                    Layers.parse(copy).emit();
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EBADMSG && e.errno() != Errno.EPROTONOSUPPORT) {
                        fail(e);
                    }
                }
            }
        }
    }

    @Test
    void arbitraryBytesRaiseOnlyTheDefinedErrors() {
        Random r = new Random(404);
        String[] types = {"0800", "0806", "8100", "88a8", "86dd"};
        for (int i = 0; i < 200_000; i++) {
            byte[] b = new byte[r.nextInt(120)];
            r.nextBytes(b);
            ByteBuf frame = io.netty.buffer.Unpooled.wrappedBuffer(b);
            if (b.length >= 14 && r.nextInt(4) != 0) {
                frame.setBytes(12, Fixtures.buf(types[r.nextInt(types.length)]));
            }
            if (b.length >= 15 && r.nextBoolean()) {
                frame.setByte(14, 0x45 + r.nextInt(3));
            }
            try {
                Layers.parse(frame).emit();
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EBADMSG && e.errno() != Errno.EPROTONOSUPPORT) {
                    fail(e);
                }
            }
            Packets.describe(frame);
        }
    }
}
