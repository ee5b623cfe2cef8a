package io.jrump.blk.image;

import static io.jrump.blk.image.ImageTools.qemuImg;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VDI read against qemu-img: dynamic and static images converted by qemu-img from a raw disk with
 * data and holes read the same bytes as the raw disk; a damaged header or block map gives
 * EUCLEAN naming the field.
 */
class VdiImageTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vdi");

    @AfterEach
    void close() {
        host.close();
    }

    private Path truth() throws Exception {
        return ImageTools.truth(dir, 24L << 20);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"static=off", "static=on", "static=off full", "static=on full"})
    void readsWhatQemuImgWrote(String options) throws Exception {
        Path raw = options.endsWith(" full") ? ImageTools.full(dir, 6L << 20) : truth();
        options = options.replace(" full", "");
        Path vdi = dir.resolve("disk.vdi");
        qemuImg("convert", "-q", "-f", "raw", "-O", "vdi", "-o", options, raw.toString(), vdi.toString());
        try (BlockDevice d = Images.open(host, vdi.toString(), true)) {
            assertTrue(d instanceof VdiImage, d.toString());
            assertEquals(Files.size(raw), d.size());
            ByteBuffer all = ByteBuffer.allocate((int) d.size());
            d.read(0, all);
            assertArrayEquals(Files.readAllBytes(raw), all.array());
        }
    }

    private static void patch(Path img, long at, byte... bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes);
        }
    }

    @Test
    void damagedHeaderAndMapAreNamed() throws Exception {
        Path raw = truth();
        Path vdi = dir.resolve("bad.vdi");
        for (Object[] c : new Object[][] {
            {0x178, new byte[] {0, 3, 0, 0}, "block size"},
            {0x180, new byte[] {1, 0, 0, 0}, "cannot hold"},
            {0x154, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}, "block map"},
        }) {
            qemuImg("convert", "-q", "-f", "raw", "-O", "vdi", raw.toString(), vdi.toString());
            patch(vdi, (int) c[0], (byte[]) c[1]);
            ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vdi.toString(), true).close());
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains((String) c[2]), e.getMessage());
        }
        // A map entry naming a block past the end of the file.
        qemuImg("convert", "-q", "-f", "raw", "-O", "vdi", raw.toString(), vdi.toString());
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(vdi)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        patch(vdi, h.getInt(0x154), (byte) 0, (byte) 0, (byte) 1, (byte) 0);
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vdi.toString(), true).close());
        assertTrue(e.getMessage().contains("block map entry 0"), e.getMessage());
    }
}
