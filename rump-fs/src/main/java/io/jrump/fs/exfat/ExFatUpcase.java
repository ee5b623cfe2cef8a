package io.jrump.fs.exfat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.ByteArrayOutputStream;

/**
 * The up-case table (exFAT specification, section 7.2): what every UTF-16 unit compares as in a
 * case-insensitive name match and in the name hash. Stored compressed: 0xFFFF followed by a
 * count stands for that many units that map to themselves.
 */
final class ExFatUpcase {
    private final char[] map = new char[0x10000];

    private ExFatUpcase() {
        for (int i = 0; i < map.length; i++) {
            map[i] = (char) i;
        }
    }

    /** Reads a table as stored ({@code bytes}), checking its checksum. */
    static ExFatUpcase parse(byte[] bytes, long storedChecksum) throws ErrnoException {
        int sum = checksum(bytes);
        if ((sum & 0xffff_ffffL) != storedChecksum) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("exFAT up-case table: TableChecksum 0x%08x, "
                    + "the table sums to 0x%08x", storedChecksum, sum));
        }
        ExFatUpcase u = new ExFatUpcase();
        int at = 0;
        for (int i = 0; i + 1 < bytes.length && at < 0x10000; i += 2) {
            int unit = (bytes[i] & 0xff) | (bytes[i + 1] & 0xff) << 8;
            if (unit == 0xFFFF && i + 3 < bytes.length) {
                i += 2;
                at += (bytes[i] & 0xff) | (bytes[i + 1] & 0xff) << 8; // a run left as it is
            } else {
                u.map[at++] = (char) unit;
            }
        }
        return u;
    }

    static int checksum(byte[] bytes) {
        int sum = 0;
        for (byte x : bytes) {
            sum = (sum >>> 1 | sum << 31) + (x & 0xff);
        }
        return sum;
    }

    /** The table that {@link ExFatMkfs} writes: Java's upper case of every BMP unit, compressed. */
    static byte[] standardCompressed() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int c = 0;
        while (c < 0x10000) {
            int run = 0;
            while (c + run < 0x10000 && upper(c + run) == c + run) {
                run++;
            }
            if (run >= 3 || (run > 0 && c + run == 0x10000)) {
                put(out, 0xFFFF);
                put(out, run);
                c += run;
            } else {
                put(out, upper(c));
                c++;
            }
        }
        return out.toByteArray();
    }

    private static int upper(int c) {
        return Character.toUpperCase((char) c);
    }

    private static void put(ByteArrayOutputStream out, int unit) {
        out.write(unit & 0xff);
        out.write(unit >>> 8);
    }

    static ExFatUpcase standard() {
        ExFatUpcase u = new ExFatUpcase();
        for (int c = 0; c < 0x10000; c++) {
            u.map[c] = (char) upper(c);
        }
        return u;
    }

    char up(char c) {
        return map[c];
    }

    String up(String s) {
        char[] a = s.toCharArray();
        for (int i = 0; i < a.length; i++) {
            a[i] = map[a[i]];
        }
        return new String(a);
    }

    /** NameHash (section 7.6.4): over the up-cased name, each unit low byte first. */
    int nameHash(String name) {
        int hash = 0;
        for (int i = 0; i < name.length(); i++) {
            char c = map[name.charAt(i)];
            hash = ((hash & 1) != 0 ? 0x8000 : 0) + (hash >>> 1) + (c & 0xff) & 0xffff;
            hash = ((hash & 1) != 0 ? 0x8000 : 0) + (hash >>> 1) + (c >>> 8) & 0xffff;
        }
        return hash;
    }
}
