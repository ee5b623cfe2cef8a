package io.jrump.fs.fat;

import io.jrump.hypercall.Errno;
import io.jrump.fs.vfs.MountOptionValues;
import io.jrump.hypercall.ErrnoException;
import java.util.Map;

/**
 * The mount options of Linux's vfat driver that apply here (see mount(8), "Mount options for
 * fat"): who owns the files, which permission bits they show, the time zone of the timestamps,
 * and whether refused chmod/chown calls fail. FAT stores none of these.
 *
 * @param uid owner of every file ({@code uid=})
 * @param gid group of every file ({@code gid=})
 * @param fmask permission bits cleared for files ({@code fmask=}, else {@code umask=}, else 022)
 * @param dmask permission bits cleared for directories ({@code dmask=}, else {@code umask=}, else 022)
 * @param offsetMinutes minutes the stored times are ahead of UTC ({@code time_offset=}; {@code tz=UTC} is 0)
 * @param quiet chmod and chown that FAT cannot store succeed without effect ({@code quiet}) instead of EPERM
 * @param showexec only {@code .exe}, {@code .com} and {@code .bat} files show execute bits ({@code showexec})
 */
public record FatMountOptions(long uid, long gid, int fmask, int dmask, int offsetMinutes, boolean quiet,
                              boolean showexec) {

    public static FatMountOptions defaults() {
        return new FatMountOptions(0, 0, 022, 022, 0, false, false);
    }

    /**
     * Parses {@code mount -o} options.
     *
     * @throws ErrnoException {@code EINVAL} naming an unknown option or a bad value
     */
    public static FatMountOptions parse(Map<String, String> options) throws ErrnoException {
        long uid = 0;
        long gid = 0;
        Integer umask = null;
        Integer fmask = null;
        Integer dmask = null;
        int offset = 0;
        boolean quiet = false;
        boolean showexec = false;
        for (Map.Entry<String, String> o : options.entrySet()) {
            String v = o.getValue();
            switch (o.getKey()) {
                case "uid" -> uid = number(o.getKey(), v, 10, 0, 0xffff_fffeL);
                case "gid" -> gid = number(o.getKey(), v, 10, 0, 0xffff_fffeL);
                case "umask" -> umask = (int) number(o.getKey(), v, 8, 0, 0777);
                case "fmask" -> fmask = (int) number(o.getKey(), v, 8, 0, 0777);
                case "dmask" -> dmask = (int) number(o.getKey(), v, 8, 0, 0777);
                case "time_offset" -> offset = (int) number(o.getKey(), v, 10, -24 * 60, 24 * 60);
                case "tz" -> {
                    if (!"UTC".equals(v)) {
                        throw new ErrnoException(Errno.EINVAL, "vfat: tz=" + v + ": only tz=UTC is known "
                                + "(use time_offset=MINUTES for another zone)");
                    }
                    offset = 0;
                }
                case "quiet" -> quiet = true;
                case "showexec" -> showexec = true;
                case "iocharset" -> {
                    if (!"utf8".equalsIgnoreCase(v) && !"utf-8".equalsIgnoreCase(v)) {
                        throw new ErrnoException(Errno.EINVAL, "vfat: iocharset=" + v + ": names are UTF-16 on disk "
                                + "and Java strings here; only utf8 is meaningful");
                    }
                }
                case "codepage" -> {
                    if (!"437".equals(v)) {
                        throw new ErrnoException(Errno.EINVAL, "vfat: codepage=" + v + ": only 437 is supported");
                    }
                }
                case "shortname" -> {
                    if (!"mixed".equals(v)) {
                        throw new ErrnoException(Errno.EINVAL, "vfat: shortname=" + v
                                + ": only shortname=mixed (Linux's default) is supported");
                    }
                }
                default -> throw new ErrnoException(Errno.EINVAL, "vfat: unknown mount option '" + o.getKey()
                        + "' (known: uid, gid, umask, fmask, dmask, tz=UTC, time_offset, quiet, showexec, "
                        + "iocharset=utf8, codepage=437, shortname=mixed)");
            }
        }
        int f = fmask != null ? fmask : umask != null ? umask : 022;
        int d = dmask != null ? dmask : umask != null ? umask : 022;
        return new FatMountOptions(uid, gid, f, d, offset, quiet, showexec);
    }

    private static long number(String key, String v, int radix, long min, long max) throws ErrnoException {
        return MountOptionValues.number("vfat", key, v, radix, min, max);
    }
}
