package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ea_inode: xattr values too big for the inode and its block kept in inodes of their own —
 * written by us and checked by {@code e2fsck -fn} and {@code debugfs ea_get}, their inodes freed
 * with their last reference; values the kernel wrote read by us, and ours read by the kernel.
 */
class EaInodeTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-ea-inode");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtTools.mountReadWrite(host, img);
    }

    private byte[] eaGet(Path img, String file, String name) throws Exception {
        Path out = dir.resolve("ea-" + System.nanoTime());
        run("debugfs", "-R", "ea_get -f " + out + " " + file + " " + name, img.toString());
        return Files.readAllBytes(out);
    }

    private static long freeInodes(Path img) throws Exception {
        Matcher m = Pattern.compile("(?m)^Free inodes:\\s+(\\d+)").matcher(run("dumpe2fs", "-h", img.toString()));
        assertTrue(m.find());
        return Long.parseLong(m.group(1));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"4096", "1024 -O ^metadata_csum", "1024 -I 128", "2048 -O ^extent,^64bit"})
    void largeValuesGoIntoInodesOfTheirOwnAndAreFreedWithTheirLastReference(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("ea.img");
        String[] extra = new String[p.length + 1];
        extra[0] = "-O";
        extra[1] = "ea_inode";
        System.arraycopy(p, 1, extra, 2, p.length - 1);
        mke2fs(img, "ext4", Integer.parseInt(p[0]), "16M", extra);
        long freeAtStart = freeInodes(img);
        byte[] ten = random(10 * 1024, 1);
        byte[] sixty = random(60 * 1024, 2);
        byte[] max = random(65536, 3);
        try (ExtVfs fs = mount(img)) {
            long f = fs.create(fs.rootInode(), "f", Attributes.S_IFREG | 0644, 0, 0, 0);
            fs.setxattr(f, "user.small", "abc".getBytes(), 0);
            fs.setxattr(f, "user.ten", ten, 0);
            fs.setxattr(f, "user.sixty", sixty, 0);
            fs.setxattr(f, "trusted.max", max, 0);
            ErrnoException tooBig = assertThrows(ErrnoException.class, () -> fs.setxattr(f, "user.x", new byte[65537], 0));
            assertEquals(Errno.E2BIG, tooBig.errno());
            assertArrayEquals(ten, fs.getxattr(f, "user.ten"));
            assertArrayEquals(sixty, fs.getxattr(f, "user.sixty"));
            assertEquals(List.of("user.small", "user.ten", "user.sixty", "trusted.max"),
                    fs.listxattr(f).stream().sorted((a, b) -> order(a) - order(b)).toList());
            long g = fs.create(fs.rootInode(), "g", Attributes.S_IFREG | 0644, 0, 0, 0);
            fs.setxattr(g, "user.ten", ten, 0);
        }
        assertClean(img);
        ExtCheck.Result ours = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(ours.isClean(), "rump fs fsck agrees: " + ours.problems());
        assertEquals(freeAtStart - 2 - 4, freeInodes(img), "two files and four value inodes");
        assertArrayEquals(ten, eaGet(img, "f", "user.ten"));
        assertArrayEquals(sixty, eaGet(img, "f", "user.sixty"));
        assertArrayEquals(max, eaGet(img, "f", "trusted.max"));
        assertArrayEquals(ten, eaGet(img, "g", "user.ten"));

        // Read back after a remount; replaced by a small value, removed, and the file unlinked.
        try (ExtVfs fs = mount(img)) {
            long f = fs.lookup(fs.rootInode(), "f");
            assertArrayEquals(max, fs.getxattr(f, "trusted.max"));
            fs.setxattr(f, "user.ten", "now small".getBytes(), 0);
            fs.removexattr(f, "user.sixty");
            assertArrayEquals("now small".getBytes(), fs.getxattr(f, "user.ten"));
            fs.unlink(fs.rootInode(), "g", false);
        }
        assertClean(img);
        assertEquals(freeAtStart - 1 - 1, freeInodes(img), "f and the value inode of trusted.max are left");
        assertArrayEquals("now small".getBytes(), eaGet(img, "f", "user.ten"));
        try (ExtVfs fs = mount(img)) {
            fs.unlink(fs.rootInode(), "f", false);
        }
        assertClean(img);
        assertEquals(freeAtStart, freeInodes(img));
    }

    private static int order(String name) {
        return List.of("user.small", "user.ten", "user.sixty", "trusted.max").indexOf(name);
    }

    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
    void theKernelsValuesReadByUsAndOursByTheKernel() throws Exception {
        Path img = dir.resolve("k.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "ea_inode");
        byte[] ten = random(10 * 1024, 4);
        byte[] sixty = random(60 * 1024, 5);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        loop(img, mnt, "loop");
        try {
            Path f = Files.createFile(mnt.resolve("k"));
            UserDefinedFileAttributeView v = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
            v.write("ten", ByteBuffer.wrap(ten));
            v.write("sixty", ByteBuffer.wrap(sixty));
        } finally {
            umount(mnt);
        }
        try (ExtVfs fs = mount(img)) {
            long k = fs.lookup(fs.rootInode(), "k");
            assertArrayEquals(ten, fs.getxattr(k, "user.ten"));
            assertArrayEquals(sixty, fs.getxattr(k, "user.sixty"));
            fs.removexattr(k, "user.ten"); // the kernel's value inode freed by us
            long ours = fs.create(fs.rootInode(), "ours", Attributes.S_IFREG | 0644, 0, 0, 0);
            fs.setxattr(ours, "user.ten", ten, 0);
        }
        assertClean(img);
        ExtCheck.Result check = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(check.isClean(), "rump fs fsck agrees: " + check.problems());
        loop(img, mnt, "loop,ro");
        try {
            UserDefinedFileAttributeView v = Files.getFileAttributeView(mnt.resolve("ours"),
                    UserDefinedFileAttributeView.class);
            ByteBuffer got = ByteBuffer.allocate(v.size("ten"));
            v.read("ten", got);
            assertArrayEquals(ten, got.array());
            assertEquals(List.of("sixty"), Files.getFileAttributeView(mnt.resolve("k"),
                    UserDefinedFileAttributeView.class).list());
        } finally {
            umount(mnt);
        }
        // The kernel, read-write, drops our value inode's last reference and frees it.
        loop(img, mnt, "loop");
        try {
            Files.getFileAttributeView(mnt.resolve("ours"), UserDefinedFileAttributeView.class).delete("ten");
        } finally {
            umount(mnt);
        }
        assertClean(img);
    }

    static void loop(Path img, Path mnt, String options) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mount", "-o", options, img.toString(), mnt.toString()), "mount: " + out);
    }

    static void umount(Path mnt) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "umount", mnt.toString()), "umount: " + out);
    }
}
