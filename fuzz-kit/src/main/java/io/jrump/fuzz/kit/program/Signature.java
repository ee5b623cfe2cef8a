package io.jrump.fuzz.kit.program;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The calls a {@link Program} may hold, each with the kinds of its arguments and of what it returns.
 * A call not listed here is refused by the parser with {@code ENOSYS}.
 *
 * @param name the call's name
 * @param returns the kind of descriptor it returns ({@link Returns#NOTHING} for none)
 * @param args the kinds of its arguments, in order
 */
public record Signature(String name, Returns returns, List<Arg> args) {
    /** What a call returns that later calls may use. */
    public enum Returns {
        /** Nothing a later call refers to. */
        NOTHING,
        /** A file descriptor: {@code rN = open(...)}. */
        FILE,
        /** A socket descriptor: {@code rN = socket(...)}, {@code rN = accept(...)}. */
        SOCKET
    }

    /** The largest file offset or length a program may name: 1 MiB. */
    public static final long MAX_OFFSET = 1 << 20;
    /** The longest virtual sleep: ten minutes, in milliseconds. */
    public static final long MAX_SLEEP_MILLIS = 600_000;
    /** The disk's name: the one disk of the world. */
    public static final String DISK = "d0";
    /** The link's name: the one link of the world, between hosts a and b. */
    public static final String LINK = "lan";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,32}");
    private static final Pattern ADDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3}):(\\d{1,5})");
    private static final Pattern BYTES = Pattern.compile("bytes\\((\\d{1,6}), *0x([0-9a-fA-F]{1,2})\\)");
    private static final Pattern HEX = Pattern.compile("hex\"([0-9a-fA-F]*)\"");
    private static final String[] FLAG_NAMES = {"O_CREAT", "O_EXCL", "O_TRUNC"};
    private static final int[] FLAG_VALUES = {OpenFlags.O_CREAT, OpenFlags.O_EXCL, OpenFlags.O_TRUNC};

    /** The kind of one argument: how it is written, read back, and what values it may take. */
    public enum Arg {
        /** An absolute path of 1 to 4 names ({@code [A-Za-z0-9._-]}, not . or ..), quoted. */
        PATH,
        /** The mount point: {@code "/"} (the only one modelled). */
        MOUNTPOINT,
        /** The disk: {@code "d0"}. */
        DEVICE,
        /** The filesystem type: {@code "ext4"}. */
        FSTYPE,
        /** The link: {@code "lan"}. */
        LINK,
        /** The number 0 (mount flags, socket protocol). */
        ZERO,
        /** A file offset or length in [0, 1 MiB]. */
        OFFSET,
        /** A byte count in [0, 64 KiB]. */
        LENGTH,
        /** A listen backlog in [0, 64]. */
        BACKLOG,
        /** A percentage in [0, 100]. */
        PERCENT,
        /** Virtual milliseconds in [0, 600000]. */
        MILLIS,
        /** A file mode in octal, {@code 0644}. */
        MODE,
        /** Open flags: O_RDONLY, O_WRONLY or O_RDWR, or'd with O_CREAT, O_EXCL, O_TRUNC. */
        OFLAGS,
        /** A file descriptor a previous open returned. */
        FILE,
        /** A socket descriptor a previous socket or accept returned. */
        SOCKET,
        /** Any descriptor (close). */
        ANY,
        /** Bytes: {@code bytes(N, 0xHH)} or {@code hex"..."}. */
        DATA,
        /** The address family: AF_INET. */
        DOMAIN,
        /** The socket type: SOCK_STREAM. */
        TYPE,
        /** SHUT_RD, SHUT_WR or SHUT_RDWR. */
        HOW,
        /** An IPv4 address and port, quoted: {@code "198.18.0.2:80"}. */
        ADDRESS;

        /** Reads one argument of this kind from its text; {@code EINVAL} saying what is wrong. */
        Object parse(String t) throws ErrnoException {
            switch (this) {
                case PATH -> {
                    String p = unquote(t);
                    String[] parts = p.split("/", -1);
                    if (!p.startsWith("/") || parts.length < 2 || parts.length > 5) {
                        throw bad("a path is \"/\" and 1 to 4 names, like \"/d/a\": " + t);
                    }
                    for (int i = 1; i < parts.length; i++) {
                        if (!NAME.matcher(parts[i]).matches() || parts[i].equals(".") || parts[i].equals("..")) {
                            throw bad("a path's names are 1 to 32 of [A-Za-z0-9._-], not . or ..: " + t);
                        }
                    }
                    return p;
                }
                case MOUNTPOINT -> {
                    return fixed(t, "/");
                }
                case DEVICE -> {
                    return fixed(t, DISK);
                }
                case FSTYPE -> {
                    return fixed(t, "ext4");
                }
                case LINK -> {
                    return fixed(t, Signature.LINK);
                }
                case ZERO -> {
                    return number(t, 0, 0);
                }
                case OFFSET -> {
                    return number(t, 0, MAX_OFFSET);
                }
                case LENGTH -> {
                    return number(t, 0, Data.MAX_LENGTH);
                }
                case BACKLOG -> {
                    return number(t, 0, 64);
                }
                case PERCENT -> {
                    return number(t, 0, 100);
                }
                case MILLIS -> {
                    return number(t, 0, MAX_SLEEP_MILLIS);
                }
                case MODE -> {
                    if (!t.matches("0|0[0-7]{1,4}")) {
                        throw bad("a mode is octal with a leading 0, like 0644: " + t);
                    }
                    return Long.parseLong(t, 8);
                }
                case OFLAGS -> {
                    return (long) openFlags(t);
                }
                case FILE, SOCKET, ANY -> {
                    if (!t.matches("r\\d{1,3}")) {
                        throw bad("a descriptor is rN, as a previous call defined it: " + t);
                    }
                    return new Call.Resource(Integer.parseInt(t.substring(1)));
                }
                case DATA -> {
                    return data(t);
                }
                case DOMAIN -> {
                    return constant(t, "AF_INET", 2, "only AF_INET sockets are modelled");
                }
                case TYPE -> {
                    return constant(t, "SOCK_STREAM", 1, "only SOCK_STREAM sockets are modelled");
                }
                case HOW -> {
                    return switch (t) {
                        case "SHUT_RD" -> 0L;
                        case "SHUT_WR" -> 1L;
                        case "SHUT_RDWR" -> 2L;
                        default -> throw bad("shutdown takes SHUT_RD, SHUT_WR or SHUT_RDWR: " + t);
                    };
                }
                case ADDRESS -> {
                    String a = unquote(t);
                    Matcher m = ADDR.matcher(a);
                    if (!m.matches()) {
                        throw bad("an address is \"A.B.C.D:PORT\": " + t);
                    }
                    for (int i = 1; i <= 4; i++) {
                        if (Integer.parseInt(m.group(i)) > 255 || (m.group(i).length() > 1 && m.group(i).startsWith("0"))) {
                            throw bad("an address's numbers are 0 to 255 without leading zeros: " + t);
                        }
                    }
                    int port = Integer.parseInt(m.group(5));
                    if (port < 1 || port > 65535 || (m.group(5).startsWith("0"))) {
                        throw bad("a port is 1 to 65535 without leading zeros: " + t);
                    }
                    return a;
                }
                default -> throw new IllegalStateException(name());
            }
        }

        /** Prints a value of this kind as {@link #parse} reads it. */
        String print(Object v) {
            return switch (this) {
                case PATH, MOUNTPOINT, DEVICE, FSTYPE, LINK, ADDRESS -> "\"" + v + "\"";
                case MODE -> (Long) v == 0 ? "0" : "0" + Long.toOctalString((Long) v);
                case OFLAGS -> printFlags((int) (long) (Long) v);
                case DOMAIN -> "AF_INET";
                case TYPE -> "SOCK_STREAM";
                case HOW -> new String[] {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"}[(int) (long) (Long) v];
                default -> v.toString();
            };
        }
    }

    private static final Map<String, Signature> ALL = new LinkedHashMap<>();

    static {
        add("mount", Returns.NOTHING, Arg.DEVICE, Arg.MOUNTPOINT, Arg.FSTYPE, Arg.ZERO);
        add("umount", Returns.NOTHING, Arg.MOUNTPOINT);
        add("open", Returns.FILE, Arg.PATH, Arg.OFLAGS, Arg.MODE);
        add("close", Returns.NOTHING, Arg.ANY);
        add("pwrite", Returns.NOTHING, Arg.FILE, Arg.DATA, Arg.OFFSET);
        add("pread", Returns.NOTHING, Arg.FILE, Arg.LENGTH, Arg.OFFSET);
        add("ftruncate", Returns.NOTHING, Arg.FILE, Arg.OFFSET);
        add("fsync", Returns.NOTHING, Arg.FILE);
        add("sync", Returns.NOTHING);
        add("stat", Returns.NOTHING, Arg.PATH);
        add("unlink", Returns.NOTHING, Arg.PATH);
        add("mkdir", Returns.NOTHING, Arg.PATH, Arg.MODE);
        add("rmdir", Returns.NOTHING, Arg.PATH);
        add("rename", Returns.NOTHING, Arg.PATH, Arg.PATH);
        add("socket", Returns.SOCKET, Arg.DOMAIN, Arg.TYPE, Arg.ZERO);
        add("bind", Returns.NOTHING, Arg.SOCKET, Arg.ADDRESS);
        add("listen", Returns.NOTHING, Arg.SOCKET, Arg.BACKLOG);
        add("connect", Returns.NOTHING, Arg.SOCKET, Arg.ADDRESS);
        add("accept", Returns.SOCKET, Arg.SOCKET);
        add("send", Returns.NOTHING, Arg.SOCKET, Arg.DATA);
        add("recv", Returns.NOTHING, Arg.SOCKET, Arg.LENGTH);
        add("shutdown", Returns.NOTHING, Arg.SOCKET, Arg.HOW);
        add("powercut", Returns.NOTHING);
        add("link_down", Returns.NOTHING, Arg.LINK);
        add("link_up", Returns.NOTHING, Arg.LINK);
        add("loss", Returns.NOTHING, Arg.LINK, Arg.PERCENT);
        add("sleep", Returns.NOTHING, Arg.MILLIS);
    }

    public Signature {
        args = List.copyOf(args);
    }

    private static void add(String name, Returns returns, Arg... args) {
        ALL.put(name, new Signature(name, returns, List.of(args)));
    }

    /** The signature of {@code name}; {@code null} if no such call is supported. */
    public static Signature of(String name) {
        return ALL.get(name);
    }

    /** Every supported call, in the order the guide lists them. */
    public static List<Signature> all() {
        return List.copyOf(ALL.values());
    }

    private static ErrnoException bad(String what) {
        return new ErrnoException(Errno.EINVAL, what);
    }

    private static String unquote(String t) throws ErrnoException {
        if (t.length() < 2 || !t.startsWith("\"") || !t.endsWith("\"") || t.indexOf('"', 1) != t.length() - 1) {
            throw bad("expected a quoted string: " + t);
        }
        return t.substring(1, t.length() - 1);
    }

    private static String fixed(String t, String only) throws ErrnoException {
        String v = unquote(t);
        if (!v.equals(only)) {
            throw bad("only \"" + only + "\" is modelled here, not " + t);
        }
        return v;
    }

    private static Long number(String t, long min, long max) throws ErrnoException {
        if (!t.matches("0|[1-9]\\d{0,9}")) {
            throw bad("expected a decimal number without leading zeros: " + t);
        }
        long v = Long.parseLong(t);
        if (v < min || v > max) {
            throw bad(t + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    private static Long constant(String t, String name, long value, String why) throws ErrnoException {
        if (!t.equals(name)) {
            throw bad(why + ": " + t);
        }
        return value;
    }

    private static int openFlags(String t) throws ErrnoException {
        String[] parts = t.split("\\|", -1);
        int flags;
        switch (parts[0]) {
            case "O_RDONLY" -> flags = OpenFlags.O_RDONLY;
            case "O_WRONLY" -> flags = OpenFlags.O_WRONLY;
            case "O_RDWR" -> flags = OpenFlags.O_RDWR;
            default -> throw bad("open flags start with O_RDONLY, O_WRONLY or O_RDWR: " + t);
        }
        int last = -1;
        for (int i = 1; i < parts.length; i++) {
            int k = List.of(FLAG_NAMES).indexOf(parts[i]);
            if (k < 0) {
                throw bad("open flag " + parts[i] + " is not modelled (O_CREAT, O_EXCL, O_TRUNC are): " + t);
            }
            if (k <= last) {
                throw bad("open flags come once each, in the order O_CREAT|O_EXCL|O_TRUNC: " + t);
            }
            last = k;
            flags |= FLAG_VALUES[k];
        }
        return flags;
    }

    private static String printFlags(int flags) {
        StringBuilder b = new StringBuilder(switch (flags & OpenFlags.O_ACCMODE) {
            case OpenFlags.O_WRONLY -> "O_WRONLY";
            case OpenFlags.O_RDWR -> "O_RDWR";
            default -> "O_RDONLY";
        });
        for (int i = 0; i < FLAG_NAMES.length; i++) {
            if ((flags & FLAG_VALUES[i]) != 0) {
                b.append('|').append(FLAG_NAMES[i]);
            }
        }
        return b.toString();
    }

    private static Data data(String t) throws ErrnoException {
        Matcher m = BYTES.matcher(t);
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1));
            if (n > Data.MAX_LENGTH || (m.group(1).length() > 1 && m.group(1).startsWith("0"))) {
                throw bad("bytes(N, ...) takes N from 0 to " + Data.MAX_LENGTH + " without leading zeros: " + t);
            }
            if (!m.group(2).equals(String.format("%02x", Integer.parseInt(m.group(2), 16)))) {
                throw bad("the fill byte is two lower-case hex digits, like 0x41: " + t);
            }
            return Data.fill(n, Integer.parseInt(m.group(2), 16));
        }
        m = HEX.matcher(t);
        if (m.matches()) {
            String h = m.group(1);
            if (h.length() % 2 != 0 || h.length() / 2 > Data.MAX_HEX || !h.equals(h.toLowerCase(java.util.Locale.ROOT))) {
                throw bad("hex\"...\" holds an even number of lower-case hex digits, at most " + Data.MAX_HEX + " bytes: " + t);
            }
            return Data.hex(HexFormat.of().parseHex(h));
        }
        throw bad("data is bytes(N, 0xHH) or hex\"...\": " + t);
    }

    /** Splits an argument list at its top-level commas (not inside quotes or parentheses). */
    static List<String> splitArgs(String s) throws ErrnoException {
        List<String> out = new ArrayList<>();
        if (s.isBlank()) {
            return out;
        }
        int depth = 0;
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')') {
                depth--;
                if (depth < 0) {
                    throw bad("a ')' without its '('");
                }
            } else if (!quoted && depth == 0 && c == ',') {
                out.add(s.substring(start, i).strip());
                start = i + 1;
            }
        }
        if (quoted || depth != 0) {
            throw bad("an unclosed quote or parenthesis");
        }
        out.add(s.substring(start).strip());
        return out;
    }
}
