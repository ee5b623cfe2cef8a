package io.jrump.fs.iso;

import static io.jrump.fs.iso.IsoTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An ISO image through the {@code rump} nio provider, with no env: {@code
 * FileSystems.newFileSystem(Path.of("x.iso"), Map.of())} recognizes it, {@link Files} reads it,
 * and it reports itself read-only. Fixture: {@code xorriso -as mkisofs -R -J}.
 */
class IsoNioProviderTest {
    @TempDir
    Path dir;

    @Test
    void filesReadsAnIsoImage() throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("d/e"));
        Files.writeString(tree.resolve("hello.txt"), "hello, nio\n");
        byte[] data = new byte[1_000_003];
        new Random(3).nextBytes(data);
        Files.write(tree.resolve("d/e/data.bin"), data);
        Files.createSymbolicLink(tree.resolve("d/link"), Path.of("../hello.txt"));
        Path img = dir.resolve("nio.iso");
        run("xorriso", "-as", "mkisofs", "-R", "-J", "-o", img.toString(), tree.toString());
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            assertTrue(fs.isReadOnly());
            assertEquals("hello, nio\n", Files.readString(fs.getPath("/d/link")));
            assertEquals(Path.of("../hello.txt").toString(), Files.readSymbolicLink(fs.getPath("/d/link")).toString());
            assertArrayEquals(data, Files.readAllBytes(fs.getPath("/d/e/data.bin")));
            List<String> all;
            try (Stream<Path> s = Files.walk(fs.getPath("/"))) {
                all = s.map(Path::toString).sorted().toList();
            }
            assertEquals(List.of("/", "/d", "/d/e", "/d/e/data.bin", "/d/link", "/hello.txt"), all);
            assertEquals(1_000_003L, Files.size(fs.getPath("/d/e/data.bin")));
            assertThrows(Exception.class, () -> Files.writeString(fs.getPath("/new.txt"), "no"));
            assertTrue(Files.getFileStore(fs.getPath("/")).isReadOnly());
        }
    }
}
