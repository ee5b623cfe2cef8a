package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LinuxXattrs} against the kernel, on files in a temporary directory (which must be on a
 * filesystem with extended attributes, as ext4, xfs, btrfs and tmpfs are), checked against the
 * JDK's view of {@code user.*} and {@code getfattr} from the {@code attr} package.
 */
class LinuxXattrsTest {
    @TempDir
    Path dir;

    @Test
    void nativeCallsAreAvailableHere() {
        assertTrue(LinuxXattrs.isAvailable());
    }

    @Test
    void userAttributesRoundTripAndAgreeWithTheJdk() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "x");
        byte[] big = new byte[3000];
        new Random(18).nextBytes(big);
        LinuxXattrs.set(f, "user.big", big, 0);
        LinuxXattrs.set(f, "user.empty", new byte[0], 0);
        assertTrue(LinuxXattrs.list(f).containsAll(java.util.List.of("user.big", "user.empty")), LinuxXattrs.list(f).toString());
        assertArrayEquals(big, LinuxXattrs.get(f, "user.big"));
        assertArrayEquals(new byte[0], LinuxXattrs.get(f, "user.empty"));

        UserDefinedFileAttributeView jdk = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        ByteBuffer b = ByteBuffer.allocate(jdk.size("big"));
        jdk.read("big", b);
        assertArrayEquals(big, b.array());
        jdk.write("fromjdk", StandardCharsets.UTF_8.encode("hello"));
        assertEquals("hello", new String(LinuxXattrs.get(f, "user.fromjdk"), StandardCharsets.UTF_8));

        LinuxXattrs.set(f, "user.big", new byte[] {7}, LinuxXattrs.XATTR_REPLACE);
        assertArrayEquals(new byte[] {7}, LinuxXattrs.get(f, "user.big"));
        assertEquals(Errno.EEXIST, assertThrows(ErrnoException.class,
                () -> LinuxXattrs.set(f, "user.big", new byte[] {1}, LinuxXattrs.XATTR_CREATE)).errno());
    }

    @Test
    void errorsCarryTheKernelsErrnoAndNameTheFile() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "x");
        ErrnoException missing = assertThrows(ErrnoException.class, () -> LinuxXattrs.get(f, "user.none"));
        assertEquals(Errno.ENODATA, missing.errno());
        assertTrue(missing.getMessage().contains(f + " user.none"), missing.getMessage());
        assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> LinuxXattrs.list(dir.resolve("gone"))).errno());
        assertEquals(Errno.EOPNOTSUPP, assertThrows(ErrnoException.class,
                () -> LinuxXattrs.set(f, "nonamespace", new byte[1], 0)).errno());
        assertEquals(Errno.E2BIG, assertThrows(ErrnoException.class,
                () -> LinuxXattrs.set(f, "user.huge", new byte[LinuxXattrs.MAX_SIZE + 1], 0)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> LinuxXattrs.set(f, "user.a\0b", new byte[1], 0)).errno());
    }

    /** Linux keeps user.* off symlinks (their permissions mean nothing): EPERM, as setfattr -h shows. */
    @Test
    void userAttributesOnASymlinkAreRefusedWithEperm() throws Exception {
        Path target = Files.writeString(dir.resolve("target"), "x");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        ErrnoException e = assertThrows(ErrnoException.class, () -> LinuxXattrs.set(link, "user.x", new byte[] {1}, 0));
        assertEquals(Errno.EPERM, e.errno(), e.getMessage());
        assertFalse(LinuxXattrs.list(target).contains("user.x"), "the link was followed");
    }

    /** trusted.* needs CAP_SYS_ADMIN; as root it round-trips, on a symlink's own inode too, and getfattr sees it. */
    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "trusted.* needs CAP_SYS_ADMIN; ./run-tests, as root, runs it")
    void trustedAttributesRoundTripAsRoot() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "x");
        byte[] value = {0, 1, 2, (byte) 0xff, 'z'};
        LinuxXattrs.set(f, "trusted.jrump", value, 0);
        assertTrue(LinuxXattrs.list(f).contains("trusted.jrump"), LinuxXattrs.list(f).toString());
        assertArrayEquals(value, LinuxXattrs.get(f, "trusted.jrump"));
        String dump = Commands.run("getfattr", "-e", "hex", "-n", "trusted.jrump", f.toString());
        assertTrue(dump.contains("trusted.jrump=0x000102ff7a"), dump);

        Path link = Files.createSymbolicLink(dir.resolve("link"), f);
        LinuxXattrs.set(link, "trusted.own", new byte[] {'l'}, 0);
        assertArrayEquals(new byte[] {'l'}, LinuxXattrs.get(link, "trusted.own"));
        assertFalse(LinuxXattrs.list(f).contains("trusted.own"), "the link was followed");
        assertTrue(Commands.run("getfattr", "-h", "-d", "-m", "trusted.", link.toString()).contains("trusted.own=\"l\""));

        Commands.run("setfattr", "-n", "security.jrump", "-v", "0x0a0b", f.toString());
        assertArrayEquals(new byte[] {10, 11}, LinuxXattrs.get(f, "security.jrump"));
    }
}
