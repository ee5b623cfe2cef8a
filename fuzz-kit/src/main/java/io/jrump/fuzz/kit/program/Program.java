package io.jrump.fuzz.kit.program;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A syscall-sequence program: the world's settings (a seed, the disk's size) and a list of calls
 * on files, the mount, sockets and the world's faults, in a readable text form that
 * {@link ProgramRunner} runs exactly again. Immutable.
 *
 * <pre>
 * # jrump program v1
 * seed 0x2a
 * disk d0 ext4 4M
 * mount("d0", "/", "ext4", 0)
 * r0 = open("/a", O_RDWR|O_CREAT, 0644)
 * pwrite(r0, bytes(512, 0x41), 4096)
 * fsync(r0)
 * powercut()
 * b: r1 = socket(AF_INET, SOCK_STREAM, 0)
 * link_down("lan")
 * </pre>
 *
 * <p>The text: the header line {@value #HEADER}; {@code seed N} (hex with 0x, or decimal); {@code
 * disk d0 ext4 NM} (4 to 16 MiB); then one call a line, {@code [b: ][rN = ]name(arg, ...)}, from
 * {@link Signature#all()}. Blank lines and other lines starting with {@code #} are ignored. A
 * descriptor {@code rN} is defined once, by the call that returns it, and used by later calls; a
 * call runs on its descriptor's host; {@code socket} runs on host a unless written {@code b: }.
 * {@link #text()} prints the canonical form, which {@link #parse} reads back to an equal program;
 * canonical text prints back byte for byte.
 */
public final class Program {
    /** The first line of every program. */
    public static final String HEADER = "# jrump program v1";
    /** The most calls a program holds. */
    public static final int MAX_CALLS = 64;
    /** The longest program text, in characters. */
    public static final int MAX_TEXT = 64 * 1024;
    /** The longest line. */
    public static final int MAX_LINE = 512;
    /** The most bytes all the calls of a program may write or send together. */
    public static final long MAX_DATA = 1 << 20;
    /** The disk sizes a program may ask for, in MiB. */
    public static final int MIN_DISK_MIB = 4;
    public static final int MAX_DISK_MIB = 16;

    private final long seed;
    private final int diskMib;
    private final List<Call> calls;

    private Program(long seed, int diskMib, List<Call> calls) {
        this.seed = seed;
        this.diskMib = diskMib;
        this.calls = List.copyOf(calls);
    }

    /** The world's seed: every random choice of the simulation (latencies, losses, torn writes) derives from it. */
    public long seed() {
        return seed;
    }

    /** The size of disk d0 in MiB. */
    public int diskMib() {
        return diskMib;
    }

    /** The calls, in order. */
    public List<Call> calls() {
        return calls;
    }

    /** The first {@code n} calls of this program (for minimizing by hand). */
    public Program prefix(int n) {
        return new Program(seed, diskMib, calls.subList(0, Math.min(n, calls.size())));
    }

    /**
     * A program built from fuzz input by {@link ProgramGenerator}: at most {@code maxCalls} calls
     * (and at most {@link #MAX_CALLS}). It always parses back to itself.
     */
    public static Program generate(FuzzedDataProvider data, int maxCalls) {
        return ProgramGenerator.generate(data, maxCalls);
    }

    /**
     * Reads a program. Hostile input is refused, never crashes: a text longer than
     * {@link #MAX_TEXT}, a line longer than {@link #MAX_LINE}, more than {@link #MAX_CALLS} calls or
     * more than {@link #MAX_DATA} bytes of data is {@code EINVAL}; so is a malformed line, a
     * descriptor used before it is defined or of the wrong kind, an argument out of its range; a
     * call that is not supported is {@code ENOSYS}. Every message starts with {@code line N:}.
     */
    public static Program parse(String text) throws ErrnoException {
        Objects.requireNonNull(text, "text");
        if (text.length() > MAX_TEXT) {
            throw new ErrnoException(Errno.EINVAL, "a program is at most " + MAX_TEXT + " characters, this one " + text.length());
        }
        String[] lines = text.split("\n", -1);
        Long seed = null;
        Integer disk = null;
        List<Call> calls = new ArrayList<>();
        Map<Integer, Call> defined = new HashMap<>();
        long data = 0;
        for (int i = 0; i < lines.length; i++) {
            int no = i + 1;
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.length() > MAX_LINE) {
                throw error(no, Errno.EINVAL, "longer than " + MAX_LINE + " characters");
            }
            if (i == 0) {
                if (!line.equals(HEADER)) {
                    throw error(no, Errno.EINVAL, "a program starts with the line '" + HEADER + "'");
                }
                continue;
            }
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("seed ")) {
                if (seed != null || !calls.isEmpty()) {
                    throw error(no, Errno.EINVAL, "one seed line, before the calls");
                }
                seed = parseSeed(no, line.substring(5).strip());
                continue;
            }
            if (line.startsWith("disk ")) {
                if (disk != null || !calls.isEmpty()) {
                    throw error(no, Errno.EINVAL, "one disk line, before the calls");
                }
                disk = parseDisk(no, line.substring(5).strip());
                continue;
            }
            if (seed == null || disk == null) {
                throw error(no, Errno.EINVAL, "the seed and disk lines come before the calls");
            }
            if (calls.size() == MAX_CALLS) {
                throw error(no, Errno.EINVAL, "more than " + MAX_CALLS + " calls");
            }
            Call c;
            try {
                c = parseCall(line, defined);
            } catch (ErrnoException e) {
                throw error(no, e.errno(), e.detail());
            }
            for (Object a : c.args()) {
                if (a instanceof Data d) {
                    data += d.length();
                }
            }
            if (data > MAX_DATA) {
                throw error(no, Errno.EINVAL, "the calls carry more than " + MAX_DATA + " bytes of data together");
            }
            if (c.result() >= 0) {
                defined.put(c.result(), c);
            }
            calls.add(c);
        }
        if (seed == null || disk == null) {
            throw error(lines.length, Errno.EINVAL, "a program needs a seed line and a disk line");
        }
        return new Program(seed, disk, calls);
    }

    private static ErrnoException error(int line, Errno errno, String what) {
        return new ErrnoException(errno, "line " + line + ": " + what);
    }

    private static long parseSeed(int no, String s) throws ErrnoException {
        try {
            if (s.startsWith("0x")) {
                if (s.length() > 18 || s.length() == 2) {
                    throw new NumberFormatException();
                }
                return Long.parseUnsignedLong(s.substring(2), 16);
            }
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw error(no, Errno.EINVAL, "seed is a 64-bit number, 0x2a or 42: " + s);
        }
    }

    private static int parseDisk(int no, String s) throws ErrnoException {
        String[] p = s.split(" +");
        if (p.length != 3 || !p[0].equals(Signature.DISK) || !p[1].equals("ext4") || !p[2].matches("[1-9]\\d?M")) {
            throw error(no, Errno.EINVAL, "the disk line is 'disk d0 ext4 NM' (the one disk, ext4, N MiB): " + s);
        }
        int mib = Integer.parseInt(p[2].substring(0, p[2].length() - 1));
        if (mib < MIN_DISK_MIB || mib > MAX_DISK_MIB) {
            throw error(no, Errno.EINVAL, "the disk is " + MIN_DISK_MIB + "M to " + MAX_DISK_MIB + "M: " + s);
        }
        return mib;
    }

    private static Call parseCall(String line, Map<Integer, Call> defined) throws ErrnoException {
        String host = null;
        if (line.startsWith("a:") || line.startsWith("b:")) {
            host = line.substring(0, 1);
            line = line.substring(2).strip();
        }
        int result = -1;
        if (line.matches("r\\d{1,3} *=.*")) {
            int eq = line.indexOf('=');
            result = Integer.parseInt(line.substring(1, eq).strip());
            line = line.substring(eq + 1).strip();
        }
        int open = line.indexOf('(');
        if (open <= 0 || !line.endsWith(")")) {
            throw new ErrnoException(Errno.EINVAL, "expected name(arguments): " + line);
        }
        String name = line.substring(0, open).strip();
        if (!name.matches("[a-z_]{1,24}")) {
            throw new ErrnoException(Errno.EINVAL, "a call's name is lower-case letters and _: " + name);
        }
        Signature sig = Signature.of(name);
        if (sig == null) {
            throw new ErrnoException(Errno.ENOSYS, "call " + name + " is not supported (see Signature.all())");
        }
        List<String> texts = Signature.splitArgs(line.substring(open + 1, line.length() - 1));
        if (texts.size() != sig.args().size()) {
            throw new ErrnoException(Errno.EINVAL, name + " takes " + sig.args().size() + " arguments, not " + texts.size());
        }
        List<Object> args = new ArrayList<>();
        String resourceHost = null;
        for (int k = 0; k < texts.size(); k++) {
            Signature.Arg kind = sig.args().get(k);
            Object v;
            try {
                v = kind.parse(texts.get(k));
            } catch (ErrnoException e) {
                throw new ErrnoException(e.errno(), name + " argument " + (k + 1) + ": " + e.detail());
            }
            if (v instanceof Call.Resource r) {
                Call def = defined.get(r.n());
                if (def == null) {
                    throw new ErrnoException(Errno.EINVAL, name + ": " + r + " is not defined by an earlier call");
                }
                Signature.Returns has = def.signature().returns();
                if ((kind == Signature.Arg.FILE && has != Signature.Returns.FILE)
                        || (kind == Signature.Arg.SOCKET && has != Signature.Returns.SOCKET)) {
                    throw new ErrnoException(Errno.EINVAL, name + ": " + r + " is a " + has.name().toLowerCase(java.util.Locale.ROOT)
                            + " descriptor, " + name + " takes a " + kind.name().toLowerCase(java.util.Locale.ROOT) + " one");
                }
                resourceHost = def.host();
            }
            args.add(v);
        }
        if (host != null && !name.equals("socket")) {
            throw new ErrnoException(Errno.EINVAL, "only socket takes a host prefix; other calls run where their descriptor lives");
        }
        if ((result >= 0) != (sig.returns() != Signature.Returns.NOTHING)) {
            throw new ErrnoException(Errno.EINVAL, sig.returns() == Signature.Returns.NOTHING
                    ? name + " returns no descriptor: drop the 'r" + result + " ='" : name + " returns a descriptor: write 'rN = " + name + "(...)'");
        }
        if (result >= 0 && defined.containsKey(result)) {
            throw new ErrnoException(Errno.EINVAL, "r" + result + " is defined already");
        }
        String runsOn = resourceHost != null ? resourceHost : host != null ? host : "a";
        return new Call(result, runsOn, name, args);
    }

    /** The canonical text: header, seed in hex, disk, one call a line, a final newline. */
    public String text() {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        b.append("seed 0x").append(Long.toHexString(seed)).append('\n');
        b.append("disk ").append(Signature.DISK).append(" ext4 ").append(diskMib).append("M\n");
        for (Call c : calls) {
            b.append(c).append('\n');
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return text();
    }

    /**
     * The file name this program is saved under: the first 16 hex digits of the SHA-256 of its
     * text, then {@code .prog}; the same program always gets the same name.
     */
    public String fileName() {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(text().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8) + ".prog";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Writes {@link #text()} to {@code dir}/{@link #fileName()}, creating {@code dir}; returns the file. */
    public Path save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(fileName());
        Files.writeString(file, text(), StandardCharsets.UTF_8);
        return file;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Program p && p.seed == seed && p.diskMib == diskMib && p.calls.equals(calls);
    }

    @Override
    public int hashCode() {
        return Objects.hash(seed, diskMib, calls);
    }
}
