package io.jrump.fs.fat;

import io.jrump.blk.Progress;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A read-only check of a FAT volume, after the checks {@code fsck.fat -n} makes: the FAT copies
 * agree; every file's and directory's cluster chain stays on the volume, has no free, bad or
 * looping link, is claimed once (no cross-links) and is as long as the size says; directories
 * start with correct "." and ".." entries, hold valid and unique short names and no orphaned
 * long-name parts, and contain no loop; no cluster is allocated that nothing claims; FSInfo's
 * free count is right; the volume was cleanly unmounted. Reads only. Memory: one bit per
 * cluster and one directory at a time.
 */
public final class FatCheck {
    /** What the check found. */
    public record Result(List<String> problems, long files, long directories, long clustersUsed) {
        public boolean isClean() {
            return problems.isEmpty();
        }
    }

    private static final int MAX_PROBLEMS = 1000;
    private static final String BAD_SHORT_CHARS = "\"*+,./:;<=>?[\\]|";

    private final FatFs fs;
    private final BootSector bs;
    private final FatTable fat;
    private final List<String> problems = new ArrayList<>();
    private final BitSet claimed;
    private long files;
    private long directories;
    private Progress progress = Progress.NONE;
    /** Clusters the FAT has in use (not free, not bad), and how many the walk has claimed. */
    private long inUse;
    private long claimedCount;

    private FatCheck(FatFs fs) {
        this.fs = fs;
        this.bs = fs.bs;
        this.fat = fs.fat;
        this.claimed = new BitSet((int) Math.min(Integer.MAX_VALUE, bs.maxCluster + 1));
    }

    /** Checks the volume {@code fs} is mounted on (read-only is best: nothing else may change it meanwhile). */
    public static Result check(FatFs fs) throws ErrnoException {
        return check(fs, Progress.NONE);
    }

    /**
     * As {@link #check(FatFs)}, reporting to {@code progress} after each directory the clusters
     * claimed so far by the files and directories walked, of the clusters the FAT has in use.
     */
    public static Result check(FatFs fs, Progress progress) throws ErrnoException {
        synchronized (fs) {
            fs.sync();
            FatCheck c = new FatCheck(fs);
            c.progress = progress;
            c.run();
            progress.at(Math.max(c.inUse, 1), Math.max(c.inUse, 1));
            long used = c.claimed.cardinality();
            return new Result(List.copyOf(c.problems), c.files, c.directories, used);
        }
    }

    private void problem(String p) {
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(p);
        } else if (problems.size() == MAX_PROBLEMS) {
            problems.add("... more problems not listed");
        }
    }

    private void run() throws ErrnoException {
        if (bs.dirty) {
            problem("Dirty bit is set: the volume was not properly unmounted");
        }
        compareFats();
        checkBackupBootSector();
        walk();
        long lost = 0;
        long firstLost = -1;
        long free = 0;
        for (long c = 2; c <= bs.maxCluster; c++) {
            long v = fat.get(c);
            if (v == 0) {
                free++;
            } else if (v != fat.type().bad && !claimed.get((int) c)) {
                lost++;
                if (firstLost < 0) {
                    firstLost = c;
                }
            }
        }
        if (lost > 0) {
            problem(lost + " lost clusters (allocated, but no file or directory claims them; the first is "
                    + firstLost + ")");
        }
        checkFsInfo(free);
    }

    private void compareFats() throws ErrnoException {
        int active = bs.activeFat();
        byte[] a = new byte[(int) Math.min(bs.fatBytes(), 1 << 20)];
        byte[] b = new byte[a.length];
        for (int n = 0; n < bs.fatCount; n++) {
            if (n == active || !bs.mirrored(n)) {
                continue;
            }
            for (long off = 0; off < bs.fatBytes(); off += a.length) {
                int len = (int) Math.min(a.length, bs.fatBytes() - off);
                fs.io.read(bs.fatOffset(active) + off, ByteBuffer.wrap(a, 0, len));
                fs.io.read(bs.fatOffset(n) + off, ByteBuffer.wrap(b, 0, len));
                if (!Arrays.equals(a, 0, len, b, 0, len)) {
                    problem("FATs differ: FAT " + (n + 1) + " is not a copy of FAT " + (active + 1) + " (from byte "
                            + (off + Arrays.mismatch(Arrays.copyOf(a, len), Arrays.copyOf(b, len))) + ")");
                    break;
                }
            }
        }
        long media = fat.get(0) & 0xff;
        if (media != bs.media) {
            problem(String.format("FAT[0] holds media byte 0x%02x, the boot sector says 0x%02x", media, bs.media));
        }
    }

    private void checkBackupBootSector() throws ErrnoException {
        if (bs.type != FatType.FAT32 || bs.backupBootSector == 0 || bs.backupBootSector >= bs.reservedSectors) {
            return;
        }
        byte[] main = new byte[512];
        byte[] backup = new byte[512];
        fs.io.read(0, ByteBuffer.wrap(main));
        fs.io.read((long) bs.backupBootSector * bs.bytesPerSector, ByteBuffer.wrap(backup));
        main[bs.stateOffset] = backup[bs.stateOffset]; // the dirty bit lives only in the main one
        if (!Arrays.equals(main, backup)) {
            problem("the backup boot sector (sector " + bs.backupBootSector + ") differs from the boot sector");
        }
    }

    private void checkFsInfo(long free) throws ErrnoException {
        if (bs.type != FatType.FAT32 || bs.fsInfoSector == 0 || bs.fsInfoSector >= bs.reservedSectors) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        fs.io.read((long) bs.fsInfoSector * bs.bytesPerSector, b);
        if (BootSector.u32(b, 0) != 0x41615252L || BootSector.u32(b, 484) != 0x61417272L) {
            problem("FSInfo sector " + bs.fsInfoSector + " has no valid signatures");
            return;
        }
        long said = BootSector.u32(b, 488);
        if (said != 0xFFFF_FFFFL && said != free) {
            problem("Free cluster summary wrong (" + said + " vs. really " + free + ")");
        }
    }

    /** One directory to check: its chain (null: the fixed root), its path, its parent's cluster. */
    private record Pending(ClusterChain chain, String path, long self, long parent) {
    }

    private void walk() throws ErrnoException {
        Deque<Pending> todo = new ArrayDeque<>();
        Set<Long> seenDirs = new HashSet<>();
        if (bs.type == FatType.FAT32) {
            ClusterChain root = claim(bs.rootCluster, "/");
            if (root == null) {
                return;
            }
            todo.add(new Pending(root, "/", 0, 0));
            seenDirs.add(bs.rootCluster);
        } else {
            todo.add(new Pending(null, "/", 0, 0));
        }
        for (long c = 2; c <= bs.maxCluster; c++) {
            long v = fat.get(c);
            inUse += v != 0 && v != fat.type().bad ? 1 : 0;
        }
        while (!todo.isEmpty()) {
            progress.at(Math.min(claimedCount, inUse), Math.max(inUse, 1));
            Pending d = todo.poll();
            directories++;
            byte[] raw = read(d);
            if (raw == null) {
                continue;
            }
            checkDirectory(d, raw, todo, seenDirs);
        }
    }

    private byte[] read(Pending d) throws ErrnoException {
        long bytes = d.chain == null ? bs.rootDirBytes() : d.chain.length() * bs.clusterBytes();
        if (bytes > (long) FatDir.MAX_ENTRIES * RawEntry.SIZE) {
            problem(d.path + ": directory of " + bytes / RawEntry.SIZE + " entries, more than 65536");
            bytes = (long) FatDir.MAX_ENTRIES * RawEntry.SIZE;
        }
        byte[] raw = new byte[(int) bytes];
        if (d.chain == null) {
            fs.io.read(bs.rootDirOffset(), ByteBuffer.wrap(raw));
        } else {
            int cb = (int) bs.clusterBytes();
            for (long i = 0; i < d.chain.length() && (i + 1) * cb <= raw.length; i++) {
                fs.io.read(bs.clusterOffset(d.chain.get(i)), ByteBuffer.wrap(raw, (int) (i * cb), cb));
            }
        }
        return raw;
    }

    private void checkDirectory(Pending d, byte[] raw, Deque<Pending> todo, Set<Long> seenDirs) throws ErrnoException {
        boolean root = d.path.equals("/");
        boolean fat32 = bs.type == FatType.FAT32;
        int n = raw.length / RawEntry.SIZE;
        Set<String> shortNames = new HashSet<>();
        int lfnExpect = 0;
        int lfnSum = -1;
        int lfnStart = -1;
        for (int i = 0; i < n; i++) {
            int at = i * RawEntry.SIZE;
            int b0 = raw[at] & 0xff;
            if (b0 == 0) {
                break;
            }
            int attr = raw[at + 11] & 0xff;
            if (!root && i < 2) {
                checkDot(d, raw, i);
                continue;
            }
            if (b0 == RawEntry.DELETED) {
                if (lfnExpect != 0) {
                    problem(d.path + ": orphaned long file name part at entry " + lfnStart);
                }
                lfnExpect = 0;
                continue;
            }
            if ((attr & 0x3f) == RawEntry.ATTR_LONG_NAME) {
                int ord = b0 & 0x1f;
                if ((b0 & 0x40) != 0) {
                    if (lfnExpect != 0) {
                        problem(d.path + ": orphaned long file name part at entry " + lfnStart);
                    }
                    lfnExpect = ord;
                    lfnSum = raw[at + 13] & 0xff;
                    lfnStart = i;
                    if (ord == 0 || ord > 20) {
                        problem(d.path + ": long file name part at entry " + i + " has sequence number " + ord);
                        lfnExpect = 0;
                    }
                } else if (lfnExpect == 0 || ord != lfnExpect - 1 || (raw[at + 13] & 0xff) != lfnSum) {
                    problem(d.path + ": orphaned long file name part at entry " + i);
                    lfnExpect = 0;
                    continue;
                } else {
                    lfnExpect = ord;
                }
                if (lfnExpect == 1) {
                    lfnExpect = -1; // complete: a short entry must follow
                }
                continue;
            }
            RawEntry e = RawEntry.read(raw, at, fat32);
            String shown = ShortName.display(e.name, 0);
            if (lfnExpect == -1 && ShortName.checksum(e.name) != lfnSum) {
                problem(d.path + ": long file name at entry " + lfnStart + " has checksum " + lfnSum
                        + ", its short entry " + shown + " needs " + ShortName.checksum(e.name));
            } else if (lfnExpect > 0) {
                problem(d.path + ": orphaned long file name part at entry " + lfnStart);
            }
            lfnExpect = 0;
            if ((attr & RawEntry.ATTR_VOLUME_ID) != 0) {
                if (!root) {
                    problem(d.path + ": volume label entry " + shown + " outside the root directory");
                }
                continue;
            }
            String path = (root ? "/" : d.path + "/") + shown;
            if (!validShortName(e.name)) {
                problem(path + ": Bad short file name");
            }
            if (!shortNames.add(new String(e.name, StandardCharsets.ISO_8859_1))) {
                problem(path + ": Duplicate directory entry");
            }
            if (e.isDirectory()) {
                if (e.size != 0) {
                    problem(path + ": directory with size " + e.size);
                }
                if (e.firstCluster == 0) {
                    problem(path + ": directory without a cluster");
                    continue;
                }
                if (!seenDirs.add(e.firstCluster)) {
                    problem(path + ": directory at cluster " + e.firstCluster + " is listed twice (a loop or a cross-link)");
                    continue;
                }
                ClusterChain chain = claim(e.firstCluster, path);
                if (chain != null) {
                    todo.add(new Pending(chain, path, e.firstCluster, root ? 0 : d.self));
                }
            } else {
                files++;
                long cb = bs.clusterBytes();
                if (e.firstCluster == 0) {
                    if (e.size != 0) {
                        problem(path + ": File size is " + e.size + " bytes but it has no cluster");
                    }
                    continue;
                }
                ClusterChain chain = claim(e.firstCluster, path);
                if (chain == null) {
                    continue;
                }
                long need = (e.size + cb - 1) / cb;
                if (chain.length() < need) {
                    problem(path + ": File size is " + e.size + " bytes, cluster chain length is "
                            + chain.length() * cb + " bytes");
                } else if (chain.length() > Math.max(1, need)) {
                    problem(path + ": File size is " + e.size + " bytes but it has " + chain.length()
                            + " clusters (too many)");
                }
            }
        }
    }

    private void checkDot(Pending d, byte[] raw, int i) {
        RawEntry e = RawEntry.read(raw, i * RawEntry.SIZE, bs.type == FatType.FAT32);
        String want = i == 0 ? ".          " : "..         ";
        if (!new String(e.name, StandardCharsets.ISO_8859_1).equals(want) || !e.isDirectory()) {
            problem(d.path + ": entry " + i + " is not '" + want.trim() + "'");
            return;
        }
        long expect = i == 0 ? d.self : d.parent;
        if (e.firstCluster != expect) {
            problem(d.path + ": '" + want.trim() + "' points to cluster " + e.firstCluster + ", not " + expect
                    + (i == 0 ? " (Start does not point to self)" : " (Start does not point to parent)"));
        }
    }

    private static boolean validShortName(byte[] name) {
        if (name[0] == ' ') {
            return false;
        }
        for (int i = 0; i < 11; i++) {
            int c = name[i] & 0xff;
            if (c < 0x20 && !(i == 0 && c == 0x05)) {
                return false;
            }
            if (c < 0x80 && (BAD_SHORT_CHARS.indexOf(c) >= 0 || (c >= 'a' && c <= 'z'))) {
                return false;
            }
        }
        return true;
    }

    /** Walks a chain, marking its clusters claimed; null (and a problem) if it is broken or crosses another. */
    private ClusterChain claim(long first, String path) throws ErrnoException {
        ClusterChain chain;
        try {
            chain = fat.chain(first, path);
        } catch (ErrnoException e) {
            problem(e.detail());
            return null;
        }
        for (long i = 0; i < chain.length(); i++) {
            long c = chain.get(i);
            if (claimed.get((int) c)) {
                problem(path + ": cluster " + c + " is cross-linked with another file or directory");
                return null;
            }
        }
        for (long i = 0; i < chain.length(); i++) {
            claimed.set((int) chain.get(i));
        }
        claimedCount += chain.length();
        return chain;
    }
}
