package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.Credentials;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extended attributes written: set, replaced and removed in the inode and in xattr blocks, then
 * checked by e2fsprogs — {@code e2fsck -fn} clean, {@code debugfs ea_list / ea_get} showing
 * exactly what was set — and blocks shared by two inodes copied on write and freed at the last
 * reference.
 */
class XattrWriteTest {
    static final long NOW = 1_790_000_000_123_456_789L;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-xattr");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        return ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> NOW));
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A value as {@code debugfs ea_get -f} writes it out. */
    private byte[] eaGet(Path img, String file, String name) throws Exception {
        Path out = dir.resolve("ea-" + System.nanoTime());
        run("debugfs", "-R", "ea_get -f " + out + " " + file + " " + name, img.toString());
        return Files.readAllBytes(out);
    }

    /** The names {@code debugfs ea_list} prints, in its order. */
    private static List<String> eaNames(Path img, String file) throws Exception {
        String out = run("debugfs", "-R", "ea_list " + file, img.toString());
        Matcher m = Pattern.compile("(?m)^  (\\S+) \\(\\d+\\)").matcher(out);
        List<String> names = new java.util.ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static long fileAcl(Path img, String file) throws Exception {
        Matcher m = Pattern.compile("File ACL: (\\d+)").matcher(run("debugfs", "-R", "stat " + file, img.toString()));
        assertTrue(m.find());
        return Long.parseLong(m.group(1));
    }

    private static long freeBlocks(Path img) throws Exception {
        Matcher m = Pattern.compile("(?m)^Free blocks:\\s+(\\d+)").matcher(run("dumpe2fs", "-h", img.toString()));
        assertTrue(m.find());
        return Long.parseLong(m.group(1));
    }

    private static long file(ExtVfs fs, String name) throws ErrnoException {
        return fs.create(fs.rootInode(), name, Attributes.S_IFREG | 0644, 1000, 1000, 0);
    }

    @Test
    void smallValuesInTheInodeLargeOnesInABlock() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M", "-I", "256");
        byte[] big = bytes(2000, 7);
        try (ExtVfs fs = mount(img)) {
            long f = file(fs, "f");
            fs.setxattr(f, "user.small", utf8("hello"), 0);
            fs.setxattr(f, "trusted.t", utf8("12"), 0);
            fs.setxattr(f, "security.selinux", utf8("system_u:object_r:etc_t:s0\0"), 0);
            fs.setxattr(f, "user.big", big, 0);
            fs.setxattr(f, "user.empty", new byte[0], 0);
            assertArrayEquals(big, fs.getxattr(f, "user.big"));
            // 92 bytes after i_extra_isize: the 28-byte label no longer fits there, the block takes it
            assertEquals(List.of("user.small", "trusted.t", "user.empty", "user.big", "security.selinux"), fs.listxattr(f));
        }
        assertClean(img);
        assertEquals(List.of("user.small", "trusted.t", "user.empty", "user.big", "security.selinux"), eaNames(img, "f"));
        assertArrayEquals(utf8("hello"), eaGet(img, "f", "user.small"));
        assertArrayEquals(big, eaGet(img, "f", "user.big"));
        assertArrayEquals(utf8("system_u:object_r:etc_t:s0\0"), eaGet(img, "f", "security.selinux"));
        assertNotEquals(0, fileAcl(img, "f"), "the 2000-byte value needs the xattr block");

        long freeBefore = freeBlocks(img);
        try (ExtVfs fs = mount(img)) {
            long f = fs.lookup(fs.rootInode(), "f");
            fs.setxattr(f, "user.small", utf8("replaced"), FileSystemOps.XATTR_REPLACE);
            fs.removexattr(f, "user.big");
            fs.removexattr(f, "security.selinux");
            assertArrayEquals(utf8("replaced"), fs.getxattr(f, "user.small"));
        }
        assertClean(img);
        assertEquals(0, fileAcl(img, "f"), "the block's last attribute gone, the block goes");
        assertEquals(freeBefore + 1, freeBlocks(img));
        assertEquals(List.of("trusted.t", "user.empty", "user.small"), eaNames(img, "f"));
        assertArrayEquals(utf8("replaced"), eaGet(img, "f", "user.small"));
    }

    @Test
    void smallInodesKeepEverythingInTheBlockSortedAndHashed() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M", "-I", "128");
        try (ExtVfs fs = mount(img)) {
            long f = file(fs, "f");
            for (String n : List.of("user.zz", "user.a", "trusted.x", "user.bbb", "security.s")) {
                fs.setxattr(f, n, utf8("value of " + n), 0);
            }
            fs.removexattr(f, "user.a");
        }
        assertClean(img);
        assertEquals(List.of("user.zz", "user.bbb", "trusted.x", "security.s"), eaNames(img, "f"));
        assertArrayEquals(utf8("value of user.bbb"), eaGet(img, "f", "user.bbb"));
        long block = fileAcl(img, "f");
        assertNotEquals(0, block);
        String stat = run("debugfs", "-R", "stat f", img.toString());
        assertTrue(stat.contains("Blockcount: 2"), stat);
    }

    @Test
    void namesBeyondAsciiHashAsE2fsckExpects() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M", "-I", "128");
        try (ExtVfs fs = mount(img)) {
            long f = file(fs, "f");
            fs.setxattr(f, "user.\u00fcn\u00ef\u00e7\u00f8d\u00e9", utf8("\u00e9t\u00e9"), 0);
            fs.setxattr(f, "user.plain", bytes(333, 5), 0);
        }
        assertClean(img);
        assertArrayEquals(bytes(333, 5), eaGet(img, "f", "user.plain"));
    }

    @Test
    void anInlineDataFileKeepsItsDataBesideNewAttributes() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M", "-O", "inline_data");
        Path data = dir.resolve("data");
        Files.write(data, bytes(100, 4)); // 60 bytes in i_block, 40 in system.data
        run("debugfs", "-w", "-R", "write " + data + " f", img.toString());
        try (ExtVfs fs = mount(img)) {
            long f = fs.lookup(fs.rootInode(), "f");
            assertEquals(List.of(), fs.listxattr(f), "system.data is not listed");
            fs.setxattr(f, "user.a", utf8("1"), 0);
            fs.setxattr(f, "user.big", bytes(1000, 2), 0);
            assertEquals(List.of("user.a", "user.big"), fs.listxattr(f));
        }
        assertClean(img);
        assertArrayEquals(bytes(100, 4), ExtTools.debugfsCat(img, "f"));
        assertArrayEquals(bytes(1000, 2), eaGet(img, "f", "user.big"));
    }

    @Test
    void errorsAsLinux() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        try (ExtVfs fs = mount(img)) {
            long f = file(fs, "f");
            fs.setxattr(f, "user.a", utf8("1"), FileSystemOps.XATTR_CREATE);
            assertErrno(Errno.EEXIST, () -> fs.setxattr(f, "user.a", utf8("2"), FileSystemOps.XATTR_CREATE));
            assertErrno(Errno.ENODATA, () -> fs.setxattr(f, "user.b", utf8("2"), FileSystemOps.XATTR_REPLACE));
            assertErrno(Errno.ENODATA, () -> fs.getxattr(f, "user.b"));
            assertErrno(Errno.ENODATA, () -> fs.removexattr(f, "user.b"));
            assertErrno(Errno.EOPNOTSUPP, () -> fs.setxattr(f, "os2.x", utf8("2"), 0));
            assertErrno(Errno.EOPNOTSUPP, () -> fs.setxattr(f, "system.data", utf8("2"), 0));
            assertErrno(Errno.EINVAL, () -> fs.setxattr(f, "user.", utf8("2"), 0));
            assertErrno(Errno.ERANGE, () -> fs.setxattr(f, "user." + "n".repeat(251), utf8("2"), 0));
            assertErrno(Errno.ENOSPC, () -> fs.setxattr(f, "user.huge", new byte[5000], 0));
            assertErrno(Errno.E2BIG, () -> fs.setxattr(f, "user.huge", new byte[65537], 0));
            assertErrno(Errno.EINVAL, () -> fs.setxattr(f, "system.posix_acl_access", utf8("junk"), 0));
            assertArrayEquals(utf8("1"), fs.getxattr(f, "user.a"), "failed calls leave the value alone");
        }
        assertClean(img);
        assertEquals(List.of("user.a"), eaNames(img, "f"));
    }

    private static void assertErrno(Errno want, org.junit.jupiter.api.function.Executable call) {
        ErrnoException e = assertThrows(ErrnoException.class, call);
        assertEquals(want, e.errno(), e.getMessage());
    }

    @Test
    void attributesDebugfsSetAreReadAndChanged() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M");
        Path data = dir.resolve("data");
        Files.write(data, bytes(700, 3));
        run("debugfs", "-w", "-R", "write " + data + " f", img.toString());
        run("debugfs", "-w", "-R", "ea_set f user.a alpha", img.toString());
        run("debugfs", "-w", "-R", "ea_set -f " + data + " f user.blob", img.toString());
        assertClean(img);
        try (ExtVfs fs = mount(img)) {
            long f = fs.lookup(fs.rootInode(), "f");
            assertArrayEquals(utf8("alpha"), fs.getxattr(f, "user.a"));
            assertArrayEquals(bytes(700, 3), fs.getxattr(f, "user.blob"));
            fs.setxattr(f, "user.blob", bytes(500, 9), 0);
            fs.setxattr(f, "user.more", bytes(300, 1), 0);
        }
        assertClean(img);
        assertArrayEquals(bytes(500, 9), eaGet(img, "f", "user.blob"));
        assertArrayEquals(bytes(300, 1), eaGet(img, "f", "user.more"));
        assertArrayEquals(utf8("alpha"), eaGet(img, "f", "user.a"));
    }

    @Test
    void posixAclsAreStoredInExt4FormAndReturnedInTheCallersForm() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        // user::rw- user:1234:r-- group::r-- mask::r-- other::---
        ByteBuffer acl = ByteBuffer.allocate(4 + 5 * 8).order(ByteOrder.LITTLE_ENDIAN).putInt(2);
        acl.putShort((short) 1).putShort((short) 6).putInt(-1);
        acl.putShort((short) 2).putShort((short) 4).putInt(1234);
        acl.putShort((short) 4).putShort((short) 4).putInt(-1);
        acl.putShort((short) 0x10).putShort((short) 4).putInt(-1);
        acl.putShort((short) 0x20).putShort((short) 0).putInt(-1);
        try (ExtVfs fs = mount(img)) {
            long f = file(fs, "f");
            fs.setxattr(f, "system.posix_acl_access", acl.array(), 0);
            assertArrayEquals(acl.array(), fs.getxattr(f, "system.posix_acl_access"));
        }
        assertClean(img);
        assertEquals(List.of("system.posix_acl_access"), eaNames(img, "f"));
        // debugfs converts the stored form back to the caller's, with id 0 where Linux says -1 (undefined)
        ByteBuffer byDebugfs = ByteBuffer.wrap(acl.array().clone()).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 4; at < byDebugfs.capacity(); at += 8) {
            if (byDebugfs.getInt(at + 4) == -1) {
                byDebugfs.putInt(at + 4, 0);
            }
        }
        assertArrayEquals(byDebugfs.array(), eaGet(img, "f", "system.posix_acl_access"));
        Path raw = dir.resolve("raw");
        run("debugfs", "-R", "ea_get -r -f " + raw + " f system.posix_acl_access", img.toString());
        ByteBuffer disk = ByteBuffer.allocate(4 + 4 + 8 + 4 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN).putInt(1);
        disk.putShort((short) 1).putShort((short) 6);
        disk.putShort((short) 2).putShort((short) 4).putInt(1234);
        disk.putShort((short) 4).putShort((short) 4);
        disk.putShort((short) 0x10).putShort((short) 4);
        disk.putShort((short) 0x20).putShort((short) 0);
        assertArrayEquals(disk.array(), Files.readAllBytes(raw), "stored as ext4 does: version 1, short entries");
    }

    /** An ACL in the caller's form from (tag, perm, id) triples. */
    private static byte[] acl(int... entries) {
        ByteBuffer b = ByteBuffer.allocate(4 + entries.length / 3 * 8).order(ByteOrder.LITTLE_ENDIAN).putInt(2);
        for (int i = 0; i < entries.length; i += 3) {
            b.putShort((short) entries[i]).putShort((short) entries[i + 1]).putInt(entries[i + 2]);
        }
        return b.array();
    }

    private static void readAs(Vfs vfs, long uid, String path, boolean allowed) throws ErrnoException {
        vfs.setCredentials(new Credentials(uid, uid, new long[0]));
        try {
            if (allowed) {
                vfs.close(vfs.open(path, io.jrump.kernel.sys.OpenFlags.O_RDONLY, 0));
            } else {
                assertErrno(Errno.EACCES, () -> vfs.open(path, io.jrump.kernel.sys.OpenFlags.O_RDONLY, 0));
            }
        } finally {
            vfs.setCredentials(Credentials.ROOT);
        }
    }

    @Test
    void aclsSetTheModeFollowChmodAndAreEnforcedWhenTheMountAsks() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        ExtVfs ext = mount(img).enforcingAcls(true);
        try (Vfs vfs = new Vfs(() -> NOW)) {
            vfs.mount("/", ext, false);
            vfs.close(vfs.open("/f", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0600));
            readAs(vfs, 1000, "/f", false);
            // user::rw- user:1000:r-- group::--- mask::r-- other::---
            vfs.setxattr("/f", "system.posix_acl_access", acl(1, 6, -1, 2, 4, 1000, 4, 0, -1, 0x10, 4, -1, 0x20, 0, -1), 0, true);
            assertEquals(0640, vfs.stat("/f").mode() & 07777, "the mask becomes the group bits");
            readAs(vfs, 1000, "/f", true);
            readAs(vfs, 1001, "/f", false);
            vfs.setCredentials(new Credentials(1000, 1000, new long[0]));
            assertErrno(Errno.EACCES, () -> vfs.open("/f", io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0));
            vfs.setCredentials(Credentials.ROOT);

            vfs.chmod("/f", 0604);
            byte[] after = vfs.getxattr("/f", "system.posix_acl_access", true);
            assertArrayEquals(acl(1, 6, -1, 2, 4, 1000, 4, 0, -1, 0x10, 0, -1, 0x20, 4, -1), after,
                    "chmod rewrites owner, mask and other");
            readAs(vfs, 1000, "/f", false);
            readAs(vfs, 1001, "/f", true);

            // An ACL the mode says all of is not kept: only the mode changes.
            vfs.setxattr("/f", "system.posix_acl_access", acl(1, 7, -1, 4, 5, -1, 0x20, 1, -1), 0, true);
            assertEquals(0751, vfs.stat("/f").mode() & 07777);
            assertEquals(List.of(), vfs.listxattr("/f", true));
        }
        assertClean(img);
        assertTrue(run("debugfs", "-R", "stat f", img.toString()).contains("Mode:  0751"));
    }

    @Test
    void newFilesInheritTheDefaultAclWhenTheMountEnforcesAcls() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        // user::rwx user:1000:r-x group::r-x mask::r-x other::---
        byte[] def = acl(1, 7, -1, 2, 5, 1000, 4, 5, -1, 0x10, 5, -1, 0x20, 0, -1);
        try (Vfs vfs = new Vfs(() -> NOW)) {
            vfs.mount("/", mount(img).enforcingAcls(true), false);
            vfs.mkdir("/d", 0755);
            vfs.setxattr("/d", "system.posix_acl_default", def, 0, true);
            vfs.close(vfs.open("/d/f", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0666));
            vfs.mkdir("/d/sub", 0777);
            assertEquals(0640, vfs.stat("/d/f").mode() & 07777, "the default masked by 0666, the umask not applied");
            assertArrayEquals(acl(1, 6, -1, 2, 5, 1000, 4, 5, -1, 0x10, 4, -1, 0x20, 0, -1),
                    vfs.getxattr("/d/f", "system.posix_acl_access", true));
            assertEquals(List.of(), vfs.listxattr("/d/f", true).stream().filter(n -> n.contains("default")).toList());
            assertEquals(0750, vfs.stat("/d/sub").mode() & 07777);
            assertArrayEquals(def, vfs.getxattr("/d/sub", "system.posix_acl_default", true));
            readAs(vfs, 1000, "/d/f", true);
            readAs(vfs, 1001, "/d/f", false);
            vfs.close(vfs.open("/plain", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0666));
            assertEquals(0644, vfs.stat("/plain").mode() & 07777, "no default ACL: the umask applies");
        }
        assertClean(img);
        assertEquals(List.of("system.posix_acl_default", "system.posix_acl_access"), eaNames(img, "/d/sub"));
    }

    @Test
    void theAclMountOptionTurnsEnforcementOn() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        io.jrump.fs.vfs.FileSystemType.Options base = io.jrump.fs.vfs.FileSystemType.Options.of(false, () -> NOW);
        try (FileSystemOps on = new ExtFileSystemType().mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                base.withOptions(java.util.Map.of("acl", "")))) {
            assertTrue(on.enforcesAcls());
        }
        try (FileSystemOps off = new ExtFileSystemType().mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                base)) {
            assertTrue(!off.enforcesAcls());
        }
        assertErrno(Errno.EINVAL, () -> new ExtFileSystemType().mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                base.withOptions(java.util.Map.of("user_xattr", ""))));
    }

    @Test
    void aclsAreNotEnforcedUnlessTheMountAsks() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        try (Vfs vfs = new Vfs(() -> NOW)) {
            vfs.mount("/", mount(img), false);
            vfs.close(vfs.open("/f", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0600));
            // user:1000:r-- with mask r--: the ACL would let uid 1000 read; the mode (0640, group 0) does not
            vfs.setxattr("/f", "system.posix_acl_access", acl(1, 6, -1, 2, 4, 1000, 4, 0, -1, 0x10, 4, -1, 0x20, 0, -1), 0, true);
            assertEquals(0640, vfs.stat("/f").mode() & 07777);
            readAs(vfs, 1000, "/f", false);
        }
        assertClean(img);
    }

    /** Makes f2 share f1's xattr block, as mke2fs or the kernel's mbcache may; checksums resealed. */
    private void share(Path img, long block, int blockSize) throws Exception {
        run("debugfs", "-w", "-R", "sif f2 file_acl " + block, img.toString());
        run("debugfs", "-w", "-R", "sif f2 blocks " + blockSize / 512, img.toString());
        try (RandomAccessFile raf = new RandomAccessFile(img.toFile(), "rw")) {
            raf.seek(block * blockSize + 4);
            raf.write(new byte[] {2, 0, 0, 0});
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ExtChecksums.rewrite(dev);
        }
    }

    @Test
    void aSharedBlockIsCopiedOnWriteAndFreedAtItsLastReference() throws Exception {
        sharedBlockCopiedOnWrite("^metadata_csum");
    }

    @Test
    void aSharedBlockWithChecksumsIsCopiedOnWrite() throws Exception {
        sharedBlockCopiedOnWrite("metadata_csum");
    }

    private void sharedBlockCopiedOnWrite(String csum) throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M", "-I", "128", "-O", csum);
        Path empty = dir.resolve("empty");
        Files.write(empty, new byte[0]);
        run("debugfs", "-w", "-R", "write " + empty + " f1", img.toString());
        run("debugfs", "-w", "-R", "write " + empty + " f2", img.toString());
        run("debugfs", "-w", "-R", "ea_set f1 user.shared together", img.toString());
        long block = fileAcl(img, "f1");
        share(img, block, 1024);
        assertClean(img);
        assertEquals(List.of("user.shared"), eaNames(img, "f2"));
        long free = freeBlocks(img);

        try (ExtVfs fs = mount(img)) {
            long f2 = fs.lookup(fs.rootInode(), "f2");
            fs.setxattr(f2, "user.own", utf8("mine"), 0);
        }
        assertClean(img);
        assertEquals(block, fileAcl(img, "f1"), "f1 keeps the old block");
        assertNotEquals(block, fileAcl(img, "f2"), "f2 got a copy");
        assertEquals(List.of("user.shared"), eaNames(img, "f1"));
        assertEquals(List.of("user.own", "user.shared"), eaNames(img, "f2"));
        assertEquals(free - 1, freeBlocks(img));

        try (ExtVfs fs = mount(img)) {
            for (String n : List.of("f1", "f2")) {
                long f = fs.lookup(fs.rootInode(), n);
                for (String a : fs.listxattr(f)) {
                    fs.removexattr(f, a);
                }
            }
        }
        assertClean(img);
        assertEquals(0, fileAcl(img, "f1"));
        assertEquals(0, fileAcl(img, "f2"));
        assertEquals(free + 1, freeBlocks(img), "both blocks freed");
    }

    @Test
    void removingFromASharedBlockDropsOneReference() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M", "-I", "128", "-O", "^metadata_csum");
        Path empty = dir.resolve("empty");
        Files.write(empty, new byte[0]);
        run("debugfs", "-w", "-R", "write " + empty + " f1", img.toString());
        run("debugfs", "-w", "-R", "write " + empty + " f2", img.toString());
        run("debugfs", "-w", "-R", "ea_set f1 user.shared together", img.toString());
        long block = fileAcl(img, "f1");
        share(img, block, 1024);
        long free = freeBlocks(img);
        try (ExtVfs fs = mount(img)) {
            fs.removexattr(fs.lookup(fs.rootInode(), "f2"), "user.shared");
        }
        assertClean(img);
        assertEquals(0, fileAcl(img, "f2"));
        assertEquals(block, fileAcl(img, "f1"));
        assertEquals(free, freeBlocks(img), "the block stays for f1");
        String header = run("debugfs", "-R", "bd " + block, img.toString());
        assertTrue(header.startsWith("0000  0000 02ea 0100 0000") || header.contains("0000 02ea 0100 0000"), header);
    }

    @Test
    void theVfsChecksPermissionsAsLinux() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M");
        ExtVfs ext = mount(img);
        try (Vfs vfs = new Vfs(() -> NOW)) {
            vfs.mount("/", ext, false);
            int fd = vfs.open("/f", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0644);
            vfs.close(fd);
            vfs.setxattr("/f", "trusted.t", utf8("root"), 0, true);
            vfs.setxattr("/f", "user.u", utf8("u"), 0, true);
            assertEquals(1, vfs.getxattr("/f", "user.u", ByteBuffer.allocate(0), true));
            assertErrno(Errno.ERANGE, () -> vfs.getxattr("/f", "trusted.t", ByteBuffer.allocate(2), true));
            vfs.setCredentials(new Credentials(1000, 1000, new long[0]));
            assertEquals(List.of("user.u"), vfs.listxattr("/f", true));
            assertErrno(Errno.ENODATA, () -> vfs.getxattr("/f", "trusted.t", true));
            assertErrno(Errno.EPERM, () -> vfs.setxattr("/f", "trusted.t", utf8("x"), 0, true));
            assertErrno(Errno.EPERM, () -> vfs.setxattr("/f", "security.s", utf8("x"), 0, true));
            assertErrno(Errno.EACCES, () -> vfs.setxattr("/f", "user.u", utf8("x"), 0, true));
            assertArrayEquals(utf8("u"), vfs.getxattr("/f", "user.u", true));
        }
        assertClean(img);
    }
}
