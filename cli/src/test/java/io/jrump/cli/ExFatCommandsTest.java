package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An exFAT image through every way in that knows filesystem types: {@code rump fs mkfs exfat},
 * the read and write {@code rump fs} commands, {@code rump fs fsck}, {@code rump image info},
 * the nio provider — with {@code fsck.exfat -n} as a second opinion.
 */
class ExFatCommandsTest {
    @TempDir
    Path dir;

    private static String tool(String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    private static RumpRun ok(String... args) {
        RumpRun r = RumpRun.of(args);
        assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
        return r;
    }

    @Test
    void mkfsThenTheFsCommandsThenTheTools() throws Exception {
        Path img = dir.resolve("stick.img");
        RumpRun mkfs = ok("fs", "mkfs", "exfat", img.toString(), "--size", "64M", "-L", "STICK", "--cluster-size", "8192");
        assertTrue(mkfs.out().contains("exfat, 64.0M, 8192-byte clusters, 8180 clusters"), mkfs.out());
        tool("fsck.exfat", "-n", img.toString());
        Path local = Files.writeString(dir.resolve("notes.txt"), "twelve bytes");
        ok("fs", "mkdir", img + ":/My Documents");
        ok("fs", "cp", local.toString(), img + ":/My Documents/Notes for Later.txt");
        assertTrue(ok("fs", "ls", img + ":/My Documents").out().contains("Notes for Later.txt"));
        Path back = dir.resolve("back.txt");
        ok("fs", "cp", img + ":/my documents/NOTES FOR LATER.TXT", back.toString()); // names found in any case
        assertEquals("twelve bytes", Files.readString(back));
        assertTrue(ok("fs", "df", img.toString()).out().contains("(exfat)"));
        RumpRun fsck = ok("fs", "fsck", img.toString());
        assertTrue(fsck.out().contains("clean"), fsck.out());
        RumpRun info = ok("image", "info", img.toString());
        assertTrue(info.out().contains("exfat, 8192-byte clusters") && info.out().contains("label 'STICK'"), info.out());
        RumpRun ln = RumpRun.of("fs", "ln", "-s", "x", img + ":/link");
        assertEquals(1, ln.code());
        assertTrue(ln.err().contains("Operation not permitted"), ln.err());
        tool("fsck.exfat", "-n", img.toString());

        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            Path p = fs.getPath("/My Documents/Notes for Later.txt");
            assertEquals("twelve bytes", Files.readString(p));
            Files.writeString(fs.getPath("/from nio.txt"), "written through java.nio");
        }
        tool("fsck.exfat", "-n", img.toString());
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            assertEquals("written through java.nio", Files.readString(fs.getPath("/FROM NIO.TXT")));
        }
    }

    @Test
    void mkfsRefusesOptionsOfOtherTypes() {
        RumpRun bad = RumpRun.of("fs", "mkfs", "exfat", "--fat", "16", dir.resolve("x.img").toString(), "--size", "8M");
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("--cluster-size"), bad.err());
        RumpRun size = RumpRun.of("fs", "mkfs", "exfat", "--cluster-size", "3000", dir.resolve("y.img").toString(),
                "--size", "8M");
        assertEquals(1, size.code(), size.out());
        assertTrue(size.err().contains("not a power of two"), size.err());
    }
}
