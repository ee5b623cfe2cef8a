package io.jrump.fuzz.kit.meta;

import java.util.List;

/**
 * A base image, its {@link MetadataMap} and a {@link ChecksumFixer} — or several such bases — that
 * turn a fuzz input into an image. The input's first byte holds options: bit 0
 * ({@link #KEEP_CHECKSUMS}), and with several bases bits 1-3 choose one (modulo their number);
 * the rest is the blob, spliced over the chosen base's metadata regions; then, unless bit 0 says
 * otherwise, the checksums are rewritten. The bases' data blocks never reach the fuzzer.
 */
public final class MetadataFuzz {
    /** Option bit: leave the checksums as the blob has them, so that checksum verification is fuzzed too. */
    public static final int KEEP_CHECKSUMS = 1;

    /** Bits 1-3 of the options byte: which base, with several. */
    private static final int BASE_SHIFT = 1;
    private static final int BASE_BITS = 7;

    private final byte[] base;
    private final MetadataMap map;
    private final ChecksumFixer fixer;
    private final List<MetadataFuzz> choices;

    private MetadataFuzz(byte[] base, MetadataMap map, ChecksumFixer fixer, List<MetadataFuzz> choices) {
        this.base = base.clone();
        this.map = map;
        this.fixer = fixer;
        this.choices = choices;
    }

    /** Fuzzes {@code base}'s regions in {@code map}, fixing checksums with {@code fixer}. */
    public static MetadataFuzz of(byte[] base, MetadataMap map, ChecksumFixer fixer) {
        return new MetadataFuzz(base, map, fixer, List.of());
    }

    /**
     * Several bases (at most 8), one per input chosen by bits 1-3 of its options byte; the first
     * is the one {@link #map()}, {@link #base()} and {@link #seed()} speak of.
     */
    public static MetadataFuzz oneOf(List<MetadataFuzz> bases) {
        if (bases.isEmpty() || bases.size() > BASE_BITS + 1) {
            throw new IllegalArgumentException("1 to 8 bases, not " + bases.size());
        }
        MetadataFuzz first = bases.get(0);
        return new MetadataFuzz(first.base, first.map, first.fixer, List.copyOf(bases));
    }

    /** How many bases there are (1 unless made by {@link #oneOf}). */
    public int bases() {
        return Math.max(1, choices.size());
    }

    /** The (first) base's map. */
    public MetadataMap map() {
        return map;
    }

    /** A copy of the (first) base image. */
    public byte[] base() {
        return base.clone();
    }

    /** The input that gives back the (first) base image: options 0, then its full blob. */
    public byte[] seed() {
        return seed(0, map.extract(base));
    }

    /** The input that gives back base {@code index}: options choosing it, then its full blob. */
    public byte[] seed(int index) {
        MetadataFuzz b = choices.isEmpty() ? this : choices.get(index);
        return seed(index << BASE_SHIFT, b.map.extract(b.base));
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
        if (!choices.isEmpty()) {
            return choices.get((input[0] >> BASE_SHIFT & BASE_BITS) % choices.size()).image(input);
        }
        byte[] image = map.splice(base, input, 1, input.length - 1);
        if ((input[0] & KEEP_CHECKSUMS) == 0) {
            fixer.fix(image);
        }
        return image;
    }
}
