package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code rump fs} on an ext4 filesystem made by mke2fs inside partition 1 of a GPT disk that
 * {@code rump part} made: {@code mke2fs -t ext4 -E offset=1048576 -d tree disk.img 16M}.
 */
class FsCommandTest {
    @TempDir
    Path dir;

    private static String run(int expectedExit, String... args) {
        return RumpRun.expect(expectedExit, args).all();
    }

    @Test
    void listCatAndStatInsideAPartition() throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("etc"));
        Files.writeString(tree.resolve("etc/hostname"), "rumphost\n");
        Files.createSymbolicLink(tree.resolve("hn"), Path.of("etc/hostname"));
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        run(0, "part", "create", img.toString(), "--table", "gpt");
        run(0, "part", "add", img.toString(), "--size", "16M", "--name", "root");
        Process p = new ProcessBuilder("mke2fs", "-q", "-F", "-t", "ext4", "-E", "offset=1048576", "-d", tree.toString(),
                img.toString(), "16M").redirectErrorStream(true).start();
        String mk = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), mk);

        String ls = run(0, "fs", "ls", "-l", img + ":1:/");
        assertTrue(ls.contains("hn -> etc/hostname") && ls.contains("etc"), ls);
        assertTrue(run(0, "fs", "ls", "-R", img + ":root:/etc").contains("hostname"));
        assertTrue(run(0, "fs", "stat", img + ":1:/etc/hostname").contains("Size: 9"));

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Rump());
        FsCommand.Cat cat = new FsCommand.Cat();
        cat.sink = bytes;
        CommandLine catLine = new CommandLine(cat);
        catLine.setOut(new PrintWriter(new StringWriter()));
        assertEquals(0, catLine.execute(img + ":1:/hn"));
        assertEquals("rumphost\n", bytes.toString(StandardCharsets.UTF_8));
        assertTrue(cl.getSubcommands().containsKey("fs"));

        assertTrue(run(0, "fs", "fsck", img + ":1").contains("clean"));
        String df = run(0, "fs", "df", img + ":1");
        assertTrue(df.contains("ext4") && df.contains("16384"), df); // 16 MiB in 1K blocks
        assertTrue(run(1, "fs", "cat", img + ":1:/missing").contains("(ENOENT)"));
        run(2, "fs", "ls", img.toString());
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ":\n" + out);
    }

    /**
     * A directory whose last entry's rec_len (at byte 28 of /d's block, 1000) is made 996 with
     * {@code debugfs -w -R 'zap_block -f /d -o 28 -l 1 -p 0xE4 0'}: the next header would start 4
     * bytes before the block's end. {@code ls} and {@code fsck} name the place, as e2fsck does.
     */
    @Test
    void aDirectoryEntryCutOffAtTheEndOfItsBlockIsNamedByLsAndFsck() throws Exception {
        Path img = dir.resolve("cut.img");
        exec("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-O", "^metadata_csum", img.toString(), "8M");
        Path a = dir.resolve("a");
        Files.writeString(a, "abc");
        exec("debugfs", "-w", "-R", "mkdir /d", img.toString());
        exec("debugfs", "-w", "-R", "write " + a + " /d/a", img.toString());
        exec("debugfs", "-w", "-R", "zap_block -f /d -o 28 -l 1 -p 0xE4 0", img.toString());
        String ls = run(1, "fs", "ls", img + ":/d");
        assertTrue(ls.contains("directory inode 12, block 0, offset 1020") && ls.contains("(EUCLEAN)"), ls);
        String fsck = run(4, "fs", "fsck", img.toString());
        assertTrue(fsck.contains("directory inode 12, block 0, offset 1020"), fsck);
    }

    @Test
    void bigallocReadsAndChecksClean() throws Exception {
        Path img = dir.resolve("bigalloc.img");
        exec("mke2fs", "-q", "-F", "-t", "ext4", "-O", "bigalloc", "-C", "16384", img.toString(), "64M");
        assertTrue(run(0, "fs", "ls", img + ":/").contains("lost+found"));
        assertTrue(run(0, "fs", "fsck", img.toString()).contains("clean"));
    }

    @Test
    void fsckChecksAFilesystemWhoseDescriptorChecksumFailsAsE2fsckDoes() throws Exception {
        Path img = dir.resolve("gdcsum.img");
        exec("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", img.toString(), "32M");
        exec("debugfs", "-w", "-R", "set_bg 0 checksum 7", img.toString());
        Process e2fsck = new ProcessBuilder("e2fsck", "-fn", img.toString()).redirectErrorStream(true).start();
        e2fsck.getInputStream().readAllBytes();
        assertEquals(0, e2fsck.waitFor(), "e2fsck -fn reports the checksum and exits 0");
        String out = run(0, "fs", "fsck", img.toString());
        assertTrue(out.contains("note: ") && out.contains("group descriptor 0") && out.contains("clean"), out);
        RumpRun ls = RumpRun.of("fs", "ls", img + ":/");
        assertEquals(1, ls.code(), "mounting it is still refused, as the kernel refuses it: " + ls.all());
    }
}
