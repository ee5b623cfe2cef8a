package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedTest {
    @TempDir
    Path dir;

    @Test
    void twoEmbeddedStacksTalkTcp() throws Exception {
        assertEquals("hello, jrump", Embedded.tcpHello("jrump"));
    }

    /** The image is {@code mke2fs -q -F -t ext4 -d tree disk.img 8M}; fails if mke2fs is missing. */
    @Test
    void anExt4ImageFromMke2fsListsAndReads() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree/etc"));
        Files.writeString(tree.resolve("hostname"), "consumer\n");
        Path img = dir.resolve("disk.img");
        Process p = new ProcessBuilder(mke2fs(), "-q", "-F", "-t", "ext4", "-d", dir.resolve("tree").toString(),
                img.toString(), "8M").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "mke2fs failed: " + out);

        List<String> names = Embedded.list(img.toString(), "/");
        assertTrue(names.containsAll(List.of("etc", "lost+found")), names::toString);
        assertEquals(List.of("hostname"), Embedded.list(img.toString(), "/etc").stream()
                .filter(n -> !n.equals(".") && !n.equals("..")).toList());
        assertEquals("consumer\n", Embedded.read(img.toString(), "/etc/hostname"));
    }

    private static String mke2fs() {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "mke2fs"))) {
                return Path.of(d, "mke2fs").toString();
            }
        }
        throw new AssertionError("mke2fs not found (Debian package e2fsprogs)");
    }
}
