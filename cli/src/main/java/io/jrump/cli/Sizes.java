package io.jrump.cli;

import java.util.Locale;

/** Sizes as users type them: {@code 512M}, {@code 2G}, {@code 1.5T}, {@code 4096}; and back. */
final class Sizes {
    private Sizes() {
    }

    /** Parses a byte count with an optional K/M/G/T suffix (powers of 1024; "iB"/"B" allowed). */
    static long parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replaceFirst("I?B$", "");
        long unit = 1;
        if (!t.isEmpty()) {
            int shift = "KMGTP".indexOf(t.charAt(t.length() - 1));
            if (shift >= 0) {
                unit = 1L << (10 * (shift + 1));
                t = t.substring(0, t.length() - 1);
            }
        }
        if (!t.matches("\\d+(\\.\\d+)?")) {
            throw new IllegalArgumentException("not a size: '" + text + "' (try 512M, 2G or a byte count)");
        }
        double v = Double.parseDouble(t) * unit;
        if (v > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("size too large: '" + text + "'");
        }
        return (long) v;
    }

    /** A short human form: {@code 512.0M}, {@code 2.0G}, {@code 700B}. */
    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String units = "KMGTPE";
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length() - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f%c", v, units.charAt(i));
    }
}
