package io.jrump.fs.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example of docs/nio-provider.md, on an image made by {@code mke2fs -q -F -t ext4 -b 4096 disk.img 32M}. */
class NioProviderExampleTest {
    @TempDir
    Path tmp;

    @Test
    void theDocumentedExampleRunsAndLeavesACleanImage() throws Exception {
        Path image = Images.ext4(tmp.resolve("disk.img"), null);
        try (FileSystem fs = FileSystems.newFileSystem(image, Map.of("cacheSize", "16M"))) {
            try (Stream<Path> all = Files.walk(fs.getPath("/"))) {
                all.forEach(System.out::println);
            }
            Path motd = fs.getPath("/etc/motd");
            Files.createDirectories(motd.getParent());
            Files.writeString(motd, "written from Java\n");

            PosixFileAttributes a = Files.readAttributes(motd, PosixFileAttributes.class);
            System.out.println(a.size() + " bytes, " + PosixFilePermissions.toString(a.permissions())
                    + ", owner " + a.owner() + ", modified " + a.lastModifiedTime());
            System.out.println("inode " + Files.getAttribute(motd, "unix:ino")
                    + ", links " + Files.getAttribute(motd, "unix:nlink"));
            assertEquals(18, a.size());
            assertEquals("rw-r--r--", PosixFilePermissions.toString(a.permissions()));
        }
        Images.assertClean(image);
    }
}
