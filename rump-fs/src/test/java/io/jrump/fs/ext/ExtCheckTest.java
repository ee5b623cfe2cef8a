package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Our check against e2fsck: clean images from {@code mke2fs -d} are clean to both; damage done
 * with {@code debugfs -w} (a wrong link count, a block freed in the bitmap, an entry removed
 * without its inode) is found by both.
 */
class ExtCheckTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-check");
    private Path tree;

    @BeforeEach
    void tree() throws Exception {
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("d/e"));
        Files.writeString(tree.resolve("f"), "a file\n");
        byte[] big = new byte[300_000]; // not zeros: mke2fs -d leaves zero blocks as holes
        new java.util.Random(8).nextBytes(big);
        Files.write(tree.resolve("d/big"), big);
        Files.createSymbolicLink(tree.resolve("l"), Path.of("d/" + "x".repeat(80)));
        Files.createLink(tree.resolve("d/e/hard"), tree.resolve("f"));
    }

    @AfterEach
    void close() {
        host.close();
    }

    private static int exec(StringBuilder out, String... cmd) throws Exception {
        return ExtTools.exec(out, cmd);
    }

    private Path mkfs(String type, int block) throws Exception {
        Path img = dir.resolve(type + block + ".img");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", type, "-b", Integer.toString(block), "-d", tree.toString(),
                img.toString(), "16M"), out.toString());
        return img;
    }

    private ExtCheck.Result ours(Path img) throws Exception {
        return ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
    }

    private static int e2fsck(Path img, StringBuilder out) throws Exception {
        return exec(out, "e2fsck", "-fn", img.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024", "ext3:2048", "ext4:1024", "ext4:4096"})
    void cleanImagesAreCleanToBoth(String spec) throws Exception {
        String[] p = spec.split(":");
        Path img = mkfs(p[0], Integer.parseInt(p[1]));
        StringBuilder out = new StringBuilder();
        assertEquals(0, e2fsck(img, out), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.isClean(), r.problems().toString());
        assertTrue(r.directoriesChecked() >= 4 && r.blocksClaimed() > 300, r.toString());
    }

    private void debugfs(Path img, String command) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "debugfs", "-w", "-R", command, img.toString()), out.toString());
    }

    @Test
    void progressRunsInThirdsOfTheInodesInUseAndEndsAtItsTotal() throws Exception {
        Path img = mkfs("ext4", 1024);
        List<long[]> seen = new ArrayList<>();
        ExtCheck.Result r = ExtCheck.check(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                (done, total) -> seen.add(new long[] {done, total}));
        assertTrue(r.isClean(), r.problems().toString());
        long total = seen.get(0)[1];
        assertTrue(total >= 3 && total % 3 == 0, "three passes over the inodes in use: " + total);
        long last = 0;
        for (long[] s : seen) {
            assertEquals(total, s[1]);
            assertTrue(s[0] >= last && s[0] <= total, "never backwards, never past the total: " + s[0] + " after " + last);
            last = s[0];
        }
        assertEquals(total, last);
        assertTrue(seen.stream().anyMatch(s -> s[0] >= total / 3 && s[0] < 2 * total / 3), "the directory walk reports too");
    }

    @Test
    void aWrongLinkCountIsFoundByBoth() throws Exception {
        Path img = mkfs("ext4", 1024);
        debugfs(img, "set_inode_field /d/big links_count 3");
        StringBuilder out = new StringBuilder();
        assertEquals(4, e2fsck(img, out), out.toString());
        assertTrue(out.toString().contains("ref count is 3, should be 1"), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.problems().stream().anyMatch(x -> x.contains("link count 3, but 1 directory entries")), r.problems().toString());
    }

    @Test
    void aBlockFreedInTheBitmapIsFoundByBoth() throws Exception {
        Path img = mkfs("ext4", 1024);
        StringBuilder bmap = new StringBuilder();
        exec(bmap, "debugfs", "-R", "bmap /d/big 5", img.toString());
        String block = bmap.toString().lines().filter(l -> l.matches("\\d+")).findFirst().orElseThrow();
        debugfs(img, "freeb " + block);
        StringBuilder out = new StringBuilder();
        assertEquals(4, e2fsck(img, out), out.toString());
        assertTrue(out.toString().contains("Block bitmap differences"), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.problems().stream().anyMatch(x -> x.startsWith("block " + block + " ") && x.contains("free in the block bitmap")),
                r.problems().toString());
    }

    @Test
    void aBlockMarkedInUseThatNothingUsesIsALeakToBoth() throws Exception {
        Path img = mkfs("ext4", 1024);
        StringBuilder dump = new StringBuilder();
        exec(dump, "dumpe2fs", img.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Free blocks: (\\d+)-").matcher(dump);
        assertTrue(m.find(), dump.toString());
        String free = m.group(1);
        debugfs(img, "setb " + free);
        StringBuilder out = new StringBuilder();
        assertEquals(4, e2fsck(img, out), out.toString());
        assertTrue(out.toString().contains("-" + free), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.problems().stream().anyMatch(x -> x.equals("block " + free + " is marked in use in group 0 but nothing uses it (leaked)")),
                r.problems().toString());
    }

    @Test
    void anEntryRemovedWithoutItsInodeLeavesItUnattached() throws Exception {
        Path img = mkfs("ext4", 1024);
        debugfs(img, "unlink /d/big");
        StringBuilder out = new StringBuilder();
        assertEquals(4, e2fsck(img, out), out.toString());
        assertTrue(out.toString().contains("Unattached inode"), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.problems().stream().anyMatch(x -> x.contains("no directory names it")), r.problems().toString());
    }

    @Test
    void aBadInodeChecksumIsReportedByInodeAndTheRestIsStillChecked() throws Exception {
        Path img = mkfs("ext4", 1024);
        debugfs(img, "sif /f checksum 0x1234");
        StringBuilder out = new StringBuilder();
        assertEquals(4, e2fsck(img, out), out.toString());
        assertTrue(out.toString().contains("checksum does not match inode"), out.toString());
        ExtCheck.Result r = ours(img);
        assertTrue(r.problems().stream().anyMatch(x -> x.contains(": checksum 0x00001234, expected")), r.problems().toString());
        assertTrue(r.directoriesChecked() >= 4, "the walk went on past the damaged inode: " + r);
    }
}
