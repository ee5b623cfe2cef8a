package io.jrump.fs.nio;

import io.jrump.kernel.sys.Attributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What {@code stat} said of a file, as {@link PosixFileAttributes}; the {@code unix:} names are
 * those of the JDK's Unix provider. The creation time is the modification time, as the JDK
 * reports when a filesystem gives none. Immutable.
 */
final class RumpFileAttributes implements PosixFileAttributes {
    /** Identifies a file across paths: device and inode, so that cycles are found while walking. */
    record Key(long dev, long ino) {
    }

    private static final PosixFilePermission[] BITS = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    private final Attributes a;
    private final long dev;

    RumpFileAttributes(Attributes a, long dev) {
        this.a = a;
        this.dev = dev;
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BITS.length; i++) {
            if ((mode & (1 << i)) != 0) {
                out.add(BITS[i]);
            }
        }
        return out;
    }

    static int mode(Set<?> perms) {
        int mode = 0;
        for (Object p : perms) {
            if (!(p instanceof PosixFilePermission pp)) {
                throw new ClassCastException(p + " is not a PosixFilePermission");
            }
            for (int i = 0; i < BITS.length; i++) {
                if (BITS[i] == pp) {
                    mode |= 1 << i;
                }
            }
        }
        return mode;
    }

    private static FileTime time(long nanos) {
        return FileTime.from(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public FileTime lastModifiedTime() {
        return time(a.mtimeNanos());
    }

    @Override
    public FileTime lastAccessTime() {
        return time(a.atimeNanos());
    }

    @Override
    public FileTime creationTime() {
        return lastModifiedTime();
    }

    @Override
    public boolean isRegularFile() {
        return a.isRegular();
    }

    @Override
    public boolean isDirectory() {
        return a.isDirectory();
    }

    @Override
    public boolean isSymbolicLink() {
        return a.isSymlink();
    }

    @Override
    public boolean isOther() {
        return !a.isRegular() && !a.isDirectory() && !a.isSymlink();
    }

    @Override
    public long size() {
        return a.size();
    }

    @Override
    public Object fileKey() {
        return new Key(dev, a.ino());
    }

    @Override
    public UserPrincipal owner() {
        return new RumpPrincipal(a.uid(), false);
    }

    @Override
    public GroupPrincipal group() {
        return new RumpPrincipal(a.gid(), true);
    }

    @Override
    public Set<PosixFilePermission> permissions() {
        return permissions(a.mode());
    }

    /** Every attribute of {@code view} ("basic", "posix", "owner" or "unix") by name. */
    Map<String, Object> asMap(String view) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (view.equals("owner")) {
            m.put("owner", owner());
            return m;
        }
        m.put("lastModifiedTime", lastModifiedTime());
        m.put("lastAccessTime", lastAccessTime());
        m.put("creationTime", creationTime());
        m.put("size", size());
        m.put("isRegularFile", isRegularFile());
        m.put("isDirectory", isDirectory());
        m.put("isSymbolicLink", isSymbolicLink());
        m.put("isOther", isOther());
        m.put("fileKey", fileKey());
        if (view.equals("basic")) {
            return m;
        }
        m.put("permissions", permissions());
        m.put("owner", owner());
        m.put("group", group());
        if (view.equals("posix")) {
            return m;
        }
        m.put("mode", a.mode());
        m.put("ino", a.ino());
        m.put("dev", dev);
        m.put("rdev", a.rdev());
        m.put("nlink", a.nlink());
        m.put("uid", (int) a.uid());
        m.put("gid", (int) a.gid());
        m.put("ctime", time(a.ctimeNanos()));
        return m;
    }
}
