package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A journal that needs recovery is read through, never written, by a read-only mount, and
 * replayed onto the disk by a read-write one. Fixture: {@code mke2fs -t ext4
 * -b 1024 -d tree img 8M}, then {@code debugfs -w} with {@code jo [-c]}, {@code jw -b BLOCK file},
 * {@code jc}: a committed transaction holding a new copy of a file's data block, and the
 * needs_recovery flag set, as after a crash.
 */
class ExtJournalTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-journal");

    @AfterEach
    void close() {
        host.close();
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + "\n" + out);
        return out;
    }

    private static byte[] sha256(Path p) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jo", "jo -c"})
    void committedTransactionsAreReadThroughWithoutWriting(String open) throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree);
        Files.writeString(tree.resolve("f"), "original contents\n");
        Path img = dir.resolve("img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", tree.toString(), img.toString(), "8M");
        long block = Long.parseLong(run("debugfs", "-R", "bmap /f 0", img.toString()).lines()
                .filter(l -> l.matches("\\d+")).findFirst().orElseThrow());
        byte[] replacement = new byte[1024];
        byte[] text = "replayed from the journal\n".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, replacement, 0, text.length);
        Path newBlock = dir.resolve("block");
        Files.write(newBlock, replacement);
        Path cmds = dir.resolve("cmds");
        Files.writeString(cmds, open + "\njw -b " + block + " " + newBlock + "\njc\n");
        run("debugfs", "-w", "-f", cmds.toString(), img.toString());
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("needs_recovery"), "the fixture needs recovery");

        byte[] before = sha256(img);
        ExtFs fs = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
        assertTrue(fs.readsThroughJournal());
        ByteBuffer got = ByteBuffer.allocate(text.length);
        ExtPaths.of(fs).read("/f", 0, got);
        assertEquals("replayed from the journal\n".substring(0, "original contents\n".length()),
                new String(got.array(), 0, "original contents\n".length(), StandardCharsets.UTF_8),
                "the file reads the journal's copy of its block");
        assertArrayEquals(before, sha256(img), "a read-only mount writes nothing");

        // A read-write mount replays the transaction onto the disk first; e2fsck agrees afterwards.
        try (ExtVfs rw = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertEquals(1, rw.ext().recoveredBlocks());
            assertEquals("replayed from the journal\n".substring(0, 18),
                    new String(ExtWriteTest.readFile(rw, "/f"), StandardCharsets.UTF_8), "the file's 18 bytes, replayed");
        }
        assertTrue(!run("dumpe2fs", "-h", img.toString()).contains("needs_recovery"), "recovered and unmounted clean");
        ExtTools.assertClean(img);
        assertEquals("replayed from the journal\n".substring(0, 18),
                new String(ExtTools.debugfsCat(img, "/f"), StandardCharsets.UTF_8).substring(0, 18));
    }

    @Test
    void aCleanJournalIsNotReadThrough() throws Exception {
        Path img = dir.resolve("clean");
        run("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "8M");
        assertTrue(!ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)).readsThroughJournal());
    }
}
