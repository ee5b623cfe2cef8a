package io.jrump.blk.image;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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

    private static void qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
    }

    private Path truth() throws Exception {
        Path raw = dir.resolve("truth.raw");
        Random r = new Random(5);
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(24L << 20);
            for (long at : new long[] {0, 1L << 20, (7L << 20) + 512, (24L << 20) - 4096}) {
                byte[] b = new byte[4096];
                r.nextBytes(b);
                f.seek(at);
                f.write(b);
            }
        }
        return raw;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"static=off", "static=on"})
    void readsWhatQemuImgWrote(String options) throws Exception {
        Path raw = truth();
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
