package io.jrump.fs.ext;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and unsupported filesystems give precise errors. Fixtures: {@code mke2fs -q -F -t ext4
 * -b 1024 -d tree img 8M} (and {@code -O inline_data}), then single bytes changed.
 */
class ExtBadInputTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-bad");

    @AfterEach
    void close() {
        host.close();
    }

    private Path mkfs(String... extra) throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree);
        Files.write(tree.resolve("file"), new byte[20_000]);
        Path img = dir.resolve("img");
        String[] cmd = new String[10 + extra.length];
        String[] base = {"mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", tree.toString(), img.toString()};
        System.arraycopy(base, 0, cmd, 0, base.length);
        System.arraycopy(extra, 0, cmd, base.length, extra.length);
        String[] full = new String[cmd.length + 1];
        System.arraycopy(cmd, 0, full, 0, cmd.length);
        full[cmd.length] = "8M";
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
        return img;
    }

    private static void poke(Path img, long offset, int value) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(offset);
            int old = f.read();
            f.seek(offset);
            // Always a change: a time stamp's byte may already hold the value (1 run in 256 did).
            f.write(old == (value & 0xff) ? value ^ 0xff : value);
        }
    }

    private ErrnoException fails(Path img, Errno errno, String fragment, String path) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> {
            ExtFs fs = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
            ExtPaths.of(fs).read(path, 0, ByteBuffer.allocate(20_000));
        });
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should mention " + fragment);
        return e;
    }

    @Test
    void notAnExtFilesystem() throws Exception {
        Path img = dir.resolve("zeros");
        Files.write(img, new byte[1 << 20]);
        fails(img, Errno.EINVAL, "bad magic", "/file");
    }

    @Test
    void aSuperblockChecksumMismatchIsEuclean() throws Exception {
        Path img = mkfs();
        poke(img, 1024 + 120, 'X'); // the volume label: covered by the checksum
        fails(img, Errno.EUCLEAN, "ext superblock: checksum", "/file");
    }

    @Test
    void anUnknownIncompatibleFeatureIsRefusedByName() throws Exception {
        Path img = mkfs();
        ExtTools.run("debugfs", "-w", "-R", "feature FEATURE_I18", img.toString()); // incompat bit 0x40000, unassigned
        fails(img, Errno.EOPNOTSUPP, "unsupported ext feature: 0x40000", "/file");
    }

    @Test
    void aDamagedInodeFailsItsChecksum() throws Exception {
        Path img = mkfs();
        ExtFs fs = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
        long ino = ExtPaths.of(fs).stat("/file").ino();
        Inode inode = fs.inode(ino);
        // Find the inode's bytes: group 0 for the first inodes of a small filesystem.
        ByteBuffer sb = ByteBuffer.allocate(1024);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(1024);
            f.readFully(sb.array());
        }
        assertTrue(inode.size() == 20_000);
        long table = tableOfGroup0(img);
        int inodeSize = Short.toUnsignedInt(sb.order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(88));
        poke(img, table * 1024 + (ino - 1) * inodeSize + 16, 0x55); // i_mtime
        fails(img, Errno.EUCLEAN, "inode " + ino + ": checksum", "/file");
    }

    @Test
    void aDamagedGroupDescriptorFailsItsChecksum() throws Exception {
        Path img = mkfs();
        poke(img, 2048 + 14, 0x77); // bg_free_inodes_count of group 0
        fails(img, Errno.EUCLEAN, "group descriptor 0: checksum", "/file");
    }

    @Test
    void aDamagedDirectoryBlockFailsItsChecksum() throws Exception {
        Path img = mkfs();
        ExtFs fs = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
        long rootBlock = fs.map(fs.inode(ExtFs.ROOT_INODE), 0).physical();
        poke(img, rootBlock * 1024 + 13, 'Z'); // a byte of the "." entry's name area
        fails(img, Errno.EUCLEAN, "inode 2 directory block 0: checksum", "/file");
    }

    private static long tableOfGroup0(Path img) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(2048 + 8); // 1 KiB blocks: the descriptors start at block 2
            byte[] b = new byte[4];
            f.readFully(b);
            return ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
        }
    }
}
