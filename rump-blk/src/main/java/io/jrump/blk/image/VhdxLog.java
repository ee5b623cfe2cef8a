package io.jrump.blk.image;

import static io.jrump.blk.image.Vhdx.MIB;
import static io.jrump.blk.image.Vhdx.SECTOR;
import static io.jrump.blk.image.Vhdx.corrupt;
import static io.jrump.blk.image.Vhdx.hex;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The VHDX metadata log ([MS-VHDX] 2.3): a ring of entries, each a descriptor sector (a 64-byte
 * header, then 32-byte data or zero descriptors) and one 4 KiB data sector per data descriptor.
 * {@link #findActive} finds the active sequence by the spec's scan (2.3.3): runs of valid entries
 * with consecutive sequence numbers and this file's log GUID, valid when the newest entry's tail
 * lies inside the run; the newest such run wins. {@link #replay} writes its updates in order.
 * {@link #encode} builds one entry, for writing BAT updates through the log; an {@link Overlay}
 * shows the replayed file to a read-only open without writing it.
 */
final class VhdxLog {
    /** The log is read whole to be scanned; a dirty log larger than this is refused. */
    static final long MAX_LOG_BYTES = 64 * MIB;
    /** How far a replay may grow the file past its current size (its updates are metadata). */
    static final long MAX_REPLAY_GROWTH = 1L << 30;

    /** A 4 KiB-multiple update: {@code data} written at {@code fileOffset}, or zeros when {@code data} is null. */
    record Update(long fileOffset, byte[] data, long zeroLength) {
        long length() {
            return data == null ? zeroLength : data.length;
        }
    }

    /** A valid entry at log offset {@code at}. */
    record Entry(long at, long length, long tail, long sequence, long flushedFileOffset, long lastFileOffset,
            List<Update> updates) {
    }

    private VhdxLog() {
    }

    /**
     * The active sequence's entries, tail first; empty when the log holds no valid sequence.
     *
     * @throws ErrnoException {@code EUCLEAN} when the active sequence's updates lie (into the header
     *     section or the log itself, or far past the file), or the file is shorter than the
     *     sequence says it was; {@code EOPNOTSUPP} for a log larger than {@link #MAX_LOG_BYTES}
     */
    static List<Entry> findActive(ImageFile file, VhdxHeader h) throws ErrnoException {
        String n = file.name();
        if (h.logLength() > MAX_LOG_BYTES) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX log of " + h.logLength()
                    + " bytes to replay; jrump replays logs of at most " + MAX_LOG_BYTES + " bytes");
        }
        byte[] log = new byte[(int) h.logLength()];
        file.read(h.logOffset(), ByteBuffer.wrap(log));
        List<Entry> best = List.of();
        long bestSequence = 0;
        long tail = 0;
        long oldTail = 0;
        // Each 4 KiB position is parsed once; a position whose run was found invalid starts no
        // valid run either (its run is a suffix with the same newest entry), so it is skipped:
        // the scan stays linear in the log's size however the entries lie.
        int slots = log.length / SECTOR;
        Entry[] parsed = new Entry[slots];
        boolean[] tried = new boolean[slots];
        boolean[] inInvalidRun = new boolean[slots];
        while (true) {
            List<Entry> run = new ArrayList<>();
            long head = tail;
            while (run.size() <= slots && !inInvalidRun[(int) (tail / SECTOR)]) {
                int slot = (int) (head / SECTOR);
                if (!tried[slot]) {
                    tried[slot] = true;
                    parsed[slot] = parse(log, head, h.logGuid());
                }
                Entry e = parsed[slot];
                if (e == null || (!run.isEmpty() && e.sequence() != run.get(run.size() - 1).sequence() + 1)) {
                    break;
                }
                run.add(e);
                head = (head + e.length()) % log.length;
            }
            int from = -1;
            if (!run.isEmpty()) {
                Entry newest = run.get(run.size() - 1);
                for (int i = 0; i < run.size() && from < 0; i++) {
                    if (run.get(i).at() == newest.tail()) {
                        from = i;
                    }
                }
                if (from >= 0 && newest.sequence() > bestSequence) {
                    best = List.copyOf(run.subList(from, run.size()));
                    bestSequence = newest.sequence();
                }
                if (from < 0) {
                    for (Entry e : run) {
                        inInvalidRun[(int) (e.at() / SECTOR)] = true;
                    }
                }
            }
            if (from < 0) {
                tail = (tail + SECTOR) % log.length;
            } else {
                tail = head;
            }
            if (tail <= oldTail) {
                break;
            }
            oldTail = tail;
        }
        if (!best.isEmpty()) {
            check(file, h, best);
        }
        return best;
    }

    /** The active sequence's claims, checked before anything is written. */
    private static void check(ImageFile file, VhdxHeader h, List<Entry> active) throws ErrnoException {
        String n = file.name();
        Entry head = active.get(active.size() - 1);
        long size = file.size();
        String where = "log entry " + head.sequence() + " at log offset " + hex(head.at());
        if (head.flushedFileOffset() % MIB != 0 || head.lastFileOffset() % MIB != 0) {
            throw corrupt(n, where + ": FlushedFileOffset " + hex(head.flushedFileOffset()) + " or LastFileOffset "
                    + hex(head.lastFileOffset()) + " is not a multiple of 1 MiB");
        }
        if (Long.compareUnsigned(head.flushedFileOffset(), size) > 0) {
            throw corrupt(n, where + " says the file was " + hex(head.flushedFileOffset())
                    + " bytes long, it is " + hex(size) + ": truncated");
        }
        long limit = size + MAX_REPLAY_GROWTH;
        if (Long.compareUnsigned(head.lastFileOffset(), limit) > 0) {
            throw corrupt(n, where + ": LastFileOffset " + hex(head.lastFileOffset()) + " lies more than "
                    + MAX_REPLAY_GROWTH + " bytes past the file's end " + hex(size));
        }
        for (Entry e : active) {
            for (Update u : e.updates()) {
                long at = u.fileOffset();
                long len = u.length();
                String what = "log entry " + e.sequence() + " at log offset " + hex(e.at()) + ": "
                        + (u.data() == null ? "zero" : "data") + " descriptor for " + len + " bytes at " + hex(at);
                if (at < 0 || len < 0 || len > limit || at > limit - len) {
                    throw corrupt(n, what + " lies more than " + MAX_REPLAY_GROWTH + " bytes past the file's end " + hex(size));
                }
                if (at < MIB) {
                    throw corrupt(n, what + " writes into the 1 MiB header section");
                }
                if (at < h.logOffset() + h.logLength() && h.logOffset() < at + len) {
                    throw corrupt(n, what + " writes into the log itself");
                }
            }
        }
    }

    /** Writes the updates of {@code active} in order, grows the file to the head's LastFileOffset, flushes. */
    static void replay(ImageFile file, List<Entry> active) throws ErrnoException {
        byte[] zeros = new byte[(int) MIB];
        for (Entry e : active) {
            for (Update u : e.updates()) {
                if (u.data() != null) {
                    file.write(u.fileOffset(), ByteBuffer.wrap(u.data()));
                } else {
                    for (long done = 0; done < u.zeroLength(); done += MIB) {
                        int k = (int) Math.min(MIB, u.zeroLength() - done);
                        file.write(u.fileOffset() + done, ByteBuffer.wrap(zeros, 0, k));
                    }
                }
            }
        }
        long last = active.get(active.size() - 1).lastFileOffset();
        long size = file.size();
        if (size < last) {
            long from = Math.max(size, last - SECTOR);
            file.write(from, ByteBuffer.wrap(zeros, 0, (int) (last - from)));
        }
        file.flush();
    }

    private static byte[] ring(byte[] log, long at, int length) {
        byte[] out = new byte[length];
        int start = (int) at;
        int first = Math.min(length, log.length - start);
        System.arraycopy(log, start, out, 0, first);
        System.arraycopy(log, 0, out, first, length - first);
        return out;
    }

    /** The entry starting at log offset {@code at}, or null when it is not a valid entry of this log. */
    static Entry parse(byte[] log, long at, byte[] logGuid) {
        ByteBuffer hd = ByteBuffer.wrap(ring(log, at, 64)).order(ByteOrder.LITTLE_ENDIAN);
        long length = Integer.toUnsignedLong(hd.getInt(8));
        long tail = Integer.toUnsignedLong(hd.getInt(12));
        long sequence = hd.getLong(16);
        long count = Integer.toUnsignedLong(hd.getInt(24));
        if (hd.getInt(0) != Vhdx.LOG_ENTRY_SIGNATURE || length < SECTOR || length % SECTOR != 0 || length > log.length
                || tail % SECTOR != 0 || tail >= log.length || sequence == 0 || !Arrays.equals(Vhdx.guidAt(hd, 32), logGuid)
                || count > length / SECTOR * 128) {
            return null;
        }
        int sectors = (int) (length / SECTOR);
        int descriptorSectors = (int) ((64 + 32 * count + SECTOR - 1) / SECTOR);
        if (descriptorSectors > sectors) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(ring(log, at, (int) length)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(4) != Vhdx.crc(b, 4)) {
            return null;
        }
        List<Update> updates = new ArrayList<>();
        int dataSector = descriptorSectors;
        for (int i = 0; i < count; i++) {
            int d = 64 + 32 * i;
            int signature = b.getInt(d);
            long fileOffset = b.getLong(d + 16);
            if (b.getLong(d + 24) != sequence || fileOffset % SECTOR != 0) {
                return null;
            }
            if (signature == Vhdx.ZERO_SIGNATURE) {
                long zeroLength = b.getLong(d + 8);
                if (zeroLength % SECTOR != 0) {
                    return null;
                }
                updates.add(new Update(fileOffset, null, zeroLength));
            } else if (signature == Vhdx.DESC_SIGNATURE) {
                if (dataSector >= sectors) {
                    return null;
                }
                int s = dataSector++ * SECTOR;
                if (b.getInt(s) != Vhdx.DATA_SIGNATURE || b.getInt(s + 4) != (int) (sequence >>> 32)
                        || b.getInt(s + SECTOR - 4) != (int) sequence) {
                    return null;
                }
                byte[] data = new byte[SECTOR];
                b.get(s, data);
                b.get(d + 8, data, 0, 8); // the leading bytes
                b.get(d + 4, data, SECTOR - 4, 4); // the trailing bytes
                updates.add(new Update(fileOffset, data, 0));
            } else {
                return null;
            }
        }
        return new Entry(at, length, tail, sequence, b.getLong(48), b.getLong(56), List.copyOf(updates));
    }

    /**
     * One log entry holding {@code updates} (4 KiB data sectors or zero ranges), as [MS-VHDX] 2.3.1
     * lays it out: a header and the descriptors in the first sectors, then one data sector per
     * data descriptor, the checksum over the whole entry.
     */
    static byte[] encode(long sequence, long tail, byte[] logGuid, long flushedFileOffset, long lastFileOffset,
            List<Update> updates) {
        int count = updates.size();
        int descriptorSectors = (64 + 32 * count + SECTOR - 1) / SECTOR;
        int dataSectors = (int) updates.stream().filter(u -> u.data() != null).count();
        ByteBuffer b = Vhdx.le((descriptorSectors + dataSectors) * SECTOR);
        b.putInt(0, Vhdx.LOG_ENTRY_SIGNATURE).putInt(8, b.capacity()).putInt(12, (int) tail).putLong(16, sequence);
        b.putInt(24, count).put(32, logGuid).putLong(48, flushedFileOffset).putLong(56, lastFileOffset);
        int dataSector = descriptorSectors;
        for (int i = 0; i < count; i++) {
            Update u = updates.get(i);
            int d = 64 + 32 * i;
            b.putLong(d + 16, u.fileOffset()).putLong(d + 24, sequence);
            if (u.data() == null) {
                b.putInt(d, Vhdx.ZERO_SIGNATURE).putLong(d + 8, u.zeroLength());
            } else {
                int s = dataSector++ * SECTOR;
                b.put(s, u.data());
                b.put(d + 8, u.data(), 0, 8).put(d + 4, u.data(), SECTOR - 4, 4);
                b.putInt(d, Vhdx.DESC_SIGNATURE);
                b.putInt(s, Vhdx.DATA_SIGNATURE).putInt(s + 4, (int) (sequence >>> 32)).putInt(s + SECTOR - 4, (int) sequence);
            }
        }
        b.putInt(4, Vhdx.crc(b, 4));
        return b.array();
    }

    /**
     * The file as an active sequence says it is, without writing it (a read-only open): reads
     * see the file's bytes (zeros past its end) with the sequence's updates applied in order.
     */
    static final class Overlay {
        private final List<Update> updates = new ArrayList<>();
        private final long size;

        Overlay(List<Entry> active, long fileSize) {
            long end = Math.max(fileSize, active.get(active.size() - 1).lastFileOffset());
            for (Entry e : active) {
                for (Update u : e.updates()) {
                    updates.add(u);
                    end = Math.max(end, u.fileOffset() + u.length());
                }
            }
            this.size = end;
        }

        /** The size the file has once the sequence is replayed. */
        long size() {
            return size;
        }

        void read(ImageFile file, long at, ByteBuffer dst) throws ErrnoException {
            int n = dst.remaining();
            int p = dst.position();
            long inFile = Math.max(0, Math.min(n, file.size() - at));
            if (inFile > 0) {
                file.read(at, dst.duplicate().limit(p + (int) inFile));
            }
            for (int i = (int) inFile; i < n; i++) {
                dst.put(p + i, (byte) 0);
            }
            for (Update u : updates) {
                long from = Math.max(at, u.fileOffset());
                long to = Math.min(at + n, u.fileOffset() + u.length());
                if (from >= to) {
                    continue;
                }
                if (u.data() != null) {
                    dst.put(p + (int) (from - at), u.data(), (int) (from - u.fileOffset()), (int) (to - from));
                } else {
                    for (long k = from; k < to; k++) {
                        dst.put(p + (int) (k - at), (byte) 0);
                    }
                }
            }
        }
    }
}
