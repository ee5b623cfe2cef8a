package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Changing directory blocks: adding an entry where a record has slack (or in a new block at the
 * end), removing one by folding it into the record before it, rewriting "..". With
 * metadata_csum every block keeps its 12-byte checksum tail. An htree directory stays indexed:
 * names go into, and come out of, the leaf its index selects ({@link HtreeWriter} splits leaves
 * and index blocks as ext4 does), and a linear directory whose one block fills is given an
 * index. Only a directory whose index fails a check is turned into a plain linear one — its
 * index blocks already parse as empty entries, so only the index flag and the checksum tails
 * change — which e2fsck accepts and a later {@code e2fsck -D} can index again; ext4 falls back
 * the same way.
 */
final class DirWriter {
    static final int TAIL = 12;

    private final ExtFs fs;
    private final ExtWriter writer;
    /** Directory inode → the logical block that last took an entry. */
    private final java.util.Map<Long, Long> roomHint = new java.util.HashMap<>();

    private final HtreeWriter htree;
    private final InlineDir inlineDirs;

    DirWriter(ExtFs fs, ExtWriter writer, InlineData inline) {
        this.fs = fs;
        this.writer = writer;
        this.htree = new HtreeWriter(fs, writer, this);
        this.inlineDirs = new InlineDir(fs, inline);
    }

    InlineDir inlineDirs() {
        return inlineDirs;
    }

    private int tail() {
        return fs.superblock().hasMetadataCsum() ? TAIL : 0;
    }

    static int recLenFor(int nameLen) {
        return (8 + nameLen + 3) & ~3;
    }

    /** How many blocks a directory has; a size that is not whole blocks, or absurd, is corruption. */
    private long blocks(RawInode dir) throws ErrnoException {
        long size = dir.size();
        int bs = fs.blockSize();
        if (size < 0 || size % bs != 0 || size > (1L << 32)) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number + " has size " + size);
        }
        return size / bs;
    }

    /** Physical block of a directory's logical block {@code lb}; a hole is corruption. */
    private long physical(RawInode dir, long lb) throws ErrnoException {
        ExtFs.Mapping m = fs.map(dir.parsed(), lb);
        if (m.physical() == 0) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number + ": hole at block " + lb);
        }
        return m.physical();
    }

    /** Whether changes to {@code dir} go through its htree index. */
    private boolean indexed(RawInode dir) {
        return Htree.isIndexed(fs.superblock(), dir.parsed());
    }

    /** Adds {@code name → ino}; the caller has checked that the name is new. */
    void add(RawInode dir, String name, long ino, int fileType) throws ErrnoException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (InlineData.isInline(dir)) {
            if (inlineDirs.add(dir, nameBytes, ino, fileType)) {
                fs.dirCache.added(dir.number, name, ino);
                return;
            }
            inlineDirs.toBlock(dir, writer, this, tail()); // full: one block, then added as to any directory
        }
        if (indexed(dir) && htree.add(dir, nameBytes, ino, fileType)) {
            fs.dirCache.added(dir.number, name, ino);
            return;
        }
        unindex(dir);
        long blocks = blocks(dir);
        // Start where the last entry went: a directory being filled has room at its end.
        long start = Math.min(roomHint.getOrDefault(dir.number, 0L), Math.max(0, blocks - 1));
        for (long k = 0; k < blocks; k++) {
            long lb = (start + k) % blocks;
            if (insertInBlock(dir, lb, nameBytes, ino, fileType)) {
                roomHint.put(dir.number, lb);
                fs.dirCache.added(dir.number, name, ino);
                return;
            }
        }
        // A full single block gets an index, as ext4 does on a dir_index filesystem.
        if (blocks == 1 && fs.superblock().hasDirIndex() && htree.makeIndexed(dir)) {
            add(dir, name, ino, fileType);
            return;
        }
        // No room: a new block at the end.
        int usable = fs.blockSize() - tail();
        checkGrowth(dir, blocks);
        long pb = writer.appendBlock(dir, blocks);
        ByteBuffer w = fs.metaZeroed(pb);
        putEntry(w, 0, ino, usable, nameBytes, fileType);
        seal(dir, w);
        roomHint.put(dir.number, blocks);
        fs.dirCache.added(dir.number, name, ino);
    }

    /**
     * Checks a name about to be added to {@code dir}: in a casefolded directory of a filesystem
     * with strict encoding, one that is not valid UTF-8 is EINVAL, as ext4_add_entry refuses it.
     */
    void checkNewName(RawInode dir, String name) throws ErrnoException {
        if (!Casefold.validUtf8(name) && Casefold.applies(fs.superblock(), dir.parsed()) && fs.strictEncoding()) {
            throw new ErrnoException(Errno.EINVAL, fs.deviceName() + ": '" + name + "' is not valid UTF-8, which the"
                    + " casefolded directory inode " + dir.number + " refuses (strict encoding)");
        }
        checkNames(dir);
    }

    /** ENOKEY if {@code dir} is encrypted: its names cannot be read or written without the key. */
    void checkNames(RawInode dir) throws ErrnoException {
        if ((dir.flags() & Encrypted.ENCRYPT_FL) != 0) {
            throw Encrypted.noKey(fs, dir.number, "directory");
        }
    }

    /** ENOSPC if a directory of {@code blocks} blocks may not take another one. */
    void checkGrowth(RawInode dir, long blocks) throws ErrnoException {
        boolean largeDir = (fs.superblock().featureIncompat() & Superblock.INCOMPAT_LARGEDIR) != 0;
        if (blocks >= (largeDir ? 1L << 32 : 1L << 21)) {
            throw new ErrnoException(Errno.ENOSPC, fs.deviceName() + ": directory inode " + dir.number + " is at its size limit");
        }
    }

    /** Puts the entry in logical block {@code lb} if a record there has the slack for it. */
    boolean insertInBlock(RawInode dir, long lb, byte[] nameBytes, long ino, int fileType) throws ErrnoException {
        int need = recLenFor(nameBytes.length);
        int usable = fs.blockSize() - tail();
        long pb = physical(dir, lb);
        ByteBuffer b = fs.metaForRead(pb, "directory block");
        int at = 0;
        while (at < usable) {
            int recLen = recLen(b, at, dir, lb);
            long entryIno = Integer.toUnsignedLong(b.getInt(at));
            int used = entryIno == 0 ? 0 : recLenFor(b.get(at + 6) & 0xff);
            if (recLen - used >= need) {
                ByteBuffer w = fs.metaForWrite(pb, "directory block");
                int newAt = at;
                if (used > 0) {
                    w.putShort(at + 4, (short) used);
                    newAt = at + used;
                }
                putEntry(w, newAt, ino, recLen - used, nameBytes, fileType);
                seal(dir, w);
                return true;
            }
            at += recLen;
        }
        return false;
    }

    int recLen(ByteBuffer b, int at, RawInode dir, long lb) throws ErrnoException {
        if (at + DirEntries.HEADER > fs.blockSize()) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number + ", block " + lb
                    + ", offset " + at + ": entry header cut off at the end of the block");
        }
        int recLen = b.getShort(at + 4) & 0xffff;
        if (recLen == 0 && fs.blockSize() == 65536) {
            recLen = 65536;
        }
        int nameLen = b.get(at + 6) & 0xff;
        if (recLen < 12 || recLen % 4 != 0 || at + recLen > fs.blockSize() - tail() && at + recLen != fs.blockSize()
                || nameLen + 8 > recLen) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number + ", block " + lb
                    + ", offset " + at + ": bad entry (rec_len " + recLen + ", name_len " + nameLen + ")");
        }
        return recLen;
    }

    static void putEntry(ByteBuffer w, int at, long ino, int recLen, byte[] name, int fileType) {
        w.putInt(at, (int) ino);
        w.putShort(at + 4, (short) recLen);
        w.put(at + 6, (byte) name.length);
        w.put(at + 7, (byte) fileType);
        w.put(at + 8, name);
    }

    /** A new directory's first block: "." and "..". */
    void initBlock(RawInode dir, long pb, long parent) throws ErrnoException {
        ByteBuffer w = fs.metaZeroed(pb);
        int dirType = fs.fileTypeCode(Inode.S_IFDIR);
        putEntry(w, 0, dir.number, 12, new byte[] {'.'}, dirType);
        putEntry(w, 12, parent, fs.blockSize() - tail() - 12, new byte[] {'.', '.'}, dirType);
        seal(dir, w);
    }

    /** Removes the entry {@code name}; returns the inode it named. ENOENT if there is none. */
    long remove(RawInode dir, String name) throws ErrnoException {
        long ino = InlineData.isInline(dir) ? inlineDirs.change(dir, name.getBytes(StandardCharsets.UTF_8), true, 0, -1)
                : find(dir, name, true, 0, -1);
        fs.dirCache.removed(dir.number, name);
        return ino;
    }

    /**
     * Points "{@code ..}" at a new parent. In an htree directory ".." lies in the dx_root, whose
     * checksum is its dx_tail, not a directory block's tail.
     */
    void setParent(RawInode dir, long parent) throws ErrnoException {
        if (InlineData.isInline(dir)) {
            inlineDirs.setParent(dir, parent);
            fs.dirCache.added(dir.number, "..", parent);
            return;
        }
        if (indexed(dir)) {
            try {
                fs.htree.checkedRoot(dir.parsed());
                ByteBuffer w = fs.metaForWrite(physical(dir, 0), "directory index block");
                w.putInt(12, (int) parent);
                htree.sealIndex(dir, w, Htree.ROOT_COUNT_OFFSET);
                fs.dirCache.added(dir.number, "..", parent);
                return;
            } catch (Htree.Damaged e) {
                fs.warn("directory inode " + dir.number + ": htree index damaged (" + e.getMessage()
                        + "); making the directory linear");
            }
        }
        unindex(dir);
        find(dir, "..", false, parent, -1);
        fs.dirCache.added(dir.number, "..", parent);
    }

    /** Repoints an existing entry at another inode (rename over an existing name). */
    void replace(RawInode dir, String name, long ino, int fileType) throws ErrnoException {
        if (InlineData.isInline(dir)) {
            inlineDirs.change(dir, name.getBytes(StandardCharsets.UTF_8), false, ino, fileType);
        } else {
            find(dir, name, false, ino, fileType);
        }
        fs.dirCache.added(dir.number, name, ino);
    }

    /** Whether the entry at {@code at} is {@code want}: in a casefolded directory, folded names are compared. */
    private static boolean nameIs(ByteBuffer b, int at, byte[] want, boolean folded) {
        int len = b.get(at + 6) & 0xff;
        if (folded) {
            byte[] name = new byte[len];
            b.get(at + 8, name);
            return java.util.Arrays.equals(Casefold.foldBytes(name), want);
        }
        if (len != want.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (b.get(at + 8 + i) != want[i]) {
                return false;
            }
        }
        return true;
    }

    /** Finds {@code name}: removes it, or repoints it at {@code newIno} (and type, unless negative). Returns the inode it named. */
    private long find(RawInode dir, String name, boolean remove, long newIno, int newType) throws ErrnoException {
        int bs = fs.blockSize();
        long first = 0;
        long end = blocks(dir);
        if (indexed(dir)) {
            try {
                long leaf = fs.htree.leafOf(dir.parsed(), name);
                if (leaf < 0) {
                    throw new ErrnoException(Errno.ENOENT, name);
                }
                first = leaf; // only the leaf the index names: the other index blocks have no checksum tail
                end = leaf + 1;
            } catch (Htree.Damaged e) {
                fs.warn("directory inode " + dir.number + ": htree index damaged (" + e.getMessage()
                        + "); making the directory linear");
                unindex(dir);
            }
        } else {
            unindex(dir);
        }
        boolean folded = Casefold.applies(fs.superblock(), dir.parsed());
        byte[] want = name.getBytes(StandardCharsets.UTF_8);
        if (folded) {
            want = Casefold.foldBytes(want);
        }
        for (long lb = first; lb < end; lb++) {
            long pb = physical(dir, lb);
            ByteBuffer b = fs.metaForRead(pb, "directory block");
            int prev = -1;
            for (int at = 0; at < bs - tail(); ) {
                int recLen = recLen(b, at, dir, lb);
                long entryIno = Integer.toUnsignedLong(b.getInt(at));
                if (entryIno != 0 && nameIs(b, at, want, folded)) {
                    ByteBuffer w = fs.metaForWrite(pb, "directory block");
                    if (!remove) {
                        w.putInt(at, (int) newIno);
                        if (newType >= 0) {
                            w.put(at + 7, (byte) newType);
                        }
                    } else if (prev >= 0) {
                        w.putShort(prev + 4, (short) (w.getShort(prev + 4) + recLen));
                    } else {
                        w.putInt(at, 0); // the first record of a block stays, empty
                    }
                    seal(dir, w);
                    return entryIno;
                }
                prev = at;
                at += recLen;
            }
        }
        throw new ErrnoException(Errno.ENOENT, name);
    }

    /** Writes the checksum tail of a directory block. */
    void seal(RawInode dir, ByteBuffer w) {
        if (tail() == 0) {
            return;
        }
        int bs = fs.blockSize();
        int at = bs - TAIL;
        w.putInt(at, 0);
        w.putShort(at + 4, (short) TAIL);
        w.put(at + 6, (byte) 0);
        w.put(at + 7, (byte) 0xDE);
        w.putInt(at + 8, Crc32c.update(fs.inodeSeed(dir.number, dir.generation()), w, 0, at));
    }

    /**
     * Turns an htree directory linear: clears the index flag and gives the root and internal
     * index blocks — whose fake entries span the block — a proper checksum tail.
     */
    private void unindex(RawInode dir) throws ErrnoException {
        if ((dir.flags() & RawInode.INDEX_FL) == 0) {
            return;
        }
        dir.flags(dir.flags() & ~RawInode.INDEX_FL);
        if (tail() == 0) {
            return; // without checksums the index blocks already read as valid linear blocks
        }
        int bs = fs.blockSize();
        for (long lb = 0; lb < blocks(dir); lb++) {
            long pb = physical(dir, lb);
            ByteBuffer b = fs.metaForRead(pb, "directory block");
            int at = 0;
            int last = 0;
            while (at < bs - TAIL) {
                last = at;
                at += recLen(b, at, dir, lb);
            }
            if (at == bs - TAIL) {
                continue; // a leaf: its records end at the checksum tail
            }
            // An index block: the root's ".." or a node's empty record spans the whole block.
            ByteBuffer w = fs.metaForWrite(pb, "directory block");
            int keep = last + (w.getInt(last) == 0 ? 8 : recLenFor(w.get(last + 6) & 0xff));
            w.putShort(last + 4, (short) (bs - TAIL - last));
            for (int i = keep; i < bs; i++) {
                w.put(i, (byte) 0);
            }
            seal(dir, w);
        }
    }
}
