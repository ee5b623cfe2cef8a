package io.jrump.fs.iso;

import io.jrump.hypercall.Errno;
import io.jrump.fs.vfs.MountOptionValues;
import io.jrump.hypercall.ErrnoException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Mount options, as Linux isofs takes them: {@code norock}, {@code nojoliet}, {@code map=normal|off}
 * ({@code n}/{@code o}), and {@code uid=}, {@code gid=}, {@code mode=}, {@code dmode=} for files
 * and directories that Rock Ridge does not describe. Modes are octal.
 */
record IsoMountOptions(boolean rock, boolean joliet, boolean mapNormal, long uid, long gid, int fileMode,
                       int dirMode) {
    /** Linux's default for files and directories without Rock Ridge: readable and searchable by all. */
    static final int DEFAULT_MODE = 0555;

    static IsoMountOptions defaults() {
        return new IsoMountOptions(true, true, true, 0, 0, DEFAULT_MODE, DEFAULT_MODE);
    }

    /** Parses {@code options} (name to value; a flag's value is empty or null); EINVAL naming the first it refuses. */
    static IsoMountOptions parse(Map<String, String> options) throws ErrnoException {
        boolean rock = true;
        boolean joliet = true;
        boolean mapNormal = true;
        long uid = 0;
        long gid = 0;
        int fileMode = DEFAULT_MODE;
        int dirMode = DEFAULT_MODE;
        for (Map.Entry<String, String> e : new TreeMap<>(options).entrySet()) {
            String key = e.getKey();
            String value = e.getValue() == null ? "" : e.getValue();
            switch (key) {
                case "norock" -> rock = flag(key, value);
                case "nojoliet" -> joliet = flag(key, value);
                case "map" -> mapNormal = switch (value) {
                    case "normal", "n" -> true;
                    case "off", "o" -> false;
                    default -> throw new ErrnoException(Errno.EINVAL,
                            "iso9660: option map=" + value + ": takes normal or off (acorn is not supported)");
                };
                case "uid" -> uid = number(key, value, 10, 0xffffffffL);
                case "gid" -> gid = number(key, value, 10, 0xffffffffL);
                case "mode" -> fileMode = (int) number(key, value, 8, 07777);
                case "dmode" -> dirMode = (int) number(key, value, 8, 07777);
                default -> throw new ErrnoException(Errno.EINVAL, "iso9660: unknown mount option '" + key
                        + "' (known: norock, nojoliet, map=normal|off, uid=, gid=, mode=, dmode=)");
            }
        }
        return new IsoMountOptions(rock, joliet, mapNormal, uid, gid, fileMode, dirMode);
    }

    private static boolean flag(String key, String value) throws ErrnoException {
        if (!value.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "iso9660: option " + key + " takes no value, not '" + value + "'");
        }
        return false;
    }

    private static long number(String key, String value, int radix, long max) throws ErrnoException {
        return MountOptionValues.number("iso9660", key, value, radix, 0, max);
    }
}
