package io.jrump.host.linux;

import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostFuseChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A {@code /dev/fuse} connection mounted with {@code mount(2)} as root, or, when that fails with
 * {@code EPERM}, through the setuid {@code fusermount3} helper, which passes the descriptor back
 * over a unix socket (as libfuse does). Reads and writes go
 * straight to the descriptor, through a per-thread direct buffer when the caller's is on the heap.
 *
 * <p>Once the first reply (INIT's) is written, the kernel has sized the mount's read-ahead window
 * from it, at most its default 128 KiB; as root the channel then raises the window to
 * {@link #READ_AHEAD_KB} through {@code /sys/class/bdi}, so that sequential reads arrive as 1 MiB
 * READs, not 128 or 256 KiB ones. Without root the default stays. Thread-safe.
 */
final class LinuxFuseChannel implements HostFuseChannel {
    private static final String DEV_FUSE = "/dev/fuse";
    /** The kernel refuses reads into smaller buffers. */
    static final int FUSE_MIN_READ_BUFFER = 8192;
    /** The read-ahead window raised to: one READ of the largest size FUSE_MAX_PAGES allows. */
    static final int READ_AHEAD_KB = 1024;

    private final String mountpoint;
    private final int fd;
    private final Consumer<Object> onClose;
    private final ThreadLocal<ByteBuffer> bounce = new ThreadLocal<>();
    private final AtomicBoolean tuned = new AtomicBoolean();
    private boolean mounted = true;
    private boolean closed;

    private LinuxFuseChannel(String mountpoint, int fd, Consumer<Object> onClose) {
        this.mountpoint = mountpoint;
        this.fd = fd;
        this.onClose = onClose;
    }

    /** How to mount: {@code mount(2)} (falling back to fusermount3 on EPERM), or fusermount3 only. */
    enum Via { AUTO, FUSERMOUNT }

    static LinuxFuseChannel open(String mountpoint, String fsName, boolean readOnly, boolean allowOther,
            Consumer<Object> onClose) throws ErrnoException {
        return open(mountpoint, fsName, readOnly, allowOther, onClose, Via.AUTO);
    }

    static LinuxFuseChannel open(String mountpoint, String fsName, boolean readOnly, boolean allowOther,
            Consumer<Object> onClose, Via via) throws ErrnoException {
        if (mountpoint.isEmpty() || mountpoint.indexOf('\0') >= 0 || fsName.indexOf('\0') >= 0
                || fsName.indexOf(',') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "FUSE mount: malformed mountpoint or name '"
                    + (mountpoint + " " + fsName).replace("\0", "\\0") + "'");
        }
        Path dir = Path.of(mountpoint).toAbsolutePath();
        if (!Files.exists(dir)) {
            throw new ErrnoException(Errno.ENOENT, "FUSE mount on " + mountpoint);
        }
        if (!Files.isDirectory(dir)) {
            throw new ErrnoException(Errno.ENOTDIR, "FUSE mount on " + mountpoint);
        }
        String target = dir.toString();
        if (via == Via.FUSERMOUNT) {
            return new LinuxFuseChannel(target, fusermount(target, fsName, readOnly, allowOther), onClose);
        }
        int fd = Sys.open(DEV_FUSE, Sys.O_RDWR | Sys.O_CLOEXEC, 0);
        try {
            String data = "fd=" + fd + ",rootmode=40000,user_id=" + Sys.getuid() + ",group_id=" + Sys.getgid()
                    + ",default_permissions" + (allowOther ? ",allow_other" : "");
            long flags = Sys.MS_NOSUID | Sys.MS_NODEV | (readOnly ? Sys.MS_RDONLY : 0);
            try {
                try {
                    Sys.mount(fsName.isEmpty() ? "jrump" : fsName, target, "fuse.jrump", flags, data);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.ENODEV && e.errno() != Errno.EINVAL) {
                        throw e;
                    }
                    // An old kernel without subtypes: plain "fuse".
                    Sys.mount(fsName.isEmpty() ? "jrump" : fsName, target, "fuse", flags, data);
                }
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EPERM) {
                    throw e;
                }
                Sys.close(fd, DEV_FUSE);
                fd = -1;
                int passed;
                try {
                    passed = fusermount(target, fsName, readOnly, allowOther);
                } catch (ErrnoException f) {
                    throw new ErrnoException(Errno.EPERM, e.getMessage() + " (uid " + Sys.geteuid()
                            + ", not root), and fusermount3 failed: " + f.getMessage());
                }
                return new LinuxFuseChannel(target, passed, onClose);
            }
        } catch (ErrnoException | RuntimeException e) {
            if (fd >= 0) {
                Sys.close(fd, DEV_FUSE);
            }
            throw e;
        }
        return new LinuxFuseChannel(target, fd, onClose);
    }

    /**
     * Mounts through the setuid helper, as libfuse does: {@code fusermount3 -o OPTS -- MOUNTPOINT}
     * with {@code _FUSE_COMMFD} naming one end of a unix socket pair, over which it passes back
     * the {@code /dev/fuse} descriptor it mounted. Returns that descriptor.
     */
    static int fusermount(String target, String fsName, boolean readOnly, boolean allowOther) throws ErrnoException {
        int[] sv = Sys.unixSocketPair("fusermount3");
        try {
            int childFd = sv[1] == 3 ? 4 : 3;
            String opts = (readOnly ? "ro" : "rw") + ",nosuid,nodev,default_permissions,fsname="
                    + (fsName.isEmpty() ? "jrump" : fsName) + ",subtype=jrump" + (allowOther ? ",allow_other" : "");
            java.util.List<String> env = new java.util.ArrayList<>();
            System.getenv().forEach((k, v) -> {
                if (!k.equals("_FUSE_COMMFD")) {
                    env.add(k + "=" + v);
                }
            });
            env.add("_FUSE_COMMFD=" + childFd);
            int status;
            try {
                status = Sys.spawnAndWait(new String[] {"fusermount3", "-o", opts, "--", target},
                        env.toArray(String[]::new), sv[1], childFd);
            } catch (ErrnoException e) {
                throw new ErrnoException(e.errno(), e.getMessage() + " (is fusermount3 installed?)");
            }
            if (status != 0) {
                throw new ErrnoException(Errno.EPERM, "fusermount3 -o " + opts + " -- " + target + ": exit " + status);
            }
            Sys.close(sv[1], "fusermount3 socket");
            sv[1] = -1;
            int fd = Sys.receiveDescriptor(sv[0], "fusermount3");
            if (fd < 0) {
                throw new ErrnoException(Errno.EIO, "fusermount3 passed no /dev/fuse descriptor for " + target);
            }
            return fd;
        } finally {
            Sys.close(sv[0], "fusermount3 socket");
            if (sv[1] >= 0) {
                Sys.close(sv[1], "fusermount3 socket");
            }
        }
    }

    @Override
    public String mountpoint() {
        return mountpoint;
    }

    private ByteBuffer bounce(int size) {
        ByteBuffer b = bounce.get();
        if (b == null || b.capacity() < size) {
            b = ByteBuffer.allocateDirect(Math.max(size, FUSE_MIN_READ_BUFFER));
            bounce.set(b);
        }
        return b.clear().limit(size);
    }

    @Override
    public int read(ByteBuffer into) throws ErrnoException {
        ByteBuffer dst = into.isDirect() ? into : bounce(into.remaining());
        while (true) {
            int n;
            try {
                n = Sys.read(fd, dst, "/dev/fuse for " + mountpoint);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENOENT) {
                    continue; // the request was interrupted before we read it
                }
                throw e;
            }
            if (n < 0) {
                continue; // EAGAIN: not on a blocking descriptor, but harmless
            }
            if (n == 0) {
                throw new ErrnoException(Errno.ENODEV, "read /dev/fuse for " + mountpoint + ": end of file");
            }
            if (dst != into) {
                into.put(dst.limit(n));
            } else {
                into.position(into.position() + n);
            }
            return n;
        }
    }

    @Override
    public void write(ByteBuffer reply) throws ErrnoException {
        int len = reply.remaining();
        ByteBuffer src = reply;
        if (!reply.isDirect()) {
            src = bounce(len);
            src.put(reply.duplicate()).flip();
        }
        int n = Sys.write(fd, src, "/dev/fuse for " + mountpoint);
        if (n != len) {
            throw new ErrnoException(Errno.EIO, "write /dev/fuse for " + mountpoint + ": " + n + " of " + len + " bytes");
        }
        reply.position(reply.limit());
        if (!tuned.get() && tuned.compareAndSet(false, true)) {
            raiseReadAhead();
        }
    }

    /** After INIT: the mount's read-ahead window up to {@link #READ_AHEAD_KB}, if we may (root). */
    private void raiseReadAhead() {
        String dev = mountDevice(mountpoint);
        if (dev == null) {
            return;
        }
        Path knob = Path.of("/sys/class/bdi", dev, "read_ahead_kb");
        try {
            if (Integer.parseInt(Files.readString(knob).strip()) < READ_AHEAD_KB) {
                Files.writeString(knob, Integer.toString(READ_AHEAD_KB));
            }
        } catch (java.io.IOException | NumberFormatException | SecurityException e) {
            org.slf4j.LoggerFactory.getLogger(LinuxFuseChannel.class)
                    .debug("{}: read-ahead stays at the kernel's default: {}", mountpoint, e.toString());
        }
    }

    /** The "major:minor" of the filesystem mounted at {@code target}, from /proc/self/mountinfo (no FUSE request). */
    static String mountDevice(String target) {
        String want = target.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012");
        String found = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[4].equals(want)) {
                    found = f[2]; // the last one mounted there is the one on top
                }
            }
        } catch (java.io.IOException e) {
            return null;
        }
        return found;
    }

    @Override
    public void unmount() throws ErrnoException {
        synchronized (this) {
            if (!mounted) {
                return;
            }
            mounted = false;
        }
        try {
            Sys.umount2(mountpoint, Sys.MNT_DETACH);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EPERM) {
                fusermountUnmount();
            } else if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                throw e; // EINVAL: not a mount point any more (unmounted by someone else)
            }
        }
    }

    /** Without root: {@code fusermount3 -u -z MOUNTPOINT}. */
    private void fusermountUnmount() throws ErrnoException {
        try {
            Process p = new ProcessBuilder("fusermount3", "-u", "-z", mountpoint).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0) {
                throw new ErrnoException(Errno.EPERM, "fusermount3 -u -z " + mountpoint + ": " + out);
            }
        } catch (java.io.IOException e) {
            throw new ErrnoException(Errno.EPERM, "umount " + mountpoint + ": not root, and no fusermount3: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "fusermount3 -u " + mountpoint);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            unmount();
        } catch (ErrnoException e) {
            org.slf4j.LoggerFactory.getLogger(LinuxFuseChannel.class).warn("{}", e.getMessage());
        }
        Sys.close(fd, "/dev/fuse for " + mountpoint);
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "LinuxFuseChannel[" + mountpoint + ", fd " + fd + "]";
    }
}
