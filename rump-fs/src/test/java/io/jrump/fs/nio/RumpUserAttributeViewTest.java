package io.jrump.fs.nio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link UserDefinedFileAttributeView} on an ext4 image: user.* attributes as the JDK names them, checked by debugfs. */
class RumpUserAttributeViewTest {
    @TempDir
    Path tmp;

    @Test
    void userAttributesAreWrittenReadListedAndDeleted() throws Exception {
        Path img = Images.ext4(tmp.resolve("disk.img"), null);
        byte[] big = new byte[3000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 7);
        }
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            Path f = Files.writeString(fs.getPath("/f"), "data");
            assertTrue(Files.getFileStore(f).supportsFileAttributeView(UserDefinedFileAttributeView.class));
            UserDefinedFileAttributeView v = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
            assertEquals("user", v.name());
            assertEquals(5, v.write("mime", StandardCharsets.UTF_8.encode("text!")));
            v.write("big", ByteBuffer.wrap(big));
            v.write("gone", ByteBuffer.wrap(new byte[] {1}));
            v.delete("gone");
            assertEquals(List.of("mime", "big"), v.list());
            assertEquals(3000, v.size("big"));
            ByteBuffer b = ByteBuffer.allocate(3000);
            assertEquals(3000, v.read("big", b));
            assertArrayEquals(big, b.array());
            assertThrows(FileSystemException.class, () -> v.read("big", ByteBuffer.allocate(10)));
            assertThrows(FileSystemException.class, () -> v.size("gone"));
        }
        Images.assertClean(img);
        String list = Images.run("debugfs", "-R", "ea_list f", img.toString());
        assertTrue(list.contains("user.mime (5) = \"text!\""), list);
        assertTrue(list.contains("user.big (3000)"), list);
    }
}
