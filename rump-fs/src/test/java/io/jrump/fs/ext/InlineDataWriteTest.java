package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.debugfsCat;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.NOW;
import static io.jrump.fs.ext.ExtWriteTest.base;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.parent;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.resolve;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.kernel.sys.Attributes;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * inline_data written: small files and new directories kept in the inode as ext4 keeps them
 * (i_block, then the system.data attribute), files moved to blocks when they outgrow it,
 * directories turned into a block when full; after random sequences through the VFS
 * {@code e2fsck -fn} is clean, our own check agrees, {@code debugfs} reads every file as
 * written, and — as root — the kernel's ext4 (loop, read-only) reads the same tree.
 */
class InlineDataWriteTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-inline");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE), ExtFs.MountOptions.readWrite(() -> NOW));
    }

    private static String stat(Path img, String path) throws Exception {
        return run("debugfs", "-R", "stat " + path, img.toString());
    }

    private static boolean inline(Path img, String path) throws Exception {
        return stat(img, path).contains("Flags: 0x10000000");
    }

    @Test
    void smallFilesAndNewDirectoriesGoInlineAndMoveOutWhenTheyGrow() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 1024, "8M", "-O", "inline_data", "-I", "256");
        byte[] grown = ExtWriteTest.random(3000, 5);
        try (ExtVfs fs = mount(img)) {
            writeFile(fs, "/small", ExtWriteTest.random(40, 1));
            writeFile(fs, "/mid", ExtWriteTest.random(128, 2)); // 60 in i_block, 68 in system.data: all a 256-byte inode has
            writeFile(fs, "/big", ExtWriteTest.random(129, 3));
            long g = writeFile(fs, "/grows", ExtWriteTest.random(100, 4));
            fs.write(g, 0, ByteBuffer.wrap(grown));
            long t = writeFile(fs, "/cut", ExtWriteTest.random(120, 6));
            fs.truncate(t, 10);
            long e = writeFile(fs, "/extended", ExtWriteTest.random(50, 7));
            fs.truncate(e, 90); // as the kernel: an inline file grown by truncate moves to blocks
            fs.create(fs.rootInode(), "empty", Attributes.S_IFREG | 0644, 0, 0, 0);
            mkdir(fs, "/d");
            mkdir(fs, "/full");
            for (int i = 0; i < 30; i++) {
                writeFile(fs, "/full/entry-" + i, new byte[] {(byte) i});
            }
        }
        assertClean(img);
        assertTrue(inline(img, "/small"));
        assertTrue(inline(img, "/mid"));
        assertTrue(stat(img, "/mid").contains("system.data (68)"), stat(img, "/mid"));
        assertTrue(!inline(img, "/big") && stat(img, "/big").contains("Flags: 0x80000"), stat(img, "/big"));
        assertTrue(!inline(img, "/grows") && !inline(img, "/extended"));
        assertTrue(inline(img, "/cut") && stat(img, "/cut").contains("system.data (0)"), stat(img, "/cut"));
        assertTrue(stat(img, "/empty").contains("Flags: 0x80000"), "an empty new file keeps its extents, as ext4");
        assertTrue(inline(img, "/d") && stat(img, "/d").contains("Size: 60"), stat(img, "/d"));
        assertTrue(!inline(img, "/full") && stat(img, "/full").contains("Size: 1024"), stat(img, "/full"));
        assertArrayEquals(grown, cat(img, "/grows", grown.length));
        assertEquals(90, cat(img, "/extended", 90).length);
        assertArrayEquals(java.util.Arrays.copyOf(ExtWriteTest.random(120, 6), 10), cat(img, "/cut", 10));
        for (int i = 0; i < 30; i++) {
            assertArrayEquals(new byte[] {(byte) i}, cat(img, "/full/entry-" + i, 1));
        }
    }

    @Test
    void aFileMadeInlineByTheToolsIsChangedInPlace() throws Exception {
        Path img = dir.resolve("x.img");
        mke2fs(img, "ext4", 4096, "8M", "-O", "inline_data");
        Path data = dir.resolve("data");
        Files.write(data, ExtWriteTest.random(100, 9));
        run("debugfs", "-w", "-R", "write " + data + " f", img.toString());
        byte[] want = ExtWriteTest.random(100, 9);
        try (ExtVfs fs = mount(img)) {
            long f = resolve(fs, "/f");
            fs.write(f, 20, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            want[20] = 1;
            want[21] = 2;
            want[22] = 3;
            fs.setxattr(f, "user.x", "y".getBytes(), 0);
        }
        assertClean(img);
        assertTrue(inline(img, "/f"));
        assertArrayEquals(want, cat(img, "/f", 100));
    }

    /**
     * Case: {@code BLOCK INODE-SIZE MORE-FEATURES}. mke2fs refuses inline_data with 128-byte
     * inodes; that case sets the feature afterwards with debugfs, and nothing may then go inline.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 256 metadata_csum", "1024 256 ^metadata_csum", "4096 512 metadata_csum",
        "1024 512 ^metadata_csum", "2048 1024 metadata_csum", "1024 256 ^extent,^64bit", "4096 128 metadata_csum"})
    void randomChangesStayCleanAndReadBackEverywhere(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("r.img");
        if (p[1].equals("128")) {
            // mke2fs refuses inline_data with 128-byte inodes; the feature set afterwards leaves no room inline.
            StringBuilder out = new StringBuilder();
            assertEquals(1, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "128", "-O", "inline_data", img.toString(), "8M"));
            mke2fs(img, "ext4", Integer.parseInt(p[0]), "16M", "-I", "128", "-O", p[2]);
            run("debugfs", "-w", "-R", "feature inline_data", img.toString());
        } else {
            mke2fs(img, "ext4", Integer.parseInt(p[0]), "16M", "-I", p[1], "-O", "inline_data," + p[2]);
        }
        Random r = new Random(spec.hashCode());
        Map<String, byte[]> files = new TreeMap<>();
        TreeSet<String> dirs = new TreeSet<>(List.of("", "/a", "/b", "/a/c"));
        try (ExtVfs fs = mount(img)) {
            mkdir(fs, "/a");
            mkdir(fs, "/b");
            mkdir(fs, "/a/c");
            for (int i = 0; i < 400; i++) {
                List<String> ds = new ArrayList<>(dirs);
                // Mostly /a, so that at least one directory outgrows the largest inode.
                String d = r.nextInt(3) > 0 && dirs.contains("/a") ? "/a" : ds.get(r.nextInt(ds.size()));
                List<String> fl = new ArrayList<>(files.keySet());
                String f = fl.isEmpty() ? null : fl.get(r.nextInt(fl.size()));
                int op = r.nextInt(13);
                if (op < 3 || f == null) {
                    String name = d + "/" + "f".repeat(1 + r.nextInt(40)) + i;
                    byte[] data = ExtWriteTest.random(r.nextInt(8) == 0 ? r.nextInt(5000) : r.nextInt(200), i);
                    writeFile(fs, name, data);
                    files.put(name, data);
                } else if (op == 3) { // append
                    byte[] old = files.get(f);
                    byte[] more = ExtWriteTest.random(r.nextInt(r.nextBoolean() ? 40 : 600), i);
                    fs.write(resolve(fs, f), old.length, ByteBuffer.wrap(more));
                    byte[] now = java.util.Arrays.copyOf(old, old.length + more.length);
                    System.arraycopy(more, 0, now, old.length, more.length);
                    files.put(f, now);
                } else if (op == 4) { // overwrite somewhere, maybe past the end
                    byte[] old = files.get(f);
                    int pos = r.nextInt(old.length + 50);
                    byte[] more = ExtWriteTest.random(1 + r.nextInt(60), i);
                    fs.write(resolve(fs, f), pos, ByteBuffer.wrap(more));
                    byte[] now = java.util.Arrays.copyOf(old, Math.max(old.length, pos + more.length));
                    System.arraycopy(more, 0, now, pos, more.length);
                    files.put(f, now);
                } else if (op == 5) { // truncate, mostly shorter
                    byte[] old = files.get(f);
                    int size = r.nextInt(4) == 0 ? old.length + r.nextInt(100) : r.nextInt(old.length + 1);
                    fs.truncate(resolve(fs, f), size);
                    files.put(f, java.util.Arrays.copyOf(old, size));
                } else if (op == 6) {
                    fs.unlink(parent(fs, f), base(f), false);
                    files.remove(f);
                } else if (op == 7) {
                    String name = d + "/d" + "x".repeat(r.nextInt(12)) + i;
                    mkdir(fs, name);
                    dirs.add(name);
                } else if (op == 8) { // rmdir an empty directory
                    for (String e : ds) {
                        if (!e.isEmpty() && isEmpty(e, files, dirs)) {
                            fs.rmdir(parent(fs, e), base(e), false);
                            dirs.remove(e);
                            break;
                        }
                    }
                } else if (op == 9) { // rename a file into another directory, maybe over another file
                    String to = fl.size() > 1 && r.nextBoolean() ? fl.get(r.nextInt(fl.size())) : d + "/m" + i;
                    if (!to.equals(f)) {
                        fs.rename(parent(fs, f), base(f), parent(fs, to), base(to), x -> false);
                        files.put(to, files.remove(f));
                    }
                } else if (op == 10 && ds.size() > 2) { // move an empty directory elsewhere
                    for (String e : ds) {
                        if (!e.isEmpty() && isEmpty(e, files, dirs) && !d.startsWith(e)) {
                            String to = d + "/moved" + i;
                            fs.rename(parent(fs, e), base(e), parent(fs, to), base(to), x -> false);
                            dirs.remove(e);
                            dirs.add(to);
                            break;
                        }
                    }
                } else if (op == 11) { // an attribute takes room beside system.data
                    String target = r.nextBoolean() ? f : d.isEmpty() ? "/" : d;
                    byte[] v = ExtWriteTest.random(r.nextInt(48), i);
                    fs.setxattr(resolve(fs, target), "user.k" + r.nextInt(3), v, 0);
                } else {
                    assertArrayEquals(files.get(f), readFile(fs, f), f);
                }
            }
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                assertArrayEquals(e.getValue(), readFile(fs, e.getKey()), e.getKey());
            }
        }
        assertClean(img);
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            assertEquals(List.of(), ExtCheck.check(fs.ext()).problems());
            int[] inline = new int[4]; // files inline, files in blocks, directories inline, directories in blocks
            for (String f : files.keySet()) {
                inline[fs.ext().inode(resolve(fs, f)).hasInlineData() ? 0 : 1]++;
            }
            for (String d : dirs) {
                if (!d.isEmpty()) {
                    inline[fs.ext().inode(resolve(fs, d)).hasInlineData() ? 2 : 3]++;
                }
            }
            if (p[1].equals("128")) {
                assertTrue(inline[0] == 0 && inline[2] == 0, "no room inline in 128-byte inodes");
            } else {
                assertTrue(inline[0] > 0 && inline[1] > 0 && inline[2] > 0 && inline[3] > 0,
                        "inline and block files and directories: " + java.util.Arrays.toString(inline));
            }
        }
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            assertArrayEquals(e.getValue(), cat(img, e.getKey(), e.getValue().length), "debugfs cat " + e.getKey());
        }
        if (!System.getProperty("user.name").equals("root")) {
            return; // ./run-tests runs as root: the kernel's read below
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        run("mount", "-o", "loop,ro", img.toString(), mnt.toString());
        try {
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(mnt.resolve(e.getKey().substring(1))), "kernel " + e.getKey());
            }
            TreeSet<String> seen = new TreeSet<>();
            try (Stream<Path> all = Files.walk(mnt)) {
                seen.addAll(all.map(x -> "/" + mnt.relativize(x).toString()).filter(x -> !x.equals("/") && !x.equals("/lost+found"))
                        .collect(Collectors.toList()));
            }
            TreeSet<String> want = new TreeSet<>(files.keySet());
            dirs.stream().filter(x -> !x.isEmpty()).forEach(want::add);
            assertEquals(want, seen, "the kernel lists the tree we made");
        } finally {
            run("umount", mnt.toString());
        }
    }

    /**
     * Inline inodes passed between the kernel's ext4 and us: the kernel (loop, read-write) makes
     * inline files and directories, we extend, convert and add names to them and make our own;
     * the kernel then adds names to our inline directories and appends to our inline file, and we
     * read what it wrote. e2fsck -fn is clean after each side. (The kernel adds names inside our
     * system.data without rehashing it: its hash must be 0, as the kernel writes it.)
     */
    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (mount -o loop)")
    void theKernelAndWeShareInlineInodes() throws Exception {
        Path img = dir.resolve("k.img");
        mke2fs(img, "ext4", 1024, "16M", "-O", "inline_data", "-I", "256");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        byte[] small = ExtWriteTest.random(30, 1);
        byte[] mid = ExtWriteTest.random(100, 2);
        run("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            Files.createDirectories(mnt.resolve("k"));
            Files.createDirectories(mnt.resolve("kd"));
            for (int i = 0; i < 5; i++) {
                Files.write(mnt.resolve("k/kernel-" + i), new byte[] {(byte) i});
            }
            Files.write(mnt.resolve("k/small"), small);
            Files.write(mnt.resolve("k/mid"), mid);
        } finally {
            run("umount", mnt.toString());
        }
        assertTrue(inline(img, "/k") && stat(img, "/k").contains("Size: 128"), stat(img, "/k"));
        assertTrue(inline(img, "/k/small") && inline(img, "/k/mid"));
        byte[] tail = ExtWriteTest.random(60, 3);
        byte[] smallNow = concat(small, tail);
        byte[] midNow = concat(mid, ExtWriteTest.random(500, 4));
        try (ExtVfs fs = mount(img)) {
            fs.write(resolve(fs, "/k/small"), small.length, ByteBuffer.wrap(tail));
            fs.write(resolve(fs, "/k/mid"), mid.length, ByteBuffer.wrap(midNow, mid.length, 500));
            fs.unlink(resolve(fs, "/k"), "kernel-2", false);
            writeFile(fs, "/kd/ours", new byte[] {7});
            mkdir(fs, "/ours");
            writeFile(fs, "/ours/f", ExtWriteTest.random(50, 5));
            for (int i = 0; i < 3; i++) {
                writeFile(fs, "/ours/name-" + i, new byte[] {(byte) i});
            }
            for (int i = 0; i < 20; i++) {
                writeFile(fs, "/k/ours-" + i, new byte[] {(byte) i});
            }
        }
        assertClean(img);
        assertTrue(inline(img, "/k/small") && !inline(img, "/k/mid") && !inline(img, "/k"));
        assertTrue(inline(img, "/kd") && inline(img, "/ours") && inline(img, "/ours/f"));
        byte[] fNow = concat(ExtWriteTest.random(50, 5), new byte[] {1, 2, 3});
        run("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            assertArrayEquals(smallNow, Files.readAllBytes(mnt.resolve("k/small")));
            assertArrayEquals(midNow, Files.readAllBytes(mnt.resolve("k/mid")));
            assertEquals(new TreeSet<>(List.of("name-0", "name-1", "name-2", "f")), list(mnt.resolve("ours")));
            Files.write(mnt.resolve("ours/f"), new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
            Files.delete(mnt.resolve("ours/name-1"));
            for (int i = 0; i < 4; i++) {
                Files.write(mnt.resolve("ours/kernel-" + i), new byte[] {(byte) i});
                Files.write(mnt.resolve("kd/kernel-" + i), new byte[] {(byte) i});
            }
        } finally {
            run("umount", mnt.toString());
        }
        assertClean(img);
        try (ExtVfs fs = mount(img)) {
            assertArrayEquals(fNow, readFile(fs, "/ours/f"));
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(new byte[] {(byte) i}, readFile(fs, "/ours/kernel-" + i));
                assertArrayEquals(new byte[] {(byte) i}, readFile(fs, "/kd/kernel-" + i));
            }
            assertArrayEquals(new byte[] {3}, readFile(fs, "/k/kernel-3"));
            assertArrayEquals(midNow, readFile(fs, "/k/mid"));
            fs.unlink(resolve(fs, "/ours"), "kernel-0", false);
            fs.rename(resolve(fs, "/kd"), "kernel-1", resolve(fs, "/ours"), "moved", x -> false);
        }
        assertClean(img);
        run("mount", "-o", "loop,ro", img.toString(), mnt.toString());
        try {
            assertEquals(new TreeSet<>(List.of("name-0", "name-2", "f", "kernel-1", "kernel-2", "kernel-3", "moved")),
                    list(mnt.resolve("ours")));
            assertArrayEquals(new byte[] {1}, Files.readAllBytes(mnt.resolve("ours/moved")));
        } finally {
            run("umount", mnt.toString());
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static TreeSet<String> list(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /**
     * Our checker against e2fsck on inline inodes that mke2fs made, damaged (or not) with
     * {@code debugfs -w}: the same verdict, clean or damaged, from both. /f is 7 bytes, /mid 100
     * (40 in system.data), /d an inline directory in i_block, /e one that reaches into
     * system.data, /big a block directory. Case: {@code debugfs command; ...}, or {@code -} for none.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-", "ea_rm /f system.data", "ea_rm /e system.data", "sif /f size 500", "sif /mid size 61",
        "sif /d size 100", "sif /e size 60", "sif /f flags 0x10080000", "sif /d flags 0x80000", "sif /d block[0] 5",
        "sif /d block[2] 0x00030003", "sif /big flags 0x10000000", "sif /f blocks 2"})
    void ourCheckOfInlineInodesIsE2fscks(String commands) throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.writeString(tree.resolve("f"), "a file\n");
        Files.write(tree.resolve("mid"), ExtWriteTest.random(100, 1));
        Files.createDirectories(tree.resolve("d"));
        Files.writeString(tree.resolve("d/x"), "x");
        Files.createDirectories(tree.resolve("e"));
        Files.createDirectories(tree.resolve("big"));
        Files.writeString(tree.resolve("e/name-0"), "e");
        for (int i = 0; i < 40; i++) {
            Files.writeString(tree.resolve("big/n" + i), "n");
        }
        Path img = dir.resolve("c.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-O", "inline_data", "-d", tree.toString(), img.toString(), "8M");
        try (ExtVfs fs = mount(img)) { // /e reaches into system.data through our writer
            for (int i = 1; i < 6; i++) {
                writeFile(fs, "/e/name-" + i, new byte[] {'e'});
            }
        }
        assertTrue(inline(img, "/e") && stat(img, "/e").contains("Size: 128"), stat(img, "/e"));
        for (String c : commands.split(";")) {
            if (!c.equals("-")) {
                run("debugfs", "-w", "-R", c.trim(), img.toString());
            }
        }
        StringBuilder e2fsck = new StringBuilder();
        boolean e2fsckClean = exec(e2fsck, "e2fsck", "-fn", img.toString()) == 0;
        String ours;
        boolean oursClean;
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            ExtCheck.Result r = ExtCheck.check(ExtFs.open(disk));
            oursClean = r.isClean();
            ours = r.problems().toString();
        } catch (io.jrump.hypercall.ErrnoException e) {
            assertEquals(io.jrump.hypercall.Errno.EUCLEAN, e.errno(), e.getMessage());
            oursClean = false;
            ours = "open refused: " + e.getMessage();
        }
        assertEquals(e2fsckClean, oursClean, "e2fsck -fn says " + (e2fsckClean ? "clean" : "damaged") + ":\n" + e2fsck
                + "\nours: " + ours);
    }

    /**
     * A file as {@code debugfs cat} prints it, cut to {@code size}: for an inline file of fewer
     * than 60 bytes debugfs prints all 60 bytes of i_block (it does so for the kernel's files
     * too), which must then be zeros past the end.
     */
    private static byte[] cat(Path img, String path, int size) throws Exception {
        byte[] out = debugfsCat(img, path);
        if (size < InlineData.IBLOCK && out.length == InlineData.IBLOCK) {
            for (int i = size; i < out.length; i++) {
                assertEquals(0, out[i], path + ": byte " + i + " of i_block past the end of the file");
            }
            return java.util.Arrays.copyOf(out, size);
        }
        return out;
    }

    private static boolean isEmpty(String d, Map<String, byte[]> files, TreeSet<String> dirs) {
        String prefix = d + "/";
        return files.keySet().stream().noneMatch(x -> x.startsWith(prefix)) && dirs.stream().noneMatch(x -> x.startsWith(prefix));
    }
}
