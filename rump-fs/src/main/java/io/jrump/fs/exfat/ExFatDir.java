package io.jrump.fs.exfat;

import io.jrump.fs.fat.ClusterChain;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A directory read whole: its 32-byte entries, the file entry sets among them parsed and checked
 * (section 6.3: SetChecksum, NameHash, the order of Stream Extension and File Name entries) and
 * indexed by up-cased name. Changes are made in memory and written to the device entry by entry.
 */
final class ExFatDir {
    static final int FILE = 0x85;
    static final int STREAM = 0xC0;
    static final int NAME = 0xC1;
    static final int BITMAP = 0x81;
    static final int UPCASE = 0x82;
    static final int LABEL = 0x83;
    static final int ATTR_READ_ONLY = 0x01;
    static final int ATTR_DIRECTORY = 0x10;
    static final int ATTR_ARCHIVE = 0x20;
    static final int FLAG_ALLOCATION_POSSIBLE = 1;
    static final int FLAG_NO_FAT_CHAIN = 2;
    static final int MAX_NAME = 255;

    /** A file entry set: File, Stream Extension, File Name entries and any benign secondaries. */
    static final class Entry {
        int index; // of the File entry, in 32-byte entries
        byte[] raw; // the whole set as on disk
        String name;

        ByteBuffer buf() {
            return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        }

        int count() {
            return raw.length / 32;
        }

        int attr() {
            return buf().getShort(4) & 0xffff;
        }

        void attr(int a) {
            buf().putShort(4, (short) a);
        }

        boolean isDirectory() {
            return (attr() & ATTR_DIRECTORY) != 0;
        }

        int flags() {
            return raw[33] & 0xff;
        }

        void flags(int f) {
            raw[33] = (byte) f;
        }

        boolean contiguous() {
            return (flags() & FLAG_NO_FAT_CHAIN) != 0;
        }

        long validLength() {
            return buf().getLong(32 + 8);
        }

        void validLength(long v) {
            buf().putLong(32 + 8, v);
        }

        long firstCluster() {
            return buf().getInt(32 + 20) & 0xffff_ffffL;
        }

        void firstCluster(long c) {
            buf().putInt(32 + 20, (int) c);
        }

        long length() {
            return buf().getLong(32 + 24);
        }

        void length(long v) {
            buf().putLong(32 + 24, v);
        }

        /** A timestamp: 0 create, 1 modify, 2 access; as {timestamp, 10ms, utc offset}. */
        int[] time(int which) {
            ByteBuffer b = buf();
            return new int[] {b.getInt(8 + 4 * which), which < 2 ? raw[20 + which] & 0xff : 0, raw[22 + which] & 0xff};
        }

        void time(int which, int[] t) {
            buf().putInt(8 + 4 * which, t[0]);
            if (which < 2) {
                raw[20 + which] = (byte) t[1];
            }
            raw[22 + which] = (byte) t[2];
        }

        /** Recomputes SetChecksum after a change. */
        void seal() {
            buf().putShort(2, (short) setChecksum(raw));
        }
    }

    final String path;
    final ClusterChain chain;
    /** The inode number of the directory these entries belong to. */
    final long ino;
    private final ExFatFs fs;
    private byte[] data;
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, Entry> byName = new HashMap<>();
    /** Root only: the volume label (bitmap and up-case entries are read at mount). */
    String label;

    ExFatDir(ExFatFs fs, String path, ClusterChain chain, long ino) {
        this.fs = fs;
        this.ino = ino;
        this.path = path;
        this.chain = chain;
    }

    static int setChecksum(byte[] set) {
        int sum = 0;
        for (int i = 0; i < set.length; i++) {
            if (i == 2 || i == 3) {
                continue;
            }
            sum = ((sum & 1) != 0 ? 0x8000 : 0) + (sum >>> 1) + (set[i] & 0xff) & 0xffff;
        }
        return sum;
    }

    int bytes() {
        return data.length;
    }

    List<Entry> entries() {
        return entries;
    }

    Entry find(String name) {
        return byName.get(fs.upcase.up(name));
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    void load(boolean root) throws ErrnoException {
        long cb = fs.boot.clusterBytes();
        long total = chain.length() * cb;
        if (total > 256L << 20) {
            throw new ErrnoException(Errno.EUCLEAN, "exFAT directory " + path + ": " + total
                    + " bytes, more than the 256 MiB a directory may hold");
        }
        data = new byte[(int) total];
        for (long i = 0; i < chain.length(); ) {
            long run = Math.min(chain.contiguousFrom(i), chain.length() - i);
            fs.io.read(fs.boot.clusterOffset(chain.get(i)), ByteBuffer.wrap(data, (int) (i * cb), (int) (run * cb)));
            i += run;
        }
        parse(root);
    }

    private int type(int i) {
        return data[i * 32] & 0xff;
    }

    private void parse(boolean root) throws ErrnoException {
        int n = data.length / 32;
        for (int i = 0; i < n; ) {
            int t = type(i);
            if (t == 0) {
                break; // the end of the directory
            }
            if ((t & 0x80) == 0) {
                i++; // unused
                continue;
            }
            if (t == FILE) {
                i += parseSet(i, n);
            } else if (t == LABEL || t == BITMAP || t == UPCASE) {
                if (t == LABEL && root) {
                    int count = Math.min(data[i * 32 + 1] & 0xff, 11);
                    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                    char[] c = new char[count];
                    for (int k = 0; k < count; k++) {
                        c[k] = b.getChar(i * 32 + 2 + 2 * k);
                    }
                    label = new String(c);
                }
                i++; // bitmap and up-case were read at mount
            } else if ((t & 0x40) != 0) {
                throw bad(i, String.format("secondary entry 0x%02x outside a file entry set", t));
            } else if ((t & 0x20) == 0) {
                throw new ErrnoException(Errno.EOPNOTSUPP, String.format("exFAT directory %s: entry %d has type 0x%02x, "
                        + "a critical primary entry this driver does not know", path, i, t));
            } else {
                i += 1 + (data[i * 32 + 1] & 0xff); // a benign primary (volume GUID, TexFAT padding) and its secondaries
            }
        }
    }

    private ErrnoException bad(int index, String what) {
        return new ErrnoException(Errno.EUCLEAN, "exFAT directory " + path + ": entry " + index + ": " + what);
    }

    private int parseSet(int i, int n) throws ErrnoException {
        int secondaries = data[i * 32 + 1] & 0xff;
        if (secondaries < 2 || secondaries > 18) {
            throw bad(i, "file entry set with SecondaryCount " + secondaries + " (2..18)");
        }
        if (i + secondaries >= n) {
            throw bad(i, "file entry set of " + (secondaries + 1) + " entries runs past the directory's end");
        }
        Entry e = new Entry();
        e.index = i;
        e.raw = java.util.Arrays.copyOfRange(data, i * 32, (i + secondaries + 1) * 32);
        ByteBuffer b = e.buf();
        int stored = b.getShort(2) & 0xffff;
        int sum = setChecksum(e.raw);
        if (stored != sum) {
            throw bad(i, String.format("SetChecksum 0x%04x, the entry set sums to 0x%04x", stored, sum));
        }
        if ((e.raw[32] & 0xff) != STREAM) {
            throw bad(i, String.format("entry %d of the set is 0x%02x, not a Stream Extension", i + 1, e.raw[32] & 0xff));
        }
        int nameLength = e.raw[32 + 3] & 0xff;
        int nameEntries = (nameLength + 14) / 15;
        if (nameLength == 0 || nameEntries > secondaries - 1) {
            throw bad(i, "NameLength " + nameLength + " needs " + nameEntries + " File Name entries; the set has "
                    + (secondaries - 1) + " more entries");
        }
        char[] name = new char[nameLength];
        for (int k = 0; k < nameEntries; k++) {
            int at = (k + 2) * 32;
            if ((e.raw[at] & 0xff) != NAME) {
                throw bad(i, String.format("entry %d of the set is 0x%02x, not a File Name entry", i + k + 2,
                        e.raw[at] & 0xff));
            }
            for (int c = 0; c < 15 && k * 15 + c < nameLength; c++) {
                name[k * 15 + c] = b.getChar(at + 2 + 2 * c);
            }
        }
        for (int k = nameEntries + 2; k <= secondaries; k++) {
            int t = e.raw[k * 32] & 0xff;
            if ((t & 0xC0) != 0xC0) {
                throw bad(i, String.format("entry %d of the set is 0x%02x, not a secondary entry", i + k, t));
            }
            if ((t & 0x20) == 0) {
                throw new ErrnoException(Errno.EOPNOTSUPP, String.format("exFAT directory %s: entry %d: critical "
                        + "secondary entry 0x%02x this driver does not know", path, i + k, t));
            }
        }
        e.name = new String(name);
        int hash = b.getShort(32 + 4) & 0xffff;
        int want = fs.upcase.nameHash(e.name);
        if (hash != want) {
            throw bad(i, String.format("NameHash 0x%04x of '%s'; the name hashes to 0x%04x", hash, e.name, want));
        }
        if (Long.compareUnsigned(e.validLength(), e.length()) > 0 || e.length() < 0) {
            throw bad(i, "'" + e.name + "': ValidDataLength " + e.validLength() + " exceeds DataLength " + e.length());
        }
        long cb = fs.boot.clusterBytes();
        if (e.length() > fs.boot.clusterCount * cb) {
            throw bad(i, "'" + e.name + "': DataLength " + e.length() + " is more than the cluster heap holds ("
                    + fs.boot.clusterCount * cb + " bytes)");
        }
        if (e.length() > 0) {
            long clusters = (e.length() + cb - 1) / cb;
            long first = e.firstCluster();
            if (first < 2 || first > fs.boot.clusterCount + 1
                    || (e.contiguous() && first + clusters - 1 > fs.boot.clusterCount + 1)) {
                throw bad(i, "'" + e.name + "': FirstCluster " + first + " and DataLength " + e.length()
                        + " lie outside the cluster heap (clusters 2.." + (fs.boot.clusterCount + 1) + ")");
            }
        }
        String key = fs.upcase.up(e.name);
        if (byName.containsKey(key)) {
            throw bad(i, "a second entry named '" + e.name + "'");
        }
        entries.add(e);
        byName.put(key, e);
        return secondaries + 1;
    }

    /** Puts {@code kept} (the same set, as a node holds it) where the freshly read {@code read} is. */
    void replace(Entry read, Entry kept) {
        entries.set(entries.indexOf(read), kept);
        byName.put(fs.upcase.up(read.name), kept);
    }

    // ---- changes -------------------------------------------------------------------------------

    /** Writes entries {@code [from, to)} of the in-memory copy to the device. */
    private void flush(int from, int to) throws ErrnoException {
        long cb = fs.boot.clusterBytes();
        for (int i = from; i < to; i++) {
            long at = (long) i * 32;
            fs.io.write(fs.boot.clusterOffset(chain.get(at / cb)) + at % cb, ByteBuffer.wrap(data, (int) at, 32));
        }
    }

    /** Rewrites an entry set whose fields changed (same size, same place). */
    void update(Entry e) throws ErrnoException {
        e.seal();
        System.arraycopy(e.raw, 0, data, e.index * 32, e.raw.length);
        flush(e.index, e.index + e.count());
    }

    /** Marks the set's entries unused (InUse cleared), as Linux deletes. */
    void delete(Entry e) throws ErrnoException {
        for (int k = 0; k < e.count(); k++) {
            data[(e.index + k) * 32] &= 0x7f;
        }
        flush(e.index, e.index + e.count());
        entries.remove(e);
        byName.remove(fs.upcase.up(e.name), e); // a rename by case has put its new set there already
    }

    /** Builds a new set for {@code name} with {@code attr}, unallocated and empty. */
    Entry newEntry(String name, int attr) {
        Entry e = new Entry();
        e.name = name;
        int nameEntries = (name.length() + 14) / 15;
        e.raw = new byte[(2 + nameEntries) * 32];
        ByteBuffer b = e.buf();
        e.raw[0] = (byte) FILE;
        e.raw[1] = (byte) (1 + nameEntries);
        b.putShort(4, (short) attr);
        e.raw[32] = (byte) STREAM;
        e.raw[33] = (byte) FLAG_ALLOCATION_POSSIBLE;
        e.raw[32 + 3] = (byte) name.length();
        b.putShort(32 + 4, (short) fs.upcase.nameHash(name));
        for (int k = 0; k < nameEntries; k++) {
            int at = (k + 2) * 32;
            e.raw[at] = (byte) NAME;
            for (int c = 0; c < 15 && k * 15 + c < name.length(); c++) {
                b.putChar(at + 2 + 2 * c, name.charAt(k * 15 + c));
            }
        }
        return e;
    }

    /**
     * Places a new set in the first run of unused entries long enough, growing the directory
     * by a cluster at a time when there is none.
     */
    void add(Entry e) throws ErrnoException {
        int need = e.count();
        int n = data.length / 32;
        int run = 0;
        int at = -1;
        for (int i = 0; i < n; i++) {
            if ((type(i) & 0x80) == 0) {
                if (++run == need) {
                    at = i - need + 1;
                    break;
                }
            } else {
                run = 0;
            }
        }
        while (at < 0) {
            fs.growDirectory(this);
            int cbEntries = (int) (fs.boot.clusterBytes() / 32);
            byte[] bigger = java.util.Arrays.copyOf(data, data.length + cbEntries * 32);
            data = bigger;
            n = data.length / 32;
            run = 0;
            for (int i = 0; i < n; i++) {
                if ((type(i) & 0x80) == 0) {
                    if (++run == need) {
                        at = i - need + 1;
                        break;
                    }
                } else {
                    run = 0;
                }
            }
        }
        e.index = at;
        e.seal();
        System.arraycopy(e.raw, 0, data, at * 32, e.raw.length);
        flush(at, at + need);
        entries.add(e);
        byName.put(fs.upcase.up(e.name), e);
    }
}
