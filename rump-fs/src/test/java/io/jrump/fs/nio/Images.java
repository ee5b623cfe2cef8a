package io.jrump.fs.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/** Test images made by e2fsprogs and util-linux; a missing tool fails the test. */
final class Images {
    private Images() {
    }

    static String run(String... cmd) throws Exception {
        return runWithInput(null, cmd);
    }

    static String runWithInput(String input, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (input != null) {
            p.getOutputStream().write(input.getBytes(StandardCharsets.US_ASCII));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    /** {@code mke2fs -q -F -t ext4 -b 4096 [-d from] img 32M}. */
    static Path ext4(Path img, Path from) throws Exception {
        if (from == null) {
            run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", img.toString(), "32M");
        } else {
            run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", from.toString(), img.toString(), "32M");
        }
        return img;
    }

    /** {@code e2fsck -fn img} must exit 0. */
    static void assertClean(Path img) throws Exception {
        Process p = new ProcessBuilder("e2fsck", "-fn", img.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "e2fsck -fn " + img + ":\n" + out);
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
