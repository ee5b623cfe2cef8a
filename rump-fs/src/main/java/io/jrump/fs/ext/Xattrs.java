package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
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
     * Parses entries starting at {@code entriesAt}, whose values are at offsets relative to
     * {@code valueBase}, all inside {@code [regionStart, regionEnd)} of {@code buf}.
     */
    static void parse(ByteBuffer raw, int entriesAt, int valueBase, int regionStart, int regionEnd, String where,
            Map<String, byte[]> out) throws ErrnoException {
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
            if (valueInum != 0) {
                throw new ErrnoException(Errno.EOPNOTSUPP, where + ": xattr value in inode " + Integer.toUnsignedString(valueInum)
                        + " (ea_inode) is not supported");
            }
            long valueStart = (long) valueBase + valueOffs;
            if (valueSize > 0 && (valueStart < regionStart || valueStart + valueSize > regionEnd)) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": xattr value of " + valueSize + " bytes at offset "
                        + valueStart + " lies outside its region");
            }
            byte[] name = new byte[nameLen];
            b.get(at + 16, name);
            byte[] value = new byte[(int) valueSize];
            if (valueSize > 0) {
                b.get((int) valueStart, value);
            }
            String prefix = index < PREFIXES.length ? PREFIXES[index] : "index" + index + ".";
            out.put(prefix + new String(name, StandardCharsets.UTF_8), value);
            at += entrySize;
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
