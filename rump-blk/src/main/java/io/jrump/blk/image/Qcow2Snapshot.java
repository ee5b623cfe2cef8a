package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One internal snapshot of a qcow2 image, as its entry in the snapshot table says (qemu
 * docs/interop/qcow2.txt, "Snapshots"): its own L1 table, the guest's clock and the wall-clock
 * time it was taken, and the virtual disk size at that time.
 *
 * @param id          the unique ID string (qemu numbers them 1, 2, ...)
 * @param name        the name given to it (qemu-img snapshot -c NAME)
 * @param l1Offset    where its L1 table lies in the file
 * @param l1Size      entries in its L1 table
 * @param dateSeconds seconds since the epoch when it was taken
 * @param dateNanos   nanoseconds within that second
 * @param vmClockNanos the guest's clock then (0 for a disk-only snapshot)
 * @param vmStateSize bytes of saved VM state (0 for a disk-only snapshot)
 * @param diskSize    the virtual disk size then, in bytes
 * @param entryOffset where its entry lies in the file
 */
public record Qcow2Snapshot(String id, String name, long l1Offset, int l1Size, long dateSeconds, int dateNanos,
                            long vmClockNanos, long vmStateSize, long diskSize, long entryOffset) {

    /** The fixed part of a table entry. */
    static final int ENTRY_HEADER = 40;
    /** qemu's limit on an entry's extra data (QCOW_MAX_SNAPSHOT_EXTRA_DATA). */
    static final int MAX_EXTRA_DATA = 1024;

    /**
     * Reads the snapshot table the header points at: every entry bounded by the file and by
     * qemu's limits (the table within 64 MiB, extra data within 1 KiB), EUCLEAN otherwise, as qemu
     * refuses to open such an image. The L1 tables the entries name are checked where they are used.
     */
    static List<Qcow2Snapshot> readTable(ImageFile file, Qcow2Header h) throws ErrnoException {
        return readTable(file, h, null);
    }

    /**
     * {@link #readTable}, but an entry that runs past the end of the file ends the table and is
     * added to {@code incomplete} (if not null) instead of failing: {@code qemu-img check} reports
     * such an entry as a corruption. Extra data beyond qemu's limit still fails, as it does there.
     */
    static List<Qcow2Snapshot> readTable(ImageFile file, Qcow2Header h, List<String> incomplete) throws ErrnoException {
        List<Qcow2Snapshot> list = new ArrayList<>();
        Window window = new Window(file);
        long at = h.snapshotsOffset();
        for (int i = 0; i < h.nbSnapshots(); i++) {
            String where = file.name() + ": snapshot table entry " + i + " at 0x" + Long.toHexString(at);
            if (incomplete != null && at + ENTRY_HEADER > file.size()) {
                incomplete.add(where + " is incomplete: past the end of the file (" + file.size() + " bytes)");
                return list;
            }
            if (at - h.snapshotsOffset() > Qcow2Header.MAX_SNAPSHOTS_BYTES - ENTRY_HEADER || at + ENTRY_HEADER > file.size()) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": the table of " + h.nbSnapshots()
                        + " entries runs past the end of the file (" + file.size() + " bytes) or beyond 64 MiB");
            }
            ByteBuffer e = window.bytes(at, ENTRY_HEADER);
            long l1Offset = e.getLong(0);
            int l1Size = e.getInt(8);
            int idSize = e.getShort(12) & 0xffff;
            int nameSize = e.getShort(14) & 0xffff;
            long dateSec = e.getInt(16) & 0xffffffffL;
            int dateNsec = e.getInt(20);
            long vmClock = e.getLong(24);
            long vmState = e.getInt(32) & 0xffffffffL;
            int extraSize = e.getInt(36);
            if (extraSize < 0 || extraSize > MAX_EXTRA_DATA) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": extra data of " + Integer.toUnsignedString(extraSize)
                        + " bytes (at most " + MAX_EXTRA_DATA + ")");
            }
            long length = ENTRY_HEADER + (long) extraSize + idSize + nameSize;
            if (incomplete != null && at + length > file.size()) {
                incomplete.add(where + " is incomplete: its " + length + " bytes run past the end of the file ("
                        + file.size() + " bytes)");
                return list;
            }
            if (at + length > file.size() || at + length - h.snapshotsOffset() > Qcow2Header.MAX_SNAPSHOTS_BYTES) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": entry of " + length + " bytes runs past the end of the file ("
                        + file.size() + " bytes) or beyond 64 MiB of table");
            }
            ByteBuffer rest = window.bytes(at + ENTRY_HEADER, (int) (length - ENTRY_HEADER));
            long diskSize = h.size();
            if (extraSize >= 8) {
                vmState = rest.getLong(0); // vm_state_size_large supersedes the 32-bit field
            }
            if (extraSize >= 16) {
                diskSize = rest.getLong(8);
            }
            byte[] id = new byte[idSize];
            rest.get(extraSize, id);
            byte[] name = new byte[nameSize];
            rest.get(extraSize + idSize, name);
            list.add(new Qcow2Snapshot(new String(id, StandardCharsets.UTF_8), new String(name, StandardCharsets.UTF_8),
                    l1Offset, l1Size, dateSec, dateNsec, vmClock, vmState, diskSize, at));
            at += (length + 7) & ~7L;
        }
        return list;
    }

    /** The table read in windows of 64 KiB, not two reads an entry. */
    private static final class Window {
        private static final int SIZE = 64 << 10;
        private final ImageFile file;
        private ByteBuffer buffer = ByteBuffer.allocate(0);
        private long start;

        Window(ImageFile file) {
            this.file = file;
        }

        /** {@code n} bytes at {@code offset}, which the caller has checked lie inside the file. */
        ByteBuffer bytes(long offset, int n) throws ErrnoException {
            if (offset < start || offset + n > start + buffer.capacity()) {
                int length = (int) Math.min(file.size() - offset, Math.max(n, SIZE));
                buffer = ByteBuffer.allocate(length);
                file.read(offset, buffer);
                start = offset;
            }
            return buffer.slice((int) (offset - start), n);
        }
    }

    /** Bytes the table occupies in the file, from its start to the end of its last entry. */
    static long tableBytes(List<Qcow2Snapshot> list, Qcow2Header h, ImageFile file) throws ErrnoException {
        if (list.isEmpty()) {
            return 0;
        }
        Qcow2Snapshot last = list.get(list.size() - 1);
        ByteBuffer e = ByteBuffer.allocate(ENTRY_HEADER);
        file.read(last.entryOffset, e);
        long length = ENTRY_HEADER + (long) e.getInt(36) + (e.getShort(12) & 0xffff) + (e.getShort(14) & 0xffff);
        return last.entryOffset + ((length + 7) & ~7L) - h.snapshotsOffset();
    }

    /**
     * Why this snapshot's L1 table cannot be used, or null: qemu's checks (cluster-aligned, at most
     * 32 MiB), and ours (inside the file, past the header).
     */
    String l1Problem(ImageFile file, long cluster) {
        if (l1Size < 0 || (long) l1Size * 8 > Qcow2Header.MAX_L1_BYTES) {
            return "L1 table of " + Integer.toUnsignedString(l1Size) + " entries is too large";
        }
        if (l1Offset % cluster != 0) {
            return "L1 table at 0x" + Long.toHexString(l1Offset) + " is not cluster aligned";
        }
        if (l1Size > 0 && (l1Offset < cluster || l1Offset > file.size() || l1Size * 8L > file.size() - l1Offset)) {
            return "L1 table of " + l1Size + " entries at 0x" + Long.toHexString(l1Offset)
                    + " lies in the header or past the end of the file";
        }
        return null;
    }
}
