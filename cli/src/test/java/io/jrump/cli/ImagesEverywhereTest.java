package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every image format goes everywhere images go: a GPT disk with a FAT partition made by sfdisk,
 * mkfs.fat and mcopy, converted by qemu-img into the format (qcow2, VHD, VDI, VHDX, VMDK), is listed by {@code rump image
 * info}, copied from and into by {@code rump fs cp} through {@code IMG:1:/path}, and read through the
 * nio provider; converted back to raw by qemu-img, mtype reads what {@code rump fs cp} wrote.
 */
class ImagesEverywhereTest {
    @TempDir
    Path dir;

    private static String sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-ec", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), script + ":\n" + out);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qcow2", "vpc", "vdi", "vhdx", "vmdk"})
    void aPartitionedDiskInTheFormat(String qemuFormat) throws Exception {
        Path img = dir.resolve("disk." + qemuFormat);
        Files.writeString(dir.resolve("hello.txt"), "hello from mcopy\n");
        sh("cd '" + dir + "'; truncate -s 40M disk.raw; printf 'label: gpt\\nstart=2048, size=61440, type=L\\n' | sfdisk -q disk.raw;"
                + " mkfs.fat -n EVERY --offset 2048 disk.raw 30720 >/dev/null; mcopy -i disk.raw@@1M hello.txt ::/hello.txt;"
                + " qemu-img convert -f raw -O " + qemuFormat + " disk.raw '" + img.getFileName() + "'");
        String info = RumpRun.expect(0, "image", "info", img.toString()).out();
        assertTrue(info.contains("partition table: gpt, 1 partitions") && info.contains("label 'EVERY'"), info);
        Path copied = dir.resolve("copied.txt");
        RumpRun.expect(0, "fs", "cp", img + ":1:/hello.txt", copied.toString());
        assertEquals("hello from mcopy\n", Files.readString(copied));

        Path local = dir.resolve("note.txt");
        Files.writeString(local, "written by rump into " + qemuFormat + "\n");
        RumpRun.expect(0, "fs", "cp", local.toString(), img + ":1:/NOTE.TXT");
        assertTrue(RumpRun.expect(0, "fs", "ls", img + ":1:/").out().contains("NOTE.TXT"));

        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of("partition", "1", "readOnly", "true"))) {
            assertEquals("hello from mcopy\n", Files.readString(fs.getPath("/hello.txt")));
            assertEquals("written by rump into " + qemuFormat + "\n", Files.readString(fs.getPath("/NOTE.TXT")));
        }
        // The outside readers agree: the format is sound to qemu-img, the filesystem to mtype and fsck.fat.
        sh("cd '" + dir + "'; qemu-img convert -f " + qemuFormat + " -O raw '" + img.getFileName() + "' back.raw;"
                + " [ \"$(mtype -i back.raw@@1M ::/NOTE.TXT)\" = 'written by rump into " + qemuFormat + "' ];"
                + " dd if=back.raw of=part.raw bs=1M skip=1 count=30 status=none; fsck.fat -n part.raw >/dev/null");
        if (!qemuFormat.equals("vpc")) {
            sh("qemu-img check -f " + qemuFormat + " '" + img + "'");
        }
    }
}
