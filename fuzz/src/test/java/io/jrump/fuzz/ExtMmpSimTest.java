package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.ext.MmpHost;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ext4 multi-mount protection on the simulation host: the 11 seconds e2fsprogs waits on a clean
 * MMP block pass in virtual time (the host's clock and scheduler), not in real time; the block
 * is CLEAN after unmount, as {@code debugfs dump_mmp} shows.
 */
class ExtMmpSimTest {
    @TempDir
    Path dir;

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    @Test
    void theWaitsPassInVirtualTime() throws Exception {
        Path img = dir.resolve("m.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "mmp", img.toString(), "8M");
        byte[] image = Files.readAllBytes(img);
        SimHost host = new SimWorld(1).newHost("sim");
        HostDisk disk = HostDisk.create(host, "d", image.length);
        disk.write(0, ByteBuffer.wrap(image));
        long virtualStart = host.clock().monotonicNanos();
        long realStart = System.nanoTime();
        ExtVfs fs = ExtVfs.mount(disk, ExtFs.MountOptions.readWrite(host.clock()::wallNanos).withMmp(MmpHost.of(host)));
        try {
            assertFalse(fs.isReadOnly());
            assertTrue(host.clock().monotonicNanos() - virtualStart >= 11_000_000_000L, "2 x 5 s + 1 s of virtual time");
            assertTrue(System.nanoTime() - realStart < 5_000_000_000L, "not in real time");
        } finally {
            fs.close();
        }
        ByteBuffer back = ByteBuffer.allocate(image.length);
        disk.read(0, back);
        Files.write(img, back.array());
        String mmp = run("debugfs", "-R", "dump_mmp", img.toString());
        assertTrue(mmp.contains("sequence: ff4d4d50"), mmp);
        assertTrue(mmp.contains("node_name: " + host.params().hostname()), mmp);
        run("e2fsck", "-fn", img.toString());
    }
}
