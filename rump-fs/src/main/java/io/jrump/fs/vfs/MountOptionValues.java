package io.jrump.fs.vfs;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/** The values of {@code mount -o} options, checked the same way by every filesystem type. */
public final class MountOptionValues {
    private MountOptionValues() {
    }

    /**
     * The number {@code value} of option {@code key} for filesystem {@code fs}, in {@code radix}
     * (8 for modes and masks), within {@code [min, max]}.
     *
     * @throws ErrnoException {@code EINVAL} naming the option: no value, not a number, out of range
     */
    public static long number(String fs, String key, String value, int radix, long min, long max) throws ErrnoException {
        if (value == null || value.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, fs + ": " + key + " needs a value");
        }
        long n;
        try {
            n = Long.parseLong(value, radix);
        } catch (NumberFormatException e) {
            throw new ErrnoException(Errno.EINVAL, fs + ": " + key + "=" + value + " is not a"
                    + (radix == 8 ? "n octal" : "") + " number");
        }
        if (n < min || n > max) {
            throw new ErrnoException(Errno.EINVAL, fs + ": " + key + "=" + value + " is out of range ("
                    + Long.toString(min, radix) + " to " + Long.toString(max, radix) + ")");
        }
        return n;
    }
}
