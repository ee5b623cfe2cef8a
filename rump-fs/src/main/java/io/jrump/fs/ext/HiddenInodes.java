package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.util.Set;
import java.util.TreeSet;

/**
 * Inodes the superblock names that no directory does: the quota files (s_usr_quota_inum,
 * s_grp_quota_inum, s_prj_quota_inum, with quota) and the orphan file (s_orphan_file_inum, with
 * orphan_file). The checker claims their blocks and does not call them unattached.
 */
final class HiddenInodes {
    private HiddenInodes() {
    }

    static Set<Long> of(ExtFs fs) throws ErrnoException {
        Superblock sb = fs.superblock();
        Set<Long> out = new TreeSet<>();
        if ((sb.featureRoCompat() & Quota.RO_COMPAT_QUOTA) != 0) {
            for (int offset : new int[] {0x240, 0x244, 0x26C}) {
                out.add(Integer.toUnsignedLong(fs.superblockInt(offset)));
            }
        }
        if ((sb.featureCompat() & OrphanFile.COMPAT_ORPHAN_FILE) != 0) {
            out.add(Integer.toUnsignedLong(fs.superblockInt(0x280)));
        }
        out.remove(0L);
        out.removeIf(ino -> ino > sb.inodesCount());
        return out;
    }
}
