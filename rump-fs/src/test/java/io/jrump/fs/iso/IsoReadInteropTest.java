package io.jrump.fs.iso;

import static io.jrump.fs.iso.IsoTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trees put into images by xorriso and genisoimage read back identical through the VFS: names
 * (Rock Ridge, Joliet, plain ISO9660), types, sizes, bytes, modes, owners, link targets, device
 * numbers, mtimes to the second; and our listings agree with isoinfo, 7-Zip and xorriso's own
 * extraction. Fixtures are built in a temporary directory; a missing tool fails the test.
 */
class IsoReadInteropTest {
    private static final String DEEP = "a/b/c/d/e/f/g/h/i/j";
    private static final long MTIME = 1_700_000_123L; // seconds; every source file gets it

    @TempDir
    Path dir;
    private Path tree;
    private final JvmHost host = JvmHost.create("iso-interop");

    @AfterEach
    void close() {
        host.close();
    }

    @BeforeEach
    void tree() throws Exception {
        tree = dir.resolve("tree");
        Random rnd = new Random(16);
        Files.createDirectories(tree.resolve(DEEP));
        Files.writeString(tree.resolve("hello.txt"), "hello, iso\n");
        Files.write(tree.resolve(DEEP + "/deep.bin"), bytes(rnd, 5000));
        Files.write(tree.resolve("big.bin"), bytes(rnd, 3_000_001));
        Files.write(tree.resolve("empty"), new byte[0]);
        Files.writeString(tree.resolve("n".repeat(180) + ".long"), "a long name");
        Files.writeString(tree.resolve("héllo wörld 日本語 ✓.txt"), "unicode");
        Files.createDirectories(tree.resolve("sub dir"));
        Files.writeString(tree.resolve("sub dir/README"), "no extension");
        Files.createSymbolicLink(tree.resolve("rel-link"), Path.of("hello.txt"));
        Files.createSymbolicLink(tree.resolve("abs-link"), Path.of("/etc/../usr/./lib"));
        Files.createSymbolicLink(tree.resolve("up-link"), Path.of("../" + "x".repeat(60) + "/./" + "y".repeat(60) + "/z"));
        Files.createSymbolicLink(tree.resolve(DEEP + "/back"), Path.of("../".repeat(10) + "hello.txt"));
        Files.createLink(tree.resolve("hard-link"), tree.resolve("hello.txt"));
        run("mknod", tree.resolve("null-dev").toString(), "c", "1", "3");
        run("mknod", tree.resolve("blk-dev").toString(), "b", "7", "300");
        run("mkfifo", tree.resolve("fifo").toString());
        run("chown", "1234:5678", tree.resolve("hello.txt").toString());
        run("chown", "-h", "42:43", tree.resolve("rel-link").toString());
        run("chmod", "0640", tree.resolve("hello.txt").toString());
        run("chmod", "0711", tree.resolve("sub dir").toString());
        run("chmod", "4755", tree.resolve("big.bin").toString());
        touchAll(tree);
    }

    /** Every mtime set to {@link #MTIME}, deepest first so a directory's is not changed after (touch -h: a fifo is not opened). */
    private static void touchAll(Path root) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("touch", "-h", "-d", "@" + MTIME));
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> cmd.add(p.toString()));
        }
        run(cmd.toArray(new String[0]));
    }

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private Path xorriso(String name, String... args) throws Exception {
        Path img = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of("xorriso", "-as", "mkisofs"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-o", img.toString(), tree.toString()));
        run(cmd.toArray(new String[0]));
        return img;
    }

    private Path genisoimage(String name, String... args) throws Exception {
        Path img = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of("genisoimage", "-quiet"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-o", img.toString(), tree.toString()));
        run(cmd.toArray(new String[0]));
        return img;
    }

    /** Everything in the source tree, as the VFS must show it under Rock Ridge. */
    private void assertSameTree(Vfs vfs, Set<String> ignoredInRoot) throws Exception {
        List<Path> paths;
        try (Stream<Path> s = Files.walk(tree)) {
            paths = s.toList();
        }
        for (Path p : paths) {
            String rel = "/" + tree.relativize(p);
            Attributes st = vfs.lstat(rel);
            int srcMode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            assertEquals(Integer.toOctalString(srcMode), Integer.toOctalString(st.mode()), rel + " mode");
            assertEquals(Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS), (int) st.uid(), rel + " uid");
            assertEquals(Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS), (int) st.gid(), rel + " gid");
            if (!Files.isSymbolicLink(p)) {
                assertEquals(MTIME, st.mtimeNanos() / 1_000_000_000L, rel + " mtime");
            }
            if (Files.isSymbolicLink(p)) {
                assertEquals(Files.readSymbolicLink(p).toString(), vfs.readlink(rel), rel);
            } else if (Files.isDirectory(p)) {
                Set<String> expected;
                try (Stream<Path> s = Files.list(p)) {
                    expected = s.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
                }
                Set<String> got = vfs.readdir(rel).stream().map(DirEntry::name)
                        .filter(n -> !n.equals(".") && !n.equals(".."))
                        .filter(n -> !(rel.equals("/") && ignoredInRoot.contains(n)))
                        .collect(Collectors.toCollection(TreeSet::new));
                assertEquals(expected, got, rel);
            } else if (Files.isRegularFile(p)) {
                byte[] want = Files.readAllBytes(p);
                assertEquals(want.length, st.size(), rel + " size");
                assertArrayEquals(want, IsoTools.readAll(vfs, rel), rel + " bytes");
            } else {
                long rdev = (Long) Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
                assertEquals(rdev, st.rdev(), rel + " rdev");
            }
        }
        assertEquals(2, vfs.stat("/hello.txt").nlink(), "PX link count of a hard-linked file");
        assertEquals("hello, iso\n", new String(IsoTools.readAll(vfs, "/" + DEEP + "/back"), StandardCharsets.UTF_8));
        assertEquals("hello, iso\n", new String(IsoTools.readAll(vfs, "/" + DEEP + "/../../../../../../../../../../hello.txt"),
                StandardCharsets.UTF_8), "'..' walks back up");
        assertEquals(Errno.EROFS, assertThrows(ErrnoException.class,
                () -> vfs.open("/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644)).errno());
        assertEquals(Errno.EROFS, assertThrows(ErrnoException.class, () -> vfs.unlink("/hello.txt")).errno());
        assertEquals(2048, vfs.statvfs("/").blockSize());
        assertEquals(0, vfs.statvfs("/").freeBlocks());
        assertTrue(vfs.statvfs("/").readOnly());
    }

    @Test
    void xorrisoRockRidgeAndJolietReadBackIdentical() throws Exception {
        // A target in several SL entries and a continuation area (genisoimage gets the lengths of
        // such entries wrong, so only xorriso's image has it).
        StringBuilder target = new StringBuilder("..");
        for (int i = 0; i < 4; i++) {
            target.append("/component-").append(i).append("-").append("q".repeat(200));
        }
        Files.createSymbolicLink(tree.resolve("long-link"), Path.of(target.toString()));
        touchAll(tree);
        Path img = xorriso("x.iso", "-R", "-J", "-joliet-long");
        try (Vfs vfs = IsoTools.mount(host, img)) {
            assertEquals(List.of("/ iso9660 ro"), vfs.mountPoints());
            assertSameTree(vfs, Set.of());
            // isoinfo's Rock Ridge paths are ours.
            Set<String> isoinfo = run("isoinfo", "-f", "-R", "-i", img.toString()).lines()
                    .filter(l -> !l.isBlank()).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(isoinfo, walk(vfs, "/", new TreeSet<>()));
            // xorriso's own extraction has the bytes we read.
            Path out = dir.resolve("extracted");
            run("xorriso", "-osirrox", "on", "-indev", img.toString(), "-extract", "/", out.toString());
            for (String f : List.of("/big.bin", "/hello.txt", "/" + DEEP + "/deep.bin", "/empty")) {
                assertArrayEquals(Files.readAllBytes(Path.of(out + f)), IsoTools.readAll(vfs, f), f);
            }
        }
    }

    @Test
    void genisoimageRockRidgeRelocatesDeepDirectoriesAndReadsBackIdentical() throws Exception {
        Path img = genisoimage("g.iso", "-R", "-J", "-joliet-long");
        assertTrue(run("isoinfo", "-f", "-R", "-i", img.toString()).contains("/rr_moved/"),
                "genisoimage relocated the deep directories");
        try (Vfs vfs = IsoTools.mount(host, img)) {
            assertSameTree(vfs, Set.of("rr_moved"));
            assertEquals(List.of(".", ".."), vfs.readdir("/rr_moved").stream().map(DirEntry::name).toList(),
                    "RE-marked directories are hidden from rr_moved");
            assertEquals(vfs.stat("/a/b/c/d/e/f/g").ino(), vfs.stat("/" + DEEP.substring(0, 15) + "/..").ino(),
                    "'..' of a relocated directory is its original parent (PL)");
        }
    }

    /** Only Joliet: UCS-2 names as given, no Rock Ridge attributes (Linux's defaults: 0555, owner 0). */
    @Test
    void jolietOnlyNamesReadBack() throws Exception {
        Path img = genisoimage("j.iso", "-J", "-joliet-long");
        try (Vfs vfs = IsoTools.mount(host, img)) {
            Set<String> names = vfs.readdir("/").stream().map(DirEntry::name).collect(Collectors.toSet());
            assertTrue(names.contains("héllo wörld 日本語 ✓.txt"), names.toString());
            assertTrue(names.contains("sub dir"), names.toString());
            assertEquals("unicode", new String(IsoTools.readAll(vfs, "/héllo wörld 日本語 ✓.txt"), StandardCharsets.UTF_8));
            Attributes st = vfs.stat("/hello.txt");
            assertEquals(Attributes.S_IFREG | 0555, st.mode());
            assertEquals(0, st.uid());
            assertEquals(MTIME, st.mtimeNanos() / 1_000_000_000L, "recording date, GMT offset applied");
            assertArrayEquals(Files.readAllBytes(tree.resolve("big.bin")), IsoTools.readAll(vfs, "/big.bin"));
            assertEquals("no extension", new String(IsoTools.readAll(vfs, "/sub dir/README"), StandardCharsets.UTF_8));
            // 7-Zip reads the Joliet tree: its paths are ours.
            Set<String> sevenZip = run("7zz", "l", "-slt", img.toString()).lines()
                    .filter(l -> l.startsWith("Path = ") && !l.equals("Path = " + img))
                    .map(l -> "/" + l.substring(7)).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(sevenZip, walk(vfs, "/", new TreeSet<>()));
        }
    }

    /** No Rock Ridge, no Joliet: 8.3 names mapped as Linux's map=normal does (lower case, ";1" and a bare trailing dot gone). */
    @Test
    void plainIso9660NamesAreMappedAsLinuxDoes() throws Exception {
        Path img = genisoimage("p.iso");
        try (Vfs vfs = IsoTools.mount(host, img)) {
            assertEquals("hello, iso\n", new String(IsoTools.readAll(vfs, "/hello.txt"), StandardCharsets.UTF_8));
            assertEquals("no extension", new String(IsoTools.readAll(vfs, "/sub_dir/readme"), StandardCharsets.UTF_8));
            Set<String> isoinfo = run("isoinfo", "-f", "-i", img.toString()).lines().filter(l -> !l.isBlank())
                    .map(l -> l.replaceAll(";1$", "").replaceAll("\\.$", "").toLowerCase(java.util.Locale.ROOT))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(isoinfo, walk(vfs, "/", new TreeSet<>()));
        }
        // map=off shows the identifiers as recorded; norock/nojoliet fall back as asked.
        try (io.jrump.fs.vfs.FileSystemOps fs = new IsoFileSystemType().mount(
                io.jrump.blk.HostDisk.open(host, img.toString(), io.jrump.hypercall.BlockDevices.OpenMode.READ_ONLY),
                io.jrump.fs.vfs.FileSystemType.Options.of(true, () -> 0).withOptions(java.util.Map.of("map", "off")))) {
            assertTrue(fs.readdir(fs.rootInode()).stream().anyMatch(e -> e.name().equals("HELLO.TXT;1")));
        }
    }

    @Test
    void mountOptionsSelectNamesAndDefaults() throws Exception {
        Path img = xorriso("o.iso", "-R", "-J");
        try (io.jrump.blk.HostDisk disk = io.jrump.blk.HostDisk.open(host, img.toString(),
                io.jrump.hypercall.BlockDevices.OpenMode.READ_ONLY)) {
            IsoFileSystemType t = new IsoFileSystemType();
            try (IsoVfs fs = (IsoVfs) t.mount(disk, io.jrump.fs.vfs.FileSystemType.Options.of(false, () -> 0)
                    .withOptions(java.util.Map.of("norock", "", "uid", "7", "gid", "8", "mode", "0444", "dmode", "0500")))) {
                assertEquals("Joliet", fs.naming());
                assertTrue(fs.isReadOnly(), "read-only whatever was asked");
                long ino = fs.lookup(fs.rootInode(), "hello.txt");
                Attributes a = fs.getattr(ino);
                assertEquals(Attributes.S_IFREG | 0444, a.mode());
                assertEquals(7, a.uid());
                assertEquals(8, a.gid());
                assertEquals(Attributes.S_IFDIR | 0500, fs.getattr(fs.lookup(fs.rootInode(), "sub dir")).mode());
            }
            try (IsoVfs fs = (IsoVfs) t.mount(disk, io.jrump.fs.vfs.FileSystemType.Options.of(true, () -> 0)
                    .withOptions(java.util.Map.of("norock", "", "nojoliet", "")))) {
                assertEquals("ISO9660", fs.naming());
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> t.mount(disk,
                    io.jrump.fs.vfs.FileSystemType.Options.of(true, () -> 0).withOptions(java.util.Map.of("utf8", ""))));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("'utf8'"), e.getMessage());
        }
    }

    /** A 5 GiB sparse file: xorriso at -iso-level 3 records it in two extents, one record each. */
    @Test
    void multiExtentFileOverFourGiB() throws Exception {
        Path big = dir.resolve("bigtree");
        Files.createDirectories(big);
        Path f = big.resolve("huge.img");
        long size = 5L << 30;
        long[] marks = {0, (4L << 30) - 1, 4L << 30, (4L << 30) + 12345, size - 1};
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
            for (int i = 0; i < marks.length; i++) {
                raf.seek(marks[i]);
                raf.write(0x41 + i);
            }
        }
        Files.writeString(big.resolve("after.txt"), "after the huge one");
        Path img = dir.resolve("huge.iso");
        // The image is written through dd conv=sparse so its 5 GiB of zeros take no disk.
        run("sh", "-c", "xorriso -as mkisofs -iso-level 3 -R -o - '" + big + "' 2>/dev/null | dd of='" + img
                + "' bs=1M conv=sparse status=none");
        try (Vfs vfs = IsoTools.mount(host, img)) {
            assertEquals(size, vfs.stat("/huge.img").size());
            for (int i = 0; i < marks.length; i++) {
                assertArrayEquals(new byte[] {(byte) (0x41 + i)}, IsoTools.pread(vfs, "/huge.img", marks[i], 1),
                        "byte at " + marks[i]);
            }
            byte[] around = IsoTools.pread(vfs, "/huge.img", (4L << 30) - 2, 4);
            assertArrayEquals(new byte[] {0, 0x42, 0x43, 0}, around, "across the extent boundary");
            assertArrayEquals(new byte[4096], IsoTools.pread(vfs, "/huge.img", (4L << 30) + 65536, 4096),
                    "zeros past 4 GiB");
            assertEquals("after the huge one", new String(IsoTools.readAll(vfs, "/after.txt"), StandardCharsets.UTF_8));
        }
    }

    private static Set<String> walk(Vfs vfs, String path, Set<String> out) throws Exception {
        for (DirEntry e : vfs.readdir(path)) {
            if (e.name().equals(".") || e.name().equals("..")) {
                continue;
            }
            String child = (path.equals("/") ? "" : path) + "/" + e.name();
            out.add(child);
            if (e.type() == DirEntry.DT_DIR) {
                walk(vfs, child, out);
            }
        }
        return out;
    }
}
