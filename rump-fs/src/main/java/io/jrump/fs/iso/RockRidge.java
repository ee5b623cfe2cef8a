package io.jrump.fs.iso;

import io.jrump.hypercall.ErrnoException;
import java.nio.charset.StandardCharsets;

/**
 * What the System Use Sharing Protocol (SUSP 1.12) entries of one directory record say under the
 * Rock Ridge Interchange Protocol (RRIP 1.09 and 1.12): POSIX attributes (PX), device numbers
 * (PN), symbolic link (SL), name (NM), times (TF), deep directory relocation (CL, PL, RE), and the
 * SUSP entries that steer the walk (SP, CE, ER, ST). Continuation areas are followed a bounded
 * number of times and bytes.
 */
final class RockRidge {
    /** At most this many continuation areas per record, and this many bytes in all of them. */
    static final int MAX_CONTINUATIONS = 32;
    static final int MAX_CONTINUATION_BYTES = 64 * 1024;
    /** Names and link targets longer than this are refused rather than grown without end. */
    static final int MAX_TEXT = 4096;

    boolean any;          // some Rock Ridge entry was seen
    boolean sp;           // SP: the SUSP indicator (root "." record only)
    int spSkip;           // SP's LEN_SKP: bytes to skip at the start of every other System Use field
    boolean er;           // ER: an extensions reference
    int mode = -1;        // PX
    int nlink = -1;
    long uid = -1;
    long gid = -1;
    long serial = -1;     // PX's file serial number (RRIP 1.12 only)
    long rdev = -1;       // PN, as a Linux dev_t
    StringBuilder name;   // NM, if any
    StringBuilder link;   // SL, if any
    private boolean linkNeedsSlash;
    long atime = Long.MIN_VALUE;
    long mtime = Long.MIN_VALUE;
    long ctime = Long.MIN_VALUE;
    long childLink = -1;  // CL: the relocated directory's block
    long parentLink = -1; // PL: the original parent's block
    boolean relocated;    // RE: this record is the relocated directory itself, hidden from its parent
    boolean compressed;   // ZF: zisofs data, not read

    private RockRidge() {
    }

    /**
     * Parses the System Use field of {@code rec}, skipping {@code skip} bytes (SP's LEN_SKP), and
     * the continuation areas it points to.
     */
    static RockRidge parse(IsoDevice dev, DirRecord rec, int skip) throws ErrnoException {
        RockRidge rr = new RockRidge();
        byte[] area = rec.systemUse();
        int start = Math.min(skip, area.length);
        String where = rec.where();
        int continuations = 0;
        int continuationBytes = 0;
        while (area != null) {
            long[] ce = rr.entries(area, start, where);
            area = null;
            if (ce != null) {
                continuations++;
                continuationBytes += (int) ce[2];
                if (continuations > MAX_CONTINUATIONS || continuationBytes > MAX_CONTINUATION_BYTES) {
                    throw IsoErrors.corrupt(where + ": more than " + MAX_CONTINUATIONS + " SUSP continuation areas or "
                            + MAX_CONTINUATION_BYTES + " bytes in them (a CE loop?)");
                }
                if (ce[1] >= IsoDevice.BLOCK) {
                    throw IsoErrors.corrupt(where + ": CE offset " + ce[1] + " lies outside its 2048-byte block");
                }
                where = "SUSP continuation area at block " + ce[0] + " offset " + ce[1];
                area = dev.bytes(ce[0] * IsoDevice.BLOCK + ce[1], (int) ce[2], where);
                start = 0;
            }
        }
        return rr;
    }

    /** Reads the entries in {@code a} from {@code pos}; returns the CE (block, offset, length) if one was seen. */
    private long[] entries(byte[] a, int pos, String where) throws ErrnoException {
        long[] ce = null;
        while (pos + 4 <= a.length) {
            int sig = (a[pos] & 0xff) << 8 | (a[pos + 1] & 0xff);
            int len = a[pos + 2] & 0xff;
            if (sig == 0) {
                break; // padding
            }
            String entry = where + ": SUSP entry " + sigName(sig) + " at byte " + pos;
            if (len < 4 || pos + len > a.length) {
                throw IsoErrors.corrupt(entry + ": length " + len + " does not fit the " + (a.length - pos)
                        + " bytes left");
            }
            switch (sig) {
                case 0x5350 -> { // SP
                    need(entry, len, 7);
                    if ((a[pos + 4] & 0xff) == 0xBE && (a[pos + 5] & 0xff) == 0xEF) {
                        sp = true;
                        spSkip = a[pos + 6] & 0xff;
                    }
                }
                case 0x4345 -> { // CE
                    need(entry, len, 28);
                    long length = DirRecord.le32(a, pos + 20);
                    if (length > MAX_CONTINUATION_BYTES) {
                        throw IsoErrors.corrupt(entry + ": continuation area of " + length + " bytes");
                    }
                    ce = new long[] {DirRecord.le32(a, pos + 4), DirRecord.le32(a, pos + 12), length};
                }
                case 0x4552 -> er = true; // ER
                case 0x5354 -> { // ST: nothing more in this area
                    return ce;
                }
                case 0x5058 -> { // PX: 36 bytes in RRIP 1.09, 44 with the serial number in 1.12
                    need(entry, len, 36);
                    any = true;
                    mode = (int) DirRecord.le32(a, pos + 4);
                    nlink = (int) Math.min(Integer.MAX_VALUE, DirRecord.le32(a, pos + 12));
                    uid = DirRecord.le32(a, pos + 20);
                    gid = DirRecord.le32(a, pos + 28);
                    if (len >= 44) {
                        serial = DirRecord.le32(a, pos + 36);
                    }
                }
                case 0x504E -> { // PN
                    need(entry, len, 20);
                    any = true;
                    long high = DirRecord.le32(a, pos + 4);
                    long low = DirRecord.le32(a, pos + 12);
                    // genisoimage writes major and minor in the two halves; libisofs (xorriso) a
                    // whole dev_t in the low half, high 0. Either way, Linux's encoding, as
                    // Attributes.rdev holds it.
                    rdev = high != 0 ? makedev(high, low) : low;
                }
                case 0x534C -> { // SL
                    need(entry, len, 5);
                    any = true;
                    symlink(a, pos + 5, pos + len, entry);
                }
                case 0x4E4D -> { // NM
                    need(entry, len, 5);
                    any = true;
                    int flags = a[pos + 4] & 0xff;
                    if ((flags & 0x06) == 0) { // CURRENT and PARENT name "." and "..": the record says which
                        if (name == null) {
                            name = new StringBuilder();
                        }
                        append(name, new String(a, pos + 5, len - 5, StandardCharsets.UTF_8), entry);
                    }
                }
                case 0x5446 -> { // TF
                    need(entry, len, 5);
                    any = true;
                    times(a, pos, len, entry);
                }
                case 0x434C -> { // CL
                    need(entry, len, 12);
                    any = true;
                    childLink = DirRecord.le32(a, pos + 4);
                }
                case 0x504C -> { // PL
                    need(entry, len, 12);
                    any = true;
                    parentLink = DirRecord.le32(a, pos + 4);
                }
                case 0x5245 -> { // RE
                    any = true;
                    relocated = true;
                }
                case 0x5A46 -> { // ZF
                    any = true;
                    compressed = true;
                }
                case 0x5252 -> any = true; // RR: RRIP 1.09's list of entries present
                default -> {
                    // Other SUSP entries (PD padding, ES, AA, AL, SF...) carry nothing this reader uses.
                }
            }
            pos += len;
        }
        return ce;
    }

    private static void need(String entry, int len, int min) throws ErrnoException {
        if (len < min) {
            throw IsoErrors.corrupt(entry + ": length " + len + " is below its " + min + "-byte minimum");
        }
    }

    /** SL components (RRIP 4.1.3.1): each a flags byte, a length and its text; CONTINUE joins a component to the next. */
    private void symlink(byte[] a, int p, int end, String entry) throws ErrnoException {
        if (link == null) {
            link = new StringBuilder();
        }
        while (p + 2 <= end) {
            int flags = a[p] & 0xff;
            int len = a[p + 1] & 0xff;
            if (p + 2 + len > end) {
                throw IsoErrors.corrupt(entry + ": symlink component of " + len + " bytes runs past the entry");
            }
            if ((flags & 0x08) != 0) { // ROOT
                append(link, "/", entry);
                linkNeedsSlash = false;
            } else {
                String part = (flags & 0x02) != 0 ? "." : (flags & 0x04) != 0 ? ".."
                        : new String(a, p + 2, len, StandardCharsets.UTF_8);
                if (linkNeedsSlash) {
                    append(link, "/", entry);
                }
                append(link, part, entry);
                linkNeedsSlash = (flags & 0x01) == 0;
            }
            p += 2 + len;
        }
    }

    private static void append(StringBuilder sb, String s, String entry) throws ErrnoException {
        if (sb.length() + s.length() > MAX_TEXT) {
            throw IsoErrors.corrupt(entry + ": name or link target longer than " + MAX_TEXT + " characters");
        }
        sb.append(s);
    }

    /** TF (RRIP 4.1.6): stamps in a fixed order, each present if its flag bit is set, 7 or 17 bytes each. */
    private void times(byte[] a, int pos, int len, String entry) throws ErrnoException {
        int flags = a[pos + 4] & 0xff;
        boolean longForm = (flags & 0x80) != 0;
        int size = longForm ? 17 : 7;
        int p = pos + 5;
        for (int bit = 0; bit < 7; bit++) {
            if ((flags & 1 << bit) == 0) {
                continue;
            }
            if (p + size > pos + len) {
                throw IsoErrors.corrupt(entry + ": time stamps run past the entry's " + len + " bytes");
            }
            long t = longForm ? IsoTime.long17(a, p) : IsoTime.short7(a, p);
            switch (bit) {
                case 1 -> mtime = t;
                case 2 -> atime = t;
                case 3 -> ctime = t;
                default -> {
                    // creation, backup, expiration, effective: stat has no place for them
                }
            }
            p += size;
        }
    }

    /** A Linux dev_t, as glibc's makedev builds it. */
    static long makedev(long major, long minor) {
        return (major & 0xfff) << 8 | (major & ~0xfffL) << 32 | minor & 0xff | (minor & ~0xffL) << 12;
    }

    private static String sigName(int sig) {
        char a = (char) (sig >> 8);
        char b = (char) (sig & 0xff);
        return a >= 0x20 && a < 0x7f && b >= 0x20 && b < 0x7f ? "'" + a + b + "'"
                : String.format("0x%04x", sig);
    }
}
