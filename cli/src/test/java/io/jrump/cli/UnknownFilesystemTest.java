package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.ProviderNotFoundException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device no filesystem type reads gets one message from every command, because every command
 * asks the one probe (FileSystemTypes): the read commands, the write commands, image info, and
 * the nio provider, which declines it so that other providers may try. And a path that is not
 * there is named as the user typed it, image and all.
 */
class UnknownFilesystemTest {
    @TempDir
    Path dir;

    @Test
    void everyCommandSaysTheSameAboutADeviceNoTypeReads() throws Exception {
        Path img = dir.resolve("boot.img");
        byte[] b = new byte[4 << 20];
        b[510] = 0x55;
        b[511] = (byte) 0xAA; // a boot sector: a FAT filesystem or a partition table would start so
        Files.write(img, b);
        String expected = img + ": no filesystem this library reads (ext4/ext2/ext3/ext, iso9660/iso/cd9660); it starts with a boot sector";
        for (String[] cmd : new String[][] {
            {"fs", "ls", img + ":/"}, {"fs", "df", img.toString()}, {"fs", "mkdir", img + ":/d"}, {"fs", "cat", img + ":/x"},
        }) {
            RumpRun r = RumpRun.of(cmd);
            assertEquals(1, r.code(), String.join(" ", cmd) + ": " + r.err());
            assertTrue(r.err().contains(expected), String.join(" ", cmd) + " said: " + r.err());
        }
        RumpRun info = RumpRun.of("image", "info", img.toString());
        assertTrue(info.out().contains("filesystem: none recognized"), info.out());
        // The nio provider declines it (no other provider takes a raw disk either).
        assertThrows(ProviderNotFoundException.class, () -> FileSystems.newFileSystem(img, Map.of()));
    }

    @Test
    void aPathThatIsNotThereIsNamedAsTheUserTypedIt() throws Exception {
        Path img = dir.resolve("e.img");
        Process p = new ProcessBuilder("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "8M").redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "mke2fs");
        for (String cmd : new String[] {"ls", "cat", "stat"}) {
            RumpRun r = RumpRun.of("fs", cmd, img + ":/no/such");
            assertEquals(1, r.code(), cmd + ": " + r.err());
            assertTrue(r.err().contains("rump: " + img + ":/no/such: No such file or directory"), cmd + " said: " + r.err());
        }
        RumpRun dir = RumpRun.of("fs", "cat", img + ":/lost+found");
        assertTrue(dir.err().contains("rump: " + img + ":/lost+found: Is a directory"), dir.err());
    }
}
