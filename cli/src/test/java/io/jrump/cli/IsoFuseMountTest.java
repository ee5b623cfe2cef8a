package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump mount} of an ISO9660 image made by {@code xorriso -as mkisofs -R -J}, through the
 * kernel's FUSE driver, as FuseMountInteropTest does for ext4: {@code diff -r} against the source
 * tree, a write refused with "Read-only file system", {@code rump umount}. Needs root and
 * {@code /dev/fuse}; a missing xorriso fails it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount(2) of /dev/fuse); ./run-tests, as root, runs it")
class IsoFuseMountTest {
    @TempDir
    Path dir;

    private static String run(int expectedExit, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(expectedExit, p.exitValue(), String.join(" ", cmd) + "\n" + out);
        return out;
    }

    private Path mnt;

    @AfterEach
    void unmountLeftovers() throws Exception {
        if (mnt != null && MountCommand.isMounted(mnt.toAbsolutePath().normalize())) {
            new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor();
        }
    }

    @Test
    void mountedIsoReadsLikeItsSourceAndRefusesWrites() throws Exception {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("a/b"));
        Files.writeString(src.resolve("hello.txt"), "hello through FUSE\n");
        byte[] data = new byte[2_000_000];
        new java.util.Random(5).nextBytes(data);
        Files.write(src.resolve("a/b/data.bin"), data);
        Files.createSymbolicLink(src.resolve("link"), Path.of("a/b/data.bin"));
        Path img = dir.resolve("fuse.iso");
        run(0, "xorriso", "-as", "mkisofs", "-R", "-J", "-o", img.toString(), src.toString());
        mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        CompletableFuture<RumpRun> served = RumpRun.mountInForeground(img.toString(), mnt);
        Path abs = mnt.toAbsolutePath().normalize();
        run(0, "diff", "-r", "--no-dereference", src.toString(), mnt.toString());
        String touch = run(1, "touch", mnt.resolve("new").toString());
        assertTrue(touch.contains("Read-only file system"), touch);
        RumpRun.expect(0, "umount", mnt.toString());
        RumpRun r = served.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertFalse(MountCommand.isMounted(abs));
    }
}
