package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.debugfsCat;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.ForwardingBlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our journal against e2fsprogs: a crash right after a transaction is committed to the journal
 * and before its blocks reach their homes leaves the journal as the only copy. e2fsck must replay
 * it to a clean filesystem holding our files, and so must our own next mount — with plain
 * journals and with the checksummed (csum v3) journals Linux uses on metadata_csum filesystems.
 */
class ExtJournalReplayTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("journal-replay");

    @AfterEach
    void close() {
        host.close();
    }

    /** A disk that loses every write after the first write to one block, once armed: a power cut there. */
    static final class CrashAfterBlock extends ForwardingBlockDevice {
        final long crashOffset;
        boolean armed;
        boolean crashed;

        CrashAfterBlock(BlockDevice below, long crashOffset) {
            super(below);
            this.crashOffset = crashOffset;
        }

        @Override
        public void write(long offset, ByteBuffer src) throws ErrnoException {
            if (crashed) {
                return;
            }
            below.write(offset, src);
            if (armed && offset == crashOffset) {
                crashed = true;
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"plain", "csum-v3"})
    void e2fsckAndOurMountReplayWhatWeCommitted(String journal) throws Exception {
        Path img = dir.resolve("j.img");
        mke2fs(img, "ext4", 4096, "32M");
        if (journal.equals("csum-v3")) {
            Path cmds = Files.writeString(dir.resolve("cmds"), "jo -c\njc\n");
            ExtTools.run("debugfs", "-w", "-f", cmds.toString(), img.toString());
            assertTrue(run("dumpe2fs", "-h", img.toString()).contains("journal_checksum_v3"));
        }
        String bmap = run("debugfs", "-R", "bmap <8> 0", img.toString()).lines()
                .filter(l -> l.matches("\\d+")).findFirst().orElseThrow();
        long jsbOffset = Long.parseLong(bmap) * 4096;
        byte[] big = random(700_000, 9);
        CrashAfterBlock dev = new CrashAfterBlock(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE), jsbOffset);
        ExtVfs fs = ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
        fs.sync(); // the mount's own first transaction, if any, goes home normally
        mkdir(fs, "/dir");
        writeFile(fs, "/dir/big", big);
        writeFile(fs, "/small", "journaled".getBytes());
        dev.armed = true;
        fs.close(); // commits: the journal superblock is the last write that reaches the disk
        assertTrue(dev.crashed, "the crash point was reached");

        Path copy = dir.resolve("copy.img");
        Files.copy(img, copy, StandardCopyOption.REPLACE_EXISTING);
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "e2fsck", "-fy", copy.toString());
        assertTrue(rc <= 1 && out.toString().contains("recovering journal"), "e2fsck -fy exit " + rc + ":\n" + out);
        assertClean(copy);
        assertArrayEquals(big, debugfsCat(copy, "/dir/big"));
        assertEquals("journaled", new String(debugfsCat(copy, "/small")));

        try (ExtVfs again = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertTrue(again.ext().recoveredBlocks() > 0, "our mount replayed the journal");
            assertArrayEquals(big, readFile(again, "/dir/big"));
            ExtCheck.Result r = ExtCheck.check(again.ext());
            assertTrue(r.isClean(), r.problems().toString());
        }
        assertClean(img);
    }

    /** A commit block damaged after the crash: the transaction is not replayed, by us or by e2fsck. */
    @org.junit.jupiter.api.Test
    void aCommitBlockThatFailsItsChecksumIsNotReplayed() throws Exception {
        Path img = dir.resolve("j.img");
        mke2fs(img, "ext4", 4096, "32M");
        Path cmds = Files.writeString(dir.resolve("cmds"), "jo -c\njc\n");
        ExtTools.run("debugfs", "-w", "-f", cmds.toString(), img.toString());
        long jsbBlock = Long.parseLong(run("debugfs", "-R", "bmap <8> 0", img.toString()).lines()
                .filter(l -> l.matches("\\d+")).findFirst().orElseThrow());
        CrashAfterBlock dev = new CrashAfterBlock(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE), jsbBlock * 4096);
        ExtVfs fs = ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
        fs.sync();
        writeFile(fs, "/lost", "never committed".getBytes());
        dev.armed = true;
        fs.close();
        // Find the commit block in the log (the journal is contiguous after its superblock) and damage it.
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            boolean found = false;
            for (long n = 1; n < 64 && !found; n++) {
                ch.read(b.clear(), (jsbBlock + n) * 4096);
                if (b.getInt(0) == Journal.MAGIC && b.getInt(4) == Journal.COMMIT) {
                    b.put(200, (byte) (b.get(200) ^ 0x5a));
                    ch.write(b.flip(), (jsbBlock + n) * 4096);
                    found = true;
                }
            }
            assertTrue(found, "the log holds a commit block");
        }
        try (ExtVfs again = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertEquals(0, again.ext().recoveredBlocks(), "nothing replayed");
            assertEquals(io.jrump.hypercall.Errno.ENOENT, org.junit.jupiter.api.Assertions.assertThrows(
                    ErrnoException.class, () -> again.lookup(again.rootInode(), "lost")).errno());
            assertTrue(ExtCheck.check(again.ext()).isClean());
        }
        assertClean(img);
    }
}
