package io.jrump.fs.fat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One directory's entries, read whole (a FAT directory holds at most 65,536 entries, 2 MiB) and
 * kept with an index by name, so a lookup or a create in a directory of 10,000 files does not
 * read the directory again. Every change is made to the copy and written through to the device
 * at once. Long names (VFAT, fatgen103 7) are assembled from their entries and checked: entries
 * out of order or with a checksum that does not match their short entry are passed over, as
 * Windows and Linux pass over them, and the short name is shown.
 */
final class FatDir {
    /** The most entries a directory may have (fatgen103 6: 65,536 32-byte entries). */
    static final int MAX_ENTRIES = 65536;
    private static final int CHARS_PER_LFN = 13;
    private static final int[] LFN_CHAR_OFFSETS = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

    /** A file's entries: its long name (or short name shown), the short entry and where they are. */
    static final class Slot {
        String name;
        final RawEntry entry;
        /** Index of the short entry in the directory. */
        int index;
        /** Index of the first long-name entry, or {@link #index} without one. */
        int first;

        Slot(String name, RawEntry entry, int index, int first) {
            this.name = name;
            this.entry = entry;
            this.index = index;
            this.first = first;
        }

        String shortKey() {
            return new String(entry.name, StandardCharsets.ISO_8859_1);
        }
    }

    private final FatFs fs;
    private final String path;
    private final boolean root;
    /** The directory's clusters; null for the fixed root directory of FAT12/16. */
    final ClusterChain chain;
    private byte[] raw;
    private final List<Slot> slots = new ArrayList<>();
    private final Map<String, Slot> byName = new HashMap<>();
    private final Set<String> shortNames = new HashSet<>();
    /** Index of the first entry after the last one in use (the 0x00 end mark). */
    private int end;
    String volumeLabel;

    FatDir(FatFs fs, String path, ClusterChain chain, boolean root) {
        this.fs = fs;
        this.path = path;
        this.chain = chain;
        this.root = root;
    }

    /** Reads and indexes the entries. */
    void load() throws ErrnoException {
        long bytes = chain == null ? fs.bs.rootDirBytes() : chain.length() * fs.bs.clusterBytes();
        if (bytes > (long) MAX_ENTRIES * RawEntry.SIZE) {
            throw new ErrnoException(Errno.EUCLEAN, "vfat: directory " + path + " has " + bytes / RawEntry.SIZE
                    + " entries, more than the 65536 a FAT directory may have");
        }
        raw = new byte[(int) bytes];
        if (chain == null) {
            fs.io.read(fs.bs.rootDirOffset(), ByteBuffer.wrap(raw));
        } else {
            int cb = (int) fs.bs.clusterBytes();
            for (long i = 0; i < chain.length(); ) {
                long run = chain.contiguousFrom(i);
                fs.io.read(fs.bs.clusterOffset(chain.get(i)), ByteBuffer.wrap(raw, (int) (i * cb), (int) (run * cb)));
                i += run;
            }
        }
        parse();
    }

    private void parse() {
        slots.clear();
        byName.clear();
        shortNames.clear();
        volumeLabel = null;
        char[] longName = new char[20 * CHARS_PER_LFN];
        int expect = 0; // the next long-name sequence number wanted; 0: none under way
        int checksum = -1;
        int longLength = 0;
        int first = -1;
        int n = raw.length / RawEntry.SIZE;
        end = n;
        for (int i = 0; i < n; i++) {
            int at = i * RawEntry.SIZE;
            int b0 = raw[at] & 0xff;
            if (b0 == 0) {
                end = i;
                break;
            }
            int attr = raw[at + 11] & 0xff;
            if (b0 == RawEntry.DELETED) {
                expect = 0;
                continue;
            }
            if ((attr & 0x3f) == RawEntry.ATTR_LONG_NAME) {
                int ord = b0 & 0x1f;
                if ((b0 & 0x40) != 0) {
                    if (ord == 0 || ord > 20) {
                        expect = 0;
                        continue;
                    }
                    expect = ord;
                    checksum = raw[at + 13] & 0xff;
                    first = i;
                    longLength = ord * CHARS_PER_LFN;
                } else if (expect == 0 || ord != expect || (raw[at + 13] & 0xff) != checksum) {
                    expect = 0;
                    continue;
                }
                for (int k = 0; k < CHARS_PER_LFN; k++) {
                    longName[(ord - 1) * CHARS_PER_LFN + k] = (char) RawEntry.u16(raw, at + LFN_CHAR_OFFSETS[k]);
                }
                expect = ord - 1 == 0 ? -1 : ord - 1; // -1: complete, a short entry must follow
                continue;
            }
            RawEntry e = RawEntry.read(raw, at, fs.bs.type == FatType.FAT32);
            if ((attr & RawEntry.ATTR_VOLUME_ID) != 0) {
                if (volumeLabel == null && root) {
                    volumeLabel = ShortName.display(e.name, 0).replace(".", "").trim();
                }
                expect = 0;
                continue;
            }
            String name = null;
            int start = i;
            if (expect == -1 && ShortName.checksum(e.name) == checksum) {
                int len = 0;
                while (len < longLength && longName[len] != 0) {
                    len++;
                }
                if (len > 0) {
                    name = new String(longName, 0, len);
                    start = first;
                }
            }
            expect = 0;
            if (name == null) {
                name = ShortName.display(e.name, e.ntFlags);
            }
            if (name.equals(".") || name.equals("..")) {
                continue; // made up by the VFS layer; their clusters are checked by fsck
            }
            if (name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf(0) >= 0) {
                continue; // no name a path can hold; fsck reports it
            }
            Slot s = new Slot(name, e, i, start);
            add(s);
        }
    }

    private void add(Slot s) {
        slots.add(s);
        byName.put(fold(s.name), s); // the newest entry by a name wins: a rename by case adds before it deletes
        String shortShown = ShortName.display(s.entry.name, 0);
        byName.putIfAbsent(fold(shortShown), s); // vfat finds a file by its short name too
        shortNames.add(s.shortKey());
    }

    private void remove(Slot s) {
        slots.remove(s);
        byName.remove(fold(s.name), s);
        byName.remove(fold(ShortName.display(s.entry.name, 0)), s);
        shortNames.remove(s.shortKey());
    }

    /** The key names are compared by: each UTF-16 unit upper-cased, as {@link ShortName#sameName}. */
    static String fold(String name) {
        StringBuilder b = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            b.append(Character.toUpperCase(name.charAt(i)));
        }
        return b.toString();
    }

    /** Bytes of entries held. */
    long bytes() {
        return raw.length;
    }

    /** Puts {@code kept} (a slot object already in use, for the same entry) in the place of {@code parsed}. */
    void replace(Slot parsed, Slot kept) {
        int at = slots.indexOf(parsed);
        remove(parsed);
        add(kept);
        slots.remove(slots.size() - 1);
        slots.add(at, kept); // in its place: readdir's order (and FUSE's offsets into it) stay
    }

    Slot find(String name) {
        return byName.get(fold(name));
    }

    List<Slot> slots() {
        return slots;
    }

    boolean isEmpty() {
        return slots.isEmpty();
    }

    /** Device offset of entry {@code index}. */
    long offsetOf(int index) {
        long byteIndex = (long) index * RawEntry.SIZE;
        if (chain == null) {
            return fs.bs.rootDirOffset() + byteIndex;
        }
        long cb = fs.bs.clusterBytes();
        return fs.bs.clusterOffset(chain.get(byteIndex / cb)) + byteIndex % cb;
    }

    /** Writes entries {@code [from, from + count)} of the copy to the device. */
    private void writeThrough(int from, int count) throws ErrnoException {
        int i = from;
        int stop = from + count;
        while (i < stop) {
            // A run of entries within one cluster goes in one write.
            long off = offsetOf(i);
            int perCluster = chain == null ? Integer.MAX_VALUE : (int) (fs.bs.clusterBytes() / RawEntry.SIZE);
            int inCluster = chain == null ? stop - i : Math.min(stop - i, perCluster - i % perCluster);
            fs.io.write(off, ByteBuffer.wrap(raw, i * RawEntry.SIZE, inCluster * RawEntry.SIZE));
            i += inCluster;
        }
    }

    /** Writes a slot's short entry back (size, cluster, times, attributes changed). */
    void update(Slot s) throws ErrnoException {
        s.entry.write(raw, s.index * RawEntry.SIZE);
        writeThrough(s.index, 1);
    }

    /**
     * Adds a name with its short entry (whose name bytes and case flags are filled in here).
     *
     * @throws ErrnoException {@code ENOSPC} if the directory cannot hold more entries
     */
    Slot create(String name, RawEntry e) throws ErrnoException {
        ShortName.Plan plan = ShortName.plan(name, b -> shortNames.contains(new String(b, StandardCharsets.ISO_8859_1)));
        System.arraycopy(plan.name(), 0, e.name, 0, 11);
        e.ntFlags = plan.caseFlags();
        int lfns = plan.needsLongName() ? (name.length() + CHARS_PER_LFN - 1) / CHARS_PER_LFN : 0;
        int count = lfns + 1;
        int at = freeRun(count);
        int sum = ShortName.checksum(e.name);
        for (int k = 0; k < lfns; k++) {
            int ord = lfns - k; // the last part comes first on disk
            int p = (at + k) * RawEntry.SIZE;
            java.util.Arrays.fill(raw, p, p + RawEntry.SIZE, (byte) 0);
            raw[p] = (byte) (ord | (k == 0 ? 0x40 : 0));
            raw[p + 11] = (byte) RawEntry.ATTR_LONG_NAME;
            raw[p + 13] = (byte) sum;
            for (int c = 0; c < CHARS_PER_LFN; c++) {
                int idx = (ord - 1) * CHARS_PER_LFN + c;
                int ch = idx < name.length() ? name.charAt(idx) : idx == name.length() ? 0 : 0xffff;
                RawEntry.put16(raw, p + LFN_CHAR_OFFSETS[c], ch);
            }
        }
        int shortAt = at + lfns;
        e.write(raw, shortAt * RawEntry.SIZE);
        int written = count;
        if (at + count > end) {
            end = at + count;
            if (end < raw.length / RawEntry.SIZE && raw[end * RawEntry.SIZE] != 0) {
                // Whatever lay past the old end mark is not entries; keep the mark after ours.
                java.util.Arrays.fill(raw, end * RawEntry.SIZE, (end + 1) * RawEntry.SIZE, (byte) 0);
                written++;
            }
        }
        writeThrough(at, written);
        Slot s = new Slot(name, e, shortAt, at);
        add(s);
        return s;
    }

    /** Marks a slot's entries deleted. */
    void delete(Slot s) throws ErrnoException {
        for (int i = s.first; i <= s.index; i++) {
            raw[i * RawEntry.SIZE] = (byte) RawEntry.DELETED;
        }
        writeThrough(s.first, s.index - s.first + 1);
        remove(s);
    }

    /** Writes the "." and ".." entries of a new directory's first cluster. */
    void writeDots(RawEntry dot, RawEntry dotdot) throws ErrnoException {
        dot.write(raw, 0);
        dotdot.write(raw, RawEntry.SIZE);
        end = 2;
        writeThrough(0, 2);
    }

    /** Rewrites the ".." entry's cluster (a directory moved to another parent). */
    void setDotDot(long parentCluster) throws ErrnoException {
        int at = RawEntry.SIZE;
        if (raw.length < 2 * RawEntry.SIZE || raw[at] != '.' || raw[at + 1] != '.') {
            throw new ErrnoException(Errno.EUCLEAN, "vfat: directory " + path + " has no '..' entry");
        }
        RawEntry dd = RawEntry.read(raw, at, fs.bs.type == FatType.FAT32);
        dd.firstCluster = parentCluster;
        dd.write(raw, at);
        writeThrough(1, 1);
    }

    /** The first run of {@code count} free entries, the directory grown by a cluster if it has none. */
    private int freeRun(int count) throws ErrnoException {
        int run = 0;
        int n = raw.length / RawEntry.SIZE;
        for (int i = 0; i < n; i++) {
            int b0 = raw[i * RawEntry.SIZE] & 0xff;
            if (i >= end || b0 == RawEntry.DELETED) {
                if (++run == count) {
                    return i - count + 1;
                }
            } else {
                run = 0;
            }
        }
        if (chain == null) {
            throw new ErrnoException(Errno.ENOSPC, "vfat: the root directory is full (" + n + " entries)");
        }
        // Grow: a zeroed cluster after the last; the run may start in the old last cluster.
        int perCluster = (int) (fs.bs.clusterBytes() / RawEntry.SIZE);
        if (n + perCluster > MAX_ENTRIES) {
            throw new ErrnoException(Errno.ENOSPC, "vfat: directory " + path + " holds the most entries a FAT directory may (65536)");
        }
        long c = fs.fat.allocate(chain.last());
        fs.fat.set(chain.last(), c);
        chain.append(c);
        fs.io.zero(fs.bs.clusterOffset(c), fs.bs.clusterBytes());
        raw = java.util.Arrays.copyOf(raw, raw.length + perCluster * RawEntry.SIZE);
        return freeRun(count);
    }
}
