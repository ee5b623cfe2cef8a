package io.jrump.cli;

import static io.jrump.kernel.sys.OpenFlags.O_CREAT;
import static io.jrump.kernel.sys.OpenFlags.O_RDONLY;
import static io.jrump.kernel.sys.OpenFlags.O_RDWR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fs.VfsComponent;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.Syscalls;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel booted with whatever components are on the class path (blk, vfs, net here, found
 * through ServiceLoader) and used through its one system-call facade: files, mounts and sockets
 * share one descriptor table; read, write and close take either; a call whose component is absent
 * is ENOSYS. e2fsck and debugfs check the image afterwards.
 */
class KernelSyscallsTest {
    @TempDir
    Path dir;

    private static String tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    private static String text(ByteBuffer b) {
        b.flip();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    @Test
    void filesMountsAndSocketsShareOneDescriptorTable() throws Exception {
        Path img = dir.resolve("disk.img");
        tool("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "16M");
        InetSocketAddress echo = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 9);
        try (RumpKernel k = RumpKernel.boot(JvmHost.create("sys"))) {
            assertEquals(List.of("blk", "net", "vfs"), k.components().stream().map(Component::name).sorted().toList());
            Syscalls sys = k.sys();
            sys.mount(img.toString(), "/", "auto", 0);
            assertEquals(List.of("/ ext4 rw"), sys.mountPoints());
            int file = sys.open("/hello", O_CREAT | O_RDWR, 0644);
            int in = sys.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            int out = sys.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            assertEquals(List.of(0, 1, 2), List.of(file, in, out), "one numbering, lowest free first");
            assertEquals(5, sys.write(file, ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8))));
            sys.bind(in, echo);
            sys.sendto(out, ByteBuffer.wrap("ping".getBytes(StandardCharsets.UTF_8)), echo, 0);
            ByteBuffer got = ByteBuffer.allocate(16);
            assertEquals(4, sys.read(in, got), "read(2) on a socket");
            assertEquals("ping", text(got));
            assertEquals(Errno.ENOTSOCK, assertThrows(ErrnoException.class, () -> sys.bind(file, echo)).errno());
            assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> sys.fstat(in)).errno());
            sys.close(file);
            assertEquals(0, sys.open("/hello", O_RDONLY, 0), "the freed number is reused");
            ByteBuffer back = ByteBuffer.allocate(16);
            assertEquals(5, sys.read(0, back));
            assertEquals("hello", text(back));
            sys.close(in);
            assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> sys.read(in, ByteBuffer.allocate(1))).errno());
            assertEquals(2, sys.descriptors().size());
        } // shutdown closes the file and the socket left open, and unmounts
        tool("e2fsck", "-fn", img.toString());
        assertEquals("hello", tool("debugfs", "-R", "cat /hello", img.toString()).lines()
                .filter(l -> !l.startsWith("debugfs")).findFirst().orElse(""));
    }

    @Test
    void aCallWhoseComponentIsMissingIsEnosys() throws Exception {
        try (RumpKernel k = RumpKernel.boot(JvmHost.create("net-only"),
                BootOptions.defaults().withComponentInstances(List.of(new NetStack())))) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> k.sys().open("/x", O_RDONLY, 0));
            assertEquals(Errno.ENOSYS, e.errno());
            assertTrue(e.getMessage().contains("no filesystem component"), e.getMessage());
            assertTrue(k.sys().socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0) >= 0);
        }
    }

    @Test
    void mountTakesAPartitionAndReadOnlyAndRefusesUnknownFlags() throws Exception {
        Path img = dir.resolve("ro.img");
        tool("mke2fs", "-q", "-F", "-t", "ext3", img.toString(), "8M");
        try (RumpKernel k = RumpKernel.boot(JvmHost.create("ro"))) {
            Syscalls sys = k.sys();
            assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                    () -> sys.mount(img.toString(), "/", "auto", 0x40)).errno());
            assertEquals(Errno.ENODEV, assertThrows(ErrnoException.class,
                    () -> sys.mount(img.toString(), "/", "nosuchfs", 0)).errno());
            assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                    () -> sys.mount(img.toString(), "/", "vfat", 0)).errno(), "ext3 is the wrong fs type for vfat");
            sys.mount(img.toString(), "/", "ext3", VfsComponent.MS_RDONLY);
            assertEquals(List.of("/ ext3 ro"), sys.mountPoints());
            assertEquals(Errno.EROFS, assertThrows(ErrnoException.class, () -> sys.mkdir("/d", 0755)).errno());
            ErrnoException noTable = assertThrows(ErrnoException.class, () -> sys.mount(img + ":1", "/lost+found", "auto", 0));
            assertEquals(Errno.ENODATA, noTable.errno(), "no partition table, no partition 1");
            assertTrue(noTable.getMessage().startsWith(img + ": no partition table"), noTable.getMessage());
        }
    }

    /** A busy mount point is refused before the device is opened: a journal needing recovery is left as it was. */
    @Test
    void aBusyMountPointIsRefusedBeforeTheDeviceIsTouched() throws Exception {
        Path first = dir.resolve("first.img");
        Path second = dir.resolve("second.img");
        tool("mke2fs", "-q", "-F", "-t", "ext4", first.toString(), "8M");
        tool("mke2fs", "-q", "-F", "-t", "ext4", second.toString(), "8M");
        Path block = dir.resolve("block");
        java.nio.file.Files.write(block, new byte[4096]);
        Path cmds = dir.resolve("cmds");
        java.nio.file.Files.writeString(cmds, "jo\njw -b 100 " + block + "\njc\n");
        tool("debugfs", "-w", "-f", cmds.toString(), second.toString());
        byte[] before = java.nio.file.Files.readAllBytes(second);
        try (RumpKernel k = RumpKernel.boot(JvmHost.create("busy"))) {
            Syscalls sys = k.sys();
            sys.mount(first.toString(), "/", "auto", 0);
            ErrnoException busy = assertThrows(ErrnoException.class, () -> sys.mount(second.toString(), "/", "auto", 0));
            assertEquals(Errno.EBUSY, busy.errno(), busy.getMessage());
            sys.unmount("/");
        }
        assertTrue(java.util.Arrays.equals(before, java.nio.file.Files.readAllBytes(second)),
                "the refused mount neither replayed the journal nor marked the filesystem in use");
    }
}
