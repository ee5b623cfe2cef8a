package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The quota files' usage against what the inodes use, as e2fsck compares them after pass 1
 * ("usage inconsistent"): per user, group and project id, the bytes of blocks (data, mapping and
 * xattr block) and the inodes charged, counted over the root and the ordinary inodes in use (not
 * the project quota file, not xattr-value inodes), against each id's {@code dqb_curspace} and
 * {@code dqb_curinodes} in the quota file (the kernel's v2r1 format: a four-level radix tree of
 * 1 KiB blocks by id, leaves of 72-byte entries). Limits and grace times are not checked.
 */
final class QuotaChecks {
    private static final int TREE_BLOCK = 1024;
    private static final int ENTRY = 72;
    private static final int LEAF_HEADER = 16;
    private static final int MAX_FILE = 64 << 20;
    private static final String[] NAMES = {"user", "group", "project"};
    private static final int[] MAGICS = {0xd9c01f11, 0xd9c01927, 0xd9c03f14};

    /** Charged usage per id, for one quota type: {bytes, inodes}. */
    private final Map<Long, long[]>[] usage;

    @SuppressWarnings("unchecked")
    QuotaChecks() {
        usage = new Map[] {new HashMap<>(), new HashMap<>(), new HashMap<>()};
    }

    /**
     * Charges an inode in use to its user, group and project: {@code bytes} of blocks and
     * {@code inodes} inodes (itself, and with ea_inode the value inodes it names, as ext4 charges them).
     */
    void charge(long uid, long gid, long projid, long bytes, long inodes) {
        long[] ids = {uid, gid, projid};
        for (int t = 0; t < 3; t++) {
            long[] u = usage[t].computeIfAbsent(ids[t], k -> new long[2]);
            u[0] += bytes;
            u[1] += inodes;
        }
    }

    /** Compares each quota file the superblock names (quota feature on) with the charged usage. */
    void check(ExtFs fs, InodeTableScan inodes, long[] quotaInodes, Consumer<String> report) throws ErrnoException {
        for (int t = 0; t < 3; t++) {
            long ino = quotaInodes[t];
            if (ino == 0 || ino > fs.superblock().inodesCount() || !inodes.scanned(ino)) {
                continue;
            }
            Map<Long, long[]> stored = new HashMap<>();
            try {
                read(fs, inodes.get(ino), t, stored);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN) {
                    throw e;
                }
                report.accept(e.detail());
                continue;
            }
            Set<Long> ids = new TreeSet<>(stored.keySet());
            ids.addAll(usage[t].keySet());
            for (long id : ids) {
                long[] have = stored.getOrDefault(id, new long[2]);
                long[] want = usage[t].getOrDefault(id, new long[2]);
                if (have[0] != want[0] || have[1] != want[1]) {
                    report.accept(NAMES[t] + " quota (inode " + ino + ") of id " + id + " records " + have[0] + " bytes and "
                            + have[1] + " inodes, but " + want[0] + " bytes and " + want[1] + " inodes are used");
                    break;
                }
            }
        }
    }

    private static void read(ExtFs fs, Inode file, int type, Map<Long, long[]> out) throws ErrnoException {
        String where = fs.deviceName() + ": " + NAMES[type] + " quota file (inode " + file.number() + ")";
        if (file.size() < 2 * TREE_BLOCK || file.size() > MAX_FILE) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": size " + file.size());
        }
        ByteBuffer all = ByteBuffer.allocate((int) file.size()).order(ByteOrder.LITTLE_ENDIAN);
        fs.read(file, 0, all);
        if (all.getInt(0) != MAGICS[type] || all.getInt(4) != 1) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": bad header (magic 0x" + Integer.toHexString(all.getInt(0))
                    + ", version " + all.getInt(4) + ")");
        }
        Set<Long> leaves = new HashSet<>();
        tree(all, 1, 0, leaves, where);
        for (long leaf : leaves) {
            int base = (int) (leaf * TREE_BLOCK);
            for (int at = base + LEAF_HEADER; at + ENTRY <= base + TREE_BLOCK; at += ENTRY) {
                boolean empty = true;
                for (int k = 0; k < ENTRY && empty; k += 8) {
                    empty = all.getLong(at + k) == 0;
                }
                if (!empty) {
                    out.put(Integer.toUnsignedLong(all.getInt(at)), new long[] {all.getLong(at + 48), all.getLong(at + 24)});
                }
            }
        }
    }

    /** The leaf blocks under tree block {@code block} at {@code depth} (0-3; leaves below 3). */
    private static void tree(ByteBuffer all, long block, int depth, Set<Long> leaves, String where) throws ErrnoException {
        long blocks = all.capacity() / TREE_BLOCK;
        if (block <= 0 || block >= blocks) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": tree block " + block + " outside the file");
        }
        for (int i = 0; i < TREE_BLOCK / 4; i++) {
            long ref = Integer.toUnsignedLong(all.getInt((int) (block * TREE_BLOCK) + 4 * i));
            if (ref == 0) {
                continue;
            }
            if (depth == 3) {
                if (ref >= blocks) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": leaf block " + ref + " outside the file");
                }
                leaves.add(ref);
            } else if (leaves.size() < blocks) {
                tree(all, ref, depth + 1, leaves, where);
            }
        }
    }
}
