package io.jrump.fs.fat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * 8.3 short names: the 11 bytes of a directory entry in the OEM code page (437, as Linux's
 * default {@code codepage=437}), their display, the checksum that ties long-name entries to
 * them, and the short name made for a new long name — with Windows NT's lower-case flags when
 * the name fits 8.3 in one case (as Linux's {@code shortname=mixed} makes them), else with a
 * numeric tail ({@code LONGNA~1.TXT}) and long-name entries.
 */
final class ShortName {
    static final Charset OEM = Charset.isSupported("IBM437") ? Charset.forName("IBM437") : StandardCharsets.ISO_8859_1;
    /** NT reserved byte flags: the base name, the extension, is shown in lower case. */
    static final int LOWER_BASE = 0x08;
    static final int LOWER_EXT = 0x10;
    /** The longest long name, in UTF-16 code units. */
    static final int MAX_LONG = 255;
    private static final String SPECIAL = "!#$%&'()-@^_`{}~";
    private static final String INVALID_LONG = "\"*/:<>?\\|";
    private static final String REPLACED = "+,;=[]";

    /** A short name to write: its 11 bytes, the NT case flags, and whether long-name entries go with it. */
    record Plan(byte[] name, int caseFlags, boolean needsLongName) {
    }

    private ShortName() {
    }

    /** The name as shown: base, a dot and the extension if there is one, in the case the flags say. */
    static String display(byte[] raw, int ntFlags) {
        byte[] b = raw.clone();
        if ((b[0] & 0xff) == 0x05) {
            b[0] = (byte) 0xE5; // 0xE5 is the deleted mark; a name starting with it is stored as 0x05
        }
        String base = rtrim(new String(b, 0, 8, OEM));
        String ext = rtrim(new String(b, 8, 3, OEM));
        if ((ntFlags & LOWER_BASE) != 0) {
            base = base.toLowerCase(Locale.ROOT);
        }
        if ((ntFlags & LOWER_EXT) != 0) {
            ext = ext.toLowerCase(Locale.ROOT);
        }
        return ext.isEmpty() ? base : base + "." + ext;
    }

    /** The checksum long-name entries carry of the short name they belong to (fatgen103, 7). */
    static int checksum(byte[] name11) {
        int sum = 0;
        for (int i = 0; i < 11; i++) {
            sum = ((sum & 1) << 7) + (sum >>> 1) + (name11[i] & 0xff);
            sum &= 0xff;
        }
        return sum;
    }

    /**
     * A name as vfat stores it: trailing dots and spaces dropped (as Linux's vfat drops them).
     *
     * @throws ErrnoException {@code EINVAL} for a character FAT cannot hold or a name that is
     *     empty once trimmed, {@code ENAMETOOLONG} past 255 UTF-16 units
     */
    static String checkLongName(String name) throws ErrnoException {
        int end = name.length();
        while (end > 0 && (name.charAt(end - 1) == '.' || name.charAt(end - 1) == ' ')) {
            end--;
        }
        String n = name.substring(0, end);
        if (n.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "vfat: name '" + name + "' is empty without its trailing dots and spaces");
        }
        if (n.length() > MAX_LONG) {
            throw new ErrnoException(Errno.ENAMETOOLONG, "vfat: a name holds at most 255 UTF-16 units, not " + n.length());
        }
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (c < 0x20 || INVALID_LONG.indexOf(c) >= 0) {
                throw new ErrnoException(Errno.EINVAL, String.format(Locale.ROOT,
                        "vfat: name '%s' holds character U+%04X, which FAT names cannot", name, (int) c));
            }
        }
        return n;
    }

    /**
     * The short name for a checked long name: the name itself if it is a valid 8.3 name in one
     * case per part (then no long-name entries), else a generated one with a numeric tail that
     * {@code taken} does not hold.
     */
    static Plan plan(String longName, Predicate<byte[]> taken) throws ErrnoException {
        Plan exact = exact(longName);
        if (exact != null && !taken.test(exact.name)) {
            return exact;
        }
        String upper = longName.toUpperCase(Locale.ROOT);
        // Leading dots and every space go; the base is what precedes the last dot.
        String stripped = upper.replace(" ", "");
        int lead = 0;
        while (lead < stripped.length() && stripped.charAt(lead) == '.') {
            lead++;
        }
        stripped = stripped.substring(lead);
        int dot = stripped.lastIndexOf('.');
        String base = dot < 0 ? stripped : stripped.substring(0, dot).replace(".", "");
        String ext = dot < 0 ? "" : stripped.substring(dot + 1);
        byte[] b = oem(base);
        byte[] e = oem(ext);
        byte[] name = new byte[11];
        java.util.Arrays.fill(name, (byte) ' ');
        System.arraycopy(e, 0, name, 8, Math.min(3, e.length));
        for (int n = 1; n < 1_000_000; n++) {
            String tail = "~" + n;
            int keep = Math.min(b.length, 8 - tail.length());
            java.util.Arrays.fill(name, 0, 8, (byte) ' ');
            System.arraycopy(b, 0, name, 0, keep);
            byte[] t = tail.getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(t, 0, name, keep, t.length);
            if (name[0] == (byte) 0xE5) {
                name[0] = 0x05;
            }
            if (!taken.test(name)) {
                return new Plan(name.clone(), 0, true);
            }
        }
        throw new ErrnoException(Errno.ENOSPC, "vfat: no free short name for '" + longName + "'");
    }

    /** The name as a short name if it is one: 1-8 base, 0-3 extension, valid characters, one case per part. */
    private static Plan exact(String name) {
        if (name.equals(".") || name.equals("..")) {
            return null;
        }
        int dot = name.indexOf('.');
        if (dot != name.lastIndexOf('.') || dot == 0) {
            return null;
        }
        String base = dot < 0 ? name : name.substring(0, dot);
        String ext = dot < 0 ? "" : name.substring(dot + 1);
        if (base.isEmpty() || base.length() > 8 || ext.length() > 3) {
            return null;
        }
        int baseCase = caseOf(base);
        int extCase = caseOf(ext);
        if (baseCase < 0 || extCase < 0) {
            return null; // mixed case within a part, or a character a short name cannot hold
        }
        byte[] b = strictOem(base.toUpperCase(Locale.ROOT));
        byte[] e = strictOem(ext.toUpperCase(Locale.ROOT));
        if (b == null || e == null || b.length != base.length() || e.length != ext.length()) {
            return null;
        }
        byte[] out = new byte[11];
        java.util.Arrays.fill(out, (byte) ' ');
        System.arraycopy(b, 0, out, 0, b.length);
        System.arraycopy(e, 0, out, 8, e.length);
        if (out[0] == (byte) 0xE5) {
            out[0] = 0x05;
        }
        int flags = (baseCase == 1 ? LOWER_BASE : 0) | (extCase == 1 ? LOWER_EXT : 0);
        return new Plan(out, flags, false);
    }

    /** 0 upper (or no letters), 1 lower, -1 mixed or not a short-name character. */
    private static int caseOf(String part) {
        boolean upper = false;
        boolean lower = false;
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            if (c >= 'a' && c <= 'z') {
                lower = true;
            } else if (c >= 'A' && c <= 'Z') {
                upper = true;
            } else if (!(c >= '0' && c <= '9') && SPECIAL.indexOf(c) < 0 && c < 0x80) {
                return -1;
            } else if (c >= 0x80 && Character.isLetter(c)
                    && Character.toUpperCase(c) != c) {
                return -1; // a lower-case non-ASCII letter: keep its case in a long name
            }
        }
        if (upper && lower) {
            return -1;
        }
        return lower ? 1 : 0;
    }

    /** The OEM bytes of a part, each character that is not a short-name character made '_'. */
    private static byte[] oem(String part) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SPECIAL.indexOf(c) >= 0
                    || (c >= 0x80 && strictOem(String.valueOf(c)) != null);
            s.append(ok && REPLACED.indexOf(c) < 0 ? c : '_');
        }
        byte[] b = strictOem(s.toString());
        return b == null ? s.toString().replaceAll("[^\\x20-\\x7e]", "_").getBytes(StandardCharsets.US_ASCII) : b;
    }

    private static byte[] strictOem(String s) {
        CharsetEncoder enc = OEM.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            ByteBuffer b = enc.encode(CharBuffer.wrap(s));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Case-insensitive equality of names, as vfat looks names up: per UTF-16 unit, upper-cased. */
    static boolean sameName(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y && Character.toUpperCase(x) != Character.toUpperCase(y)) {
                return false;
            }
        }
        return true;
    }

    private static String rtrim(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == ' ') {
            end--;
        }
        return s.substring(0, end);
    }
}
