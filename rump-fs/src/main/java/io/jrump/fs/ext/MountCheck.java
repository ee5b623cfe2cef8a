package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The check a read-write mount makes before it writes: writing into a damaged filesystem spreads
 * the damage (a block claimed twice is handed out a third time), so damage found refuses the
 * mount unless it is forced, and a forced mount records the errors as the kernel does, for
 * e2fsck to find.
 */
final class MountCheck {
    /** s_state's bit for "cleanly unmounted" (EXT2_VALID_FS). */
    private static final int VALID_FS = 1;
    private static final int FUNC_BYTES = 32;
    private static final String FUNC = "rump_mount_check";

    /** What the check found: {@code problems} is empty if it found none. */
    record Outcome(String why, ExtCheck.Result result) {
        boolean damaged() {
            return !result.isClean();
        }

        /**
         * Records damage in the superblock as the kernel's ext4_handle_error does: the error
         * state, the error count, the first and last error's time and function. Nothing if clean.
         */
        void record(ByteBuffer raw, long nowSeconds) {
            if (!damaged() || raw.getInt(76) < 1) { // rev 0 superblocks have no error fields
                return;
            }
            raw.putShort(58, (short) (raw.getShort(58) | ExtFs.ERROR_FS));
            raw.putInt(0x194, raw.getInt(0x194) + 1); // s_error_count
            if (raw.getInt(0x198) == 0) { // s_first_error_time
                raw.putInt(0x198, (int) nowSeconds);
                putFunc(raw, 0x1A8);
            }
            raw.putInt(0x1CC, (int) nowSeconds); // s_last_error_time
            putFunc(raw, 0x1E0);
        }

        private static void putFunc(ByteBuffer raw, int at) {
            byte[] name = FUNC.getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < FUNC_BYTES; i++) {
                raw.put(at + i, i < name.length ? name[i] : 0);
            }
        }
    }

    private MountCheck() {
    }

    /**
     * Checks {@code fs} (open read-only, its journal replayed) if {@code options} ask for it or the
     * superblock says e2fsck would; null if it was not checked.
     *
     * @throws ErrnoException {@code EUCLEAN} naming the first problems if it is damaged and the mount is not forced
     */
    static Outcome before(ExtFs fs, ExtFs.MountOptions options) throws ErrnoException {
        ByteBuffer raw = fs.rawSuperblock();
        String why = switch (options.check()) {
            case NONE -> null;
            case FULL -> "mount option check=full";
            case AUTO -> dueReason(raw, fs.superblock().hasJournal(), options.wallNanos().getAsLong() / 1_000_000_000L);
        };
        if (why == null) {
            return null;
        }
        ExtCheck.Result result = ExtCheck.check(fs);
        Outcome outcome = new Outcome(why, result);
        if (!outcome.damaged()) {
            return outcome;
        }
        String found = result.problems().size() + " problem" + (result.problems().size() == 1 ? "" : "s")
                + " (" + String.join("; ", result.problems().subList(0, Math.min(3, result.problems().size())))
                + (result.problems().size() > 3 ? "; ..." : "") + ")";
        if (!options.force()) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": checked before writing (" + why + "): "
                    + found + ": repair it with e2fsck -f, mount it read-only, or mount it with the option 'force'");
        }
        fs.warn(fs.deviceName() + ": mounted read-write by force although the check (" + why + ") found " + found
                + "; the superblock records errors so that e2fsck checks it next");
        return outcome;
    }

    /** Why e2fsck's boot-time run would check this filesystem now; null if it would not. */
    static String dueReason(ByteBuffer raw, boolean journaled, long nowSeconds) {
        int state = raw.getShort(58) & 0xffff;
        if (!journaled && (state & VALID_FS) == 0) {
            return "it was not cleanly unmounted and has no journal";
        }
        int mounts = raw.getShort(52) & 0xffff;
        int maxMounts = raw.getShort(54); // signed: -1 (or 0) turns the count off
        if (maxMounts > 0 && mounts >= maxMounts) {
            return "mounted " + mounts + " times since its last check (s_max_mnt_count " + maxMounts + ")";
        }
        long interval = Integer.toUnsignedLong(raw.getInt(68));
        long last = Integer.toUnsignedLong(raw.getInt(64));
        if (interval > 0 && nowSeconds > 0 && nowSeconds - last >= interval) {
            return "last checked " + (nowSeconds - last) / 86400 + " days ago (s_checkinterval " + interval / 86400 + " days)";
        }
        return null;
    }
}
