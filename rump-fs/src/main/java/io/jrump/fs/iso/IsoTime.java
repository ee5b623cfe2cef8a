package io.jrump.fs.iso;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/** ECMA-119 timestamps: the 7-byte recording date (9.1.5) and the 17-byte digits form (8.4.26.1). */
final class IsoTime {
    /** What a missing or impossible date reads as. */
    static final long NONE = 0;

    private IsoTime() {
    }

    /** The 7-byte form at {@code off}: years since 1900, month, day, hour, minute, second, GMT offset in 15-minute units. */
    static long short7(byte[] b, int off) {
        int year = 1900 + (b[off] & 0xff);
        int month = b[off + 1] & 0xff;
        int day = b[off + 2] & 0xff;
        return epochNanos(year, month, day, b[off + 3] & 0xff, b[off + 4] & 0xff, b[off + 5] & 0xff, 0, b[off + 6]);
    }

    /** The 17-byte form: "YYYYMMDDhhmmsscc" in ASCII digits, then the GMT offset byte. */
    static long long17(byte[] b, int off) {
        int[] v = new int[7];
        int[] widths = {4, 2, 2, 2, 2, 2, 2};
        int p = off;
        for (int i = 0; i < widths.length; i++) {
            int x = 0;
            for (int k = 0; k < widths[i]; k++) {
                int c = b[p++] - '0';
                if (c < 0 || c > 9) {
                    return NONE; // all zeros or spaces: "not specified"
                }
                x = x * 10 + c;
            }
            v[i] = x;
        }
        return epochNanos(v[0], v[1], v[2], v[3], v[4], v[5], v[6] * 10_000_000L, b[off + 16]);
    }

    private static long epochNanos(int year, int month, int day, int hour, int minute, int second, long nanos,
            int gmtOffset15) {
        if (month == 0 && day == 0) {
            return NONE;
        }
        // Offsets beyond -48..+52 are out of range; Linux ignores them rather than refusing the date.
        int offset = gmtOffset15 >= -48 && gmtOffset15 <= 52 ? gmtOffset15 * 15 * 60 : 0;
        try {
            long local = LocalDateTime.of(year, month, day, hour, minute, second).toEpochSecond(ZoneOffset.UTC);
            return (local - offset) * 1_000_000_000L + nanos;
        } catch (DateTimeException e) {
            return NONE;
        }
    }
}
