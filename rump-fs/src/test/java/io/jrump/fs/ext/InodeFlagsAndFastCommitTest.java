package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.debugfsCat;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.resolve;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 5: chattr's immutable and append-only flags and fs-verity files are enforced as
 * the kernel enforces them (the flags set with debugfs, as chattr would), and fast_commit
 * filesystems are written with full commits, the fast-commit area of the journal left alone.
 */
class InodeFlagsAndFastCommitTest {
    @TempDir
    Path dir;

    private final JvmHost host = JvmHost.create("ext-flags");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtTools.mountReadWrite(host, img);
    }

    private Path imageWithFiles(String... extra) throws Exception {
        Path img = dir.resolve("f.img");
        mke2fs(img, "ext4", 1024, "16M", extra);
        Path data = dir.resolve("data");
        Files.write(data, new byte[3000]);
        for (String f : new String[] {"imm", "app", "plain"}) {
            run("debugfs", "-w", "-R", "write " + data + " " + f, img.toString());
        }
        run("debugfs", "-w", "-R", "mkdir immdir", img.toString());
        run("debugfs", "-w", "-R", "write " + data + " immdir/inside", img.toString());
        run("debugfs", "-w", "-R", "sif /imm flags 0x80010", img.toString()); // extents + immutable
        run("debugfs", "-w", "-R", "sif /app flags 0x80020", img.toString()); // extents + append-only
        run("debugfs", "-w", "-R", "sif /immdir flags 0x80010", img.toString());
        assertClean(img);
        return img;
    }

    private static void refused(Executable op) {
        ErrnoException e = assertThrows(ErrnoException.class, op);
        assertEquals(Errno.EPERM, e.errno(), e.getMessage());
    }

    @Test
    void immutableAndAppendOnlyAreEnforcedAsTheKernelDoes() throws Exception {
        Path img = imageWithFiles();
        try (ExtVfs fs = mount(img)) {
            long root = fs.rootInode();
            long imm = resolve(fs, "/imm");
            long app = resolve(fs, "/app");
            long immdir = resolve(fs, "/immdir");
            ByteBuffer x = ByteBuffer.wrap(new byte[] {1, 2, 3});
            refused(() -> fs.write(imm, 0, x.duplicate()));
            refused(() -> fs.truncate(imm, 0));
            refused(() -> fs.setattr(imm, 0600, -1, -1, -1, -1));
            refused(() -> fs.setxattr(imm, "user.a", new byte[1], 0));
            refused(() -> fs.unlink(root, "imm", false));
            refused(() -> fs.rename(root, "imm", root, "moved", i -> false));
            refused(() -> fs.rename(root, "plain", root, "imm", i -> false)); // would replace it
            refused(() -> fs.link(root, "second", imm));
            refused(() -> fs.create(immdir, "new", 0100644, 0, 0, 0));
            refused(() -> fs.unlink(immdir, "inside", false));
            assertEquals(3000, readFile(fs, "/imm").length, "reading is allowed");

            assertEquals(3, fs.write(app, 3000, x.duplicate()), "append-only: written at its end");
            refused(() -> fs.write(app, 0, x.duplicate()));
            refused(() -> fs.truncate(app, 10));
            refused(() -> fs.unlink(root, "app", false));
            fs.setattr(app, 0600, -1, -1, -1, -1); // chmod is allowed
        }
        assertClean(img);
        assertEquals(3003, debugfsCat(img, "/app").length);
    }

    @Test
    void verityFilesAreNeverWrittenButRemovable() throws Exception {
        Path img = imageWithFiles("-O", "verity");
        run("debugfs", "-w", "-R", "sif /plain flags 0x180000", img.toString()); // extents + verity
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly(), "a verity filesystem is written");
            long v = resolve(fs, "/plain");
            refused(() -> fs.write(v, 0, ByteBuffer.wrap(new byte[1])));
            refused(() -> fs.truncate(v, 0));
            fs.setattr(v, 0600, -1, -1, -1, -1);
            writeFile(fs, "/other", new byte[5000]);
            fs.unlink(fs.rootInode(), "plain", false);
        }
        assertClean(img);
    }

    @Test
    void fastCommitFilesystemsAreWrittenWithFullCommitsOnly() throws Exception {
        Path img = dir.resolve("fc.img");
        mke2fs(img, "ext4", 1024, "32M", "-O", "fast_commit");
        String before = run("dumpe2fs", "-h", img.toString());
        assertTrue(before.contains("Fast commit length:       64") || before.contains("Fast commit length"), before);
        byte[] journalBefore = debugfsCat(img, "<8>");
        byte[] data = new byte[200_000];
        new java.util.Random(5).nextBytes(data);
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly(), "fast_commit mounts read-write");
            for (int i = 0; i < 40; i++) {
                writeFile(fs, "/f" + i, Arrays.copyOf(data, 1000 * (i + 1)));
            }
        }
        assertClean(img);
        byte[] journalAfter = debugfsCat(img, "<8>");
        int fcBytes = 64 * 1024;
        assertArrayEquals(Arrays.copyOfRange(journalBefore, journalBefore.length - fcBytes, journalBefore.length),
                Arrays.copyOfRange(journalAfter, journalAfter.length - fcBytes, journalAfter.length),
                "the fast-commit area is not written");
        assertArrayEquals(Arrays.copyOf(data, 40_000), debugfsCat(img, "/f39"));
    }

    @Test
    void aJournalWithFastCommitsToReplayIsRefusedByName() throws Exception {
        Path img = dir.resolve("fcr.img");
        mke2fs(img, "ext4", 1024, "32M", "-O", "fast_commit");
        // As the kernel leaves it after a crash: the journal's fast_commit feature set, its log not empty.
        String bmap = run("debugfs", "-R", "bmap <8> 0", img.toString()).trim();
        long journalBlock = Long.parseLong(bmap.substring(bmap.lastIndexOf('\n') + 1).trim());
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            long at = journalBlock * 1024;
            f.seek(at + 0x28);
            int incompat = f.readInt();
            f.seek(at + 0x28);
            f.writeInt(incompat | 0x20); // big-endian s_feature_incompat |= FAST_COMMIT
            f.seek(at + 0x14);
            int first = f.readInt();
            f.seek(at + 0x1C);
            f.writeInt(first); // s_start: recovery needed
        }
        run("debugfs", "-w", "-R", "feature needs_recovery", img.toString());
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img).close());
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("fast commits") && e.getMessage().contains("e2fsck"), e.getMessage());
    }
}
