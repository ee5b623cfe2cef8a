package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * orphan_file: the kernel's ext4 lists files unlinked while open in the orphan file and sets
 * orphan_present; an image taken then (fsfreeze, copy) is what a crash leaves. Our read-write
 * mount frees those inodes, empties the orphan file's blocks (their checksums kept) and clears
 * orphan_present, after which {@code e2fsck -fn} is clean and the kernel mounts it.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount -o loop, fsfreeze); ./run-tests, as root, runs it")
class OrphanFileTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-orphan-file");

    @AfterEach
    void close() {
        host.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024", "4096", "1024 -O ^metadata_csum", "4096 -O ^extent,^64bit"})
    void orphansTheKernelLeftInTheOrphanFileAreFreedOnMount(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("o.img");
        String[] extra = new String[p.length + 1];
        extra[0] = "-O";
        extra[1] = "orphan_file";
        System.arraycopy(p, 1, extra, 2, p.length - 1);
        mke2fs(img, "ext4", Integer.parseInt(p[0]), "32M", extra);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path crashed = dir.resolve("crashed.img");
        byte[] kept = ExtWriteTest.random(70_000, 1);
        EaInodeTest.loop(img, mnt, "loop");
        try {
            Files.write(mnt.resolve("kept"), kept);
            try (FileChannel a = FileChannel.open(mnt.resolve("a"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 FileChannel b = FileChannel.open(mnt.resolve("b"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                a.write(ByteBuffer.wrap(ExtWriteTest.random(300_000, 2)));
                b.write(ByteBuffer.wrap(ExtWriteTest.random(5000, 3)));
                a.force(true);
                b.force(true);
                Files.delete(mnt.resolve("a"));
                Files.delete(mnt.resolve("b"));
                // What a crash now would leave: both inodes in the orphan file, orphan_present set.
                run("fsfreeze", "-f", mnt.toString());
                try {
                    Files.copy(img, crashed, StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    run("fsfreeze", "-u", mnt.toString());
                }
            }
        } finally {
            EaInodeTest.umount(mnt);
        }
        assertTrue(features(crashed).contains("orphan_present"), features(crashed));
        StringBuilder out = new StringBuilder();
        assertNotEquals(0, exec(out, "e2fsck", "-fn", crashed.toString()), "the crashed image has orphans: " + out);

        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, crashed.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertFalse(fs.isReadOnly(), "orphan_present mounts read-write");
            assertArrayEquals(kept, ExtWriteTest.readFile(fs, "/kept"));
            ExtWriteTest.writeFile(fs, "/after", ExtWriteTest.random(9000, 4));
        }
        assertClean(crashed);
        assertFalse(features(crashed).contains("orphan_present"), features(crashed));
        try (HostDisk disk = HostDisk.open(host, crashed.toString(), OpenMode.READ_ONLY)) {
            ExtCheck.Result ours = ExtCheck.check(ExtFs.open(disk));
            assertTrue(ours.isClean(), "rump fs fsck agrees: " + ours.problems());
        }
        // Read-write, the kernel checks the orphan file's blocks (magic, checksums) we rewrote, and uses it.
        EaInodeTest.loop(crashed, mnt, "loop");
        try {
            assertArrayEquals(kept, Files.readAllBytes(mnt.resolve("kept")));
            assertEquals(9000, Files.size(mnt.resolve("after")));
            Files.write(mnt.resolve("kernel"), new byte[3000]);
        } finally {
            EaInodeTest.umount(mnt);
        }
        assertClean(crashed);
    }

    private static String features(Path img) throws Exception {
        return run("dumpe2fs", "-h", img.toString()).lines().filter(l -> l.startsWith("Filesystem features:"))
                .findFirst().orElse("");
    }
}
