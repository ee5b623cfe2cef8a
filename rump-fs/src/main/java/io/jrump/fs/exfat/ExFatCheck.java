package io.jrump.fs.exfat;

import io.jrump.blk.Progress;
import io.jrump.fs.fat.ClusterChain;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.DirEntry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only check of a mounted exFAT volume, as {@code fsck.exfat -n}: every directory read
 * (entry set checksums, name hashes and lengths are checked as they are parsed), every chain
 * followed, and the clusters they claim compared with the allocation bitmap — claimed twice,
 * claimed but free, in use but claimed by nothing (lost). Reports; repairs nothing.
 */
public final class ExFatCheck {
    /** What the check found: counts, and one line per problem (none if clean). */
    public record Result(long files, long directories, long clustersUsed, List<String> problems) {
        public boolean isClean() {
            return problems.isEmpty();
        }
    }

    private static final int MAX_PROBLEMS = 1000;

    private ExFatCheck() {
    }

    public static Result check(ExFatFs fs) throws ErrnoException {
        return check(fs, Progress.NONE);
    }

    /**
     * As {@link #check(ExFatFs)}, reporting to {@code progress} after each directory the clusters
     * claimed so far, of those the allocation bitmap marks in use.
     */
    public static Result check(ExFatFs fs, Progress progress) throws ErrnoException {
        List<String> problems = new ArrayList<>();
        if (fs.isReadOnly() && fs.boot.dirty()) {
            problems.add("boot sector: VolumeDirty is set (not cleanly unmounted)");
        }
        backupBootRegion(fs, problems);
        BitSet bitmap = fs.bitmap();
        BitSet claimed = new BitSet();
        List<ClusterChain> meta = fs.metadataChains();
        String[] metaNames = {"allocation bitmap", "up-case table", "root directory"};
        for (int i = 0; i < meta.size(); i++) {
            claim(meta.get(i), metaNames[i], claimed, bitmap, problems);
        }
        long files = 0;
        long directories = 1;
        Deque<long[]> dirs = new ArrayDeque<>();
        Map<Long, String> paths = new HashMap<>();
        dirs.add(new long[] {fs.rootInode()});
        paths.put(fs.rootInode(), "");
        long inUse = Math.max(1, bitmap.cardinality());
        long[] claimedCount = {0};
        for (ClusterChain c : meta) {
            claimedCount[0] += c.length();
        }
        while (!dirs.isEmpty() && problems.size() < MAX_PROBLEMS) {
            progress.at(Math.min(claimedCount[0], inUse), inUse);
            long dir = dirs.poll()[0];
            List<DirEntry> entries;
            try {
                entries = fs.readdir(dir);
            } catch (ErrnoException e) {
                problems.add(paths.get(dir) + "/: " + e.detail());
                continue;
            }
            for (DirEntry e : entries) {
                if (e.name().equals(".") || e.name().equals("..")) {
                    continue;
                }
                String path = paths.get(dir) + "/" + e.name();
                try {
                    ClusterChain c = fs.clustersOf(e.ino());
                    claimedCount[0] += c.length();
                    if (claim(c, path, claimed, bitmap, problems) && e.type() == DirEntry.DT_DIR) {
                        paths.put(e.ino(), path);
                        dirs.add(new long[] {e.ino()});
                    }
                } catch (ErrnoException x) {
                    if (x.errno() != Errno.EUCLEAN) {
                        throw x;
                    }
                    problems.add(path + ": " + x.detail());
                }
                if (e.type() == DirEntry.DT_DIR) {
                    directories++;
                } else {
                    files++;
                }
            }
        }
        progress.at(inUse, inUse);
        BitSet lost = (BitSet) bitmap.clone();
        lost.andNot(claimed);
        if (!lost.isEmpty()) {
            problems.add(lost.cardinality() + " clusters are marked in use but belong to nothing (lost), the first "
                    + (lost.nextSetBit(0) + 2L));
        }
        return new Result(files, directories, claimed.cardinality(), List.copyOf(problems));
    }

    /**
     * The backup boot region (sectors 12-23) repeats the main one but for VolumeFlags and
     * PercentInUse, which change in the main one only.
     */
    private static void backupBootRegion(ExFatFs fs, List<String> problems) throws ErrnoException {
        int sb = fs.boot.sectorBytes();
        byte[] both = new byte[24 * sb];
        fs.io.read(0, java.nio.ByteBuffer.wrap(both));
        for (int i = 0; i < 12 * sb; i++) {
            if (i == ExFatBoot.OFF_VOLUME_FLAGS || i == ExFatBoot.OFF_VOLUME_FLAGS + 1 || i == ExFatBoot.OFF_PERCENT_IN_USE) {
                continue;
            }
            if (both[i] != both[12 * sb + i]) {
                problems.add("backup boot region: sector " + (12 + i / sb) + " differs from sector " + (i / sb)
                        + " at offset " + (i % sb));
                return;
            }
        }
    }

    /** Claims a chain's clusters for {@code what}; false if it overlaps what another claimed (not walked further). */
    private static boolean claim(ClusterChain c, String what, BitSet claimed, BitSet bitmap,
            List<String> problems) {
        boolean alone = true;
        int free = 0;
        for (long i = 0; i < c.length(); i++) {
            long cluster = c.get(i);
            int bit = (int) (cluster - 2);
            if (claimed.get(bit)) {
                if (alone) {
                    problems.add(what + ": cluster " + cluster + " belongs to a file or directory checked before "
                            + "(cross-linked)");
                }
                alone = false;
            } else {
                claimed.set(bit);
            }
            if (!bitmap.get(bit)) {
                free++;
            }
        }
        if (free > 0) {
            problems.add(what + ": " + free + " of its clusters are marked free in the allocation bitmap");
        }
        return alone;
    }
}
