package io.jrump.blk.image;

import static io.jrump.blk.image.ImageTools.qemuImg;
import static io.jrump.blk.image.ImageTools.readAll;
import static io.jrump.blk.image.ImageTools.run;
import static io.jrump.blk.image.ImageTools.writeAll;
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
 * VDI written by jrump, judged by the outside readers: images we create and fill are clean to
 * {@code qemu-img check}, the same disk to {@code qemu-img compare} and to 7-Zip's extraction;
 * an image qemu-img made takes our writes the same way; a block map whose entries share a data
 * block is refused for writing.
 */
class VdiWriteTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vdi-write");

    @AfterEach
    void close() {
        host.close();
    }

    private Path create(String name, long size, boolean fixed) throws Exception {
        Path p = dir.resolve(name);
        byte[] uuid = new byte[16];
        new Random(3).nextBytes(uuid);
        try (ImageFile f = new ImageFile(host.blockDevices().create(p.toString(), 0), host.scheduler())) {
            VdiImage.create(f, size, fixed, uuid);
        }
        return p;
    }

    @ParameterizedTest(name = "static={0}")
    @ValueSource(booleans = {false, true})
    void whatWeWriteQemuAnd7ZipRead(boolean fixed) throws Exception {
        Path truth = ImageTools.truth(dir, 40L << 20);
        byte[] data = Files.readAllBytes(truth);
        Path vdi = create("ours.vdi", data.length, fixed);
        qemuImg("check", "-f", "vdi", vdi.toString());
        try (BlockDevice d = Images.open(host, vdi.toString(), false)) {
            assertEquals(data.length, d.size());
            assertEquals(fixed ? "static" : "dynamic", ((VdiImage) d).subformat());
            writeAll(d, data);
        }
        qemuImg("check", "-f", "vdi", vdi.toString());
        qemuImg("compare", "-f", "vdi", "-F", "raw", vdi.toString(), truth.toString());
        try (BlockDevice d = Images.open(host, vdi.toString(), true)) {
            assertArrayEquals(data, readAll(d));
        }
        Path extracted = dir.resolve("7z");
        run("7zz", "e", "-y", "-o" + extracted, vdi.toString());
        assertArrayEquals(data, Files.readAllBytes(Files.list(extracted).findFirst().orElseThrow()));
        if (!fixed) {
            assertTrue(Files.size(vdi) < 6L << 20, "only the 5 blocks with data: " + Files.size(vdi));
        }
    }

    @Test
    void anImageQemuMadeTakesOurWrites() throws Exception {
        Path truth = ImageTools.truth(dir, 16L << 20);
        Path vdi = dir.resolve("qemu.vdi");
        qemuImg("convert", "-q", "-f", "raw", "-O", "vdi", truth.toString(), vdi.toString());
        byte[] expected = Files.readAllBytes(truth);
        byte[] more = new byte[3 << 20];
        new Random(9).nextBytes(more);
        try (BlockDevice d = Images.open(host, vdi.toString(), false)) {
            d.write(7L << 20, ByteBuffer.wrap(more)); // into unallocated blocks
            d.write(0, ByteBuffer.wrap(more, 0, 4096)); // over an allocated one
        }
        System.arraycopy(more, 0, expected, 7 << 20, more.length);
        System.arraycopy(more, 0, expected, 0, 4096);
        try (RandomAccessFile f = new RandomAccessFile(truth.toFile(), "rw")) {
            f.write(expected);
        }
        qemuImg("check", "-f", "vdi", vdi.toString());
        qemuImg("compare", "-f", "vdi", "-F", "raw", vdi.toString(), truth.toString());
    }

    @Test
    void entriesSharingADataBlockAreRefusedForWriting() throws Exception {
        Path vdi = create("shared.vdi", 4L << 20, true);
        try (RandomAccessFile f = new RandomAccessFile(vdi.toFile(), "rw")) {
            f.seek(0x200 + 4); // entry 1 names data block 0, as entry 0 does
            f.write(new byte[4]);
        }
        try (BlockDevice d = Images.open(host, vdi.toString(), true)) {
            assertEquals(4L << 20, d.size(), "read-only opens still read it");
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vdi.toString(), false));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("block map entry 1 names data block 0"), e.getMessage());
    }

    @Test
    void aDataAreaOverTheMapIsRefused() throws Exception {
        Path vdi = create("overlap.vdi", 4L << 20, false);
        try (RandomAccessFile f = new RandomAccessFile(vdi.toFile(), "rw")) {
            f.seek(0x158); // the data offset, moved onto the block map
            f.write(new byte[] {0, 2, 0, 0});
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, vdi.toString(), true));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
    }
}
