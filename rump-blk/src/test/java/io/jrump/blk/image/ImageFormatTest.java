package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Format detection never guesses: every format qemu-img makes is recognised by its signature, and
 * those jrump does not read are refused by name with the evidence, never opened as raw (which
 * would show the container's bytes as the disk's). Formats qemu-img only reads (DMG, cloop,
 * bochs) are recognised from headers made here after their definitions.
 */
class ImageFormatTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("image-format");

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
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
    }

    private ImageFormat.Detection identify(Path img) throws Exception {
        try (ImageFile f = new ImageFile(host.blockDevices().open(img.toString(), OpenMode.READ_ONLY), host.scheduler())) {
            return ImageFormat.identify(f);
        }
    }

    @ParameterizedTest(name = "qemu-img create -f {0} {1}")
    @CsvSource({
        "vdi, '', VDI, 0xbeda107f",
        "vdi, static=on, VDI, 0xbeda107f",
        "vhdx, '', VHDX, vhdxfile",
        "vpc, '', VHD, conectix",
        "vpc, subformat=fixed, VHD, 512 bytes from the end",
        "vmdk, '', VMDK, KDMV",
        "vmdk, subformat=streamOptimized, VMDK, KDMV",
        "vmdk, subformat=monolithicFlat, VMDK, Disk DescriptorFile",
        "qed, '', QED, QED",
        "parallels, '', PARALLELS, WithouFreSpacExt",
        "qcow, '', QCOW, version 1",
        "qcow2, '', QCOW2, version 3",
        "qcow2, compat=0.10, QCOW2, version 2",
    })
    void qemuImgFormatsAreRecognisedAndTheUnreadRefusedByName(String format, String options, ImageFormat want,
            String evidence) throws Exception {
        Path img = dir.resolve("disk." + format);
        if (options.isEmpty()) {
            qemuImg("create", "-q", "-f", format, img.toString(), "16M");
        } else {
            qemuImg("create", "-q", "-f", format, "-o", options, img.toString(), "16M");
        }
        ImageFormat.Detection d = identify(img);
        assertEquals(want, d.format(), d.evidence());
        assertTrue(d.evidence().contains(evidence), d.evidence());
        if (want != ImageFormat.QCOW2 && want != ImageFormat.VHD && want != ImageFormat.VDI
                && want != ImageFormat.VHDX
                && want != ImageFormat.VMDK) { // the formats read
            ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, img.toString(), true));
            assertEquals(Errno.EOPNOTSUPP, e.errno(), "never opened as a raw disk");
            assertTrue(e.getMessage().contains("images are not supported") && e.getMessage().contains(evidence),
                    e.getMessage());
        }
    }

    @Test
    void formatsQemuOnlyReadsAreRecognisedToo() throws Exception {
        Path dmg = dir.resolve("disk.dmg");
        byte[] image = new byte[64 * 1024];
        byte[] koly = "koly".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(koly, 0, image, image.length - 512, 4);
        Files.write(dmg, image);
        assertEquals(ImageFormat.DMG, identify(dmg).format());

        Path cloop = dir.resolve("disk.cloop");
        Files.writeString(cloop, "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
                + "\0".repeat(4096));
        assertEquals(ImageFormat.CLOOP, identify(cloop).format());

        Path bochs = dir.resolve("disk.bochs");
        byte[] b = new byte[4096];
        byte[] sig = "Bochs Virtual HD Image".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(sig, 0, b, 0, sig.length);
        Files.write(bochs, b);
        assertEquals(ImageFormat.BOCHS, identify(bochs).format());

        Path luks = dir.resolve("disk.luks");
        byte[] l = new byte[4096];
        l[0] = 'L';
        l[1] = 'U';
        l[2] = 'K';
        l[3] = 'S';
        l[4] = (byte) 0xba;
        l[5] = (byte) 0xbe;
        Files.write(luks, l);
        assertEquals(ImageFormat.LUKS, identify(luks).format());
        for (Path p : new Path[] {dmg, cloop, bochs, luks}) {
            assertEquals(Errno.EOPNOTSUPP,
                    assertThrows(ErrnoException.class, () -> Images.open(host, p.toString(), true)).errno(), p.toString());
        }
    }

    @Test
    void aRawDiskStaysRaw() throws Exception {
        Path raw = dir.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(1 << 20);
            f.write("just bytes, no signature".getBytes(StandardCharsets.US_ASCII));
        }
        ImageFormat.Detection d = identify(raw);
        assertEquals(ImageFormat.RAW, d.format());
        assertEquals("no image signature", d.evidence());
        Images.open(host, raw.toString(), true).close();
    }
}
