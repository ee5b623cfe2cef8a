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
 * A FAT image through every way in that knows filesystem types: {@code rump fs mkfs vfat},
 * the read and write {@code rump fs} commands, {@code rump fs fsck}, {@code rump image info},
 * the nio provider — with {@code fsck.fat -n} and mtools as second opinions.
 */
class VfatCommandsTest {
    @TempDir
    Path dir;

    private static String tool(String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("MTOOLS_SKIP_CHECK", "1");
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
        RumpRun mkfs = ok("fs", "mkfs", "vfat", img.toString(), "--size", "64M", "-L", "STICK");
        assertTrue(mkfs.out().contains("vfat (FAT16)"), mkfs.out());
        Path local = Files.writeString(dir.resolve("notes.txt"), "twelve bytes");
        ok("fs", "mkdir", img + ":/My Documents");
        ok("fs", "cp", local.toString(), img + ":/My Documents/Notes for Later.txt");
        assertTrue(ok("fs", "ls", img + ":/My Documents").out().contains("Notes for Later.txt"));
        Path back = dir.resolve("back.txt");
        ok("fs", "cp", img + ":/my documents/NOTES FOR LATER.TXT", back.toString()); // names found in any case
        assertEquals("twelve bytes", Files.readString(back));
        assertTrue(ok("fs", "df", img.toString()).out().contains("(vfat)"));
        RumpRun fsck = ok("fs", "fsck", img.toString());
        assertTrue(fsck.out().contains("clean"), fsck.out());
        RumpRun info = ok("image", "info", img.toString());
        assertTrue(info.out().contains("vfat (FAT16)") && info.out().contains("label 'STICK'"), info.out());
        // A symlink cannot be made on FAT: the errno and why.
        RumpRun ln = RumpRun.of("fs", "ln", "-s", "x", img + ":/link");
        assertEquals(1, ln.code());
        assertTrue(ln.err().contains("Operation not permitted"), ln.err());

        tool("fsck.fat", "-n", img.toString());
        assertEquals("twelve bytes", tool("mtype", "-i", img.toString(), "::/My Documents/Notes for Later.txt"));

        // The nio provider: Files over the FAT image.
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            Path p = fs.getPath("/My Documents/Notes for Later.txt");
            assertEquals("twelve bytes", Files.readString(p));
            Files.writeString(fs.getPath("/from nio.txt"), "written through java.nio");
        }
        assertEquals("written through java.nio", tool("mtype", "-i", img.toString(), "::from nio.txt"));
        tool("fsck.fat", "-n", img.toString());
    }

    @Test
    void mkfsOfEachFatSize() throws Exception {
        for (String[] c : new String[][] {{"12", "4M"}, {"16", "32M"}, {"32", "64M"}}) {
            Path img = dir.resolve("fat" + c[0] + ".img");
            RumpRun r = ok("fs", "mkfs", "vfat", "--fat", c[0], img.toString(), "--size", c[1]);
            assertTrue(r.out().contains("vfat (FAT" + c[0] + ")"), r.out());
            String verbose = tool("fsck.fat", "-n", "-v", img.toString());
            assertTrue(verbose.contains((c[0].equals("32") ? "32" : c[0]) + " bit entries"), verbose);
        }
        RumpRun bad = RumpRun.of("fs", "mkfs", "vfat", "--fat", "16", dir.resolve("tiny.img").toString(), "--size", "1M");
        assertEquals(1, bad.code(), bad.out());
        assertTrue(bad.err().contains("too few for FAT16"), bad.err());
    }
}
