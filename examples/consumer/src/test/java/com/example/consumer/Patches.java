package com.example.consumer;

/**
 * The consumer's own decoding of a fuzz input into patches of an image: records of a 16-bit
 * big-endian offset, a length byte and that many bytes, each written at the offset modulo
 * {@code window}.
 *
 * <p><b>A bug planted on purpose</b>, for the replay test ({@link FindingReplayTest}): a record
 * whose length runs past the end of the input is not checked, so {@code System.arraycopy} throws
 * {@link ArrayIndexOutOfBoundsException}. Fuzzing finds it at once; the crash file Jazzer
 * wrote is src/test/findings/crash-877e7d8fe186cd2de6d68e36039d3b3b5e587241. The seeds are
 * well-formed, so {@code mvn test} passes.
 */
final class Patches {
    private Patches() {
    }

    static void apply(byte[] input, byte[] image, int window) {
        int i = 0;
        while (i + 3 <= input.length) {
            int at = ((input[i] & 0xff) << 8 | (input[i + 1] & 0xff)) % window;
            int n = input[i + 2] & 0xff;
            int fits = Math.min(n, image.length - at);
            System.arraycopy(input, i + 3, image, at, fits); // planted: no check that n bytes remain
            i += 3 + n;
        }
    }
}
