package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.kernel.sys.Attributes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * quota and project: our writes keep the quota files' usage per user, group and project as
 * e2fsck counts it ({@code e2fsck -fn} clean, {@code debugfs list_quota} showing it) — new ids
 * added to the tree (new data blocks, the free entry list, new tree blocks), files grown, shrunk,
 * chowned and removed, project ids inherited from a directory that passes them on.
 */
class QuotaTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-quota");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtTools.mountReadWrite(host, img);
    }

    /** {space, inodes} that {@code debugfs list_quota TYPE} shows for an id, or null if it lists none. */
    private static long[] listed(Path img, String type, long id) throws Exception {
        Matcher m = Pattern.compile("(?m)^\\s*" + id + "\\s+(\\d+)\\s+\\d+\\s+\\d+\\s+(\\d+)")
                .matcher(run("debugfs", "-R", "list_quota " + type, img.toString()));
        return m.find() ? new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))} : null;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 quota", "4096 quota", "1024 quota,project", "4096 quota,^metadata_csum"})
    void usagePerUserAndGroupFollowsOurWrites(String spec) throws Exception {
        String[] p = spec.split(" ");
        int bs = Integer.parseInt(p[0]);
        Path img = dir.resolve("q.img");
        mke2fs(img, "ext4", bs, "32M", "-O", p[1]);
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly());
            long d = fs.create(fs.rootInode(), "d", Attributes.S_IFDIR | 0755, 1000, 1000, 0);
            // 40 owners: three data blocks of entries and the free entry list; far ids: new tree blocks.
            for (int i = 0; i < 40; i++) {
                long uid = i < 30 ? 1001 + i : 0x12345678L + i * 0x01010101L;
                long f = fs.create(d, "f" + i, Attributes.S_IFREG | 0644, uid, 2000 + i % 3, 0);
                fs.write(f, 0, ByteBuffer.wrap(ExtWriteTest.random(1 + i * 3000, i)));
            }
            fs.write(fs.lookup(d, "f5"), 0, ByteBuffer.wrap(ExtWriteTest.random(200_000, 9)));
            fs.truncate(fs.lookup(d, "f6"), 0);
            fs.unlink(d, "f7", false);
            fs.setattr(fs.lookup(d, "f8"), -1, 4242, 4343, -1, -1); // chown moves its usage
            fs.sync();
            fs.unlink(d, "f9", false);
        }
        assertClean(img);
        long[] owner1000 = listed(img, "user", 1000);
        assertEquals(1, owner1000[1], "uid 1000 owns the directory d");
        assertEquals(bs, owner1000[0]);
        assertEquals(1, listed(img, "user", 4242)[1]);
        assertEquals(1, listed(img, "group", 4343)[1]);
        long[] gone = listed(img, "user", 1008);
        assertTrue(gone == null || gone[1] == 0, "f7 removed");
        assertTrue(listed(img, "user", 1006)[0] >= 200_000);
        assertEquals(1, listed(img, "user", 0x12345678L + 35 * 0x01010101L)[1]);

        // A second mount: entries already there are updated in place.
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "d");
            for (int i = 10; i < 20; i++) {
                fs.unlink(d, "f" + i, false);
            }
            fs.create(fs.rootInode(), "late", Attributes.S_IFREG | 0600, 1000, 1000, 0);
        }
        assertClean(img);
        assertEquals(2, listed(img, "user", 1000)[1]);
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            ExtCheck.Result ours = ExtCheck.check(ExtFs.open(disk));
            assertTrue(ours.isClean(), "rump fs fsck agrees: " + ours.problems());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024", "4096 -O ^metadata_csum"})
    void valueInodesAreChargedToTheirOwners(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("e.img");
        String[] extra = new String[p.length + 1];
        extra[0] = "-O";
        extra[1] = "quota,ea_inode";
        System.arraycopy(p, 1, extra, 2, p.length - 1);
        mke2fs(img, "ext4", Integer.parseInt(p[0]), "16M", extra);
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly());
            long f = fs.create(fs.rootInode(), "f", Attributes.S_IFREG | 0644, 77, 88, 0);
            long g = fs.create(fs.rootInode(), "g", Attributes.S_IFREG | 0644, 99, 88, 0);
            fs.setxattr(f, "user.a", ExtWriteTest.random(10_000, 1), 0);
            fs.setxattr(f, "user.b", ExtWriteTest.random(20_000, 2), 0);
            fs.setxattr(g, "user.a", ExtWriteTest.random(30_000, 3), 0);
            for (int i = 0; i < 12; i++) { // entries enough to need the xattr block, values in inodes there too
                fs.setxattr(g, "user.n" + i, ExtWriteTest.random(6000 + i, 10 + i), 0);
            }
            fs.sync();
            fs.setxattr(g, "user.n3", "small".getBytes(), 0); // the block rewritten in place: one value inode fewer
            fs.removexattr(f, "user.a");
            fs.setattr(f, -1, 66, -1, -1, -1); // chown carries the values' charge along
        }
        assertClean(img);
        assertEquals(2, listed(img, "user", 66)[1], "f and its one value inode left");
        assertEquals(1 + 12, listed(img, "user", 99)[1], "g and its twelve value inodes");
        try (ExtVfs fs = mount(img)) {
            fs.unlink(fs.rootInode(), "g", false);
        }
        assertClean(img);
        long[] gone = listed(img, "user", 99);
        assertTrue(gone == null || gone[1] == 0 && gone[0] == 0, "g and its values gone");
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            ExtCheck.Result ours = ExtCheck.check(ExtFs.open(disk));
            assertTrue(ours.isClean(), "rump fs fsck agrees: " + ours.problems());
        }
    }

    @Test
    void newFilesTakeTheProjectOfADirectoryThatPassesItOn() throws Exception {
        Path img = dir.resolve("p.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "quota,project");
        run("debugfs", "-w", "-R", "mkdir p", img.toString());
        run("debugfs", "-w", "-R", "set_inode_field p projid 42", img.toString());
        run("debugfs", "-w", "-R", "set_inode_field p flags 0x20080000", img.toString()); // extents, PROJINHERIT
        StringBuilder out = new StringBuilder();
        assertTrue(exec(out, "e2fsck", "-fy", img.toString()) <= 1, out.toString()); // the quota files catch up
        try (ExtVfs fs = mount(img)) {
            long p = fs.lookup(fs.rootInode(), "p");
            long f = fs.create(p, "f", Attributes.S_IFREG | 0644, 5, 5, 0);
            fs.write(f, 0, ByteBuffer.wrap(ExtWriteTest.random(10_000, 1)));
            fs.create(p, "sub", Attributes.S_IFDIR | 0755, 5, 5, 0);
        }
        assertClean(img);
        long[] project = listed(img, "project", 42);
        assertEquals(3, project[1], "p, f and sub");
        String stat = run("debugfs", "-R", "stat p/sub", img.toString());
        assertTrue(Pattern.compile("Project:\\s+42\\s").matcher(stat).find(), stat);
    }
}
