package io.jrump.fs.exfat;

import io.jrump.hypercall.Errno;
import io.jrump.fs.vfs.MountOptionValues;
import io.jrump.hypercall.ErrnoException;
import java.util.Map;

/**
 * The mount options of Linux's exfat driver that apply here: owners and permission bits (exFAT
 * stores neither), the zone of timestamps that carry no UTC offset, and whether chmod/chown that
 * cannot be stored fail.
 *
 * @param uid owner of every file ({@code uid=})
 * @param gid group of every file ({@code gid=})
 * @param fmask permission bits cleared for files ({@code fmask=}, else {@code umask=}, else 022)
 * @param dmask permission bits cleared for directories ({@code dmask=}, else {@code umask=}, else 022)
 * @param offsetMinutes minutes local time is ahead of UTC ({@code time_offset=}): written as each
 *     timestamp's UTC offset, and used for timestamps stored without one
 * @param quiet chmod and chown that exFAT cannot store succeed without effect instead of EPERM
 */
public record ExFatMountOptions(long uid, long gid, int fmask, int dmask, int offsetMinutes, boolean quiet) {

    public static ExFatMountOptions defaults() {
        return new ExFatMountOptions(0, 0, 022, 022, 0, false);
    }

    /**
     * Parses {@code mount -o} options.
     *
     * @throws ErrnoException {@code EINVAL} naming an unknown option or a bad value
     */
    public static ExFatMountOptions parse(Map<String, String> options) throws ErrnoException {
        long uid = 0;
        long gid = 0;
        Integer umask = null;
        Integer fmask = null;
        Integer dmask = null;
        int offset = 0;
        boolean quiet = false;
        for (Map.Entry<String, String> o : options.entrySet()) {
            String v = o.getValue();
            switch (o.getKey()) {
                case "uid" -> uid = number(o.getKey(), v, 10, 0, 0xffff_fffeL);
                case "gid" -> gid = number(o.getKey(), v, 10, 0, 0xffff_fffeL);
                case "umask" -> umask = (int) number(o.getKey(), v, 8, 0, 0777);
                case "fmask" -> fmask = (int) number(o.getKey(), v, 8, 0, 0777);
                case "dmask" -> dmask = (int) number(o.getKey(), v, 8, 0, 0777);
                // Linux takes -720..720 minutes; stored offsets are quarter hours.
                case "time_offset" -> offset = (int) number(o.getKey(), v, 10, -12 * 60, 12 * 60);
                case "quiet" -> quiet = true;
                case "iocharset" -> {
                    if (!"utf8".equalsIgnoreCase(v) && !"utf-8".equalsIgnoreCase(v)) {
                        throw new ErrnoException(Errno.EINVAL, "exfat: iocharset=" + v + ": names are UTF-16 on disk "
                                + "and Java strings here; only utf8 is meaningful");
                    }
                }
                default -> throw new ErrnoException(Errno.EINVAL, "exfat: unknown mount option '" + o.getKey()
                        + "' (known: uid, gid, umask, fmask, dmask, time_offset, quiet, iocharset=utf8)");
            }
        }
        int f = fmask != null ? fmask : umask != null ? umask : 022;
        int d = dmask != null ? dmask : umask != null ? umask : 022;
        return new ExFatMountOptions(uid, gid, f, d, offset, quiet);
    }

    private static long number(String key, String v, int radix, long min, long max) throws ErrnoException {
        return MountOptionValues.number("exfat", key, v, radix, min, max);
    }
}
