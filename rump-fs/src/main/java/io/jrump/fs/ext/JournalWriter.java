package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writing jbd2 transactions into an internal journal, and replaying one onto the disk.
 *
 * <p>A commit goes: the transaction's metadata blocks into the log after descriptor blocks,
 * then a commit block; flush; the journal superblock pointed at the log; flush — from here the
 * transaction survives a crash — then the blocks to their homes; flush; the journal superblock
 * marked empty again. The log is empty before every commit, so a transaction always starts at
 * {@code s_first} and recovery never meets more than one; no revoke records are needed because
 * freed blocks are not reused before their transaction is home. Tags and checksums follow the
 * journal's own features (32/64-bit block numbers, csum v2/v3).
 */
final class JournalWriter {
    private static final int SB_CHECKSUM = 0xFC;

    private final BlockDevice dev;
    private final int bs;
    private final long[] physical;
    private final ByteBuffer jsb;
    private final long first;
    private final long maxLen;
    private final boolean is64;
    private final boolean v3;
    private final boolean csum;
    private final int seed;
    private final byte[] uuid = new byte[16];
    private int sequence;

    private JournalWriter(BlockDevice dev, int bs, long[] physical, ByteBuffer jsb, long fastCommitBlocks) {
        this.dev = dev;
        this.bs = bs;
        this.physical = physical;
        this.jsb = jsb.order(ByteOrder.BIG_ENDIAN);
        this.maxLen = Integer.toUnsignedLong(jsb.getInt(16)) - fastCommitBlocks;
        this.first = Integer.toUnsignedLong(jsb.getInt(20));
        this.sequence = jsb.getInt(24);
        int incompat = jsb.getInt(4) == Journal.SUPERBLOCK_V2 ? jsb.getInt(40) : 0;
        this.is64 = (incompat & Journal.INCOMPAT_64BIT) != 0;
        this.v3 = (incompat & Journal.INCOMPAT_CSUM_V3) != 0;
        this.csum = v3 || (incompat & Journal.INCOMPAT_CSUM_V2) != 0;
        jsb.get(48, uuid);
        this.seed = Crc32c.update(~0, ByteBuffer.wrap(uuid), 0, 16);
    }

    /** jbd2's fast-commit area when the journal superblock does not size it (JBD2_DEFAULT_FAST_COMMIT_BLOCKS). */
    private static final int DEFAULT_FAST_COMMIT_BLOCKS = 256;

    /**
     * Opens the journal whose blocks {@code physical} maps, journal block n to filesystem block.
     * With {@code fastCommit} (the filesystem's fast_commit feature) the last {@code s_num_fc_blks}
     * blocks are ext4's fast-commit area, which this writer leaves alone: it writes full commits only.
     */
    /** The filesystem blocks of the journal, in journal order. */
    long[] blocks() {
        return physical.clone();
    }

    static JournalWriter open(BlockDevice dev, int bs, long[] physical, boolean fastCommit, String where)
            throws ErrnoException {
        ByteBuffer jsb = ByteBuffer.allocate(bs);
        dev.read(physical[0] * bs, jsb);
        jsb.order(ByteOrder.BIG_ENDIAN);
        if (jsb.getInt(0) != Journal.MAGIC || (jsb.getInt(4) != Journal.SUPERBLOCK_V1 && jsb.getInt(4) != Journal.SUPERBLOCK_V2)) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": journal superblock: bad magic or type");
        }
        long maxLen = Integer.toUnsignedLong(jsb.getInt(16));
        long first = Integer.toUnsignedLong(jsb.getInt(20));
        long fcBlocks = 0;
        if (fastCommit || jsb.getInt(4) == Journal.SUPERBLOCK_V2 && (jsb.getInt(40) & Journal.INCOMPAT_FAST_COMMIT) != 0) {
            fcBlocks = jsb.getInt(0x54) != 0 ? Integer.toUnsignedLong(jsb.getInt(0x54)) : DEFAULT_FAST_COMMIT_BLOCKS;
        }
        if (jsb.getInt(12) != bs || maxLen > physical.length || first < 1 || first + 8 + fcBlocks > maxLen) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": journal superblock: block size " + jsb.getInt(12) + ", "
                    + maxLen + " blocks (" + fcBlocks + " of them for fast commits), first " + first + ", in a journal of "
                    + physical.length);
        }
        if (jsb.getInt(4) == Journal.SUPERBLOCK_V2) {
            // Full commits only from here: recovery (ours, e2fsck's, the kernel's) need not look for fast
            // commits, and the kernel sets the feature again when it mounts the filesystem.
            jsb.putInt(40, jsb.getInt(40) & ~Journal.INCOMPAT_FAST_COMMIT);
        }
        return new JournalWriter(dev, bs, physical, jsb, fcBlocks);
    }

    private int tagSize() {
        return v3 ? 16 : 8 + (is64 ? 4 : 0);
    }

    private int tagsPerDescriptor() {
        return (bs - 12 - 16 - (csum ? 4 : 0)) / tagSize();
    }

    /** How many metadata blocks one transaction can carry in this journal. */
    int capacity() {
        long room = maxLen - first - 2; // less the commit block, and one for rounding descriptors up
        long per = tagsPerDescriptor();
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, room * per / (per + 1)));
    }

    /** Writes a transaction into the log and makes it the one recovery would replay. */
    void log(Map<Long, byte[]> blocks, long commitSeconds) throws ErrnoException {
        List<Map.Entry<Long, byte[]>> entries = new ArrayList<>(blocks.entrySet());
        long at = first;
        int perDesc = tagsPerDescriptor();
        for (int start = 0; start < entries.size(); start += perDesc) {
            List<Map.Entry<Long, byte[]>> chunk = entries.subList(start, Math.min(entries.size(), start + perDesc));
            ByteBuffer desc = header(Journal.DESCRIPTOR);
            int pos = 12;
            long dataAt = at + 1;
            for (int i = 0; i < chunk.size(); i++) {
                byte[] data = chunk.get(i).getValue();
                ByteBuffer copy = ByteBuffer.wrap(data.clone()).order(ByteOrder.BIG_ENDIAN);
                int flags = i == 0 ? 0 : Journal.TAG_SAME_UUID;
                if (copy.getInt(0) == Journal.MAGIC) {
                    copy.putInt(0, 0); // escaped, so recovery does not take it for a journal block
                    flags |= Journal.TAG_ESCAPE;
                }
                if (i == chunk.size() - 1) {
                    flags |= Journal.TAG_LAST;
                }
                pos = putTag(desc, pos, chunk.get(i).getKey(), flags, copy);
                if (i == 0) {
                    desc.put(pos, uuid);
                    pos += 16;
                }
                writeJournalBlock(dataAt++, copy);
            }
            if (csum) {
                desc.putInt(bs - 4, Crc32c.update(seed, desc, 0, bs));
            }
            writeJournalBlock(at, desc);
            at = dataAt;
        }
        dev.flush();
        ByteBuffer commit = header(Journal.COMMIT);
        commit.putLong(48, commitSeconds);
        if (csum) {
            commit.putInt(16, Crc32c.update(seed, commit, 0, bs));
        }
        writeJournalBlock(at, commit);
        dev.flush();
        writeSuperblock(first);
    }

    /** After the transaction's blocks are home: the log is empty again, the next sequence begins. */
    void checkpointed() throws ErrnoException {
        sequence++;
        writeSuperblock(0);
    }

    private int putTag(ByteBuffer desc, int pos, long block, int flags, ByteBuffer data) {
        int crc = Crc32c.update(Crc32c.update(seed, ByteBuffer.allocate(4).putInt(0, sequence), 0, 4), data, 0, bs);
        desc.putInt(pos, (int) block);
        if (v3) {
            desc.putInt(pos + 4, flags);
            desc.putInt(pos + 8, (int) (block >>> 32));
            desc.putInt(pos + 12, crc);
            return pos + 16;
        }
        desc.putShort(pos + 4, csum ? (short) crc : 0);
        desc.putShort(pos + 6, (short) flags);
        if (is64) {
            desc.putInt(pos + 8, (int) (block >>> 32));
            return pos + 12;
        }
        return pos + 8;
    }

    private ByteBuffer header(int type) {
        ByteBuffer b = ByteBuffer.allocate(bs).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0, Journal.MAGIC);
        b.putInt(4, type);
        b.putInt(8, sequence);
        return b;
    }

    private void writeJournalBlock(long n, ByteBuffer b) throws ErrnoException {
        dev.write(physical[(int) n] * bs, b.duplicate().clear());
    }

    private void writeSuperblock(long start) throws ErrnoException {
        jsb.putInt(24, sequence);
        jsb.putInt(28, (int) start);
        if (csum) {
            jsb.putInt(SB_CHECKSUM, 0);
            jsb.putInt(SB_CHECKSUM, Crc32c.update(~0, jsb, 0, 1024));
        }
        writeJournalBlock(0, jsb);
        dev.flush();
    }

    /**
     * Replays what recovery found onto the disk, then empties the log, as a read-write mount must
     * before it changes anything.
     */
    static void replay(BlockDevice dev, int bs, long[] physical, Journal.Recovery recovery, String where)
            throws ErrnoException {
        JournalWriter j = open(dev, bs, physical, false, where);
        for (Map.Entry<Long, Journal.Copy> e : recovery.copies().entrySet()) {
            ByteBuffer b = ByteBuffer.allocate(bs).order(ByteOrder.BIG_ENDIAN);
            dev.read(physical[(int) e.getValue().journalBlock()] * bs, b);
            if (e.getValue().escaped()) {
                b.putInt(0, Journal.MAGIC);
            }
            dev.write(e.getKey() * bs, b.clear());
        }
        dev.flush();
        j.sequence = recovery.nextSequence();
        j.writeSuperblock(0);
    }
}
