package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump part} end to end on an image file, checked by sgdisk. */
class PartCommandTest {
    @TempDir
    Path dir;

    private static String sgdisk(String... args) throws Exception {
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Test
    void createAddListAndDeleteProduceATableSgdiskAccepts() throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(128L << 20);
        }
        RumpRun.expect(0, "part", "create", img.toString(), "--table", "gpt");
        RumpRun.expect(0, "part", "add", img.toString(), "--size", "32M", "--type", "efi", "--name", "ESP");
        RumpRun.expect(0, "part", "add", img.toString(), "--size", "64M", "--name", "root");
        String list = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(list.contains("'ESP'") && list.contains("'root'") && list.contains("64.0M"), list);
        RumpRun.expect(0, "part", "delete", img.toString(), "1");
        String after = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(!after.contains("'ESP'") && after.contains("'root'"), after);
        assertTrue(sgdisk("sgdisk", "-v", img.toString()).contains("No problems found"));
    }

    @Test
    void errorsAreOneLineWithTheErrno() throws Exception {
        Path img = dir.resolve("small.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        String noTable = RumpRun.expect(1, "part", "list", img.toString()).err();
        assertTrue(noTable.startsWith("rump: ") && noTable.contains("(ENOENT)"), noTable);
        RumpRun.expect(0, "part", "create", img.toString(), "--table", "mbr");
        String full = RumpRun.expect(1, "part", "add", img.toString(), "--size", "1G").err();
        assertTrue(full.contains("(ENOSPC)") && full.strip().split("\n").length == 1, full);
        RumpRun.expect(2, "part", "create", img.toString(), "--table", "zfs");
    }
}
