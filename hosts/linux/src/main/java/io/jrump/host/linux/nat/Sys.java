package io.jrump.host.linux.nat;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux system calls the host needs, as plain Java methods: file descriptors are {@code int}s,
 * buffers are direct {@link ByteBuffer}s (transferring from their position), and every failure is
 * an {@link ErrnoException} carrying the call's {@code errno} and a message that names the call and
 * the path or device, e.g. {@code "open /dev/net/tun: No such file or directory (ENOENT)"}.
 *
 * <p>{@code EINTR} is retried here. Thread-safe: it holds no state. Usable only where
 * {@link #unavailableReason()} is empty (64-bit Linux with JNA's native library); elsewhere the
 * first call throws {@link UnsatisfiedLinkError} or {@link ExceptionInInitializerError}.
 */
public final class Sys {
    private static final Logger LOG = LoggerFactory.getLogger(Sys.class);

    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;
    /** 040000 in the asm-generic and x86 tables, 0200000 on arm64. */
    public static final int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0200000 : 040000;

    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;

    public static final short IFF_TAP = 0x0002;
    public static final short IFF_NO_PI = 0x1000;
    /** Every frame read or written starts with a {@code struct virtio_net_hdr}. */
    public static final short IFF_VNET_HDR = 0x4000;
    /** {@code TUNSETOFFLOAD}: we take frames with partial checksums ({@code NEEDS_CSUM}). */
    public static final int TUN_F_CSUM = 0x01;
    /** {@code TUNSETOFFLOAD}: we take TCP/IPv4 GSO frames (needs {@link #TUN_F_CSUM}). */
    public static final int TUN_F_TSO4 = 0x02;
    /** {@code TUNSETOFFLOAD}: we take TCP/IPv6 GSO frames (needs {@link #TUN_F_CSUM}). */
    public static final int TUN_F_TSO6 = 0x04;
    /** Interface names are at most 15 bytes and a NUL. */
    public static final int IFNAMSIZ = 16;

    public static final short POLLIN = 0x1;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;

    private static final int SEEK_END = 2;
    private static final long TUNSETIFF = 0x400454caL; // _IOW('T', 202, int)
    private static final long TUNGETFEATURES = 0x800454cfL; // _IOR('T', 207, unsigned int)
    private static final long TUNSETOFFLOAD = 0x400454d0L; // _IOW('T', 208, unsigned int)
    private static final long TUNSETVNETHDRSZ = 0x400454d8L; // _IOW('T', 216, int)
    private static final long SIOCGIFMTU = 0x8921;
    private static final long SIOCGIFHWADDR = 0x8927;
    private static final long BLKSSZGET = 0x1268; // _IO(0x12, 104)
    private static final long BLKGETSIZE64 = 0x80081272L; // _IOR(0x12, 114, size_t)
    private static final int IFREQ_SIZE = 40; // 16-byte name, 24-byte union
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;

    private Sys() {
    }

    /** Why these calls cannot work here, or empty if they can. Never throws. */
    public static Optional<String> unavailableReason() {
        if (!Platform.isLinux()) {
            return Optional.of("not Linux: " + System.getProperty("os.name"));
        }
        if (!Platform.is64Bit()) {
            return Optional.of("not a 64-bit JVM");
        }
        try {
            LibC.lseek(-1, 0, SEEK_END); // loads and links libc; fails harmlessly with EBADF
            return Optional.empty();
        } catch (LinkageError e) {
            return Optional.of("JNA cannot bind libc: " + e);
        }
    }

    /** Whether {@link #unavailableReason()} is empty. */
    public static boolean isAvailable() {
        return unavailableReason().isEmpty();
    }

    /** The errno of the last failed call on this thread, as an exception naming {@code what}. */
    static ErrnoException lastError(String what) {
        int n = Native.getLastError();
        Errno e;
        if (Errno.isKnown(n)) {
            e = Errno.ofNumber(n);
        } else {
            LOG.warn("{}: errno {} has no Errno; reporting EIO", what, n);
            e = Errno.EIO;
        }
        return new ErrnoException(e, what);
    }

    private static boolean interrupted() {
        return Native.getLastError() == Errno.EINTR.number();
    }

    /** {@code open(2)}; {@code mode} matters only with {@link #O_CREAT}. */
    public static int open(String path, int flags, int mode) throws ErrnoException {
        if (path.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "open: NUL in path");
        }
        while (true) {
            int fd = LibC.open(path, flags | O_CLOEXEC, mode);
            if (fd >= 0) {
                return fd;
            }
            if (!interrupted()) {
                throw lastError("open " + path);
            }
        }
    }

    /** {@code close(2)}; a failure is logged, as nothing useful can follow it. */
    public static void close(int fd, String what) {
        if (LibC.close(fd) < 0) {
            LOG.warn("{}", lastError("close " + what).getMessage());
        }
    }

    private static Pointer at(ByteBuffer buf) {
        if (!buf.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        return Native.getDirectBufferPointer(buf).share(buf.position());
    }

    /**
     * {@code read(2)} into {@code buf}'s remaining space; returns the count (0 at end of file), or
     * -1 if the descriptor is non-blocking and has nothing ({@code EAGAIN}). Moves no position.
     */
    public static int read(int fd, ByteBuffer buf, String what) throws ErrnoException {
        while (true) {
            long n = LibC.read(fd, at(buf), buf.remaining());
            if (n >= 0) {
                return (int) n;
            }
            int errno = Native.getLastError();
            if (errno == Errno.EAGAIN.number()) {
                return -1;
            }
            if (errno != Errno.EINTR.number()) {
                throw lastError("read " + what);
            }
        }
    }

    /** {@code write(2)} of {@code buf}'s remaining bytes; returns the count written. Moves no position. */
    public static int write(int fd, ByteBuffer buf, String what) throws ErrnoException {
        while (true) {
            long n = LibC.write(fd, at(buf), buf.remaining());
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("write " + what);
            }
        }
    }

    /** Two {@code struct iovec}s per thread, for {@link #writev}: no allocation per call. */
    private static final ThreadLocal<com.sun.jna.Memory> IOVECS = ThreadLocal.withInitial(() -> new com.sun.jna.Memory(32));

    /**
     * {@code writev(2)} of {@code head}'s then {@code body}'s remaining bytes (both direct), as one
     * write: a header and a frame go out together without being copied into one buffer. Returns
     * the count written. Moves no position.
     */
    public static int writev(int fd, ByteBuffer head, ByteBuffer body, String what) throws ErrnoException {
        com.sun.jna.Memory iov = IOVECS.get();
        iov.setPointer(0, at(head));
        iov.setLong(8, head.remaining());
        iov.setPointer(16, at(body));
        iov.setLong(24, body.remaining());
        while (true) {
            long n = LibC.writev(fd, iov, 2);
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("writev " + what);
            }
        }
    }

    /** {@code pread(2)} into {@code buf}'s remaining space at {@code offset}; 0 at end of file. */
    public static int pread(int fd, ByteBuffer buf, long offset, String what) throws ErrnoException {
        while (true) {
            long n = LibC.pread(fd, at(buf), buf.remaining(), offset);
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("pread " + what + " at 0x" + Long.toHexString(offset));
            }
        }
    }

    /** {@code pwrite(2)} of {@code buf}'s remaining bytes at {@code offset}; returns the count. */
    public static int pwrite(int fd, ByteBuffer buf, long offset, String what) throws ErrnoException {
        while (true) {
            long n = LibC.pwrite(fd, at(buf), buf.remaining(), offset);
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("pwrite " + what + " at 0x" + Long.toHexString(offset));
            }
        }
    }

    /** The file's size: {@code lseek(fd, 0, SEEK_END)}. */
    public static long seekEnd(int fd, String what) throws ErrnoException {
        long n = LibC.lseek(fd, 0, SEEK_END);
        if (n < 0) {
            throw lastError("lseek " + what);
        }
        return n;
    }

    public static void ftruncate(int fd, long length, String what) throws ErrnoException {
        while (LibC.ftruncate(fd, length) < 0) {
            if (!interrupted()) {
                throw lastError("ftruncate " + what + " to " + length);
            }
        }
    }

    public static void fdatasync(int fd, String what) throws ErrnoException {
        while (LibC.fdatasync(fd) < 0) {
            if (!interrupted()) {
                throw lastError("fdatasync " + what);
            }
        }
    }

    public static void fallocate(int fd, int mode, long offset, long length, String what) throws ErrnoException {
        while (LibC.fallocate(fd, mode, offset, length) < 0) {
            if (!interrupted()) {
                throw lastError("fallocate " + what + " mode " + mode + " at 0x" + Long.toHexString(offset)
                        + " length " + length);
            }
        }
    }

    /** The logical sector size of a block device: {@code BLKSSZGET}. */
    public static int blockSectorSize(int fd, String what) throws ErrnoException {
        try (Memory m = new Memory(8)) {
            m.clear();
            if (LibC.ioctl(fd, BLKSSZGET, m) < 0) {
                throw lastError("ioctl BLKSSZGET " + what);
            }
            return m.getInt(0);
        }
    }

    /** The size in bytes of a block device: {@code BLKGETSIZE64}. */
    public static long blockDeviceSize(int fd, String what) throws ErrnoException {
        try (Memory m = new Memory(8)) {
            m.clear();
            if (LibC.ioctl(fd, BLKGETSIZE64, m) < 0) {
                throw lastError("ioctl BLKGETSIZE64 " + what);
            }
            return m.getLong(0);
        }
    }

    private static Memory ifreq(String ifname) throws ErrnoException {
        byte[] n = ifname.getBytes(StandardCharsets.US_ASCII);
        if (n.length >= IFNAMSIZ || ifname.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "interface name '" + ifname + "' longer than "
                    + (IFNAMSIZ - 1) + " bytes or with a NUL");
        }
        Memory m = new Memory(IFREQ_SIZE);
        m.clear();
        m.write(0, n, 0, n.length);
        return m;
    }

    private static String ifname(Memory ifr) {
        return ifr.getString(0, StandardCharsets.US_ASCII.name());
    }

    /**
     * {@code TUNSETIFF} on an open {@code /dev/net/tun}: attaches it to the interface {@code ifname}
     * (created if there is none; the kernel picks a name if {@code ifname} is empty) with
     * {@code flags}. Returns the interface's name.
     */
    public static String tunSetIff(int fd, String ifname, short flags) throws ErrnoException {
        try (Memory ifr = ifreq(ifname)) {
            ifr.setShort(IFNAMSIZ, flags);
            if (LibC.ioctl(fd, TUNSETIFF, ifr) < 0) {
                throw lastError("ioctl TUNSETIFF " + (ifname.isEmpty() ? "(new)" : ifname));
            }
            return ifname(ifr);
        }
    }

    /** {@code TUNGETFEATURES}: the {@code IFF_*} flags this kernel's TUN driver supports. */
    public static int tunFeatures(int fd) throws ErrnoException {
        try (Memory m = new Memory(4)) {
            m.clear();
            if (LibC.ioctl(fd, TUNGETFEATURES, m) < 0) {
                throw lastError("ioctl TUNGETFEATURES");
            }
            return m.getInt(0);
        }
    }

    /** {@code TUNSETVNETHDRSZ}: the length of the virtio-net header before each frame (10 or 12). */
    public static void tunSetVnetHeaderSize(int fd, int size, String what) throws ErrnoException {
        try (Memory m = new Memory(4)) {
            m.setInt(0, size);
            if (LibC.ioctl(fd, TUNSETVNETHDRSZ, m) < 0) {
                throw lastError("ioctl TUNSETVNETHDRSZ " + size + " " + what);
            }
        }
    }

    /** {@code TUNSETOFFLOAD}: which {@code TUN_F_*} frames the kernel may hand us. */
    public static void tunSetOffload(int fd, int flags, String what) throws ErrnoException {
        if (LibC.ioctl(fd, TUNSETOFFLOAD, (long) flags) < 0) {
            throw lastError("ioctl TUNSETOFFLOAD 0x" + Integer.toHexString(flags) + " " + what);
        }
    }

    /** The MTU of a network interface in this process's namespace: {@code SIOCGIFMTU}. */
    public static int interfaceMtu(String ifname) throws ErrnoException {
        int s = socket("SIOCGIFMTU " + ifname);
        try (Memory ifr = ifreq(ifname)) {
            if (LibC.ioctl(s, SIOCGIFMTU, ifr) < 0) {
                throw lastError("ioctl SIOCGIFMTU " + ifname);
            }
            return ifr.getInt(IFNAMSIZ);
        } finally {
            close(s, "socket for " + ifname);
        }
    }

    /** The hardware address of a network interface: {@code SIOCGIFHWADDR}; six bytes. */
    public static byte[] interfaceHardwareAddress(String ifname) throws ErrnoException {
        int s = socket("SIOCGIFHWADDR " + ifname);
        try (Memory ifr = ifreq(ifname)) {
            if (LibC.ioctl(s, SIOCGIFHWADDR, ifr) < 0) {
                throw lastError("ioctl SIOCGIFHWADDR " + ifname);
            }
            return ifr.getByteArray(IFNAMSIZ + 2, 6); // after sockaddr.sa_family
        } finally {
            close(s, "socket for " + ifname);
        }
    }

    private static int socket(String what) throws ErrnoException {
        int s = LibC.socket(AF_INET, SOCK_DGRAM | O_CLOEXEC, 0);
        if (s < 0) {
            throw lastError("socket for " + what);
        }
        return s;
    }

    /**
     * {@code poll(2)} on one descriptor: the {@code revents}, or 0 on timeout or {@code EINTR}.
     */
    public static int poll(int fd, short events, int timeoutMillis, String what) throws ErrnoException {
        try (Memory p = new Memory(8)) {
            p.setInt(0, fd);
            p.setShort(4, events);
            p.setShort(6, (short) 0);
            int n = LibC.poll(p, 1, timeoutMillis);
            if (n < 0) {
                if (interrupted()) {
                    return 0;
                }
                throw lastError("poll " + what);
            }
            return n == 0 ? 0 : Short.toUnsignedInt(p.getShort(6));
        }
    }

    /**
     * {@code poll(2)} for input on several descriptors: a bit per descriptor that is readable,
     * hung up or in error (bit {@code i} for {@code fds[i]}, at most 64); 0 on timeout or
     * {@code EINTR}. A negative timeout waits for ever.
     */
    public static long pollReadable(int[] fds, int timeoutMillis, String what) throws ErrnoException {
        if (fds.length > 64) {
            throw new IllegalArgumentException(fds.length + " descriptors to poll");
        }
        try (Memory p = new Memory(8L * fds.length)) {
            for (int i = 0; i < fds.length; i++) {
                p.setInt(8L * i, fds[i]);
                p.setShort(8L * i + 4, POLLIN);
                p.setShort(8L * i + 6, (short) 0);
            }
            int n = LibC.poll(p, fds.length, timeoutMillis);
            if (n < 0) {
                if (interrupted()) {
                    return 0;
                }
                throw lastError("poll " + what);
            }
            long ready = 0;
            for (int i = 0; i < fds.length && n > 0; i++) {
                if (p.getShort(8L * i + 6) != 0) {
                    ready |= 1L << i;
                }
            }
            return ready;
        }
    }

    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final int MNT_DETACH = 2;

    /** {@code mount(2)}; {@code data} may be null. */
    public static void mount(String source, String target, String fstype, long flags, String data)
            throws ErrnoException {
        while (LibC.mount(source, target, fstype, flags, data) < 0) {
            if (!interrupted()) {
                throw lastError("mount " + fstype + " " + source + " on " + target);
            }
        }
    }

    /** {@code umount2(2)}. */
    public static void umount2(String target, int flags) throws ErrnoException {
        while (LibC.umount2(target, flags) < 0) {
            if (!interrupted()) {
                throw lastError("umount " + target);
            }
        }
    }

    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;

    /** {@code socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC)}: two connected descriptors. */
    public static int[] unixSocketPair(String what) throws ErrnoException {
        int[] sv = new int[2];
        if (LibC.socketpair(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, sv) < 0) {
            throw lastError("socketpair for " + what);
        }
        return sv;
    }

    /**
     * Receives one descriptor passed with {@code SCM_RIGHTS} on the unix socket {@code fd} (and the
     * byte that carries it); -1 if the peer closed without sending one.
     */
    public static int receiveDescriptor(int fd, String what) throws ErrnoException {
        try (Memory msg = new Memory(56); Memory iov = new Memory(16); Memory data = new Memory(8);
                Memory control = new Memory(64)) {
            msg.clear();
            control.clear();
            iov.setPointer(0, data);
            iov.setLong(8, 1);
            msg.setPointer(16, iov);
            msg.setLong(24, 1);
            msg.setPointer(32, control);
            msg.setLong(40, 24); // CMSG_SPACE(sizeof(int))
            long n;
            while ((n = LibC.recvmsg(fd, msg, 0x40000000)) < 0) { // MSG_CMSG_CLOEXEC
                if (!interrupted()) {
                    throw lastError("recvmsg for " + what);
                }
            }
            if (n == 0 || msg.getLong(40) < 20) {
                return -1;
            }
            if (control.getInt(8) != SOL_SOCKET || control.getInt(12) != SCM_RIGHTS) {
                return -1;
            }
            return control.getInt(16);
        }
    }

    /** A {@code MAP_SHARED} mapping: its bytes as a direct buffer and where it starts in this process. */
    public record Mapping(ByteBuffer buffer, long address, long length) {
    }

    private static final int MFD_CLOEXEC = 1;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final int EFD_CLOEXEC = O_CLOEXEC;
    private static final int MSG_NOSIGNAL = 0x4000;

    /**
     * {@code memfd_create(2)} of {@code size} bytes ({@code ftruncate}d; pages are allocated when
     * first touched): memory another process can map once it has the descriptor.
     */
    public static int memfd(String name, long size) throws ErrnoException {
        int fd = LibC.memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) {
            throw lastError("memfd_create " + name);
        }
        try {
            ftruncate(fd, size, "memfd " + name);
        } catch (ErrnoException e) {
            close(fd, "memfd " + name);
            throw e;
        }
        return fd;
    }

    /** {@code mmap(2)} of {@code length} bytes of {@code fd} from {@code offset}, shared, read-write. */
    public static Mapping mapShared(int fd, long offset, int length, String what) throws ErrnoException {
        Pointer p = LibC.mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
        long address = Pointer.nativeValue(p);
        if (address == -1L) {
            throw lastError("mmap " + what);
        }
        return new Mapping(p.getByteBuffer(0, length), address, length);
    }

    /** {@code munmap(2)}: the mapping's buffer must not be touched again. */
    public static void unmap(Mapping m, String what) {
        if (LibC.munmap(new Pointer(m.address()), m.length()) < 0) {
            LOG.warn("{}", lastError("munmap " + what).getMessage());
        }
    }

    /** {@code eventfd(2)}, blocking, counter at 0. */
    public static int eventfd(String what) throws ErrnoException {
        int fd = LibC.eventfd(0, EFD_CLOEXEC);
        if (fd < 0) {
            throw lastError("eventfd for " + what);
        }
        return fd;
    }

    private static final ThreadLocal<Memory> EVENT_COUNT = ThreadLocal.withInitial(() -> new Memory(8));

    /** Adds 1 to the eventfd {@code fd}'s counter, waking its reader. */
    public static void eventfdSignal(int fd, String what) throws ErrnoException {
        Memory one = EVENT_COUNT.get();
        one.setLong(0, 1);
        while (LibC.write(fd, one, 8) < 0) {
            if (!interrupted()) {
                throw lastError("eventfd write " + what);
            }
        }
    }

    /** Waits for the eventfd {@code fd}'s counter to be non-zero, then takes and returns it. */
    public static long eventfdWait(int fd, String what) throws ErrnoException {
        Memory count = EVENT_COUNT.get();
        while (LibC.read(fd, count, 8) < 0) {
            if (!interrupted()) {
                throw lastError("eventfd read " + what);
            }
        }
        return count.getLong(0);
    }

    /** A stream socket connected to the unix socket at {@code path}. */
    public static int unixConnect(String path) throws ErrnoException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108 || path.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.ENAMETOOLONG, "connect " + path + ": a unix socket path is at most 107 bytes");
        }
        int fd = LibC.socket(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0);
        if (fd < 0) {
            throw lastError("socket for " + path);
        }
        try (Memory addr = new Memory(110)) {
            addr.clear();
            addr.setShort(0, (short) AF_UNIX);
            addr.write(2, p, 0, p.length);
            while (LibC.connect(fd, addr, 2 + p.length + 1) < 0) {
                if (!interrupted()) {
                    throw lastError("connect " + path);
                }
            }
            return fd;
        } catch (ErrnoException e) {
            close(fd, path);
            throw e;
        }
    }

    /**
     * {@code sendmsg(2)} of {@code data}'s remaining bytes (direct) on the unix socket {@code fd},
     * with {@code fds} passed as {@code SCM_RIGHTS} when there are any; all of it, or an error
     * ({@code EPIPE} if the peer is gone: no {@code SIGPIPE}).
     */
    public static void sendWithDescriptors(int fd, ByteBuffer data, int[] fds, String what) throws ErrnoException {
        int controlLength = fds.length == 0 ? 0 : 16 + ((4 * fds.length + 7) & ~7);
        try (Memory msg = new Memory(56); Memory iov = new Memory(16);
                Memory control = new Memory(Math.max(8, controlLength))) {
            msg.clear();
            control.clear();
            int sent = 0;
            int total = data.remaining();
            while (sent < total) {
                iov.setPointer(0, at(data).share(sent));
                iov.setLong(8, total - sent);
                msg.setPointer(16, iov);
                msg.setLong(24, 1);
                if (sent == 0 && controlLength > 0) {
                    control.setLong(0, 16 + 4L * fds.length); // CMSG_LEN
                    control.setInt(8, SOL_SOCKET);
                    control.setInt(12, SCM_RIGHTS);
                    for (int i = 0; i < fds.length; i++) {
                        control.setInt(16 + 4L * i, fds[i]);
                    }
                    msg.setPointer(32, control);
                    msg.setLong(40, controlLength);
                } else {
                    msg.setPointer(32, null);
                    msg.setLong(40, 0);
                }
                long n = LibC.sendmsg(fd, msg, MSG_NOSIGNAL);
                if (n < 0) {
                    if (!interrupted()) {
                        throw lastError("sendmsg " + what);
                    }
                    continue;
                }
                sent += (int) n;
            }
        }
    }

    /** Reads until {@code buf} has no space left; {@code ECONNRESET} if the peer closes first. Moves no position. */
    public static void readFully(int fd, ByteBuffer buf, String what) throws ErrnoException {
        ByteBuffer rest = buf.duplicate();
        while (rest.hasRemaining()) {
            int n = read(fd, rest, what);
            if (n == 0) {
                throw new ErrnoException(Errno.ECONNRESET, what + ": the peer closed the connection");
            }
            if (n < 0) {
                throw new ErrnoException(Errno.EAGAIN, what + ": non-blocking descriptor has nothing");
            }
            rest.position(rest.position() + n);
        }
    }

    /**
     * Runs {@code argv} (looked up on PATH) with the environment {@code env} ("NAME=value"), the
     * descriptor {@code passFd} made the child's {@code childFd}, stdin/stdout/stderr inherited;
     * waits for it and returns its exit status (128 + signal if killed).
     */
    public static int spawnAndWait(String[] argv, String[] env, int passFd, int childFd) throws ErrnoException {
        try (Memory actions = new Memory(256)) {
            actions.clear();
            int r = LibC.posix_spawn_file_actions_init(actions);
            if (r != 0) {
                throw new ErrnoException(Errno.isKnown(r) ? Errno.ofNumber(r) : Errno.EIO, "posix_spawn_file_actions_init");
            }
            try {
                r = LibC.posix_spawn_file_actions_adddup2(actions, passFd, childFd);
                if (r != 0) {
                    throw new ErrnoException(Errno.isKnown(r) ? Errno.ofNumber(r) : Errno.EIO, "posix_spawn dup2");
                }
                int[] pid = new int[1];
                com.sun.jna.StringArray a = new com.sun.jna.StringArray(argv);
                com.sun.jna.StringArray e = new com.sun.jna.StringArray(env);
                r = LibC.posix_spawnp(pid, argv[0], actions, null, a, e);
                if (r != 0) {
                    throw new ErrnoException(Errno.isKnown(r) ? Errno.ofNumber(r) : Errno.EIO, "spawn " + argv[0]);
                }
                int[] status = new int[1];
                while (LibC.waitpid(pid[0], status, 0) < 0) {
                    if (!interrupted()) {
                        throw lastError("waitpid " + argv[0]);
                    }
                }
                int st = status[0];
                return (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
            } finally {
                LibC.posix_spawn_file_actions_destroy(actions);
            }
        }
    }

    /**
     * {@code llistxattr(2)} of the file itself (a symlink's own names) into {@code buf}'s remaining
     * space (direct): the names, each NUL-terminated. Returns the byte count. Moves no position.
     */
    public static int llistxattr(byte[] path, ByteBuffer buf, String what) throws ErrnoException {
        while (true) {
            long n = LibC.llistxattr(path, at(buf), buf.remaining());
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("llistxattr " + what);
            }
        }
    }

    /** {@code lgetxattr(2)} of the file itself into {@code buf}'s remaining space; returns the value's length. */
    public static int lgetxattr(byte[] path, byte[] name, ByteBuffer buf, String what) throws ErrnoException {
        while (true) {
            long n = LibC.lgetxattr(path, name, at(buf), buf.remaining());
            if (n >= 0) {
                return (int) n;
            }
            if (!interrupted()) {
                throw lastError("lgetxattr " + what);
            }
        }
    }

    /** {@code lsetxattr(2)} of the file itself, the value {@code buf}'s remaining bytes; flags as the call's. */
    public static void lsetxattr(byte[] path, byte[] name, ByteBuffer buf, int flags, String what)
            throws ErrnoException {
        while (LibC.lsetxattr(path, name, at(buf), buf.remaining(), flags) < 0) {
            if (!interrupted()) {
                throw lastError("lsetxattr " + what);
            }
        }
    }

    public static int getuid() {
        return LibC.getuid();
    }

    public static int getgid() {
        return LibC.getgid();
    }

    public static int geteuid() {
        return LibC.geteuid();
    }

    /**
     * A direct buffer of {@code size} bytes whose first byte is aligned to {@code alignment} (a power
     * of two), as {@code O_DIRECT} needs. Zero-filled; freed by the garbage collector.
     */
    public static ByteBuffer alignedBuffer(int size, int alignment) {
        int rounded = (size + alignment - 1) & -alignment;
        return ByteBuffer.allocateDirect(rounded + alignment).alignedSlice(alignment).limit(size).slice();
    }
}
