package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** e2fsprogs run from tests: a missing tool fails the test, it does not skip it. */
final class ExtTools {
    private ExtTools() {
    }

    static int exec(StringBuilder out, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1));
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        return p.exitValue();
    }

    /** Runs a command that must succeed; returns its output. */
    static String run(String... cmd) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, cmd), String.join(" ", cmd) + ":\n" + out);
        return out.toString();
    }

    /** {@code e2fsck -fn} must find nothing to fix. */
    static void assertClean(Path img) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "e2fsck", "-fn", img.toString());
        assertEquals(0, rc, "e2fsck -fn " + img + ":\n" + out);
    }

    /** A file's contents as {@code debugfs -R 'cat PATH'} prints them. */
    static byte[] debugfsCat(Path img, String path) throws Exception {
        Process p = new ProcessBuilder("debugfs", "-R", "cat " + path, img.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] data = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return data;
    }

    /** Mounts the ext image read-write on {@code host}, with {@link ExtWriteTest#NOW} as the clock. */
    static ExtVfs mountReadWrite(io.jrump.host.jvm.JvmHost host, Path img) throws Exception {
        return ExtVfs.mount(io.jrump.blk.HostDisk.open(host, img.toString(),
                io.jrump.hypercall.BlockDevices.OpenMode.READ_WRITE), ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
    }

    static void mke2fs(Path img, String type, int blockSize, String size, String... extra) throws Exception {
        String[] cmd = new String[8 + extra.length];
        int i = 0;
        cmd[i++] = "mke2fs";
        cmd[i++] = "-q";
        cmd[i++] = "-F";
        cmd[i++] = "-t";
        cmd[i++] = type;
        cmd[i++] = "-b";
        cmd[i++] = Integer.toString(blockSize);
        for (String e : extra) {
            cmd[i++] = e;
        }
        cmd[i] = img.toString();
        String[] withSize = java.util.Arrays.copyOf(cmd, cmd.length + 1);
        withSize[cmd.length] = size;
        run(withSize);
    }
}
