package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** What the image-format tests share: running the outside tools, a raw truth, whole-device reads and writes. */
final class ImageTools {
    private ImageTools() {
    }

    /** Runs a command and returns its output; fails the test unless it exits {@code 0}. */
    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    static String qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        return run(cmd);
    }

    /** A raw disk of {@code size} bytes: random data in 8 KiB runs at some places, holes elsewhere. */
    static Path truth(Path dir, long size) throws Exception {
        Path raw = dir.resolve("truth.raw");
        Random r = new Random(17);
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(size);
            for (long at : new long[] {0, 3L << 20, (5L << 20) + 4096, 17L << 20, size - 8192}) {
                if (at + 8192 <= size) {
                    byte[] b = new byte[8192];
                    r.nextBytes(b);
                    f.seek(at);
                    f.write(b);
                }
            }
        }
        return raw;
    }

    /** A raw disk of {@code size} bytes with no holes: random data in every sector. */
    static Path full(Path dir, long size) throws Exception {
        Path raw = dir.resolve("full.raw");
        byte[] b = new byte[(int) size];
        new Random(23).nextBytes(b);
        java.nio.file.Files.write(raw, b);
        return raw;
    }

    static byte[] readAll(BlockDevice d) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate((int) d.size());
        d.read(0, b);
        return b.array();
    }

    /** Writes {@code data} at 0 in 1 MiB requests, as a convert would. */
    static void writeAll(BlockDevice d, byte[] data) throws ErrnoException {
        for (int at = 0; at < data.length; at += 1 << 20) {
            d.write(at, ByteBuffer.wrap(data, at, Math.min(1 << 20, data.length - at)).slice());
        }
    }
}
