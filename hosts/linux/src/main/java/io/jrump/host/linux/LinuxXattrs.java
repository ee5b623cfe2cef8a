package io.jrump.host.linux;

import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Extended attributes of host files in every namespace Linux has ({@code user.*}, {@code trusted.*},
 * {@code security.*}, {@code system.posix_acl_*}), through {@code llistxattr}, {@code lgetxattr}
 * and {@code lsetxattr}: always the file's own attributes, a symlink's rather than its target's.
 * The JDK's {@code UserDefinedFileAttributeView} reaches {@code user.*} only.
 *
 * <p>Values pass unchanged in both directions; a {@code system.posix_acl_*} value is the kernel's
 * version-2 form with ids as the caller sees them. What the kernel permits is its business:
 * {@code trusted.*} needs {@code CAP_SYS_ADMIN} (EPERM without), {@code user.*} is refused on
 * symlinks (EPERM), a filesystem without xattrs answers EOPNOTSUPP. Every failure is an
 * {@link ErrnoException} with the call's errno, naming the call, the path and the attribute.
 *
 * <p>Sizes are Linux's limits, {@link #MAX_SIZE} (64 KiB) for a list and for one value; reads go
 * into one buffer of that size per thread, so a single call answers (the kernel turns a value or
 * list larger than that into E2BIG, never ERANGE). Usable where {@link #isAvailable()}; thread-safe.
 */
public final class LinuxXattrs {
    /** Linux's XATTR_SIZE_MAX and XATTR_LIST_MAX. */
    public static final int MAX_SIZE = 64 * 1024;
    /** lsetxattr flags: fail if the name exists, or if it does not. */
    public static final int XATTR_CREATE = 1;
    public static final int XATTR_REPLACE = 2;

    /** The encoding the JDK turns path strings into bytes with, so that both name the same file. */
    private static final Charset PATH_ENCODING = pathEncoding();
    private static final ThreadLocal<ByteBuffer> BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_SIZE));

    private LinuxXattrs() {
    }

    /** Whether the native calls can work here (64-bit Linux with JNA's library). Never throws. */
    public static boolean isAvailable() {
        try {
            return Sys.isAvailable();
        } catch (LinkageError e) {
            return false;
        }
    }

    private static Charset pathEncoding() {
        try {
            return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    private static byte[] cString(String s, Charset cs, String what) throws ErrnoException {
        if (s.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, what + ": NUL in the name");
        }
        byte[] b = s.getBytes(cs);
        return Arrays.copyOf(b, b.length + 1);
    }

    /** The names of the file's own attributes, in the order the filesystem lists them. */
    public static List<String> list(Path path) throws ErrnoException {
        String what = path.toString();
        byte[] p = cString(what, PATH_ENCODING, what);
        ByteBuffer buf = BUFFER.get().clear();
        int n = bounded(Sys.llistxattr(p, buf, what), "llistxattr " + what);
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < n; i++) {
            if (buf.get(i) == 0) {
                if (i > start) {
                    byte[] name = new byte[i - start];
                    buf.get(start, name);
                    names.add(new String(name, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        if (start < n) {
            throw new ErrnoException(Errno.EIO, "llistxattr " + what + ": the list's last name has no NUL");
        }
        return names;
    }

    /** One attribute's value; ENODATA if the file has none of that name. */
    public static byte[] get(Path path, String name) throws ErrnoException {
        String what = path + " " + name;
        byte[] p = cString(path.toString(), PATH_ENCODING, what);
        ByteBuffer buf = BUFFER.get().clear();
        int n = bounded(Sys.lgetxattr(p, cString(name, StandardCharsets.UTF_8, what), buf, what), "lgetxattr " + what);
        byte[] value = new byte[n];
        buf.get(0, value);
        return value;
    }

    /** Creates or replaces one attribute ({@code flags} 0), or as {@link #XATTR_CREATE} / {@link #XATTR_REPLACE} say. */
    public static void set(Path path, String name, byte[] value, int flags) throws ErrnoException {
        String what = path + " " + name;
        if (value.length > MAX_SIZE) {
            throw new ErrnoException(Errno.E2BIG, "lsetxattr " + what + ": a value of " + value.length
                    + " bytes is over Linux's " + MAX_SIZE);
        }
        byte[] p = cString(path.toString(), PATH_ENCODING, what);
        ByteBuffer buf = BUFFER.get().clear().put(value).flip();
        Sys.lsetxattr(p, cString(name, StandardCharsets.UTF_8, what), buf, flags, what);
    }

    /** A count the kernel returned, checked against the buffer it had (a misbehaving filesystem aside). */
    private static int bounded(int n, String what) throws ErrnoException {
        if (n > MAX_SIZE) {
            throw new ErrnoException(Errno.EIO, what + ": the kernel answered " + n + " bytes into a " + MAX_SIZE
                    + "-byte buffer");
        }
        return n;
    }
}
