package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Multi-mount protection (mmp): the block s_mmp_block holds {@code struct mmp_struct} — magic,
 * a sequence number, the time, node and device of its last writer, the check interval, and a
 * crc32c with metadata_csum. A read-write mount takes it as e2fsprogs' tools do: a sequence that
 * is not CLEAN must stay unchanged over a wait (else another node is alive: EBUSY); then a new
 * random sequence is written and must survive a second wait (else another node took it); then
 * the block says FSCK — "in use by a tool", which the kernel and e2fsprogs refuse — with this
 * node's name, until unmount writes CLEAN. This writer does not update the sequence periodically
 * as the kernel's kmmpd does: it has no thread of its own to do block I/O from (the host's event
 * loop must not block), and a fixed FSCK sequence protects without one.
 */
final class Mmp {
    static final int MAGIC = 0x004D4D50;
    static final int SEQ_CLEAN = 0xFF4D4D50;
    static final int SEQ_FSCK = 0xE24D4D50;
    static final int SEQ_MAX = 0xE24D4D4F;
    /** EXT4_MMP_MIN_CHECK_INTERVAL: no wait is shorter than this many seconds. */
    static final int MIN_INTERVAL = 5;
    private static final int SB_UPDATE_INTERVAL = 0x166;
    private static final int SB_MMP_BLOCK = 0x168;

    private final BlockDevice dev;
    private final Superblock sb;
    private final long block;
    private final int updateInterval;

    private Mmp(BlockDevice dev, Superblock sb, long block, int updateInterval) {
        this.dev = dev;
        this.sb = sb;
        this.block = block;
        this.updateInterval = updateInterval;
    }

    /** The MMP block a superblock names, checked to lie inside the filesystem. */
    static Mmp of(BlockDevice dev, Superblock sb, ByteBuffer rawSuperblock) throws ErrnoException {
        ByteBuffer raw = rawSuperblock.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long block = raw.getLong(SB_MMP_BLOCK);
        if (block <= sb.firstDataBlock() || block >= sb.blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": ext superblock: s_mmp_block " + Long.toUnsignedString(block)
                    + " outside the filesystem (" + (sb.firstDataBlock() + 1) + " to " + (sb.blocksCount() - 1) + ")");
        }
        return new Mmp(dev, sb, block, raw.getShort(SB_UPDATE_INTERVAL) & 0xffff);
    }

    private ByteBuffer read() throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(sb.blockSize()).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(block * sb.blockSize(), b);
        b.clear();
        if (b.getInt(0) != MAGIC) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: MMP block %d: magic 0x%08x, expected 0x%08x",
                    dev.name(), block, b.getInt(0), MAGIC));
        }
        if (sb.hasMetadataCsum() && b.getInt(1020) != Crc32c.update(sb.checksumSeed(), b, 0, 1020)) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: MMP block %d: checksum 0x%08x, expected 0x%08x",
                    dev.name(), block, b.getInt(1020), Crc32c.update(sb.checksumSeed(), b, 0, 1020)));
        }
        return b;
    }

    private void write(ByteBuffer b) throws ErrnoException {
        if (sb.hasMetadataCsum()) {
            b.putInt(1020, Crc32c.update(sb.checksumSeed(), b, 0, 1020));
        }
        dev.write(block * sb.blockSize(), b.clear());
        dev.flush();
    }

    private static String text(ByteBuffer b, int at, int max) {
        int n = 0;
        while (n < max && b.get(at + n) != 0) {
            n++;
        }
        byte[] s = new byte[n];
        b.get(at, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    /** EBUSY naming the node and device the block names. */
    private ErrnoException busy(ByteBuffer b, String why) {
        return new ErrnoException(Errno.EBUSY, String.format("%s: %s: MMP block %d names node '%s', device '%s' (sequence 0x%08x, written at %d)",
                dev.name(), why, block, text(b, 16, 64), text(b, 80, 32), b.getInt(4), b.getLong(8)));
    }

    /** Takes the block for this node as e2fsprogs' ext2fs_mmp_start does; EBUSY if another node has it. */
    void take(MmpHost host) throws ErrnoException {
        ByteBuffer b = read();
        int seq = b.getInt(4);
        if (seq == SEQ_FSCK) {
            throw busy(b, "in use (e2fsck or another tool holds it)");
        }
        if (Integer.compareUnsigned(seq, SEQ_FSCK) > 0 && seq != SEQ_CLEAN) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: MMP block %d: unknown sequence 0x%08x", dev.name(),
                    block, seq));
        }
        int interval = Math.max(Math.max(updateInterval, MIN_INTERVAL), b.getShort(112) & 0xffff);
        long wait = Math.min(2L * interval + 1, interval + 60L);
        if (seq != SEQ_CLEAN) {
            // Left by a node that may still be alive: it would change the sequence meanwhile.
            host.sleep(wait);
            ByteBuffer again = read();
            if (again.getInt(4) != seq) {
                throw busy(again, "in use by another node (its MMP sequence changed while we waited)");
            }
        }
        int mine = host.newSequence();
        b.putInt(4, mine);
        b.putLong(8, host.wallSeconds());
        fill(b, 16, 64, MmpHost.bytes(host.nodeName(), 64));
        fill(b, 80, 32, MmpHost.bytes(dev.name(), 32));
        b.putShort(112, (short) interval);
        write(b);
        host.sleep(wait);
        ByteBuffer after = read();
        if (after.getInt(4) != mine) {
            throw busy(after, "taken by another node while we waited");
        }
        after.putInt(4, SEQ_FSCK);
        after.putLong(8, host.wallSeconds());
        write(after);
    }

    /** At unmount: CLEAN, if the block is still ours. */
    void release(MmpHost host) throws ErrnoException {
        ByteBuffer b = read();
        if (b.getInt(4) == SEQ_FSCK) {
            b.putInt(4, SEQ_CLEAN);
            b.putLong(8, host.wallSeconds());
            write(b);
        }
    }

    private static void fill(ByteBuffer b, int at, int len, byte[] s) {
        for (int i = 0; i < len; i++) {
            b.put(at + i, i < s.length ? s[i] : 0);
        }
    }
}
