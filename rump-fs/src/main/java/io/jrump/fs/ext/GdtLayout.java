package io.jrump.fs.ext;

import java.util.List;

/**
 * Where the group descriptor blocks lie. Without meta_bg the whole table follows the superblock
 * (and each of its backups), then the reserved GDT blocks. With meta_bg only the first
 * {@code s_first_meta_bg} descriptor blocks stay there (the "classic" part, copied after every
 * superblock backup of the groups they describe); from then on descriptor block {@code k}
 * describes meta group {@code k} — the {@code blockSize / descSize} groups starting at group
 * {@code k * descPerBlock} — and lies in the first, second and last group of that meta group,
 * right after the superblock copy if the group has one. The primary copy is the one in the first.
 */
final class GdtLayout {
    private GdtLayout() {
    }

    static int descSize(Superblock sb) {
        return sb.has64bit() ? sb.descSize() : 32;
    }

    static long descPerBlock(Superblock sb) {
        return sb.blockSize() / descSize(sb);
    }

    /** How many blocks the whole descriptor table takes. */
    static long descBlocks(Superblock sb) {
        return (sb.groupCount() * descSize(sb) + sb.blockSize() - 1) / sb.blockSize();
    }

    /** How many descriptor blocks follow each superblock copy (meta_bg: the classic part only). */
    static long classicBlocks(Superblock sb) {
        return sb.hasMetaBg() ? Math.min(sb.firstMetaBg(), descBlocks(sb)) : descBlocks(sb);
    }

    private static long groupStart(Superblock sb, long g) {
        return sb.firstDataBlock() + g * sb.blocksPerGroup();
    }

    /** The primary location of descriptor block {@code k} (0-based within the table). */
    static long primary(Superblock sb, long k) {
        if (!sb.hasMetaBg() || k < sb.firstMetaBg()) {
            return sb.primaryGdtBlock() + k;
        }
        long g = k * descPerBlock(sb);
        return g == 0 ? sb.primaryGdtBlock() : groupStart(sb, g) + (sb.hasSuperblockCopy(g) ? 1 : 0);
    }

    /**
     * The runs {start, count} at the start of group {@code g} holding a superblock copy,
     * descriptor copies and reserved GDT blocks, as the kernel counts them: with meta_bg the
     * classic part (and the reserved GDT blocks a filesystem that resize2fs moved to meta_bg
     * keeps) follows the superblock copies only in groups of meta groups before
     * {@code s_first_meta_bg}.
     */
    static void groupMetadata(Superblock sb, long g, List<long[]> out) {
        long start = groupStart(sb, g);
        boolean copy = sb.hasSuperblockCopy(g);
        // Blocks before the descriptors: the superblock copy; in group 0 from the group's start (block 0
        // with 1 KiB blocks under bigalloc, whose first data block is 0: boot block and superblock).
        long lead = g == 0 ? sb.primaryGdtBlock() - start : 1;
        if (!sb.hasMetaBg()) {
            if (copy) {
                out.add(new long[] {start, lead + descBlocks(sb) + sb.reservedGdtBlocks()});
            }
            return;
        }
        long perMeta = descPerBlock(sb);
        long meta = g / perMeta;
        if (meta < sb.firstMetaBg()) {
            if (copy) {
                out.add(new long[] {start, lead + sb.firstMetaBg() + sb.reservedGdtBlocks()});
            }
            return;
        }
        long within = g % perMeta;
        boolean holdsDescriptors = within == 0 || within == 1 || within == perMeta - 1;
        long n = (copy ? lead : 0) + (holdsDescriptors ? 1 : 0);
        if (n > 0) {
            out.add(new long[] {start, n});
        }
    }
}
