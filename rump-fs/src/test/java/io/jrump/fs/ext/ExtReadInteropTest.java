package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Trees put into images by e2fsprogs' {@code mke2fs -d} read back identical — contents, types,
 * permissions, sizes, link targets, hard links — for ext2, ext3 and ext4 at several block sizes.
 * Fixture: {@code mke2fs -q -F -t TYPE -b BLOCK -d tree img SIZE} over the tree made in
 * {@link #tree()}; the test fails if mke2fs is missing.
 */
class ExtReadInteropTest {
    @TempDir
    Path dir;
    private Path tree;
    private final JvmHost host = JvmHost.create("ext-interop");

    @AfterEach
    void close() {
        host.close();
    }

    @BeforeEach
    void tree() throws IOException {
        tree = dir.resolve("tree");
        Random rnd = new Random(4);
        Files.createDirectories(tree.resolve("a/b/c/d/e/f/g"));
        Files.writeString(tree.resolve("hello.txt"), "hello, ext\n");
        Files.write(tree.resolve("a/b/c/d/e/f/g/deep.bin"), bytes(rnd, 5000));
        Files.write(tree.resolve("big.bin"), bytes(rnd, 3_000_000));
        Files.write(tree.resolve("empty"), new byte[0]);
        try (RandomAccessFile sparse = new RandomAccessFile(tree.resolve("sparse.img").toFile(), "rw")) {
            sparse.seek(1 << 20);
            sparse.write(bytes(rnd, 4096));
            sparse.setLength(3 << 20);
        }
        Files.writeString(tree.resolve("n".repeat(200) + ".long"), "a long name");
        Files.createSymbolicLink(tree.resolve("fast-link"), Path.of("hello.txt"));
        Files.createSymbolicLink(tree.resolve("slow-link"), Path.of("a/b/c/d/e/f/g/" + "x".repeat(100)));
        Files.createLink(tree.resolve("hard-link"), tree.resolve("hello.txt"));
        Files.createDirectories(tree.resolve("many"));
        for (int i = 0; i < 600; i++) { // enough entries for an htree index at every block size used
            Files.writeString(tree.resolve("many/entry-with-a-longish-name-" + i), Integer.toString(i));
        }
        Files.setPosixFilePermissions(tree.resolve("hello.txt"), PosixFilePermissions.fromString("rw-r-----"));
        Files.setPosixFilePermissions(tree.resolve("a/b"), PosixFilePermissions.fromString("rwx--x--x"));
    }

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
        }
    }

    private ExtPaths mkfs(String type, int block) throws Exception {
        return mkfs(type, block, false);
    }

    /** With {@code htree}, {@code e2fsck -fyD} then indexes every directory, as a busy kernel would have. */
    private ExtPaths mkfs(String type, int block, boolean htree, String... options) throws Exception {
        Path img = dir.resolve(type + "-" + block + ".img");
        List<String> cmd = new java.util.ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", type, "-b", Integer.toString(block)));
        cmd.addAll(List.of(options));
        cmd.addAll(List.of("-d", tree.toString(), img.toString(), "24M"));
        run(cmd.toArray(new String[0]));
        if (htree) {
            Process p = new ProcessBuilder("e2fsck", "-fyD", img.toString()).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            int exit = p.waitFor();
            assertTrue(exit == 0 || exit == 1, "e2fsck -fyD exited " + exit); // 1: it changed the filesystem
        }
        return ExtPaths.of(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
    }

    @ParameterizedTest
    @CsvSource({"ext2,1024,false", "ext2,4096,false", "ext3,1024,false", "ext3,2048,false", "ext4,1024,false",
        "ext4,2048,false", "ext4,4096,false", "ext4,1024,true", "ext3,4096,true"})
    void treesWrittenByMke2fsReadBackIdentical(String type, int block, boolean htree) throws Exception {
        ExtPaths fs = mkfs(type, block, htree);
        assertEquals(type, fs.fs.type());
        assertEquals(block, fs.fs.blockSize());
        List<Path> paths;
        try (Stream<Path> s = Files.walk(tree)) {
            paths = s.filter(p -> !p.equals(tree)).toList();
        }
        for (Path p : paths) {
            String rel = "/" + tree.relativize(p).toString();
            Attributes st = fs.lstat(rel);
            if (Files.isSymbolicLink(p)) {
                assertTrue(st.isSymlink(), rel);
                assertEquals(Files.readSymbolicLink(p).toString(), fs.readlink(rel), rel);
            } else if (Files.isDirectory(p)) {
                assertTrue(st.isDirectory(), rel);
                Set<String> expected;
                try (Stream<Path> s = Files.list(p)) {
                    expected = s.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
                }
                Set<String> got = fs.names(rel).stream()
                        .filter(n -> !n.equals(".") && !n.equals("..") && !n.equals("lost+found"))
                        .collect(Collectors.toCollection(TreeSet::new));
                assertEquals(expected, got, rel);
            } else {
                assertTrue(st.isRegular(), rel);
                byte[] want = Files.readAllBytes(p);
                assertEquals(want.length, st.size(), rel);
                ByteBuffer got = ByteBuffer.allocate(want.length);
                assertEquals(want.length, fs.read(rel, 0, got), rel);
                assertArrayEquals(want, got.array(), rel);
            }
            int perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                    .chars().map(c -> c == '-' ? 0 : 1).reduce(0, (a, bit) -> (a << 1) | bit);
            if (!Files.isSymbolicLink(p)) {
                assertEquals(perms, st.mode() & 0777, rel + " permissions");
            }
        }
        assertEquals(fs.stat("/hello.txt").ino(), fs.stat("/hard-link").ino(), "hard links share an inode");
        assertEquals(2, fs.stat("/hello.txt").nlink());
        assertEquals(fs.stat("/hello.txt").ino(), fs.stat("/fast-link").ino(), "stat follows symlinks");
        ByteBuffer mid = ByteBuffer.allocate(10);
        assertEquals(10, fs.read("/big.bin", 1_234_567, mid));
        byte[] big = Files.readAllBytes(tree.resolve("big.bin"));
        assertArrayEquals(java.util.Arrays.copyOfRange(big, 1_234_567, 1_234_577), mid.array());
        assertEquals(0, fs.read("/big.bin", big.length, ByteBuffer.allocate(10)), "end of file");
    }

    /**
     * Fixture: the same tree with {@code mke2fs -t ext4 -O inline_data}: small files and
     * directories live in their inodes (and in a system.data attribute).
     */
    @Test
    void inlineDataFilesAndDirectoriesReadBackIdentical() throws Exception {
        ExtPaths fs = mkfs("ext4", 4096, false, "-O", "inline_data");
        assertEquals("hello, ext\n", read(fs, "/hello.txt"));
        assertEquals("a long name", read(fs, "/" + "n".repeat(200) + ".long"));
        assertEquals(Set.of(".", "..", "deep.bin"), fs.names("/a/b/c/d/e/f/g").stream()
                .collect(Collectors.toSet()));
        byte[] deep = Files.readAllBytes(tree.resolve("a/b/c/d/e/f/g/deep.bin"));
        ByteBuffer got = ByteBuffer.allocate(deep.length);
        fs.read("/a/b/c/d/e/f/g/deep.bin", 0, got);
        assertArrayEquals(deep, got.array());
        assertEquals("599", read(fs, "/many/entry-with-a-longish-name-599"));
    }

    /** Extended attributes set on the source tree travel through {@code mke2fs -d}. */
    @Test
    void extendedAttributesReadBack() throws Exception {
        Path f = tree.resolve("hello.txt");
        java.nio.file.attribute.UserDefinedFileAttributeView view =
                Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        view.write("comment", StandardCharsets.UTF_8.encode("a note"));
        view.write("big", ByteBuffer.wrap(new byte[3000]));
        ExtPaths fs = mkfs("ext4", 4096, false);
        java.util.Map<String, byte[]> x = fs.xattrs("/hello.txt");
        assertEquals("a note", new String(x.get("user.comment"), StandardCharsets.UTF_8));
        assertEquals(3000, x.get("user.big").length, "a value too big for the inode lives in the xattr block");
    }

    private static String read(ExtPaths fs, String path) throws Exception {
        ByteBuffer b = ByteBuffer.allocate((int) fs.stat(path).size());
        fs.read(path, 0, b);
        return new String(b.array(), StandardCharsets.UTF_8);
    }

    @Test
    void lookupErrorsAreThoseOfLinux() throws Exception {
        ExtPaths fs = mkfs("ext4", 4096);
        assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> fs.stat("/nope")).errno());
        assertEquals(Errno.ENOTDIR, assertThrows(ErrnoException.class, () -> fs.stat("/hello.txt/x")).errno());
        assertEquals(Errno.EISDIR, assertThrows(ErrnoException.class,
                () -> fs.read("/a", 0, ByteBuffer.allocate(1))).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> fs.readlink("/hello.txt")).errno());
    }
}
