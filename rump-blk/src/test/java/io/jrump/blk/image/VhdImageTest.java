package io.jrump.blk.image;

import static io.jrump.blk.image.ImageTools.qemuImg;
import static io.jrump.blk.image.ImageTools.readAll;
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
 * VHD read against qemu-img: fixed and dynamic images converted by qemu-img from a raw disk with
 * data and holes read the same bytes as qemu's own raw conversion of them (the same virtual size,
 * by qemu's creator-app rule); damaged footers, headers and BATs give EUCLEAN naming them.
 */
class VhdImageTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vhd");

    @AfterEach
    void close() {
        host.close();
    }

    private Path truth() throws Exception {
        return ImageTools.truth(dir, 40L << 20);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"subformat=dynamic", "subformat=fixed", "subformat=dynamic,force_size=on",
        "subformat=fixed,force_size=on", "subformat=dynamic full", "subformat=fixed full"})
    void readsWhatQemuImgWroteAsQemuReadsIt(String options) throws Exception {
        Path vhd = dir.resolve("disk.vhd");
        Path raw = options.endsWith(" full") ? ImageTools.full(dir, 6L << 20) : truth();
        qemuImg("convert", "-q", "-f", "raw", "-O", "vpc", "-o", options.replace(" full", ""), raw.toString(), vhd.toString());
        Path qemuView = dir.resolve("qemu-view.raw");
        qemuImg("convert", "-q", "-f", "vpc", "-O", "raw", vhd.toString(), qemuView.toString());
        try (BlockDevice d = Images.open(host, vhd.toString(), true)) {
            assertTrue(d instanceof VhdImage, d.toString());
            assertEquals(Files.size(qemuView), d.size(), "the virtual size qemu gives it");
            assertArrayEquals(Files.readAllBytes(qemuView), readAll(d));
        }
    }

    private Path dynamicImage() throws Exception {
        Path vhd = dir.resolve("dyn.vhd");
        qemuImg("convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", truth().toString(), vhd.toString());
        return vhd;
    }

    private static void patch(Path img, long at, byte... bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes);
        }
    }

    private void assertCorrupt(Path img, String what) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, img.toString(), true).close());
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
    }

    @Test
    void damagedStructuresAreNamed() throws Exception {
        Path vhd = dynamicImage();
        long size = Files.size(vhd);
        patch(vhd, size - 512 + 40, (byte) 0x7f); // original size changed: the checksum no longer holds
        patch(vhd, 40, (byte) 0x7f); // and in the copy at byte 0
        assertCorrupt(vhd, "footer checksum");

        vhd = dynamicImage();
        ByteBuffer footer = ByteBuffer.wrap(Files.readAllBytes(vhd), (int) Files.size(vhd) - 512, 512).slice();
        long header = footer.getLong(16);
        patch(vhd, header + 36, (byte) 1, (byte) 2, (byte) 3, (byte) 4);
        assertCorrupt(vhd, "dynamic header checksum");

        vhd = dynamicImage();
        byte[] all = Files.readAllBytes(vhd);
        footer = ByteBuffer.wrap(all, all.length - 512, 512).slice();
        ByteBuffer h = ByteBuffer.wrap(all, (int) footer.getLong(16), 1024).slice();
        long bat = h.getLong(16);
        // BAT entry 0 to a sector past the end, the header's checksum kept right (the BAT has none).
        patch(vhd, bat, (byte) 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0x00);
        assertCorrupt(vhd, "BAT entry 0");
    }
}
