package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.debugfsCat;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * meta_bg filesystems of several meta groups (so that descriptor blocks lie in the first, second
 * and last group of each meta group, not after the superblock): mke2fs -d's files read identical,
 * directories spread over the groups by our allocator change descriptors in every meta group,
 * and e2fsck -fn, our checker and debugfs agree with the result.
 * Case: {@code BLOCK [mke2fs options...]}, all on a 600 MiB sparse image.
 */
class MetaBgTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-metabg");

    @AfterEach
    void close() {
        host.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "1024 -O meta_bg,^resize_inode",
        "1024 -O meta_bg,^resize_inode,^64bit",
        "1024 -O meta_bg,^resize_inode,^flex_bg",
        "1024 -O meta_bg,^resize_inode,^64bit,^flex_bg,^metadata_csum",
        "4096 -g 1024 -O meta_bg,^resize_inode",
        "4096 -g 512 -O meta_bg,^resize_inode,^64bit,^flex_bg",
    })
    void descriptorsReadAndWrittenInEveryMetaGroup(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path tree = Files.createDirectories(dir.resolve("tree/a"));
        byte[] big = random(3_000_000, 1);
        Files.write(tree.resolve("big"), big);
        Files.writeString(tree.resolve("small"), "meta");
        Path img = dir.resolve("m.img");
        List<String> mkfs = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-b", p[0], "-d",
                dir.resolve("tree").toString()));
        mkfs.addAll(List.of(p).subList(1, p.length));
        mkfs.addAll(List.of(img.toString(), "600M"));
        run(mkfs.toArray(String[]::new));

        long metaGroups;
        long perMeta;
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            Superblock sb = fs.ext().superblock();
            assertTrue(sb.hasMetaBg(), spec);
            perMeta = GdtLayout.descPerBlock(sb);
            metaGroups = GdtLayout.descBlocks(sb);
            assertTrue(metaGroups >= 3, spec + ": only " + metaGroups + " meta groups");
            assertArrayEquals(big, readFile(fs, "/a/big"));
            assertArrayEquals("meta".getBytes(), readFile(fs, "/a/small"));
            // New directories go to the group with most free blocks: they spread over every meta group.
            for (int i = 0; i < 3 * (int) sb.groupCount(); i++) {
                mkdir(fs, "/d" + i);
                writeFile(fs, "/d" + i + "/f", random(3000 + i, i));
            }
            fs.unlink(ExtWriteTest.resolve(fs, "/a"), "big", false);
        }
        assertClean(img);
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            ExtFs ext = fs.ext();
            long lastMeta = (metaGroups - 1) * perMeta;
            long dirsThere = 0;
            for (long g = lastMeta; g < ext.superblock().groupCount(); g++) {
                dirsThere += ext.groupCount(g, GroupDescriptors.USED_DIRS);
            }
            assertTrue(dirsThere > 0, spec + ": no directory in the last meta group (groups " + lastMeta + "-)");
            ExtCheck.Result check = ExtCheck.check(ext);
            assertTrue(check.isClean(), spec + ": " + check.problems());
        }
        assertArrayEquals(random(3000 + 7, 7), debugfsCat(img, "/d7/f"));
        assertEquals("", debugfsCat(img, "/a/big").length == 0 ? "" : "big still there");
    }
}
