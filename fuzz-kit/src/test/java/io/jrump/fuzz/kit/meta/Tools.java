package io.jrump.fuzz.kit.meta;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs an outside tool (e2fsck, sgdisk, qemu-img) on an image file; a missing tool fails the test. */
final class Tools {
    /** A tool's exit status and its stdout and stderr together. */
    record Run(int status, String output) {
    }

    private Tools() {
    }

    static Run run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    /** Writes {@code image} to a temporary file, runs {@code command} with the file's path appended. */
    static Run onImage(byte[] image, String... command) throws IOException, InterruptedException {
        Path f = Files.createTempFile("jrump-meta", ".img");
        try {
            Files.write(f, image);
            List<String> c = new ArrayList<>(List.of(command));
            c.add(f.toString());
            return run(c.toArray(String[]::new));
        } finally {
            Files.deleteIfExists(f);
        }
    }

    static int indexOf(byte[] image, String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + t.length <= image.length; i++) {
            for (int k = 0; k < t.length; k++) {
                if (image[i + k] != t[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
