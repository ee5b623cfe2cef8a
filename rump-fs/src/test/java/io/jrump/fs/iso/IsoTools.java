package io.jrump.fs.iso;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.sys.OpenFlags;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** xorriso, genisoimage, isoinfo and 7z run from tests: a missing tool fails the test, it does not skip it. */
final class IsoTools {
    private IsoTools() {
    }

    static int exec(StringBuilder out, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        return p.exitValue();
    }

    /** Runs a command that must succeed; returns its output. */
    static String run(String... cmd) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, cmd), String.join(" ", cmd) + ":\n" + out);
        return out.toString();
    }

    /** A VFS with the image mounted at "/" the way applications open images: read-write asked, no options. */
    static Vfs mount(Hypercalls host, Path img) throws Exception {
        return Mounts.mountImage(host, img.toString(), Mounts.Options.defaults());
    }

    /** The whole file at {@code path}. */
    static byte[] readAll(Vfs vfs, String path) throws Exception {
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(256 * 1024);
            while (true) {
                b.clear();
                int n = vfs.read(fd, b);
                if (n <= 0) {
                    return out.toByteArray();
                }
                out.write(b.array(), 0, n);
            }
        } finally {
            vfs.close(fd);
        }
    }

    static byte[] pread(Vfs vfs, String path, long pos, int n) throws Exception {
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
        try {
            ByteBuffer b = ByteBuffer.allocate(n);
            int got = vfs.pread(fd, b, pos);
            return java.util.Arrays.copyOf(b.array(), Math.max(0, got));
        } finally {
            vfs.close(fd);
        }
    }
}
