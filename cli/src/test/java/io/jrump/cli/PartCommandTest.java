package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump part} end to end on an image file, checked by sgdisk. */
class PartCommandTest {
    @TempDir
    Path dir;

    private static String[] run(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Rump.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(expectedExit, code, String.join(" ", args) + "\n" + out + err);
        return new String[] {out.toString(), err.toString()};
    }

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
        run(0, "part", "create", img.toString(), "--table", "gpt");
        run(0, "part", "add", img.toString(), "--size", "32M", "--type", "efi", "--name", "ESP");
        run(0, "part", "add", img.toString(), "--size", "64M", "--name", "root");
        String list = run(0, "part", "list", img.toString())[0];
        assertTrue(list.contains("'ESP'") && list.contains("'root'") && list.contains("64.0M"), list);
        run(0, "part", "delete", img.toString(), "1");
        String after = run(0, "part", "list", img.toString())[0];
        assertTrue(!after.contains("'ESP'") && after.contains("'root'"), after);
        assertTrue(sgdisk("sgdisk", "-v", img.toString()).contains("No problems found"));
    }

    @Test
    void errorsAreOneLineWithTheErrno() throws Exception {
        Path img = dir.resolve("small.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        String noTable = run(1, "part", "list", img.toString())[1];
        assertTrue(noTable.startsWith("rump: ") && noTable.contains("(ENOENT)"), noTable);
        run(0, "part", "create", img.toString(), "--table", "mbr");
        String full = run(1, "part", "add", img.toString(), "--size", "1G")[1];
        assertTrue(full.contains("(ENOSPC)") && full.strip().split("\n").length == 1, full);
        run(2, "part", "create", img.toString(), "--table", "zfs");
    }
}
