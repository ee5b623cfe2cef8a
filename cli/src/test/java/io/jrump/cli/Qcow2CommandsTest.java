package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump image snapshot}, {@code convert --snapshot} and {@code check} on qcow2 images qemu-img made. */
class Qcow2CommandsTest {
    @TempDir
    Path dir;

    private static String tool(int expectedExit, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(expectedExit, p.waitFor(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    private String withSnapshots() throws Exception {
        String img = dir.resolve("s.qcow2").toString();
        tool(0, "qemu-img", "create", "-q", "-f", "qcow2", img, "4M");
        tool(0, "qemu-io", "-c", "write -P 1 0 128k", img);
        tool(0, "qemu-img", "snapshot", "-c", "before", img);
        tool(0, "qemu-io", "-c", "write -P 2 0 64k", img);
        tool(0, "qemu-img", "snapshot", "-c", "after", img);
        tool(0, "qemu-io", "-c", "write -P 3 0 4k", img);
        return img;
    }

    @Test
    void snapshotsAreListedShownAndConverted() throws Exception {
        String img = withSnapshots();
        String list = RumpRun.expect(0, "image", "snapshot", "list", img).out();
        assertTrue(list.contains("before") && list.contains("after") && list.contains("4.0M"), list);
        String qemu = tool(0, "qemu-img", "snapshot", "-l", img);
        assertTrue(qemu.contains("before") && qemu.contains("after"), qemu);
        String show = RumpRun.expect(0, "image", "snapshot", "show", img, "before").out();
        assertTrue(show.contains("id: 1") && show.contains("name: before") && show.contains("disk size: 4.0M"), show);
        assertEquals(show, RumpRun.expect(0, "image", "snapshot", "show", img, "1").out(), "by ID as by name");
        RumpRun missing = RumpRun.of("image", "snapshot", "show", img, "nope");
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no snapshot with ID or name 'nope'"), missing.err());
        String ours = dir.resolve("ours.raw").toString();
        String theirs = dir.resolve("theirs.raw").toString();
        RumpRun.expect(0, "image", "convert", "--snapshot", "before", img, ours);
        tool(0, "qemu-img", "convert", "-O", "raw", "-l", "snapshot.name=before", img, theirs);
        assertArrayEquals(Files.readAllBytes(Path.of(theirs)), Files.readAllBytes(Path.of(ours)));
        assertTrue(RumpRun.expect(0, "image", "info", img).out().contains("snapshots: 2"));
        String none = dir.resolve("none.qcow2").toString();
        tool(0, "qemu-img", "create", "-q", "-f", "qcow2", none, "1M");
        assertTrue(RumpRun.expect(0, "image", "snapshot", "list", none).out().contains("no snapshots"));
    }

    @Test
    void checkAgreesWithQemuImgOnSnapshotsAndDamage() throws Exception {
        String img = withSnapshots();
        tool(0, "qemu-img", "check", img);
        assertTrue(RumpRun.expect(0, "image", "check", img).out().contains("No errors were found"));
        try (RandomAccessFile f = new RandomAccessFile(img, "rw")) {
            f.seek(40);
            long l1 = f.readLong();
            f.seek(l1);
            long e = f.readLong();
            f.seek(l1);
            f.writeLong(e | 2); // a reserved bit
        }
        tool(2, "qemu-img", "check", img);
        RumpRun check = RumpRun.of("image", "check", img);
        assertEquals(2, check.code(), check.out());
        assertTrue(check.out().contains("reserved bits set"), check.out());
    }

    @Test
    void zeroSizeZstdExtendedL2AndDataFileImages() throws Exception {
        String zero = dir.resolve("zero.qcow2").toString();
        tool(0, "qemu-img", "create", "-q", "-f", "qcow2", zero, "0");
        assertTrue(RumpRun.expect(0, "image", "info", zero).out().contains("virtual size: 0"));
        RumpRun.expect(0, "image", "check", zero);
        String raw = dir.resolve("src.raw").toString();
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / 4096);
        }
        Files.write(Path.of(raw), data);
        String z = dir.resolve("z.qcow2").toString();
        tool(0, "qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", raw, z);
        assertTrue(RumpRun.expect(0, "image", "info", z).out().contains("compression type: zstd"));
        String x = dir.resolve("x.qcow2").toString();
        tool(0, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on,data_file=" + dir.resolve("x.data"), x, "1M");
        String info = RumpRun.expect(0, "image", "info", x).out();
        assertTrue(info.contains("extended L2 entries: yes (32 subclusters of 2048 bytes)")
                && info.contains("data file: " + dir.resolve("x.data")), info);
        String back = dir.resolve("back.raw").toString();
        RumpRun.expect(0, "image", "convert", z, back);
        assertArrayEquals(data, Files.readAllBytes(Path.of(back)));
    }
}
