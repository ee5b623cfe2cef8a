package io.jrump.fs.iso;

import static io.jrump.fs.iso.IsoTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe: "CD001" at block 16, the volume label and size, Rock Ridge, Joliet and the El
 * Torito catalog (a BIOS no-emulation entry and a UEFI one, from {@code xorriso -as mkisofs -b
 * boot.img -no-emul-boot -eltorito-alt-boot -e efi.img -no-emul-boot}); on 512- and 4096-byte
 * sectored devices.
 */
class IsoFileSystemTypeTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("iso-probe");

    @AfterEach
    void close() {
        host.close();
    }

    @Test
    void probeDescribesVolumeExtensionsAndBootEntries() throws Exception {
        Path t = dir.resolve("tree");
        Files.createDirectories(t);
        Files.write(t.resolve("boot.img"), new byte[2048]);
        Files.write(t.resolve("efi.img"), new byte[64 * 1024]);
        Path img = dir.resolve("boot.iso");
        run("xorriso", "-as", "mkisofs", "-R", "-J", "-V", "MYDISC", "-b", "boot.img", "-no-emul-boot",
                "-boot-load-size", "4", "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot", "-o", img.toString(),
                t.toString());
        long blocks = Files.size(img) / 2048;
        for (int sector : new int[] {512, 4096}) {
            try (HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY, sector)) {
                // The type itself: ExtFileSystemType's probe, asked first by FileSystemTypes, reads
                // 2048 bytes at 0, which a 4096-byte sectored device refuses.
                assertEquals("iso9660, volume 'MYDISC', " + blocks + " blocks of 2048 bytes, Rock Ridge, Joliet, "
                        + "El Torito bootable (2 entries: x86 BIOS, UEFI)", new IsoFileSystemType().probe(d).orElseThrow());
                if (sector == 512) {
                    assertEquals("iso9660", FileSystemTypes.identify(d).type().name());
                }
                List<String> entries = IsoFileSystemType.bootEntries(d);
                assertEquals(2, entries.size());
                assertTrue(entries.get(0).startsWith("x86 BIOS, bootable, no emulation, load segment 0x7c0 (default), "
                        + "4 sectors of 512 bytes at block "), entries.get(0));
                assertTrue(entries.get(1).startsWith("UEFI, bootable, no emulation"), entries.get(1));
            }
        }
        Path plain = dir.resolve("plain.iso");
        run("genisoimage", "-quiet", "-V", "PLAIN", "-o", plain.toString(), t.toString()); // xorriso always adds Rock Ridge
        try (HostDisk d = HostDisk.open(host, plain.toString(), OpenMode.READ_ONLY)) {
            assertEquals("iso9660, volume 'PLAIN', " + Files.size(plain) / 2048 + " blocks of 2048 bytes",
                    FileSystemTypes.identify(d).description());
        }
    }
}
