package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.util.List;
import java.util.function.Consumer;

/**
 * The checks of an inline-data inode that e2fsck's first pass makes: the {@code system.data}
 * attribute present in the inode (not merely in an xattr block), the extents flag not set beside
 * the inline flag, and a directory's size equal to the 60 bytes of i_block plus the attribute's
 * length. A regular file's size is not held to its inline bytes: e2fsck accepts a larger one, and
 * the kernel reads zeros past them.
 */
final class InlineChecks {
    private InlineChecks() {
    }

    static void check(ExtFs fs, RawInode raw, Inode inode, Consumer<String> report) throws ErrnoException {
        Superblock sb = fs.superblock();
        if (!inode.hasInlineData() || (sb.featureIncompat() & Superblock.INCOMPAT_INLINE_DATA) == 0) {
            return;
        }
        long ino = inode.number();
        List<Xattrs.Entry> entries = Xattrs.inInodeEntries(raw.b, 0, sb.inodeSize(), fs.deviceName() + ": inode " + ino);
        Xattrs.Entry data = entries.stream().filter(InlineData::isSystemData).findFirst().orElse(null);
        if (data == null) {
            report.accept("inode " + ino + " has the inline-data flag but no system.data attribute in the inode");
            return;
        }
        if (inode.usesExtents()) {
            report.accept("inode " + ino + " has both the inline-data and the extents flag");
        }
        long size = InlineData.IBLOCK + data.value().length;
        if (inode.isDir() && inode.size() != size) {
            report.accept("inline directory inode " + ino + ": i_size is " + inode.size() + ", should be " + size);
        }
    }
}
