package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FuseChannels;
import io.jrump.hypercall.HostFuseChannel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LinuxFuseChannel} against the kernel's FUSE driver: mounts, the first request is INIT,
 * unmounting makes reads fail with ENODEV, bad mountpoints fail as documented. Needs root and
 * {@code /dev/fuse}: other users skip it, and say so; fails without /dev/fuse.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount(2) of /dev/fuse); ./run-tests, as root, runs it")
class LinuxFuseChannelTest {
    private static final int FUSE_INIT = 26;

    @TempDir
    Path dir;

    private LinuxHost host;
    private FuseChannels fuse;

    @BeforeEach
    void host() {
        assertTrue(Files.exists(Path.of("/dev/fuse")), "/dev/fuse is missing");
        host = LinuxHost.create("fuse-test");
        fuse = host.fuse().orElseThrow();
        assertTrue(host.optional(FuseChannels.class).isPresent());
    }

    @AfterEach
    void close() throws Exception {
        host.close();
        Path mnt = dir.resolve("mnt");
        if (mounted(mnt)) {
            new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor();
        }
    }

    private static boolean mounted(Path p) throws Exception {
        return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + p.toAbsolutePath() + " ");
    }

    @Test
    void mountReadInitUnmountEndsWithEnodev() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        HostFuseChannel ch = fuse.open(mnt.toString(), "test-src", false, false);
        try {
            assertTrue(mounted(mnt));
            String line = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(" " + mnt + " ")).findFirst().orElseThrow();
            assertTrue(line.contains("fuse.jrump") && line.contains("test-src"), line);
            assertTrue(line.contains("nosuid") && line.contains("nodev"), line);

            ByteBuffer buf = ByteBuffer.allocate(132 * 1024).order(ByteOrder.LITTLE_ENDIAN);
            int n = ch.read(buf);
            assertTrue(n >= 40, "request of " + n + " bytes");
            assertEquals(n, buf.position());
            assertEquals(n, buf.getInt(0), "in_header.len");
            assertEquals(FUSE_INIT, buf.getInt(4), "the first request is INIT");

            ch.unmount();
            assertFalse(mounted(mnt));
            ErrnoException e = assertThrows(ErrnoException.class, () -> ch.read(buf.clear()));
            assertEquals(Errno.ENODEV, e.errno());
            ch.unmount(); // idempotent
        } finally {
            ch.close();
        }
        ch.close();
    }

    /** The INIT reply sizes the kernel's read-ahead window (128 KiB at most); the channel then raises it. */
    @Test
    void afterTheInitReplyTheReadAheadWindowIsOneMiB() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        try (HostFuseChannel ch = fuse.open(mnt.toString(), "ra-src", false, false)) {
            String dev = LinuxFuseChannel.mountDevice(mnt.toAbsolutePath().toString());
            assertTrue(dev != null && dev.matches("\\d+:\\d+"), "device " + dev);
            ByteBuffer buf = ByteBuffer.allocateDirect(132 * 1024).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(buf);
            assertEquals(FUSE_INIT, buf.getInt(4));
            ByteBuffer reply = ByteBuffer.allocateDirect(16 + 64).order(ByteOrder.LITTLE_ENDIAN);
            reply.putInt(16 + 64).putInt(0).putLong(buf.getLong(8)); // fuse_out_header
            reply.putInt(7).putInt(31).putInt(128 * 1024).putInt(0); // major, minor, max_readahead, flags
            reply.putShort((short) 16).putShort((short) 12).putInt(128 * 1024).putInt(1); // ..., max_write, time_gran
            ch.write(reply.position(0));
            assertEquals("1024", Files.readString(Path.of("/sys/class/bdi", dev, "read_ahead_kb")).strip());
        }
    }

    /** The non-root path, forced: fusermount3 mounts and passes the descriptor back. */
    @Test
    void mountThroughFusermount3() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        HostFuseChannel ch = LinuxFuseChannel.open(mnt.toString(), "fm-src", false, false, d -> { },
                LinuxFuseChannel.Via.FUSERMOUNT);
        try {
            String line = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(" " + mnt + " ")).findFirst().orElseThrow();
            assertTrue(line.contains("fuse.jrump") && line.contains("fm-src"), line);
            ByteBuffer buf = ByteBuffer.allocateDirect(132 * 1024).order(ByteOrder.LITTLE_ENDIAN);
            int n = ch.read(buf);
            assertEquals(FUSE_INIT, buf.getInt(4), "the first request is INIT");
            assertEquals(n, buf.getInt(0));
            ch.unmount();
            assertFalse(mounted(mnt));
            ErrnoException e = assertThrows(ErrnoException.class, () -> ch.read(buf.clear()));
            assertEquals(Errno.ENODEV, e.errno());
        } finally {
            ch.close();
        }
    }

    @Test
    void readOnlyMountIsReadOnly() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        try (HostFuseChannel ch = fuse.open(mnt.toString(), "ro-src", true, true)) {
            String line = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(" " + mnt + " ")).findFirst().orElseThrow();
            assertTrue(line.contains(" ro,") || line.contains(" ro "), line);
            assertTrue(line.contains("allow_other"), line);
        }
        assertFalse(mounted(mnt), "close unmounts");
    }

    @Test
    void badMountpoints() throws Exception {
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> fuse.open(dir.resolve("missing").toString(), "x", false, false));
        assertEquals(Errno.ENOENT, e.errno());
        Path file = Files.writeString(dir.resolve("file"), "x");
        e = assertThrows(ErrnoException.class, () -> fuse.open(file.toString(), "x", false, false));
        assertEquals(Errno.ENOTDIR, e.errno());
        e = assertThrows(ErrnoException.class, () -> fuse.open(dir.toString(), "a,b", false, false));
        assertEquals(Errno.EINVAL, e.errno());
    }

    @Test
    void closedHostRefuses() {
        host.close();
        ErrnoException e = assertThrows(ErrnoException.class, () -> fuse.open(dir.toString(), "x", false, false));
        assertEquals(Errno.ESHUTDOWN, e.errno());
    }
}
