package io.jrump.fs.fat;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * DOS dates and times (fatgen103, 6.3): a date of year-since-1980, month and day, a time of
 * hours, minutes and two-second units, and for creation a count of 10 ms units. They carry no
 * time zone: they are read and written in UTC shifted by the mount's {@code time_offset}
 * (Linux's {@code tz=UTC} is offset 0, the default here).
 */
final class FatTime {
    static final int MIN_YEAR = 1980;
    static final int MAX_YEAR = 2107;

    private FatTime() {
    }

    /** Nanoseconds since the epoch for a date and time (and 10 ms units); an invalid date reads as 1980-01-01. */
    static long toNanos(int date, int time, int tenths, int offsetMinutes) {
        int year = MIN_YEAR + (date >>> 9);
        int month = (date >>> 5) & 0x0f;
        int day = date & 0x1f;
        int hour = time >>> 11;
        int minute = (time >>> 5) & 0x3f;
        int second = (time & 0x1f) * 2;
        if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
            if (date == 0) {
                return 0; // never set (an access date of 0, say): the epoch, as Linux shows it
            }
            month = Math.min(Math.max(month, 1), 12);
            day = Math.min(Math.max(day, 1), 28);
            hour = Math.min(hour, 23);
            minute = Math.min(minute, 59);
            second = Math.min(second, 58);
        }
        day = Math.min(day, java.time.YearMonth.of(year, month).lengthOfMonth());
        long seconds = LocalDateTime.of(year, month, day, hour, minute, second).toEpochSecond(ZoneOffset.UTC)
                - offsetMinutes * 60L;
        long extra = Math.min(tenths, 199) * 10_000_000L; // 10 ms units, up to 1.99 s
        return seconds * 1_000_000_000L + extra;
    }

    /** {@code [date, time, tenths]} for a time, clamped to the years FAT can hold. */
    static int[] fromNanos(long nanos, int offsetMinutes) {
        long seconds = Math.floorDiv(nanos, 1_000_000_000L) + offsetMinutes * 60L;
        LocalDateTime t = LocalDateTime.ofEpochSecond(seconds, 0, ZoneOffset.UTC);
        if (t.getYear() < MIN_YEAR) {
            return new int[] {(0 << 9) | (1 << 5) | 1, 0, 0};
        }
        if (t.getYear() > MAX_YEAR) {
            return new int[] {(127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29, 199};
        }
        int date = (t.getYear() - MIN_YEAR) << 9 | t.getMonthValue() << 5 | t.getDayOfMonth();
        int time = t.getHour() << 11 | t.getMinute() << 5 | t.getSecond() / 2;
        long subNanos = Math.floorMod(nanos, 1_000_000_000L);
        int tenths = (t.getSecond() % 2) * 100 + (int) (subNanos / 10_000_000L);
        return new int[] {date, time, tenths};
    }
}
