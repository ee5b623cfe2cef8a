package io.jrump.kernel.sys;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The system calls of one booted kernel, as NetBSD's {@code rump_sys_*}: files, mounts and sockets
 * on one {@link DescriptorTable}, one set of {@link Credentials}, and one errno convention (every
 * failure an {@link ErrnoException} with Linux's errno). {@code kernel.sys()} returns it.
 *
 * <p>The calls are the components': the filesystem component provides {@link FileCalls} and
 * {@link MountCalls}, the network component {@link SocketCalls}, when the kernel starts them. A call
 * whose component is not on the class path fails with {@code ENOSYS} naming it. {@code read},
 * {@code write} and {@code close} take any descriptor and go to the subsystem that made it.
 *
 * <p>Thread-safe; calls block as the system calls they are named after do.
 */
public final class Syscalls {
    private final DescriptorTable descriptors;
    private volatile FileCalls files;
    private volatile MountCalls mounts;
    private volatile SocketCalls sockets;
    private volatile Credentials credentials = Credentials.ROOT;

    public Syscalls(DescriptorTable descriptors) {
        this.descriptors = descriptors;
    }

    /** The descriptor table every subsystem allocates in. */
    public DescriptorTable descriptors() {
        return descriptors;
    }

    /** Called by the filesystem component as it starts. */
    public synchronized void provide(FileCalls f, MountCalls m) {
        if (files != null) {
            throw new IllegalStateException("file system calls are provided already");
        }
        f.setCredentials(credentials);
        files = f;
        mounts = m;
    }

    /** Called by the network component as it starts. */
    public synchronized void provide(SocketCalls s) {
        if (sockets != null) {
            throw new IllegalStateException("socket calls are provided already");
        }
        sockets = s;
    }

    /** Called by a component as it stops: its calls fail with {@code ENOSYS} from then on. */
    public synchronized void withdraw(Object provider) {
        if (files == provider || mounts == provider) {
            files = null;
            mounts = null;
        }
        if (sockets == provider) {
            sockets = null;
        }
    }

    public Credentials credentials() {
        return credentials;
    }

    /** The caller's credentials for every later call (root at boot). */
    public synchronized void setCredentials(Credentials c) {
        credentials = c;
        if (files != null) {
            files.setCredentials(c);
        }
    }

    // ---- any descriptor ----

    /** {@code read(2)} on a file or a socket. */
    public int read(int fd, ByteBuffer dst) throws ErrnoException {
        return descriptors.owner(fd).read(fd, dst);
    }

    /** {@code write(2)} on a file or a socket. */
    public int write(int fd, ByteBuffer src) throws ErrnoException {
        return descriptors.owner(fd).write(fd, src);
    }

    /** {@code close(2)} of a file or a socket. */
    public void close(int fd) throws ErrnoException {
        descriptors.owner(fd).close(fd);
    }

    // ---- files ----

    /** {@code umask(2)}: sets the mask, returns the old one. */
    public int umask(int mask) throws ErrnoException {
        return files().umask(mask);
    }

    /** {@code open(2)}. */
    public int open(String path, int flags, int mode) throws ErrnoException {
        return files().open(path, flags, mode);
    }

    /** {@code pread(2)}. */
    public int pread(int fd, ByteBuffer dst, long offset) throws ErrnoException {
        return files().pread(fd, dst, offset);
    }

    /** {@code pwrite(2)}. */
    public int pwrite(int fd, ByteBuffer src, long offset) throws ErrnoException {
        return files().pwrite(fd, src, offset);
    }

    /** {@code lseek(2)}. */
    public long lseek(int fd, long offset, int whence) throws ErrnoException {
        return files().lseek(fd, offset, whence);
    }

    /** {@code stat(2)}. */
    public Attributes stat(String path) throws ErrnoException {
        return files().stat(path);
    }

    /** {@code lstat(2)}. */
    public Attributes lstat(String path) throws ErrnoException {
        return files().lstat(path);
    }

    /** {@code fstat(2)}. */
    public Attributes fstat(int fd) throws ErrnoException {
        return files().fstat(fd);
    }

    /** {@code truncate(2)}. */
    public void truncate(String path, long length) throws ErrnoException {
        files().truncate(path, length);
    }

    /** {@code ftruncate(2)}. */
    public void ftruncate(int fd, long length) throws ErrnoException {
        files().ftruncate(fd, length);
    }

    /** {@code fsync(2)}. */
    public void fsync(int fd) throws ErrnoException {
        files().fsync(fd);
    }

    /** {@code sync(2)}. */
    public void sync() throws ErrnoException {
        files().sync();
    }

    /** {@code mkdir(2)}. */
    public void mkdir(String path, int mode) throws ErrnoException {
        files().mkdir(path, mode);
    }

    /** {@code mknod(2)}. */
    public void mknod(String path, int mode, long rdev) throws ErrnoException {
        files().mknod(path, mode, rdev);
    }

    /** {@code rmdir(2)}. */
    public void rmdir(String path) throws ErrnoException {
        files().rmdir(path);
    }

    /** {@code unlink(2)}. */
    public void unlink(String path) throws ErrnoException {
        files().unlink(path);
    }

    /** {@code rename(2)}. */
    public void rename(String from, String to) throws ErrnoException {
        files().rename(from, to);
    }

    /** {@code link(2)}. */
    public void link(String existing, String newPath) throws ErrnoException {
        files().link(existing, newPath);
    }

    /** {@code symlink(2)}. */
    public void symlink(String target, String linkPath) throws ErrnoException {
        files().symlink(target, linkPath);
    }

    /** {@code readlink(2)}. */
    public String readlink(String path) throws ErrnoException {
        return files().readlink(path);
    }

    /** {@code getdents(2)}. */
    public List<DirEntry> getdents(int fd, int max) throws ErrnoException {
        return files().getdents(fd, max);
    }

    /** {@code readdir(2)}. */
    public List<DirEntry> readdir(String path) throws ErrnoException {
        return files().readdir(path);
    }

    /** {@code getxattr(2)}, or {@code lgetxattr(2)} when not {@code follow}: the whole value. */
    public byte[] getxattr(String path, String name, boolean follow) throws ErrnoException {
        return files().getxattr(path, name, follow);
    }

    /** {@code listxattr(2)} / {@code llistxattr(2)}. */
    public List<String> listxattr(String path, boolean follow) throws ErrnoException {
        return files().listxattr(path, follow);
    }

    /** {@code setxattr(2)} / {@code lsetxattr(2)}: flags XATTR_CREATE 1, XATTR_REPLACE 2. */
    public void setxattr(String path, String name, byte[] value, int flags, boolean follow) throws ErrnoException {
        files().setxattr(path, name, value, flags, follow);
    }

    /** {@code removexattr(2)} / {@code lremovexattr(2)}. */
    public void removexattr(String path, String name, boolean follow) throws ErrnoException {
        files().removexattr(path, name, follow);
    }

    /** {@code chmod(2)}. */
    public void chmod(String path, int mode) throws ErrnoException {
        files().chmod(path, mode);
    }

    /** {@code fchmod(2)}. */
    public void fchmod(int fd, int mode) throws ErrnoException {
        files().fchmod(fd, mode);
    }

    /** {@code chown(2)}. */
    public void chown(String path, long uid, long gid) throws ErrnoException {
        files().chown(path, uid, gid);
    }

    /** {@code lchown(2)}. */
    public void lchown(String path, long uid, long gid) throws ErrnoException {
        files().lchown(path, uid, gid);
    }

    /** {@code utimensat(2)}. */
    public void utimensat(String path, long atimeNanos, long mtimeNanos, boolean nofollow) throws ErrnoException {
        files().utimensat(path, atimeNanos, mtimeNanos, nofollow);
    }

    /** {@code statvfs(2)}. */
    public StatVfs statvfs(String path) throws ErrnoException {
        return files().statvfs(path);
    }

    /** {@code access(2)}. */
    public void access(String path, int mode) throws ErrnoException {
        files().access(path, mode);
    }

    /** {@code chdir(2)}. */
    public void chdir(String path) throws ErrnoException {
        files().chdir(path);
    }
    // ---- mounts ----

    /** {@code mount(2)}. */
    public void mount(String source, String target, String type, int flags) throws ErrnoException {
        mounts().mount(source, target, type, flags);
    }

    /** {@code mount(2)} with its {@code data} argument: the filesystem's options, as {@code mount -o} takes them. */
    public void mount(String source, String target, String type, int flags, String data) throws ErrnoException {
        mounts().mount(source, target, type, flags, data);
    }

    /** {@code umount(2)}. */
    public void unmount(String target) throws ErrnoException {
        mounts().unmount(target);
    }

    /** The mounts, root first, one line each ({@code "/ ext4 rw"}), as {@code /proc/mounts} lists them. */
    public List<String> mountPoints() throws ErrnoException {
        return mounts().mountPoints();
    }
    // ---- sockets ----

    /** {@code socket(2)}. */
    public int socket(int domain, int type, int protocol) throws ErrnoException {
        return sockets().socket(domain, type, protocol);
    }

    /** {@code bind(2)}. */
    public void bind(int fd, InetSocketAddress local) throws ErrnoException {
        sockets().bind(fd, local);
    }

    /** {@code connect(2)}. */
    public void connect(int fd, InetSocketAddress peer) throws ErrnoException {
        sockets().connect(fd, peer);
    }

    /** {@code listen(2)}. */
    public void listen(int fd, int backlog) throws ErrnoException {
        sockets().listen(fd, backlog);
    }

    /** {@code accept(2)}. */
    public int accept(int fd) throws ErrnoException {
        return sockets().accept(fd);
    }

    /** {@code sendto(2)}. */
    public int sendto(int fd, ByteBuffer src, InetSocketAddress to, int flags) throws ErrnoException {
        return sockets().sendto(fd, src, to, flags);
    }

    /** {@code send(2)}. */
    public int send(int fd, ByteBuffer src, int flags) throws ErrnoException {
        return sockets().send(fd, src, flags);
    }

    /** {@code recvfrom(2)}. */
    public SocketCalls.Received recvfrom(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        return sockets().recvfrom(fd, dst, flags);
    }

    /** {@code recv(2)}. */
    public SocketCalls.Received recv(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        return sockets().recv(fd, dst, flags);
    }

    /** {@code shutdown(2)}. */
    public void shutdown(int fd, int how) throws ErrnoException {
        sockets().shutdown(fd, how);
    }

    /** {@code getsockname(2)}. */
    public InetSocketAddress getsockname(int fd) throws ErrnoException {
        return sockets().getsockname(fd);
    }

    /** {@code getpeername(2)}. */
    public InetSocketAddress getpeername(int fd) throws ErrnoException {
        return sockets().getpeername(fd);
    }

    /** {@code setsockopt(2)}. */
    public void setsockopt(int fd, int level, int option, int value) throws ErrnoException {
        sockets().setsockopt(fd, level, option, value);
    }

    /** {@code setsockopt(2)} of an option whose value is a string ({@code TCP_CONGESTION}). */
    public void setsockopt(int fd, int level, int option, String value) throws ErrnoException {
        sockets().setsockopt(fd, level, option, value);
    }

    /** {@code getsockopt(2)}. */
    public int getsockopt(int fd, int level, int option) throws ErrnoException {
        return sockets().getsockopt(fd, level, option);
    }

    /** {@code getsockopt(2)} of an option whose value is a string ({@code TCP_CONGESTION}). */
    public String getsockoptString(int fd, int level, int option) throws ErrnoException {
        return sockets().getsockoptString(fd, level, option);
    }

    /** {@code poll(2)} of one socket: which of {@code events} are ready now; never blocks. */
    public int poll(int fd, int events) throws ErrnoException {
        return sockets().poll(fd, events);
    }

    /** {@code fcntl(fd, F_SETFL, O_NONBLOCK)} on a socket, or off. */
    public void setNonBlocking(int fd, boolean on) throws ErrnoException {
        sockets().setNonBlocking(fd, on);
    }

    private FileCalls files() throws ErrnoException {
        FileCalls f = files;
        if (f == null) {
            throw new ErrnoException(Errno.ENOSYS, "no filesystem component in this kernel (put rump-fs on the class path)");
        }
        return f;
    }

    private MountCalls mounts() throws ErrnoException {
        MountCalls m = mounts;
        if (m == null) {
            throw new ErrnoException(Errno.ENOSYS, "no filesystem component in this kernel (put rump-fs on the class path)");
        }
        return m;
    }

    private SocketCalls sockets() throws ErrnoException {
        SocketCalls s = sockets;
        if (s == null) {
            throw new ErrnoException(Errno.ENOSYS, "no network component in this kernel (put rump-net on the class path)");
        }
        return s;
    }
}
