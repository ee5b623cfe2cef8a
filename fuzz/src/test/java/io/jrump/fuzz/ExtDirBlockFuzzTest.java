package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtChecksums;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * Damaged directory blocks of every kind — a linear block, an htree root, an htree interior
 * node, an htree leaf and an inline directory's i_block — with their checksums rewritten
 * ({@link ExtChecksums#rewrite}), so that the directory parsers, not the checksums, meet the
 * damage. Looking up known names (through the index first), checking ({@link ExtCheck}),
 * listing and stat-ing every entry, and adding a name each work or fail with a defined errno:
 * never an unchecked exception or a hang.
 *
 * <p>The image ({@code ext-dirs.img.gz}, 1 MiB, metadata_csum and inline_data on, 1 KiB blocks)
 * was made with: a tree of {@code /lin} (12 files, a symlink, a subdirectory: one block),
 * {@code /big} (640 hard links with 241-character names: a two-level htree after {@code e2fsck
 * -fyD}) and {@code /inl} (two files: inline); {@code mke2fs -q -F -t ext4 -b 1024 -I 256 -N 48
 * -O inline_data,^has_journal,^resize_inode -d tree img 1M}, then {@code e2fsck -fyD img}. The
 * blocks below are from {@code debugfs -R 'bmap /big 0'} (and {@code bmap /big 162}, {@code bmap
 * /big 1}, {@code bmap /lin 0}, {@code imap /inl}).
 *
 * <p>An input is a kind (its first byte, modulo 5), then patches: a two-byte offset into the
 * target (modulo its length), a length byte, that many bytes.
 */
class ExtDirBlockFuzzTest {
    private static final int BS = 1024;
    /** Byte offsets of the targets in the image, and their lengths. */
    private static final long[] TARGET = {190L * BS, 16L * BS, 192L * BS, 17L * BS, 38L * BS + 0x100 + 40};
    private static final int[] LENGTH = {BS, BS, BS, BS, 60};
    private static final String LONG = "n".repeat(240);
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EISDIR, Errno.ELOOP, Errno.EIO, Errno.EFBIG, Errno.ENOSPC, Errno.EEXIST,
            Errno.ENAMETOOLONG, Errno.EROFS, Errno.EMLINK);
    private static final byte[] IMAGE = image();

    private static byte[] image() {
        try (InputStream in = new GZIPInputStream(ExtDirBlockFuzzTest.class.getResourceAsStream("ext-dirs.img.gz"))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The paths of the image a lookup should reach; the first of /big's are spread over its leaves. */
    private static List<String> knownPaths() {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            out.add("/lin/linear-entry-name-" + i);
        }
        out.addAll(List.of("/lin/file", "/lin/link", "/lin/sub", "/lin/none", "/inl/a", "/inl/bb", "/inl/none",
                "/big/f", "/big/none"));
        for (int i = 1; i <= 640; i += 37) {
            out.add("/big/" + LONG + i);
        }
        return out;
    }

    private static final List<String> KNOWN = knownPaths();

    @org.junit.jupiter.api.Test
    void theImageIsWhatTheTargetsSay() throws Exception {
        // The root and node of /big: "." then ".." spanning the rest; a node's empty record spans the block.
        ByteBuffer b = ByteBuffer.wrap(IMAGE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(12, b.getShort((int) TARGET[1] + 4));
        assertEquals(BS - 12, b.getShort((int) TARGET[1] + 16));
        assertEquals(BS, b.getShort((int) TARGET[2] + 4));
        assertEquals(0, b.getInt((int) TARGET[2]));
        dirBlocksAreParsedSafely(new byte[] {0});
    }

    /** The patched directories meet the parsers, not the checksums: rewritten, a damaged rec_len is what is reported. */
    @org.junit.jupiter.api.Test
    void damageReachesTheParsersPastTheChecksums() throws Exception {
        String[] dirs = {"/lin", "/big", "/big", "/big", "/inl"};
        // Kinds 0-3: the first record's rec_len := 0x3fd (not a multiple of 4); inline (kind 4): the first entry's := 0x31.
        byte[][] inputs = {{0, 0, 4, 2, (byte) 0xfd, 3}, {1, 0, 4, 2, (byte) 0xfd, 3}, {2, 0, 4, 2, (byte) 0xfd, 3},
            {3, 0, 4, 2, (byte) 0xfd, 3}, {4, 0, 8, 2, 0x31, 0}};
        for (int kind = 0; kind < inputs.length; kind++) {
            HostDisk disk = patched(inputs[kind]);
            ExtChecksums.rewrite(disk);
            Vfs vfs = vfs(ExtFs.open(disk));
            String dir = dirs[kind];
            ErrnoException e = org.junit.jupiter.api.Assertions.assertThrows(ErrnoException.class, () -> vfs.readdir(dir));
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("bad entry") && !e.getMessage().contains("checksum"),
                    "kind " + kind + ": " + e.getMessage());
        }
    }

    /** The image as a sim disk image, made once: each input's disk forks it copy-on-write. */
    private static final SimDisk.Image BASE = SimDisk.Image.of(IMAGE, IMAGE.length);

    /** The image with the input's patches applied to the target of its kind. */
    private static HostDisk patched(byte[] input) throws ErrnoException {
        int kind = (input[0] & 0xff) % TARGET.length;
        // Only the block holding the target changes: patch a copy of it and write it over the fork.
        int block = (int) (TARGET[kind] / BS) * BS;
        int within = (int) TARGET[kind] - block;
        byte[] changed = java.util.Arrays.copyOfRange(IMAGE, block, block + BS);
        for (int at = 1; at + 3 <= input.length; ) {
            int offset = ((input[at] & 0xff) << 8 | input[at + 1] & 0xff) % LENGTH[kind];
            int len = input[at + 2] & 0xff;
            at += 3;
            for (int k = 0; k < len && at < input.length && offset + k < LENGTH[kind]; k++, at++) {
                changed[within + offset + k] = input[at];
            }
        }
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        world.createDisk("d", BASE);
        HostDisk disk = HostDisk.open(host, "d", OpenMode.READ_WRITE);
        disk.write(block, ByteBuffer.wrap(changed));
        return disk;
    }

    @FuzzTest(maxDuration = "60s")
    void dirBlocksAreParsedSafely(byte[] input) throws Exception {
        if (input.length == 0) {
            return;
        }
        HostDisk disk = patched(input);
        try {
            ExtChecksums.rewrite(disk);
        } catch (ErrnoException e) {
            defined(e);
            return;
        }
        try {
            ExtFs fs = ExtFs.open(disk);
            // Lookups first, on a mount whose name cache is empty, so that they go through the index.
            Vfs lookups = vfs(fs);
            for (String path : KNOWN) {
                try {
                    lookups.lstat(path);
                } catch (ErrnoException e) {
                    defined(e);
                }
            }
            try {
                ExtCheck.check(fs);
            } catch (ErrnoException e) {
                defined(e);
            }
            walk(vfs(ExtFs.open(disk)));
        } catch (ErrnoException e) {
            defined(e);
        }
        write(disk);
    }

    private static Vfs vfs(ExtFs fs) throws ErrnoException {
        Vfs vfs = new Vfs(() -> 0L);
        vfs.mount("/", new ExtVfs(fs), true);
        return vfs;
    }

    /**
     * Lists every directory, stats every entry, reads every file and link: 50 directories, the
     * first 40 entries of each (/big's 640 names of one inode would make each run slow).
     */
    private static void walk(Vfs vfs) {
        FsExercise.walk(vfs, ExtDirBlockFuzzTest::defined, 50, 40, 64);
    }

    /** Adds a name to each damaged directory on a read-write mount: the writer parses the blocks too. */
    private static void write(HostDisk disk) {
        try (ExtVfs fs = ExtVfs.mount(disk, ExtFs.MountOptions.readWrite(() -> 0L))) {
            for (String dir : List.of("lin", "big", "inl")) {
                try {
                    long d = fs.lookup(fs.rootInode(), dir);
                    fs.create(d, "added", 0100644, 0, 0, 0);
                } catch (ErrnoException e) {
                    defined(e);
                }
            }
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    /** A defined errno; ExtVfs turns an unchecked exception into EIO saying "internal error", which is a bug here. */
    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        assertFalse(Invariants.isInternalError(e), e.getMessage());
    }
}
