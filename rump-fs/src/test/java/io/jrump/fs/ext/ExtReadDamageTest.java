package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images that used to be misread, each built with e2fsprogs ({@code mke2fs}, then {@code
 * debugfs} commands — {@code zap_block}, {@code ea_set}, {@code set_inode_field}) and, where
 * e2fsck is the judge of what is valid, checked with {@code e2fsck -fn} first.
 */
class ExtReadDamageTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-read-damage");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtFs open(Path img) throws ErrnoException {
        return ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
    }

    private static String debugfs(Path img, String... commands) throws Exception {
        Path script = img.resolveSibling(img.getFileName() + ".cmds");
        Files.writeString(script, String.join("\n", commands) + "\n");
        return run("debugfs", "-w", "-f", script.toString(), img.toString());
    }

    /** An image whose /d/a entry's rec_len (1000 at byte 28 of /d's block) is made 996: the next header would start 4 bytes before the end. */
    private Path cutOffDirectory() throws Exception {
        Path img = dir.resolve("cut");
        ExtTools.mke2fs(img, "ext4", 1024, "8M", "-O", "^metadata_csum");
        Path a = dir.resolve("a");
        Files.writeString(a, "abc");
        debugfs(img, "mkdir /d", "write " + a + " /d/a", "zap_block -f /d -o 28 -l 1 -p 0xE4 0");
        StringBuilder out = new StringBuilder();
        ExtTools.exec(out, "e2fsck", "-fn", img.toString());
        assertTrue(out.toString().contains("block #0, offset 1020: directory corrupted"), out.toString());
        return img;
    }

    @Test
    void aDirectoryEntryCutOffAtTheEndOfItsBlockIsEucleanNamingTheOffset() throws Exception {
        Path img = cutOffDirectory();
        ExtFs fs = open(img);
        ExtPaths p = ExtPaths.of(fs);
        ErrnoException e = assertThrows(ErrnoException.class, () -> p.names("/d"));
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("directory inode 12, block 0, offset 1020"), e.getMessage());
        assertEquals(Errno.EUCLEAN, assertThrows(ErrnoException.class, () -> p.stat("/d/a")).errno());
        // The checker reports it and goes on.
        ExtCheck.Result r = ExtCheck.check(fs);
        assertTrue(r.problems().stream().anyMatch(s -> s.contains("block 0, offset 1020")), r.problems().toString());
    }

    /**
     * A block bitmap that marks the inode table free (debugfs freeb): a write that would allocate
     * it is refused, as the kernel refuses "blocks which overlap fs metadata", instead of putting
     * file data where the inodes are. e2fsck agrees the bitmap is wrong.
     */
    @Test
    void aBitmapThatFreesTheInodeTableIsEucleanWhenAWriteWouldAllocateIt() throws Exception {
        Path img = dir.resolve("freed");
        ExtTools.mke2fs(img, "ext4", 1024, "8M", "-O", "^has_journal,^flex_bg");
        String table = run("dumpe2fs", img.toString()).lines().filter(l -> l.contains("Inode table at"))
                .findFirst().orElseThrow().replaceAll(".*Inode table at (\\d+)-.*", "$1");
        // Free every block before the table's first too, so the allocator's first free block is the table's.
        debugfs(img, "freeb 1 " + (Long.parseLong(table) + 8));
        StringBuilder out = new StringBuilder();
        ExtTools.exec(out, "e2fsck", "-fn", img.toString());
        assertTrue(out.toString().contains("Block bitmap differences"), out.toString());
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW).withCheck(ExtFs.Check.NONE))) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> {
                long ino = fs.create(fs.rootInode(), "f", 0100644, 0, 0, 0);
                fs.write(ino, 0, java.nio.ByteBuffer.wrap(new byte[4096]));
                fs.sync();
            });
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().matches(".*the block bitmap of group 0 marks free block \\d+, which holds the "
                    + "(superblock, group descriptors or reserved GDT blocks|block bitmap|inode bitmap|inode table) of group 0.*"),
                    e.getMessage());
        }
    }

    @Test
    void addingToADirectoryWithACutOffEntryIsEuclean() throws Exception {
        Path img = cutOffDirectory();
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> fs.create(12, "b", 0100644, 0, 0, 0));
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("directory inode 12, block 0, offset 1020"), e.getMessage());
        }
    }

    /**
     * An htree root whose last 12 bytes look like a leaf's checksum tail (inode 0, rec_len 12,
     * name_len 0, type 0xDE): what the kernel leaves when it turns a linear block 0 into the
     * root, as it keeps the old tail and writes only the dx_tail's checksum over it. The dx
     * checksum covers dt_reserved, so it is computed again; e2fsck calls the result valid.
     */
    @Test
    void anHtreeRootWithStaleLeafTailBytesIsNotCheckedAsALeaf() throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("big"));
        for (int i = 0; i < 120; i++) {
            Files.createFile(tree.resolve("big").resolve("n".repeat(80) + i));
        }
        Path img = dir.resolve("htree");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", tree.toString(), img.toString(), "8M");
        int rc = ExtTools.exec(new StringBuilder(), "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, "e2fsck -fyD exited " + rc);
        ExtFs before = open(img);
        long big = ExtPaths.of(before).stat("/big").ino();
        Inode in = before.inode(big);
        assertTrue((in.flags() & RawInode.INDEX_FL) != 0, "indexed");
        long rootBlock = before.map(in, 0).physical();
        int seed = before.inodeSeed(big, in.generation());
        byte[] root = new byte[1024];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(rootBlock * 1024);
            f.readFully(root);
            ByteBuffer b = ByteBuffer.wrap(root).order(ByteOrder.LITTLE_ENDIAN);
            int limit = b.getShort(32) & 0xffff;
            int count = b.getShort(34) & 0xffff;
            assertEquals(123, limit); // (1024 - 32 - 8) / 8: the dx_tail at 1016
            assertTrue(count < 123 && b.getInt(1012) == 0, "an unused dx entry before the tail");
            b.putInt(1016, 0xDE00000C); // dt_reserved: the old tail's rec_len 12, name_len 0, type 0xDE
            b.putInt(1020, ExtChecksums.dxChecksum(seed, b, 32, count, 1016));
            assertTrue(ExtFs.hasDirTail(b, 1024), "looks like a leaf tail");
            f.seek(rootBlock * 1024);
            f.write(root);
        }
        ExtTools.assertClean(img);
        ExtFs fs = open(img);
        ExtPaths p = ExtPaths.of(fs);
        assertEquals(122, p.names("/big").size());
        assertTrue(p.stat("/big/" + "n".repeat(80) + 7).ino() > 0);
        assertEquals(List.of(), fs.warnings(), "the index is used, not worked around");
        assertEquals(List.of(), ExtCheck.check(fs).problems());
    }

    /** A fast symlink given an xattr block by debugfs {@code ea_set}: i_blocks counts that block, the target stays in i_block. */
    @Test
    void aFastSymlinkWithAnXattrBlockReadsItsTarget() throws Exception {
        Path img = dir.resolve("link");
        ExtTools.mke2fs(img, "ext4", 1024, "8M", "-I", "128");
        Path value = dir.resolve("value");
        Files.writeString(value, "v".repeat(300));
        debugfs(img, "symlink /l /some/target", "ea_set -f " + value + " /l user.big");
        String stat = run("debugfs", "-R", "stat /l", img.toString());
        assertTrue(stat.contains("Blockcount: 2") && stat.contains("Fast link dest: \"/some/target\""), stat);
        ExtTools.assertClean(img);
        ExtFs fs = open(img);
        ExtPaths p = ExtPaths.of(fs);
        assertEquals("/some/target", p.readlink("/l"));
        assertEquals(300, p.xattrs("/l").get("user.big").length);
        assertEquals(List.of(), ExtCheck.check(fs).problems(), "the target's bytes are no block pointers");
    }

    /** A long target (a slow symlink, one data block) with an xattr block too: read from its data block. */
    @Test
    void aSlowSymlinkWithAnXattrBlockReadsItsBlock() throws Exception {
        Path img = dir.resolve("slow");
        ExtTools.mke2fs(img, "ext4", 1024, "8M", "-I", "128");
        Path value = dir.resolve("value");
        Files.writeString(value, "v".repeat(300));
        String target = "/t".repeat(50);
        debugfs(img, "symlink /l " + target, "ea_set -f " + value + " /l user.big");
        ExtTools.assertClean(img);
        ExtFs fs = open(img);
        assertEquals(target, ExtPaths.of(fs).readlink("/l"));
        assertEquals(List.of(), ExtCheck.check(fs).problems());
    }

    private Path fileWithSizeHigh(String sizeHigh) throws Exception {
        Path img = dir.resolve("size-" + sizeHigh);
        ExtTools.mke2fs(img, "ext4", 1024, "8M");
        Path f = dir.resolve("f");
        Files.writeString(f, "hello");
        debugfs(img, "write " + f + " /f", "set_inode_field /f size_hi " + sizeHigh);
        return img;
    }

    @Test
    void aSizeWithItsTopBitSetIsEucleanNotNegative() throws Exception {
        ExtFs fs = open(fileWithSizeHigh("0x80000000"));
        ExtPaths p = ExtPaths.of(fs);
        ErrnoException e = assertThrows(ErrnoException.class, () -> p.stat("/f"));
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("inode 12: size 0x8000000000000005"), e.getMessage());
        assertEquals(Errno.EUCLEAN, assertThrows(ErrnoException.class,
                () -> p.read("/f", 0, ByteBuffer.allocate(16))).errno());
        assertTrue(ExtCheck.check(fs).problems().stream().anyMatch(s -> s.contains("size 0x8000000000000005")));
    }

    @Test
    void aLargeSizeReadsAsUnsignedAndReadsEndWhereBlocksCannotReach() throws Exception {
        ExtFs fs = open(fileWithSizeHigh("0x10000"));
        ExtPaths p = ExtPaths.of(fs);
        assertEquals((0x10000L << 32) + 5, p.stat("/f").size());
        ByteBuffer b = ByteBuffer.allocate(16);
        assertEquals(16, p.read("/f", 0, b));
        assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), java.util.Arrays.copyOf(b.array(), 5));
        // Past 2^32 - 1 blocks of 1 KiB an extent tree maps nothing: the end of the file, as s_maxbytes is on Linux.
        assertEquals(0, p.read("/f", ((1L << 32) - 1) * 1024, ByteBuffer.allocate(16)));
        assertEquals(16, p.read("/f", 1L << 40, ByteBuffer.allocate(16)), "a hole below it reads as zeros");
    }

    @Test
    void bigallocGeometryThatDisagreesIsCorruptionNamingBigalloc() throws Exception {
        Path img = dir.resolve("bigalloc");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "bigalloc,^metadata_csum", "-C", "16384", img.toString(),
                "64M");
        assertEquals(4, open(img).superblock().clusterRatio(), "read, clusters of 4 blocks");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(1024 + 0x24); // s_clusters_per_group: no longer s_blocks_per_group / 4
            f.write(new byte[] {1, 0, 0, 0});
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> open(img));
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("bigalloc with s_log_cluster_size 4") && e.getMessage().contains("1 clusters"),
                e.getMessage());
    }
}
