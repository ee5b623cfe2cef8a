package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extended attributes as ext4 stores them: a list of entries (name index, name, value offset and
 * size) in the inode's extra space after {@code i_extra_isize} or in one external block, each
 * region starting with the magic 0xEA020000. Every entry and value is checked to lie inside its
 * region; the walk ends at the region's end whatever the entries say.
 */
final class Xattrs {
    static final int MAGIC = 0xEA020000;
    static final int BLOCK_HEADER = 32;
    private static final String[] PREFIXES = {"", "user.", "system.posix_acl_access", "system.posix_acl_default",
        "trusted.", "", "security.", "system.", "system.richacl"};

    private Xattrs() {
    }

    /**
     * One attribute as stored: its name index, its name after the prefix, its value. With
     * ea_inode a value may live in inode {@code valueInum} instead ({@code valueLen} bytes, whose
     * crc32c {@code eaHash} joins the entry hash); {@code value} is then null until read.
     */
    record Entry(int index, byte[] name, byte[] value, long valueInum, int valueLen, int eaHash) {
        Entry(int index, byte[] name, byte[] value) {
            this(index, name, value, 0, value.length, 0);
        }

        boolean inEaInode() {
            return valueInum != 0;
        }

        /** The same entry with its value kept in inode {@code inum} (value crc32c {@code hash}). */
        Entry inInode(long inum, int hash) {
            return new Entry(index, name, value, inum, value.length, hash);
        }

        /** The same entry with its value read from its inode. */
        Entry withValue(byte[] v) {
            return new Entry(index, name, v, valueInum, valueLen, eaHash);
        }
        boolean sameName(Entry o) {
            return index == o.index && java.util.Arrays.equals(name, o.name);
        }

        /** The name a caller sees, with its namespace prefix. */
        String fullName() {
            String prefix = index < PREFIXES.length && (index == 0 || !PREFIXES[index].isEmpty()) ? PREFIXES[index]
                    : "index" + index + ".";
            return prefix + new String(name, StandardCharsets.UTF_8);
        }

        /** A name in a namespace a caller may read and write (not system.data, not unknown indexes). */
        boolean visible() {
            return index == USER || index == POSIX_ACL_ACCESS || index == POSIX_ACL_DEFAULT || index == TRUSTED
                    || index == SECURITY;
        }

        /** Bytes of the entry itself: 16 bytes, then the name padded to 4. */
        int entrySize() {
            return (16 + name.length + 3) & ~3;
        }

        /** Bytes of the value in the region: none when it lives in its own inode. */
        int valueSize() {
            return inEaInode() ? 0 : (value.length + 3) & ~3;
        }
    }

    /**
     * Parses entries starting at {@code entriesAt}, whose values are at offsets relative to
     * {@code valueBase}, all inside {@code [regionStart, regionEnd)} of {@code buf}.
     */
    static void parse(ByteBuffer raw, int entriesAt, int valueBase, int regionStart, int regionEnd, String where,
            Map<String, byte[]> out) throws ErrnoException {
        for (Entry e : entries(raw, entriesAt, valueBase, regionStart, regionEnd, where)) {
            if (!e.inEaInode()) { // values in their own inodes are read through XattrStore; system.data never is one
                out.put(e.fullName(), e.value());
            }
        }
    }

    /** The entries of one region, in the order stored. */
    static List<Entry> entries(ByteBuffer raw, int entriesAt, int valueBase, int regionStart, int regionEnd, String where)
            throws ErrnoException {
        List<Entry> out = new ArrayList<>();
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = entriesAt;
        while (at + 4 <= regionEnd && b.getInt(at) != 0) {
            if (at + 16 > regionEnd) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": xattr entry at offset " + at + " overruns its region");
            }
            int nameLen = b.get(at) & 0xff;
            int index = b.get(at + 1) & 0xff;
            int valueOffs = b.getShort(at + 2) & 0xffff;
            int valueInum = b.getInt(at + 4);
            long valueSize = Integer.toUnsignedLong(b.getInt(at + 8));
            int entrySize = (16 + nameLen + 3) & ~3;
            if (at + 16 + nameLen > regionEnd) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": xattr name at offset " + at + " overruns its region");
            }
            byte[] name = new byte[nameLen];
            b.get(at + 16, name);
            if (valueInum != 0) {
                // The value is in its own inode (ea_inode), read by whoever needs it.
                if (valueSize > SIZE_MAX) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": xattr entry at offset " + at + ": value of "
                            + valueSize + " bytes in inode " + Integer.toUnsignedString(valueInum) + " (at most "
                            + SIZE_MAX + ")");
                }
                // e_hash folds the value inode's hash into the name's: unfolded, it is kept for rewriting the entry.
                int nameHash = nameHash(name);
                int eaHash = b.getInt(at + 12) ^ ((nameHash << 16) ^ (nameHash >>> 16));
                out.add(new Entry(index, name, null, Integer.toUnsignedLong(valueInum), (int) valueSize, eaHash));
                at += entrySize;
                continue;
            }
            long valueStart = (long) valueBase + valueOffs;
            if (valueSize > 0 && (valueStart < regionStart || valueStart + valueSize > regionEnd)) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": xattr value of " + valueSize + " bytes at offset "
                        + valueStart + " lies outside its region");
            }
            byte[] value = new byte[(int) valueSize];
            if (valueSize > 0) {
                b.get((int) valueStart, value);
            }
            out.add(new Entry(index, name, value));
            at += entrySize;
        }
        return out;
    }

    /** Where an inode's in-inode region starts (its magic), or -1 if the inode has none. */
    static int inInodeStart(ByteBuffer inodeBytes, int offset, int inodeSize) {
        if (inodeSize <= 128) {
            return -1;
        }
        int extra = inodeBytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).getShort(offset + 128) & 0xffff;
        int start = offset + 128 + extra;
        return extra % 4 != 0 || start + 8 > offset + inodeSize ? -1 : start;
    }

    /** The entries in an inode's extra space (empty without the magic). */
    static List<Entry> inInodeEntries(ByteBuffer inodeBytes, int offset, int inodeSize, String where)
            throws ErrnoException {
        int start = inInodeStart(inodeBytes, offset, inodeSize);
        if (start < 0 || inodeBytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(start) != MAGIC) {
            return new ArrayList<>();
        }
        return entries(inodeBytes, start + 4, start + 4, start + 4, offset + inodeSize, where);
    }

    /** The entries of an external xattr block, its header checked. */
    static List<Entry> blockEntries(ByteBuffer block, String where) throws ErrnoException {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != MAGIC || b.getInt(8) != 1) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": bad xattr block header (magic 0x"
                    + Integer.toHexString(b.getInt(0)) + ", " + b.getInt(8) + " blocks)");
        }
        return entries(block, BLOCK_HEADER, 0, BLOCK_HEADER, block.capacity(), where);
    }

    // ---- names ------------------------------------------------------------------------------------

    static final int USER = 1;
    static final int POSIX_ACL_ACCESS = 2;
    static final int POSIX_ACL_DEFAULT = 3;
    static final int TRUSTED = 4;
    static final int SECURITY = 6;
    static final int SYSTEM = 7;
    /** XATTR_NAME_MAX and XATTR_SIZE_MAX of Linux. */
    static final int NAME_MAX = 255;
    static final int SIZE_MAX = 65536;

    /**
     * The stored form of a caller's name: EOPNOTSUPP for a namespace ext4 does not keep (and for
     * {@code system.} names other than the two ACLs — system.data is inline data), EINVAL for an
     * empty name after the prefix, ERANGE for a name over 255 bytes, as Linux answers.
     */
    static Entry resolve(String fullName, byte[] value) throws ErrnoException {
        byte[] whole = fullName.getBytes(StandardCharsets.UTF_8);
        if (whole.length == 0) {
            throw new ErrnoException(Errno.ERANGE, "empty xattr name");
        }
        if (whole.length > NAME_MAX) {
            throw new ErrnoException(Errno.ERANGE, "xattr name of " + whole.length + " bytes (at most " + NAME_MAX + ")");
        }
        if (value != null && value.length > SIZE_MAX) {
            throw new ErrnoException(Errno.E2BIG, fullName + ": xattr value of " + value.length + " bytes (at most "
                    + SIZE_MAX + ")");
        }
        byte[] v = value == null ? new byte[0] : value;
        if (fullName.equals("system.posix_acl_access")) {
            return new Entry(POSIX_ACL_ACCESS, new byte[0], v);
        }
        if (fullName.equals("system.posix_acl_default")) {
            return new Entry(POSIX_ACL_DEFAULT, new byte[0], v);
        }
        int index;
        String prefix;
        if (fullName.startsWith("user.")) {
            index = USER;
            prefix = "user.";
        } else if (fullName.startsWith("trusted.")) {
            index = TRUSTED;
            prefix = "trusted.";
        } else if (fullName.startsWith("security.")) {
            index = SECURITY;
            prefix = "security.";
        } else {
            throw new ErrnoException(Errno.EOPNOTSUPP, fullName + ": xattr namespace not supported by ext4");
        }
        byte[] name = fullName.substring(prefix.length()).getBytes(StandardCharsets.UTF_8);
        if (name.length == 0) {
            throw new ErrnoException(Errno.EINVAL, fullName + ": xattr name is empty after its prefix");
        }
        return new Entry(index, name, v);
    }

    // ---- hashes -----------------------------------------------------------------------------------

    /**
     * e_hash: the name rotated in 5 bits a byte, then the value 16 bits a 32-bit word; for a
     * value in its own inode, that inode's value hash stands for the value.
     */
    static int entryHash(Entry e) {
        int h = nameHash(e.name());
        if (e.inEaInode()) {
            return (h << 16) ^ (h >>> 16) ^ e.eaHash();
        }
        return valueHash(h, e.value());
    }

    /** Continues an e_hash over a value: 16 bits rotated a little-endian 32-bit word (the last one zero-padded). */
    static int valueHash(int h, byte[] v) {
        for (int i = 0; i < v.length; i += 4) {
            int w = 0;
            for (int k = 0; k < 4 && i + k < v.length; k++) {
                w |= (v[i + k] & 0xff) << (8 * k);
            }
            h = (h << 16) ^ (h >>> 16) ^ w;
        }
        return h;
    }

    private static int nameHash(byte[] name) {
        int h = 0;
        for (byte c : name) {
            h = (h << 5) ^ (h >>> 27) ^ (c & 0xff);
        }
        return h;
    }

    /** h_hash of a block: its entries' hashes folded 16 bits at a time (0 if any entry's is 0). */
    static int blockHash(List<Entry> entries) {
        int h = 0;
        for (Entry e : entries) {
            int eh = entryHash(e);
            if (eh == 0) {
                return 0;
            }
            h = (h << 16) ^ (h >>> 16) ^ eh;
        }
        return h;
    }

    // ---- layouts ----------------------------------------------------------------------------------

    /** Bytes a list of entries needs: the entries, a 4-byte end marker and the padded values. */
    static int bytesNeeded(List<Entry> entries) {
        int n = 4;
        for (Entry e : entries) {
            n += e.entrySize() + e.valueSize();
        }
        return n;
    }

    /** Bytes an inode offers for attributes: after i_extra_isize, less the 4-byte magic. */
    static int inInodeRoom(ByteBuffer inodeBytes, int inodeSize) {
        int start = inInodeStart(inodeBytes, 0, inodeSize);
        return start < 0 ? 0 : inodeSize - start - 4;
    }

    /** Room in an xattr block after its header. */
    static int blockRoom(int blockSize) {
        return blockSize - BLOCK_HEADER;
    }

    /** The order ext4 keeps block entries in: by name index, name length, then name bytes. */
    static final java.util.Comparator<Entry> BLOCK_ORDER = (a, b) -> {
        int c = Integer.compare(a.index(), b.index());
        if (c == 0) {
            c = Integer.compare(a.name().length, b.name().length);
        }
        return c != 0 ? c : java.util.Arrays.compareUnsigned(a.name(), b.name());
    };

    /**
     * Writes {@code entries} into the inode's extra space (the inode alone, offset 0), values
     * packed from its end; no entries clears the region. The caller has checked they fit.
     */
    static void writeInInode(ByteBuffer inodeBytes, int inodeSize, List<Entry> entries) {
        int start = inInodeStart(inodeBytes, 0, inodeSize);
        if (start < 0) {
            return;
        }
        ByteBuffer b = inodeBytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = start; i < inodeSize; i++) {
            b.put(i, (byte) 0);
        }
        if (entries.isEmpty()) {
            return;
        }
        b.putInt(start, MAGIC);
        writeEntries(b, start + 4, start + 4, inodeSize, entries);
    }

    /** Writes a whole xattr block: header (refcount, one block, h_hash), sorted entries, values at the end. */
    static void writeBlock(ByteBuffer block, int refcount, List<Entry> entries) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) 0);
        }
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(BLOCK_ORDER);
        b.putInt(0, MAGIC);
        b.putInt(4, refcount);
        b.putInt(8, 1);
        b.putInt(12, blockHash(sorted));
        writeEntries(b, BLOCK_HEADER, 0, b.capacity(), sorted);
    }

    private static void writeEntries(ByteBuffer b, int entriesAt, int valueBase, int end, List<Entry> entries) {
        int at = entriesAt;
        int valueEnd = end;
        for (Entry e : entries) {
            int offs = 0;
            if (!e.inEaInode() && e.value().length > 0) {
                valueEnd -= e.valueSize();
                b.put(valueEnd, e.value());
                offs = valueEnd - valueBase;
            }
            b.put(at, (byte) e.name().length);
            b.put(at + 1, (byte) e.index());
            b.putShort(at + 2, (short) offs);
            b.putInt(at + 4, (int) e.valueInum());
            b.putInt(at + 8, e.inEaInode() ? e.valueLen() : e.value().length);
            // system.data keeps hash 0, as the kernel writes it: ext4 changes inline data in place
            // without rehashing, and e2fsck checks only a nonzero hash.
            b.putInt(at + 12, InlineData.isSystemData(e) ? 0 : entryHash(e));
            b.put(at + 16, e.name());
            at += e.entrySize();
        }
    }

    /** The attributes in an inode's extra space, if it has any. */
    static Map<String, byte[]> inInode(ByteBuffer inodeBytes, int offset, int inodeSize, String where)
            throws ErrnoException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (inodeSize <= 128) {
            return out;
        }
        ByteBuffer b = inodeBytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int extra = b.getShort(offset + 128) & 0xffff;
        int start = offset + 128 + extra;
        int end = offset + inodeSize;
        if (extra % 4 != 0 || start + 4 > end || b.getInt(start) != MAGIC) {
            return out;
        }
        parse(inodeBytes, start + 4, start + 4, start + 4, end, where, out);
        return out;
    }

    /** The attributes in an external xattr block. */
    static Map<String, byte[]> inBlock(ByteBuffer block, String where) throws ErrnoException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != MAGIC || b.getInt(8) != 1) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": bad xattr block header (magic 0x"
                    + Integer.toHexString(b.getInt(0)) + ", " + b.getInt(8) + " blocks)");
        }
        parse(block, BLOCK_HEADER, 0, BLOCK_HEADER, block.capacity(), where, out);
        return out;
    }
}
