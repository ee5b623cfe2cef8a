package io.jrump.host.linux.nat;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The libc functions the Linux host calls, bound by JNA direct mapping. Every call returns the raw
 * result; {@link Sys} checks it and reads {@code errno}. Only for 64-bit Linux: {@code size_t},
 * {@code ssize_t} and {@code off_t} are Java {@code long}s.
 */
final class LibC {
    static {
        Native.register(LibC.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {
    }

    static native int open(String path, int flags, int mode);

    static native int close(int fd);

    static native long read(int fd, Pointer buf, long count);

    static native long write(int fd, Pointer buf, long count);

    static native long writev(int fd, Pointer iov, int iovcnt);

    static native long pread(int fd, Pointer buf, long count, long offset);

    static native long pwrite(int fd, Pointer buf, long count, long offset);

    static native long lseek(int fd, long offset, int whence);

    static native int ftruncate(int fd, long length);

    static native int fdatasync(int fd);

    static native int fallocate(int fd, int mode, long offset, long length);

    static native int ioctl(int fd, long request, Pointer arg);

    /** {@code ioctl(2)} whose argument is a value, not a pointer ({@code TUNSETOFFLOAD}). */
    static native int ioctl(int fd, long request, long arg);

    static native int poll(Pointer fds, long nfds, int timeoutMillis);

    static native int socket(int domain, int type, int protocol);

    static native int mount(String source, String target, String fstype, long flags, String data);

    static native int umount2(String target, int flags);

    static native int getuid();

    static native int getgid();

    static native int geteuid();

    static native int socketpair(int domain, int type, int protocol, int[] sv);

    static native long recvmsg(int fd, Pointer msg, int flags);

    static native int posix_spawn_file_actions_init(Pointer actions);

    static native int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newfd);

    static native int posix_spawn_file_actions_destroy(Pointer actions);

    static native int posix_spawnp(int[] pid, String file, Pointer actions, Pointer attrp, Pointer argv, Pointer envp);

    static native int waitpid(int pid, int[] status, int options);

    /** Paths and names as NUL-terminated bytes, so that any file name reaches the kernel unchanged. */
    static native long llistxattr(byte[] path, Pointer list, long size);

    static native long lgetxattr(byte[] path, byte[] name, Pointer value, long size);

    static native int lsetxattr(byte[] path, byte[] name, Pointer value, long size, int flags);

    // Shared memory, event counters and descriptor passing, for the virtio host's vhost-user transport.

    static native int memfd_create(String name, int flags);

    static native Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset);

    static native int munmap(Pointer addr, long length);

    static native int eventfd(int initval, int flags);

    static native int connect(int fd, Pointer addr, int addrlen);

    static native long sendmsg(int fd, Pointer msg, int flags);
}
