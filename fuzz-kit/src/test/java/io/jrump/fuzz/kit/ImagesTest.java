package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ImagesTest {
    private static final int SIZE = 256 * 1024;

    @ParameterizedTest
    @EnumSource(Images.Kind.class)
    void aPopulatedImageMountsAndHoldsTheFiles(Images.Kind kind) throws Exception {
        int size = kind == Images.Kind.EXFAT ? Images.MIN_EXFAT_SIZE : SIZE;
        byte[] image = Images.populated(kind, size);
        try (FuzzWorld w = FuzzWorld.ofDisk(image, size)) {
            Vfs vfs = new Vfs(() -> 0L);
            String type = kind == Images.Kind.FAT ? "vfat" : kind == Images.Kind.EXFAT ? "exfat" : "ext4";
            vfs.mount("/", type, w.disk(), FileSystemType.Options.of(true, () -> 0L));
            for (Map.Entry<String, String> f : Images.FILES.entrySet()) {
                int fd = vfs.open(f.getKey(), OpenFlags.O_RDONLY, 0);
                ByteBuffer buf = ByteBuffer.allocate(8192);
                vfs.read(fd, buf);
                vfs.close(fd);
                assertEquals(f.getValue(), new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8), f.getKey());
            }
            vfs.close();
            if (kind == Images.Kind.EXT2 || kind == Images.Kind.EXT4) {
                Invariants.extClean(w.disk());
            }
        }
    }

    @Test
    void imagesAreTheSameBytesEveryTimeAndCopies() throws Exception {
        byte[] a = Images.populated(Images.Kind.EXT4, SIZE);
        byte[] b = Images.populated(Images.Kind.EXT4, SIZE);
        assertNotSame(a, b);
        assertArrayEquals(a, b);
        a[1024] ^= 1;
        assertArrayEquals(b, Images.populated(Images.Kind.EXT4, SIZE), "a caller's change does not reach the cache");
        assertEquals(SIZE, Images.empty(Images.Kind.FAT, SIZE).length);
    }
}
