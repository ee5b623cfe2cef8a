package io.jrump.fs.fat;

/** The three FATs, by the width of an entry. */
public enum FatType {
    FAT12(12, 12, 0xFF7L, 0xFF8L, "FAT12"),
    FAT16(16, 16, 0xFFF7L, 0xFFF8L, "FAT16"),
    FAT32(28, 32, 0x0FFFFFF7L, 0x0FFFFFF8L, "FAT32");

    /** Bits of an entry that hold its value. */
    final int bits;
    /** Bits an entry takes on disk (FAT32 entries are 32 bits wide, of which 28 are used). */
    final int entryBits;
    /** The value marking a bad cluster. */
    final long bad;
    /** Values from here up end a chain. */
    final long endOfChain;
    final String label;

    FatType(int bits, int entryBits, long bad, long endOfChain, String label) {
        this.bits = bits;
        this.entryBits = entryBits;
        this.bad = bad;
        this.endOfChain = endOfChain;
        this.label = label;
    }

    /** The end-of-chain value written: all ones. */
    long eoc() {
        return bits == 28 ? 0x0FFFFFFFL : (1L << bits) - 1;
    }
}
