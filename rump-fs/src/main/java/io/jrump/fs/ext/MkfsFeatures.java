package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The feature set {@link Mkfs} makes: the three superblock feature words, started from a type's
 * defaults (mke2fs.conf's) and changed by an mke2fs-style {@code -O} list — comma-separated names
 * as mke2fs spells them, {@code ^name} to clear one. Only the features this mkfs can lay out are
 * taken; another known ext feature is refused by name ({@code EOPNOTSUPP}), an unknown name is
 * {@code EINVAL}. Combinations mke2fs refuses are refused alike ({@link #validate}).
 */
public record MkfsFeatures(int compat, int incompat, int roCompat) {

    static final int COMPAT_HAS_JOURNAL = 0x4;
    static final int COMPAT_EXT_ATTR = 0x8;
    static final int COMPAT_RESIZE_INODE = 0x10;
    static final int COMPAT_DIR_INDEX = 0x20;
    static final int INCOMPAT_FILETYPE = 0x2;
    static final int INCOMPAT_META_BG = 0x10;
    static final int INCOMPAT_EXTENTS = 0x40;
    static final int INCOMPAT_64BIT = 0x80;
    static final int INCOMPAT_FLEX_BG = 0x200;
    static final int RO_SPARSE_SUPER = 0x1;
    static final int RO_LARGE_FILE = 0x2;
    static final int RO_HUGE_FILE = 0x8;
    static final int RO_GDT_CSUM = 0x10;
    static final int RO_DIR_NLINK = 0x20;
    static final int RO_EXTRA_ISIZE = 0x40;
    static final int RO_METADATA_CSUM = 0x400;

    private enum Word { COMPAT, INCOMPAT, RO_COMPAT }

    private record Bit(Word word, int mask) {
    }

    /** The features this mkfs makes, by mke2fs's names. */
    private static final Map<String, Bit> MADE = new LinkedHashMap<>();

    static {
        MADE.put("has_journal", new Bit(Word.COMPAT, COMPAT_HAS_JOURNAL));
        MADE.put("ext_attr", new Bit(Word.COMPAT, COMPAT_EXT_ATTR));
        MADE.put("resize_inode", new Bit(Word.COMPAT, COMPAT_RESIZE_INODE));
        MADE.put("dir_index", new Bit(Word.COMPAT, COMPAT_DIR_INDEX));
        MADE.put("filetype", new Bit(Word.INCOMPAT, INCOMPAT_FILETYPE));
        MADE.put("meta_bg", new Bit(Word.INCOMPAT, INCOMPAT_META_BG));
        MADE.put("extent", new Bit(Word.INCOMPAT, INCOMPAT_EXTENTS));
        MADE.put("extents", new Bit(Word.INCOMPAT, INCOMPAT_EXTENTS));
        MADE.put("64bit", new Bit(Word.INCOMPAT, INCOMPAT_64BIT));
        MADE.put("flex_bg", new Bit(Word.INCOMPAT, INCOMPAT_FLEX_BG));
        MADE.put("sparse_super", new Bit(Word.RO_COMPAT, RO_SPARSE_SUPER));
        MADE.put("large_file", new Bit(Word.RO_COMPAT, RO_LARGE_FILE));
        MADE.put("huge_file", new Bit(Word.RO_COMPAT, RO_HUGE_FILE));
        MADE.put("uninit_bg", new Bit(Word.RO_COMPAT, RO_GDT_CSUM));
        MADE.put("uninit_groups", new Bit(Word.RO_COMPAT, RO_GDT_CSUM));
        MADE.put("dir_nlink", new Bit(Word.RO_COMPAT, RO_DIR_NLINK));
        MADE.put("extra_isize", new Bit(Word.RO_COMPAT, RO_EXTRA_ISIZE));
        MADE.put("metadata_csum", new Bit(Word.RO_COMPAT, RO_METADATA_CSUM));
    }

    /** Other features mke2fs knows, which this mkfs does not make. */
    private static final Set<String> NOT_MADE = Set.of("sparse_super2", "bigalloc", "quota", "project", "inline_data",
            "metadata_csum_seed", "large_dir", "ea_inode", "encrypt", "casefold", "fname_encoding", "mmp",
            "orphan_file", "stable_inodes", "verity", "journal_dev", "imagic_inodes", "dir_prealloc", "lazy_bg",
            "snapshot_bitmap", "compression", "dirdata", "ext4_largedir", "fast_commit", "exclude_bitmap",
            "replica", "shared_blocks", "read-only", "orphan_present", "64bit_csum");

    /** mke2fs.conf's defaults: ext2's base features, ext4's on top of them. */
    public static MkfsFeatures defaults(Mkfs.Type type) {
        int compat = COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX;
        int incompat = INCOMPAT_FILETYPE;
        int ro = RO_SPARSE_SUPER | RO_LARGE_FILE;
        if (type == Mkfs.Type.EXT4) {
            compat |= COMPAT_HAS_JOURNAL;
            incompat |= INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG;
            ro |= RO_HUGE_FILE | RO_DIR_NLINK | RO_EXTRA_ISIZE | RO_METADATA_CSUM;
        }
        return new MkfsFeatures(compat, incompat, ro);
    }

    /**
     * These features changed by an {@code -O} list such as {@code "meta_bg,^resize_inode"}.
     *
     * @throws ErrnoException {@code EOPNOTSUPP} naming a feature this mkfs does not make;
     *     {@code EINVAL} for a name mke2fs does not know either
     */
    public MkfsFeatures with(String list) throws ErrnoException {
        int c = compat;
        int i = incompat;
        int r = roCompat;
        for (String item : list.split(",")) {
            String name = item.trim().toLowerCase(Locale.ROOT);
            if (name.isEmpty() || name.equals("none")) {
                continue;
            }
            boolean clear = name.startsWith("^");
            if (clear) {
                name = name.substring(1);
            }
            Bit bit = MADE.get(name);
            if (bit == null) {
                if (NOT_MADE.contains(name)) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, "mkfs: ext feature " + name + " is not one this mkfs makes");
                }
                throw new ErrnoException(Errno.EINVAL, "mkfs: invalid filesystem option set: " + item.trim()
                        + " (no ext feature of that name)");
            }
            if (clear && name.equals("filetype")) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "mkfs: ^filetype (directory entries without file types) is "
                        + "not one this mkfs makes");
            }
            switch (bit.word()) {
                case COMPAT -> c = clear ? c & ~bit.mask() : c | bit.mask();
                case INCOMPAT -> i = clear ? i & ~bit.mask() : i | bit.mask();
                case RO_COMPAT -> r = clear ? r & ~bit.mask() : r | bit.mask();
                default -> throw new IllegalStateException();
            }
        }
        return new MkfsFeatures(c, i, r);
    }

    boolean has(Word w, int mask) {
        return ((w == Word.COMPAT ? compat : w == Word.INCOMPAT ? incompat : roCompat) & mask) != 0;
    }

    public boolean hasJournal() {
        return (compat & COMPAT_HAS_JOURNAL) != 0;
    }

    public boolean resizeInode() {
        return (compat & COMPAT_RESIZE_INODE) != 0;
    }

    public boolean metaBg() {
        return (incompat & INCOMPAT_META_BG) != 0;
    }

    public boolean extents() {
        return (incompat & INCOMPAT_EXTENTS) != 0;
    }

    public boolean is64bit() {
        return (incompat & INCOMPAT_64BIT) != 0;
    }

    public boolean flexBg() {
        return (incompat & INCOMPAT_FLEX_BG) != 0;
    }

    public boolean sparseSuper() {
        return (roCompat & RO_SPARSE_SUPER) != 0;
    }

    public boolean metadataCsum() {
        return (roCompat & RO_METADATA_CSUM) != 0;
    }

    /** uninit_bg's CRC16 descriptor checksums (only without metadata_csum, which supersedes it). */
    public boolean gdtCsum() {
        return (roCompat & RO_GDT_CSUM) != 0 && !metadataCsum();
    }

    /** Whether group descriptors carry checksums, and with them the uninit flags and itable_unused. */
    public boolean groupChecksums() {
        return metadataCsum() || gdtCsum();
    }

    /** The set as mke2fs writes it: metadata_csum clears uninit_bg. */
    MkfsFeatures normalized() {
        return metadataCsum() ? new MkfsFeatures(compat, incompat, roCompat & ~RO_GDT_CSUM) : this;
    }

    /** Combinations mke2fs refuses, refused alike with {@code EINVAL}; features it cannot make yet, {@code EOPNOTSUPP}. */
    public void validate(String where) throws ErrnoException {
        if (resizeInode() && metaBg()) {
            throw new ErrnoException(Errno.EINVAL, where + "the resize_inode and meta_bg features are not compatible");
        }
        if (resizeInode() && !sparseSuper()) {
            throw new ErrnoException(Errno.EINVAL, where + "resize_inode needs sparse_super (reserved GDT blocks are "
                    + "not supported on a non-sparse filesystem)");
        }
        if (is64bit() && !extents()) {
            throw new ErrnoException(Errno.EINVAL, where + "extents must be enabled for a 64bit filesystem");
        }
    }

    /** The names set, in mke2fs's order, for messages and tests. */
    public List<String> names() {
        List<String> out = new ArrayList<>();
        MADE.forEach((name, bit) -> {
            if (!name.equals("extents") && !name.equals("uninit_groups") && has(bit.word(), bit.mask())) {
                out.add(name);
            }
        });
        return out;
    }
}
