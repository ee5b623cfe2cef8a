package io.jrump.fuzz.kit.meta;

/**
 * A base image, its {@link MetadataMap} and a {@link ChecksumFixer}: turns a fuzz input into an
 * image. The input's first byte holds options ({@link #KEEP_CHECKSUMS}); the rest is the blob,
 * spliced over the base's metadata regions; then, unless the option says otherwise, the
 * checksums are rewritten. The base's data blocks never reach the fuzzer.
 */
public final class MetadataFuzz {
    /** Option bit: leave the checksums as the blob has them, so that checksum verification is fuzzed too. */
    public static final int KEEP_CHECKSUMS = 1;

    private final byte[] base;
    private final MetadataMap map;
    private final ChecksumFixer fixer;

    private MetadataFuzz(byte[] base, MetadataMap map, ChecksumFixer fixer) {
        this.base = base.clone();
        this.map = map;
        this.fixer = fixer;
    }

    /** Fuzzes {@code base}'s regions in {@code map}, fixing checksums with {@code fixer}. */
    public static MetadataFuzz of(byte[] base, MetadataMap map, ChecksumFixer fixer) {
        return new MetadataFuzz(base, map, fixer);
    }

    /** The map. */
    public MetadataMap map() {
        return map;
    }

    /** A copy of the base image. */
    public byte[] base() {
        return base.clone();
    }

    /** The input that gives back the base image: options 0, then the base's full blob. */
    public byte[] seed() {
        return seed(0, map.extract(base));
    }

    /** An input of the given options and blob (to write seeds with). */
    public static byte[] seed(int options, byte[] blob) {
        byte[] input = new byte[blob.length + 1];
        input[0] = (byte) options;
        System.arraycopy(blob, 0, input, 1, blob.length);
        return input;
    }

    /** The image {@code input} stands for: the base with the blob spliced in, checksums fixed unless kept. */
    public byte[] image(byte[] input) {
        if (input.length == 0) {
            return base.clone();
        }
        byte[] image = map.splice(base, input, 1, input.length - 1);
        if ((input[0] & KEEP_CHECKSUMS) == 0) {
            fixer.fix(image);
        }
        return image;
    }
}
