package io.jrump.fs.fat;

import static io.jrump.fs.fat.FatTools.assertFsckClean;
import static io.jrump.fs.fat.FatTools.assertSameTree;
import static io.jrump.fs.fat.FatTools.mount;
import static io.jrump.fs.fat.FatTools.run;
import static io.jrump.fs.fat.FatTools.tree;
import static io.jrump.fs.fat.FatTools.writeAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * FAT12, FAT16 and FAT32 against dosfstools, mtools and 7-Zip: images made by {@code mkfs.fat}
 * and filled by {@code mcopy} read back identical; what we write, {@code fsck.fat -n} finds
 * clean and {@code mcopy} and {@code 7zz x} extract identical.
 */
class FatInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("fat-interop");

    @AfterEach
    void close() {
        host.close();
    }

    /** A tree with short, long, Unicode and mixed-case names, empty and multi-cluster files, nesting. */
    private Path sourceTree(int clusterBytes) throws Exception {
        Path src = Files.createDirectories(dir.resolve("src"));
        Random r = new Random(clusterBytes);
        Map<String, Integer> files = new TreeMap<>();
        files.put("README.TXT", 100);
        files.put("readme2.txt", 1);
        files.put("Long File Name With Spaces.text", 5000);
        files.put("ünïcødé-ファイル.dat", 777);
        files.put("MixedCase.Md", 3 * clusterBytes);
        files.put("empty", 0);
        files.put("exact", clusterBytes);
        files.put("a/b/c/deep.bin", 100_000);
        files.put("a/sibling with a name longer than thirteen characters.txt", 40);
        files.put("docs/.hidden", 12);
        files.put("docs/name.with.dots.tar.gz", 2048);
        for (Map.Entry<String, Integer> f : files.entrySet()) {
            Path p = src.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            byte[] b = new byte[f.getValue()];
            r.nextBytes(b);
            Files.write(p, b);
            Files.setLastModifiedTime(p, FileTime.fromMillis(1_700_000_000_000L));
        }
        Files.createDirectories(src.resolve("empty dir"));
        return src;
    }

    private Path mkfsFat(int fat, int kib, int sectorsPerCluster) throws Exception {
        Path img = dir.resolve("fat" + fat + ".img");
        run("mkfs.fat", "-C", "-F", Integer.toString(fat), "-s", Integer.toString(sectorsPerCluster), "-n", "JRUMPTEST",
                img.toString(), Integer.toString(kib));
        return img;
    }

    private static void mcopyIn(Path img, Path src) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mcopy", "-s", "-m", "-i", img.toString()));
        try (var s = Files.list(src)) {
            s.sorted().forEach(p -> cmd.add(p.toString()));
        }
        cmd.add("::");
        run(cmd.toArray(new String[0]));
    }

    @ParameterizedTest(name = "FAT{0}, {1} KiB, {2} sectors per cluster")
    @CsvSource({"12, 4096, 4", "12, 2048, 1", "16, 32768, 4", "16, 65536, 16", "32, 65536, 1", "32, 600000, 8"})
    void readsWhatMcopyWrote(int fat, int kib, int spc) throws Exception {
        Path img = mkfsFat(fat, kib, spc);
        Path src = sourceTree(spc * 512);
        mcopyIn(img, src);
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertSameTree(tree(src), tree(vfs, "/"));
            Attributes a = vfs.stat("/a/b/c/deep.bin");
            assertEquals(1_700_000_000L, a.mtimeNanos() / 1_000_000_000L, "mtime kept by mcopy -m, to two seconds");
            assertEquals(0755, a.permissions(), "files show 0777 less the default umask 022");
            assertTrue(vfs.stat("/a").isDirectory());
            // vfat looks names up without regard to case.
            assertEquals(vfs.stat("/MixedCase.Md").ino(), vfs.stat("/mixedcase.MD").ino());
        }
        assertFsckClean(img);
    }

    @ParameterizedTest(name = "FAT{0}, {1} KiB, {2} sectors per cluster")
    @CsvSource({"12, 4096, 4", "16, 32768, 4", "32, 65536, 1", "32, 600000, 8"})
    void whatWeWriteIsCleanAndMtoolsReadsIt(int fat, int kib, int spc) throws Exception {
        Path img = mkfsFat(fat, kib, spc);
        Path src = sourceTree(spc * 512);
        Map<String, byte[]> want = tree(src);
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            for (Map.Entry<String, byte[]> e : want.entrySet()) {
                if (e.getValue() == null) {
                    vfs.mkdir(e.getKey(), 0755);
                } else {
                    writeAll(vfs, e.getKey(), e.getValue());
                }
            }
            // Rename across directories, delete, shrink and grow: the tree we expect follows.
            vfs.rename("/README.TXT", "/a/b/Moved Readme.txt");
            want.put("/a/b/Moved Readme.txt", want.remove("/README.TXT"));
            vfs.unlink("/readme2.txt");
            want.remove("/readme2.txt");
            vfs.truncate("/MixedCase.Md", 10);
            want.put("/MixedCase.Md", java.util.Arrays.copyOf(want.get("/MixedCase.Md"), 10));
            vfs.truncate("/empty", 3 * spc * 512 + 5);
            want.put("/empty", new byte[3 * spc * 512 + 5]);
            vfs.rename("/docs", "/a/docs renamed");
            for (String k : new ArrayList<>(want.keySet())) {
                if (k.startsWith("/docs")) {
                    want.put("/a/docs renamed" + k.substring(5), want.remove(k));
                }
            }
            // Many files: the directory grows by clusters; the root of FAT12/16 holds 512 entries.
            vfs.mkdir("/many", 0755);
            for (int i = 0; i < 300; i++) {
                byte[] b = ("file " + i).getBytes();
                writeAll(vfs, "/many/file number " + i + ".txt", b);
                want.put("/many/file number " + i + ".txt", b);
            }
            want.put("/many", null);
            assertSameTree(want, tree(vfs, "/"));
        }
        assertFsckClean(img);
        Path out = Files.createDirectories(dir.resolve("out"));
        run("mcopy", "-s", "-n", "-m", "-i", img.toString(), "::*", out.toString());
        try (var s = Files.list(out)) {
            // mcopy "::*" does not copy names starting with a dot at the top; none are there.
            assertTrue(s.count() > 0);
        }
        assertSameTree(want, tree(out));
        // 7-Zip, a third reader of FAT: the same tree.
        Path out7 = dir.resolve("out7");
        run("7zz", "x", "-y", "-o" + out7, img.toString());
        assertSameTree(want, tree(out7));
        // And we read it back after a fresh mount.
        try (Vfs vfs = mount(host, img, true, Map.of())) {
            assertSameTree(want, tree(vfs, "/"));
        }
    }

    @Test
    void caseCollidingNamesAreOneName() throws Exception {
        Path img = mkfsFat(16, 16384, 4);
        try (Vfs vfs = mount(host, img, false, Map.of())) {
            writeAll(vfs, "/Foo.txt", "one".getBytes());
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> vfs.open("/foo.TXT", io.jrump.kernel.sys.OpenFlags.O_CREAT | io.jrump.kernel.sys.OpenFlags.O_EXCL
                            | io.jrump.kernel.sys.OpenFlags.O_WRONLY, 0644));
            assertEquals(Errno.EEXIST, e.errno());
            writeAll(vfs, "/FOO.TXT", "two".getBytes()); // the same file, truncated and written
            assertEquals(1, vfs.readdir("/").stream().filter(d -> d.name().equalsIgnoreCase("foo.txt")).count());
            vfs.rename("/foo.txt", "/FOO.txt"); // a rename by case only
            assertTrue(vfs.readdir("/").stream().anyMatch(d -> d.name().equals("FOO.txt")));
        }
        assertFsckClean(img);
        String listing = run("mdir", "-i", img.toString(), "::");
        // An 8.3 name in one case per part needs no long name: the NT case flags keep "txt" lower.
        assertTrue(listing.contains("FOO      txt"), listing);
        assertEquals("two", run("mtype", "-i", img.toString(), "::FOO.txt"));
    }
}
