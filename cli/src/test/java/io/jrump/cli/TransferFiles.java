package io.jrump.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;

/** The files the network interop tests serve and fetch: seeded random content, and its digest. */
final class TransferFiles {
    private TransferFiles() {
    }

    /** The SHA-256 of {@code f}'s bytes. */
    static byte[] sha256(Path f) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (var in = Files.newInputStream(f)) {
            byte[] b = new byte[1 << 20];
            int n;
            while ((n = in.read(b)) > 0) {
                md.update(b, 0, n);
            }
        }
        return md.digest();
    }

    /** Writes {@code size} random bytes from {@code seed} to {@code f}. */
    static void randomFile(Path f, long size, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(f)) {
            for (long left = size; left > 0; left -= b.length) {
                for (int i = 0; i < b.length; i += 8) {
                    long v = r.nextLong();
                    for (int k = 0; k < 8; k++) {
                        b[i + k] = (byte) (v >>> (8 * k));
                    }
                }
                out.write(b, 0, (int) Math.min(b.length, left));
            }
        }
    }
}
