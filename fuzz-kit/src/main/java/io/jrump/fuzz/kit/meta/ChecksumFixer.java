package io.jrump.fuzz.kit.meta;

/**
 * Rewrites an image's checksums in place so that they match its (mutated) metadata: the
 * mutations then get past the checksum gates to the code behind them.
 */
@FunctionalInterface
public interface ChecksumFixer {
    /** For formats without checksums (FAT, qcow2): leaves the image as it is. */
    ChecksumFixer NONE = image -> { };

    /** Rewrites the checksums of {@code image}; trusts nothing in it (a structure it cannot follow stays as is). */
    void fix(byte[] image);
}
