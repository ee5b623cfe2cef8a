package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A jbd2 journal read for recovery without writing: the committed transactions after the
 * journal's start, with revoked blocks left out, as a map from filesystem block to the journal
 * block that holds its newest copy. A read-only mount reads through this map, as if the journal
 * had been replayed. Handles descriptor, commit and revoke blocks, 32- and 64-bit block numbers
 * and the tag layouts of checksum versions 1, 2 and 3. With csum v2/v3 the checksums are checked
 * as jbd2 does: a descriptor, revoke or commit block that fails ends the log there (the
 * transaction is not replayed); a data block that fails its tag's checksum is skipped.
 * Big-endian, as jbd2 is.
 */
final class Journal {
    static final int MAGIC = 0xC03B3998;
    static final int DESCRIPTOR = 1;
    static final int COMMIT = 2;
    static final int SUPERBLOCK_V1 = 3;
    static final int SUPERBLOCK_V2 = 4;
    static final int REVOKE = 5;
    static final int INCOMPAT_REVOKE = 0x1;
    static final int INCOMPAT_64BIT = 0x2;
    static final int INCOMPAT_ASYNC_COMMIT = 0x4;
    static final int INCOMPAT_CSUM_V2 = 0x8;
    static final int INCOMPAT_CSUM_V3 = 0x10;
    static final int INCOMPAT_FAST_COMMIT = 0x20;
    static final int TAG_ESCAPE = 1;
    static final int TAG_SAME_UUID = 2;
    static final int TAG_LAST = 8;

    /** A journal block holding a filesystem block's newest copy; {@code escaped} if its magic was zeroed. */
    record Copy(long journalBlock, boolean escaped) {
    }

    /** What recovery found: the newest copy of each block, and the sequence the next transaction takes. */
    record Recovery(Map<Long, Copy> copies, int nextSequence) {
    }

    /** Reads a journal block by its number in the journal. */
    interface BlockSource {
        ByteBuffer read(long journalBlock) throws ErrnoException;
    }

    private Journal() {
    }

    /** The newest committed copy of each filesystem block, revokes applied. */
    static Recovery recover(BlockSource journal, long journalBlocks, String where) throws ErrnoException {
        ByteBuffer sb = journal.read(0);
        if (sb.getInt(0) != MAGIC || (sb.getInt(4) != SUPERBLOCK_V1 && sb.getInt(4) != SUPERBLOCK_V2)) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": journal superblock: bad magic or type");
        }
        long maxLen = Integer.toUnsignedLong(sb.getInt(16));
        long first = Integer.toUnsignedLong(sb.getInt(20));
        int sequence = sb.getInt(24);
        long start = Integer.toUnsignedLong(sb.getInt(28));
        int incompat = sb.getInt(4) == SUPERBLOCK_V2 ? sb.getInt(40) : 0;
        if (maxLen > journalBlocks || first < 1 || first >= maxLen) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": journal superblock: " + maxLen + " blocks, first " + first
                    + ", in a journal of " + journalBlocks);
        }
        int unknown = incompat & ~(INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2
                | INCOMPAT_CSUM_V3 | INCOMPAT_FAST_COMMIT);
        if (unknown != 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where + ": journal feature 0x" + Integer.toHexString(unknown)
                    + " is not supported");
        }
        if (start == 0) {
            return new Recovery(Map.of(), sequence); // clean: nothing to replay
        }
        if ((incompat & INCOMPAT_FAST_COMMIT) != 0) {
            // After the last full commit the fast-commit area may hold inode-level changes, replayed by ext4 itself.
            throw new ErrnoException(Errno.EOPNOTSUPP, where + ": the journal needs recovery and may hold fast commits,"
                    + " which jrump does not replay: let e2fsck (1.46 or later) or the kernel recover it");
        }
        boolean is64 = (incompat & INCOMPAT_64BIT) != 0;
        boolean v3 = (incompat & INCOMPAT_CSUM_V3) != 0;
        boolean csum = v3 || (incompat & INCOMPAT_CSUM_V2) != 0;
        int tagSize = v3 ? 16 : 8 + (is64 ? 4 : 0);
        int blockSize = sb.capacity();
        byte[] uuid = new byte[16];
        sb.get(48, uuid);
        int seed = Crc32c.update(~0, ByteBuffer.wrap(uuid), 0, 16);
        // Walk the log: committed transactions' newest copies and revokes.
        Map<Long, Integer> revoked = new HashMap<>();
        Map<Long, long[]> pending = new HashMap<>(); // fs block -> {journal block, escaped, sequence}
        Map<Long, Copy> result = new HashMap<>();
        long block = start;
        int expected = sequence;
        long steps = 0;
        Map<Long, long[]> transaction = new HashMap<>();
        Map<Long, Integer> transactionRevokes = new HashMap<>();
        while (steps++ < maxLen) {
            ByteBuffer b = journal.read(block);
            if (b.getInt(0) != MAGIC || b.getInt(8) != expected) {
                break; // the end of the log
            }
            int type = b.getInt(4);
            if (csum && (type == DESCRIPTOR || type == REVOKE) && !tailMatches(b, seed)) {
                break; // a torn or damaged descriptor ends the log, as in jbd2
            }
            if (csum && type == COMMIT && !commitMatches(b, seed)) {
                break; // the transaction never committed whole
            }
            if (type == DESCRIPTOR) {
                int at = 12;
                int end = blockSize - (csum ? 4 : 0);
                long data = block;
                boolean last = false;
                while (!last && at + tagSize <= end) {
                    long fsBlock = Integer.toUnsignedLong(b.getInt(at));
                    int flags = v3 ? b.getInt(at + 4) : b.getShort(at + 6) & 0xffff;
                    if (is64) {
                        fsBlock |= Integer.toUnsignedLong(b.getInt(at + 8)) << 32;
                    }
                    data = next(data, first, maxLen);
                    if (!csum || tagMatches(journal.read(data), expected, seed, v3, v3 ? b.getInt(at + 12) : b.getShort(at + 4) & 0xffff)) {
                        transaction.put(fsBlock, new long[] {data, (flags & TAG_ESCAPE) != 0 ? 1 : 0, expected});
                    } // else: a data block whose checksum fails is skipped, as jbd2 does

                    at += tagSize + ((flags & TAG_SAME_UUID) == 0 ? 16 : 0);
                    last = (flags & TAG_LAST) != 0;
                    steps++;
                }
                block = data;
            } else if (type == REVOKE) {
                int used = b.getInt(12);
                int recordSize = is64 ? 8 : 4;
                if (used < 16 || used > blockSize) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": journal revoke block " + block + ": r_count " + used);
                }
                for (int at = 16; at + recordSize <= used; at += recordSize) {
                    long fsBlock = is64 ? b.getLong(at) : Integer.toUnsignedLong(b.getInt(at));
                    transactionRevokes.put(fsBlock, expected);
                }
            } else if (type == COMMIT) {
                // Only a committed transaction counts, its revokes included.
                pending.putAll(transaction);
                transaction.clear();
                transactionRevokes.forEach((k, v) -> revoked.merge(k, v, (a, c) -> Integer.compareUnsigned(a, c) >= 0 ? a : c));
                transactionRevokes.clear();
                expected++;
            } else {
                throw new ErrnoException(Errno.EUCLEAN, where + ": journal block " + block + " of unknown type " + type);
            }
            block = next(block, first, maxLen);
        }
        // A block revoked in its own transaction or a later one is not replayed.
        for (Map.Entry<Long, long[]> e : pending.entrySet()) {
            Integer revokedIn = revoked.get(e.getKey());
            if (revokedIn != null && Integer.compareUnsigned(revokedIn, (int) e.getValue()[2]) >= 0) {
                continue;
            }
            result.put(e.getKey(), new Copy(e.getValue()[0], e.getValue()[1] != 0));
        }
        return new Recovery(result, expected);
    }

    /** Descriptor and revoke blocks end in a CRC32C of the block (with that field zeroed). */
    private static boolean tailMatches(ByteBuffer b, int seed) {
        ByteBuffer copy = ByteBuffer.allocate(b.capacity());
        copy.put(0, b, 0, b.capacity());
        int stored = copy.getInt(copy.capacity() - 4);
        copy.putInt(copy.capacity() - 4, 0);
        return stored == Crc32c.update(seed, copy, 0, copy.capacity());
    }

    /** A commit block's h_chksum[0] is the CRC32C of the block with it zeroed. */
    private static boolean commitMatches(ByteBuffer b, int seed) {
        ByteBuffer copy = ByteBuffer.allocate(b.capacity());
        copy.put(0, b, 0, b.capacity());
        int stored = copy.getInt(16);
        copy.putInt(16, 0);
        return stored == Crc32c.update(seed, copy, 0, copy.capacity());
    }

    /** A tag's checksum: CRC32C over the big-endian sequence, then the block (16 bits of it in csum v2). */
    private static boolean tagMatches(ByteBuffer data, int sequence, int seed, boolean v3, int stored) {
        int crc = Crc32c.update(Crc32c.update(seed, ByteBuffer.allocate(4).putInt(0, sequence), 0, 4), data, 0, data.capacity());
        return v3 ? crc == stored : (crc & 0xffff) == stored;
    }

    private static long next(long block, long first, long maxLen) {
        long n = block + 1;
        return n >= maxLen ? first : n;
    }
}
