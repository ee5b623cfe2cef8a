package io.jrump.fs.nio;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.ProviderNotFoundException;
import java.nio.file.ReadOnlyFileSystemException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider through the public API only: {@code FileSystems.newFileSystem(image, env)} and {@link Files}. */
class RumpFileSystemTest {
    @TempDir
    Path tmp;

    private Path emptyImage() throws Exception {
        return Images.ext4(tmp.resolve("disk.img"), null);
    }

    private static FileSystem open(Path img, Map<String, ?> env) throws IOException {
        return FileSystems.newFileSystem(img, env);
    }

    @Test
    void filesThatAreNoImageAreLeftToOtherProviders() throws Exception {
        FileSystemProvider rump = FileSystemProvider.installedProviders().stream()
                .filter(p -> p.getScheme().equals("rump")).findFirst().orElseThrow();
        Path text = Files.writeString(tmp.resolve("notes.txt"), "not a disk\n");
        assertThrows(UnsupportedOperationException.class, () -> rump.newFileSystem(text, Map.of()));
        assertThrows(UnsupportedOperationException.class, () -> rump.newFileSystem(tmp, Map.of()));
        assertThrows(UnsupportedOperationException.class, () -> rump.newFileSystem(tmp.resolve("missing.img"), Map.of()));
        // With jrump installed, a zip still opens through the JDK's own provider.
        Path zip = tmp.resolve("a.zip");
        try (FileSystem z = FileSystems.newFileSystem(zip, Map.of("create", "true"))) {
            Files.writeString(z.getPath("/x"), "x");
        }
        try (FileSystem z = FileSystems.newFileSystem(zip, Map.of())) {
            assertEquals("x", Files.readString(z.getPath("/x")));
        }
    }

    @Test
    void anImageThatCannotBeMountedSaysWhyAndNamesItOnce() throws Exception {
        Path disk = tmp.resolve("gpt.img");
        Files.write(disk, new byte[32 << 20]);
        Process p = new ProcessBuilder("sgdisk", "-n", "1:2048:0", disk.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "sgdisk");
        String image = disk.toRealPath().toString();
        FileSystemException empty = assertThrows(FileSystemException.class,
                () -> FileSystems.newFileSystem(disk, Map.of("partition", "1")));
        assertTrue(empty.getMessage().startsWith(image + ": partition 1: no filesystem this library reads (")
                && empty.getMessage().contains("ext4/ext2/ext3/ext")
                && empty.getMessage().endsWith("): Invalid argument (EINVAL)"), empty.getMessage());
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> FileSystems.newFileSystem(disk, Map.of("partition", "9")));
        assertEquals(image + ": no partition 9: No such device or address (ENXIO)", missing.getMessage());

        Path whole = Images.ext4(tmp.resolve("whole.img"), hostTree());
        String wholeName = whole.toRealPath().toString();
        FileSystemException noTable = assertThrows(FileSystemException.class,
                () -> FileSystems.newFileSystem(whole, Map.of("partition", "1")));
        assertTrue(noTable.getMessage().startsWith(wholeName + ": no partition table (sector 0 lacks the 0x55AA signature); "
                + "the whole disk holds a filesystem (ext4, ") && noTable.getMessage().endsWith("): name no partition, as in "
                + wholeName + ": No data available (ENODATA)"), noTable.getMessage());
    }

    /** A host tree with small, empty, multi-block and sparse-ish files, nested directories and a symlink. */
    private Path hostTree() throws IOException {
        Path root = tmp.resolve("tree");
        Files.createDirectories(root.resolve("a/b/c"));
        Files.createDirectories(root.resolve("empty"));
        Files.writeString(root.resolve("hello.txt"), "hello, world\n");
        Files.write(root.resolve("zero"), new byte[0]);
        byte[] big = new byte[300_000];
        new Random(7).nextBytes(big);
        Files.write(root.resolve("a/big.bin"), big);
        Files.writeString(root.resolve("a/b/c/deep.txt"), "deep\n".repeat(1000));
        Files.writeString(root.resolve(".hidden"), "x");
        Files.createSymbolicLink(root.resolve("link"), Path.of("a/big.bin"));
        return root;
    }

    /** Relative name → size and contents (or link target) of every file under {@code root}. */
    private static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "-> " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    out.put(rel, "dir");
                } else {
                    byte[] data = Files.readAllBytes(p);
                    out.put(rel, Files.size(p) + " " + java.util.Arrays.hashCode(data));
                }
            }
        }
        return out;
    }

    @Test
    void walkOverAnImageMadeWithMke2fsDFindsTheHostTree() throws Exception {
        Path tree = hostTree();
        Path img = Images.ext4(tmp.resolve("tree.img"), tree);
        Map<String, String> expected = describe(tree);
        try (FileSystem fs = open(img, Map.of("readOnly", true))) {
            Map<String, String> actual = describe(fs.getPath("/"));
            actual.remove("lost+found");
            assertEquals(expected, actual);
            assertArrayEquals(Files.readAllBytes(tree.resolve("a/big.bin")),
                    Files.readAllBytes(fs.getPath("/link")));
        }
    }

    @Test
    void byteChannelsSeekReadWriteAndTruncate() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Path f = fs.getPath("/data.bin");
            try (SeekableByteChannel ch = Files.newByteChannel(f, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertEquals(0, ch.size());
                assertEquals(5, ch.write(ByteBuffer.wrap("hello".getBytes(UTF_8))));
                assertEquals(5, ch.position());
                ch.position(10_000);
                ch.write(ByteBuffer.wrap("end".getBytes(UTF_8)));
                assertEquals(10_003, ch.size());
                ch.position(1);
                ByteBuffer b = ByteBuffer.allocate(4);
                assertEquals(4, ch.read(b));
                assertEquals("ello", new String(b.array(), UTF_8));
                ch.position(5);
                ByteBuffer hole = ByteBuffer.allocate(10);
                ch.read(hole);
                assertArrayEquals(new byte[10], hole.array());
                ch.truncate(3);
                assertEquals(3, ch.size());
                assertEquals(3, ch.position());
                assertEquals(-1, ch.read(ByteBuffer.allocate(1)));
                ch.truncate(100); // never grows
                assertEquals(3, ch.size());
            }
            assertEquals("hel", Files.readString(f));
            Files.writeString(f, "+more", StandardOpenOption.APPEND);
            assertEquals("hel+more", Files.readString(f));
            Files.writeString(f, "new", StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE,
                    StandardOpenOption.SYNC);
            assertEquals("new", Files.readString(f));
            assertThrows(FileAlreadyExistsException.class,
                    () -> Files.newByteChannel(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
            assertThrows(NoSuchFileException.class, () -> Files.newByteChannel(fs.getPath("/nope")));
            assertThrows(IllegalArgumentException.class,
                    () -> Files.newByteChannel(f, StandardOpenOption.READ, StandardOpenOption.APPEND));
            Path tmpFile = fs.getPath("/scratch");
            try (SeekableByteChannel ch = Files.newByteChannel(tmpFile, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE)) {
                ch.write(ByteBuffer.wrap(new byte[8192]));
                assertTrue(Files.exists(tmpFile));
            }
            assertFalse(Files.exists(tmpFile));
            Path secret = fs.getPath("/secret");
            Files.newByteChannel(secret, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))).close();
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
        }
        Images.assertClean(img);
    }

    @Test
    void directoryStreamsFilterWithAGlobAndSkipDotEntries() throws Exception {
        Path img = Images.ext4(tmp.resolve("tree.img"), hostTree());
        try (FileSystem fs = open(img, Map.of())) {
            List<String> all = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(fs.getPath("/"))) {
                ds.forEach(p -> all.add(p.getFileName().toString()));
            }
            assertEquals(Set.of("a", "empty", "hello.txt", "zero", ".hidden", "link", "lost+found"), Set.copyOf(all));
            List<String> txt = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(fs.getPath("/"), "*.txt")) {
                ds.forEach(p -> txt.add(p.toString()));
            }
            assertEquals(List.of("/hello.txt"), txt);
            assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(fs.getPath("/hello.txt")));
            assertTrue(fs.getPathMatcher("glob:/a/**/*.{txt,bin}").matches(fs.getPath("/a/b/c/deep.txt")));
            assertFalse(fs.getPathMatcher("glob:/a/*.txt").matches(fs.getPath("/a/b/c/deep.txt")));
            assertTrue(fs.getPathMatcher("regex:.*deep.*").matches(fs.getPath("/a/b/c/deep.txt")));
            assertTrue(Files.isHidden(fs.getPath("/.hidden")));
        }
    }

    @Test
    void attributesReadAsBasicPosixAndUnix() throws Exception {
        Path img = Images.ext4(tmp.resolve("tree.img"), hostTree());
        try (FileSystem fs = open(img, Map.of())) {
            Path f = fs.getPath("/hello.txt");
            BasicFileAttributes basic = Files.readAttributes(f, BasicFileAttributes.class);
            assertTrue(basic.isRegularFile());
            assertEquals(13, basic.size());
            PosixFileAttributes posix = Files.readAttributes(f, PosixFileAttributes.class);
            assertEquals(basic.fileKey(), posix.fileKey());
            assertTrue(Files.readAttributes(fs.getPath("/link"), BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).isSymbolicLink());
            Map<String, Object> unix = Files.readAttributes(f, "unix:*");
            assertEquals(0100000, (Integer) unix.get("mode") & 0170000, "S_IFREG");
            assertEquals(1, unix.get("nlink"));
            assertEquals(13L, unix.get("size"));
            for (String key : List.of("ino", "dev", "rdev", "uid", "gid", "ctime", "permissions", "owner", "group",
                    "lastModifiedTime", "fileKey")) {
                assertTrue(unix.containsKey(key), key);
            }
            assertEquals(Set.of("size", "isDirectory"), Files.readAttributes(f, "size,isDirectory").keySet());
            assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(f, "posix:bogus"));
            assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(f, "dos:*"));

            FileTime t = FileTime.fromMillis(1_600_000_000_123L);
            Files.setLastModifiedTime(f, t);
            assertEquals(t, Files.getLastModifiedTime(f));
            Files.setAttribute(f, "lastAccessTime", t);
            assertEquals(t, Files.readAttributes(f, BasicFileAttributes.class).lastAccessTime());
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-x---"));
            assertEquals(0750, (Integer) Files.getAttribute(f, "unix:mode") & 07777);
            Files.setAttribute(f, "unix:mode", 0604);
            assertEquals("rw----r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
            Files.setAttribute(f, "unix:uid", 1000);
            Files.setAttribute(f, "unix:gid", 100);
            assertEquals("1000", Files.getOwner(f).getName());
            PosixFileAttributeView view = Files.getFileAttributeView(f, PosixFileAttributeView.class);
            view.setGroup(fs.getUserPrincipalLookupService().lookupPrincipalByGroupName("42"));
            assertEquals("42", view.readAttributes().group().getName());
            Files.setOwner(f, fs.getUserPrincipalLookupService().lookupPrincipalByName("root"));
            assertEquals(0, Files.getAttribute(f, "unix:uid"));

            FileStore store = Files.getFileStore(f);
            assertEquals("ext4", store.type());
            assertTrue(store.getTotalSpace() > 30L << 20);
            assertTrue(store.getUsableSpace() > 0 && store.getUsableSpace() <= store.getTotalSpace());
            assertTrue(fs.supportedFileAttributeViews().contains("unix"));
        }
        Images.assertClean(img);
    }

    @Test
    void namesAreMadeAndRemovedWithTheStandardExceptions() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Path dir = fs.getPath("/dir");
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(dir));
            Files.createDirectories(fs.getPath("/dir/x/y"));
            Path file = dir.resolve("f.txt");
            Files.writeString(file, "content");
            assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(dir));
            assertThrows(NoSuchFileException.class, () -> Files.delete(fs.getPath("/missing")));
            assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(file));
            assertThrows(NoSuchFileException.class, () -> Files.readString(fs.getPath("/dir/none")));

            Path link = fs.getPath("/link");
            Files.createSymbolicLink(link, fs.getPath("dir/f.txt"));
            assertEquals(fs.getPath("dir/f.txt"), Files.readSymbolicLink(link));
            assertEquals("content", Files.readString(link));
            assertThrows(NotLinkException.class, () -> Files.readSymbolicLink(file));
            assertEquals(fs.getPath("/dir/f.txt"), link.toRealPath());
            assertEquals(link, link.toRealPath(LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.isSameFile(link, file));

            Path hard = fs.getPath("/hard");
            Files.createLink(hard, file);
            assertEquals(2, Files.getAttribute(file, "unix:nlink"));

            Path copy = fs.getPath("/copy.txt");
            Files.copy(file, copy);
            assertEquals("content", Files.readString(copy));
            assertThrows(FileAlreadyExistsException.class, () -> Files.copy(file, copy));
            Files.writeString(hard, "changed");
            Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            assertEquals("changed", Files.readString(copy));
            assertEquals(Files.getLastModifiedTime(file), Files.getLastModifiedTime(copy));
            Files.copy(link, fs.getPath("/link2"), LinkOption.NOFOLLOW_LINKS);
            assertTrue(Files.isSymbolicLink(fs.getPath("/link2")));
            Files.copy(dir, fs.getPath("/dircopy"));
            try (Stream<Path> s = Files.list(fs.getPath("/dircopy"))) {
                assertEquals(0, s.count());
            }

            Path moved = fs.getPath("/moved.txt");
            Files.move(copy, moved);
            assertFalse(Files.exists(copy));
            assertThrows(FileAlreadyExistsException.class, () -> Files.move(moved, hard));
            Files.move(moved, hard, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertEquals("changed", Files.readString(hard));
            assertThrows(DirectoryNotEmptyException.class,
                    () -> Files.move(fs.getPath("/dircopy"), dir, StandardCopyOption.REPLACE_EXISTING));
            Files.move(dir, fs.getPath("/dir2"));
            assertTrue(Files.isDirectory(fs.getPath("/dir2/x/y")));

            Files.delete(link);
            assertTrue(Files.exists(fs.getPath("/dir2/f.txt")));
            Files.delete(fs.getPath("/dir2/x/y"));
            assertTrue(Files.deleteIfExists(fs.getPath("/dir2/x")));
            assertFalse(Files.deleteIfExists(fs.getPath("/dir2/x")));
            assertThrows(ProviderMismatchException.class, () -> fs.provider().delete(tmp.resolve("x")));
            assertThrows(ProviderMismatchException.class, () -> fs.getPath("/").resolve(tmp));
        }
        Images.assertClean(img);
    }

    @Test
    void walkingWithFollowLinksDetectsACycle() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Files.createDirectories(fs.getPath("/a/b"));
            Files.createSymbolicLink(fs.getPath("/a/b/up"), fs.getPath("../.."));
            try (Stream<Path> s = Files.walk(fs.getPath("/a"))) {
                assertEquals(3, s.count());
            }
            assertThrows(FileSystemLoopException.class, () -> {
                try (Stream<Path> s = Files.walk(fs.getPath("/a"), FileVisitOption.FOLLOW_LINKS)) {
                    s.forEach(p -> { });
                } catch (java.io.UncheckedIOException e) {
                    throw e.getCause();
                }
            });
        }
    }

    @Test
    void aReadOnlyFileSystemRefusesWritesAndLeavesTheImageAlone() throws Exception {
        Path img = Images.ext4(tmp.resolve("tree.img"), hostTree());
        String before = Images.sha256(img);
        try (FileSystem fs = open(img, Map.of("readOnly", "true", "cacheSize", "4M"))) {
            assertTrue(fs.isReadOnly());
            assertEquals("hello, world\n", Files.readString(fs.getPath("/hello.txt")));
            assertThrows(ReadOnlyFileSystemException.class, () -> Files.writeString(fs.getPath("/new"), "x"));
            assertThrows(ReadOnlyFileSystemException.class, () -> Files.delete(fs.getPath("/hello.txt")));
            assertThrows(ReadOnlyFileSystemException.class, () -> Files.createDirectory(fs.getPath("/d")));
            assertThrows(ReadOnlyFileSystemException.class,
                    () -> Files.setLastModifiedTime(fs.getPath("/zero"), FileTime.fromMillis(0)));
            assertFalse(Files.isWritable(fs.getPath("/hello.txt")));
            assertTrue(Files.isReadable(fs.getPath("/hello.txt")));
            assertTrue(Files.getFileStore(fs.getPath("/")).isReadOnly());
        }
        assertEquals(before, Images.sha256(img));
    }

    @Test
    void theProviderIsInstalledAndServesRumpUris() throws Exception {
        Path img = emptyImage();
        assertTrue(FileSystemProvider.installedProviders().stream().anyMatch(p -> p.getScheme().equals("rump")));
        URI uri = URI.create("rump:" + img.toUri());
        try (FileSystem fs = FileSystems.newFileSystem(uri, Map.of())) {
            assertEquals("rump", fs.provider().getScheme());
            assertSame(fs, FileSystems.getFileSystem(uri));
            assertThrows(FileSystemAlreadyExistsException.class, () -> FileSystems.newFileSystem(uri, Map.of()));
            assertThrows(FileSystemAlreadyExistsException.class, () -> FileSystems.newFileSystem(img, Map.of()));
            Path p = Path.of(URI.create("rump:" + img.toUri() + "!/dir%20one/f"));
            assertEquals("/dir one/f", p.toString());
            assertSame(fs, p.getFileSystem());
            Files.createDirectory(p.getParent());
            Files.writeString(p, "via uri");
            assertEquals(p, Path.of(p.toUri()));
            assertEquals("via uri", Files.readString(Path.of(p.toUri())));
        }
        assertThrows(FileSystemNotFoundException.class, () -> FileSystems.getFileSystem(uri));
        try (FileSystem fs = FileSystems.newFileSystem(img, Map.of())) {
            assertEquals("via uri", Files.readString(fs.getPath("/dir one/f")));
        }
        Images.assertClean(img);
    }

    @Test
    void filesThatAreNotImagesAndUnknownKeysAreRefused() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.txt"), "not a disk image\n".repeat(200));
        assertThrows(ProviderNotFoundException.class, () -> FileSystems.newFileSystem(text, Map.of()));
        Path img = emptyImage();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FileSystems.newFileSystem(img, Map.of("readonly", true)));
        assertTrue(e.getMessage().contains("readonly"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> FileSystems.newFileSystem(img, Map.of("cacheSize", "lots")));
    }

    @Test
    void aClosedFileSystemThrowsClosedFileSystemException() throws Exception {
        Path img = emptyImage();
        FileSystem fs = open(img, Map.of());
        Path p = fs.getPath("/f");
        Files.writeString(p, "x");
        SeekableByteChannel ch = Files.newByteChannel(p);
        fs.close();
        fs.close();
        assertFalse(fs.isOpen());
        assertFalse(ch.isOpen());
        assertThrows(ClosedFileSystemException.class, () -> Files.readString(p));
        assertThrows(ClosedFileSystemException.class, () -> Files.exists(p));
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> ch.read(ByteBuffer.allocate(1)));
        Images.assertClean(img);
    }

    @Test
    void thePartitionKeyOpensOnePartitionOfAGptDisk() throws Exception {
        Path disk = tmp.resolve("gpt.img");
        try (var f = java.nio.channels.FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.position((64L << 20) - 1);
            f.write(ByteBuffer.wrap(new byte[1]));
        }
        Images.runWithInput("label: gpt\nstart=2048, size=32768, name=boot\nstart=34816, size=65536, name=data\n",
                "sfdisk", "-q", disk.toString());
        Path fsImg = Images.ext4(tmp.resolve("part.img"), hostTree());
        Images.run("dd", "if=" + fsImg, "of=" + disk, "bs=512", "seek=34816", "conv=notrunc", "status=none");
        for (String partition : List.of("2", "data")) {
            try (FileSystem fs = open(disk, Map.of("partition", partition))) {
                assertEquals("hello, world\n", Files.readString(fs.getPath("/hello.txt")));
                Files.writeString(fs.getPath("/written-" + partition), partition);
            }
        }
        Images.run("dd", "if=" + disk, "of=" + fsImg, "bs=512", "skip=34816", "count=65536", "status=none");
        Images.assertClean(fsImg);
        IOException whole = assertThrows(IOException.class, () -> open(disk, Map.of()));
        assertTrue(whole.getMessage().contains("partition"), whole.getMessage());
    }

    @Test
    void fileChannelsReadAndWriteAtPositionsAndTransfer() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Path f = fs.getPath("/fc");
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("0123456789".getBytes(UTF_8)), 100);
                assertEquals(0, ch.position());
                assertEquals(110, ch.size());
                ByteBuffer b = ByteBuffer.allocate(3);
                assertEquals(3, ch.read(b, 105));
                assertEquals("567", new String(b.array(), UTF_8));
                assertEquals(-1, ch.read(ByteBuffer.allocate(1), 110));
                ch.write(new ByteBuffer[] {ByteBuffer.wrap("ab".getBytes(UTF_8)), ByteBuffer.wrap("cd".getBytes(UTF_8))});
                assertEquals(4, ch.position());
                ch.force(true);
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                assertEquals(10, ch.transferTo(100, 50, java.nio.channels.Channels.newChannel(out)));
                assertEquals("0123456789", out.toString(UTF_8));
                assertEquals(4, ch.transferFrom(java.nio.channels.Channels.newChannel(
                        new java.io.ByteArrayInputStream("WXYZ".getBytes(UTF_8))), 0, 100));
                assertThrows(UnsupportedOperationException.class, () -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1));
            }
            assertEquals("WXYZ", Files.readString(f).substring(0, 4));
            FileChannel left = FileChannel.open(fs.getPath("/gone"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
            left.write(ByteBuffer.wrap(new byte[100]));
            fs.close();
            assertFalse(left.isOpen());
        }
        try (FileSystem fs = open(img, Map.of())) {
            assertFalse(Files.exists(fs.getPath("/gone")));
        }
        Images.assertClean(img);
    }

    @Test
    void aHostPassedInTheEnvIsUsedAndLeftOpen() throws Exception {
        Path img = emptyImage();
        try (io.jrump.host.jvm.JvmHost host = io.jrump.host.jvm.JvmHost.create("nio-test")) {
            for (int i = 0; i < 2; i++) {
                try (FileSystem fs = open(img, Map.of("host", host))) {
                    Files.writeString(fs.getPath("/round-" + i), "x");
                }
            }
            try (FileSystem fs = open(img, Map.of("host", host))) {
                try (Stream<Path> s = Files.list(fs.getPath("/"))) {
                    assertEquals(3, s.count());
                }
            }
        }
        Images.assertClean(img);
    }

    @Test
    void qcow2ImagesOpenLikeRawOnes() throws Exception {
        Path raw = Images.ext4(tmp.resolve("tree.img"), hostTree());
        Path qcow2 = tmp.resolve("tree.qcow2");
        Images.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString());
        try (FileSystem fs = open(qcow2, Map.of())) {
            assertEquals("hello, world\n", Files.readString(fs.getPath("/hello.txt")));
            Files.writeString(fs.getPath("/a/new.txt"), "into qcow2");
        }
        Path back = tmp.resolve("back.img");
        Images.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), back.toString());
        Images.assertClean(back);
        try (FileSystem fs = open(back, Map.of("readOnly", true))) {
            assertEquals("into qcow2", Files.readString(fs.getPath("/a/new.txt")));
        }
    }

    @Test
    void copyAndMoveWorkBetweenTwoImages() throws Exception {
        Path one = Images.ext4(tmp.resolve("one.img"), hostTree());
        Path two = Images.ext4(tmp.resolve("two.img"), null);
        try (FileSystem a = open(one, Map.of()); FileSystem b = open(two, Map.of())) {
            Files.copy(a.getPath("/hello.txt"), b.getPath("/hello.txt"), StandardCopyOption.COPY_ATTRIBUTES);
            assertEquals("hello, world\n", Files.readString(b.getPath("/hello.txt")));
            assertEquals(Files.getLastModifiedTime(a.getPath("/hello.txt")),
                    Files.getLastModifiedTime(b.getPath("/hello.txt")));
            Files.move(a.getPath("/a/big.bin"), b.getPath("/big.bin"));
            assertFalse(Files.exists(a.getPath("/a/big.bin")));
            assertEquals(300_000, Files.size(b.getPath("/big.bin")));
            assertThrows(java.nio.file.AtomicMoveNotSupportedException.class, () -> Files.move(a.getPath("/zero"),
                    b.getPath("/zero"), StandardCopyOption.ATOMIC_MOVE));
            assertThrows(FileAlreadyExistsException.class,
                    () -> Files.copy(a.getPath("/hello.txt"), b.getPath("/hello.txt")));
        }
        Images.assertClean(one);
        Images.assertClean(two);
    }

    @Test
    void realPathsFollowLinksAndStopAtLoops() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Files.createDirectories(fs.getPath("/x/y"));
            Files.createSymbolicLink(fs.getPath("/x/toy"), fs.getPath("y"));
            Files.createSymbolicLink(fs.getPath("/abs"), fs.getPath("/x/toy"));
            Files.writeString(fs.getPath("/x/y/f"), "f");
            assertEquals(fs.getPath("/x/y/f"), fs.getPath("/abs/../toy/./f").toRealPath());
            assertEquals(fs.getPath("/x/y/f"), fs.getPath("abs/f").toRealPath());
            Files.createSymbolicLink(fs.getPath("/loop1"), fs.getPath("loop2"));
            Files.createSymbolicLink(fs.getPath("/loop2"), fs.getPath("loop1"));
            assertThrows(FileSystemLoopException.class, () -> fs.getPath("/loop1").toRealPath());
            assertThrows(FileSystemLoopException.class, () -> Files.readString(fs.getPath("/loop1")));
        }
    }

    @Test
    void threadsWorkOnOneFileSystemAtOnce() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of("cacheSize", 2 << 20))) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 4; t++) {
                Path dir = fs.getPath("/t" + t);
                threads.add(new Thread(() -> {
                    try {
                        Files.createDirectory(dir);
                        for (int i = 0; i < 40; i++) {
                            Path f = dir.resolve("f" + i);
                            Files.write(f, new byte[i * 1000 + 1]);
                            assertEquals(i * 1000 + 1, Files.size(f));
                            if (i % 3 == 0) {
                                Files.delete(f);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(List.of(), failures);
            try (Stream<Path> s = Files.walk(fs.getPath("/")).filter(Files::isRegularFile)) {
                assertEquals(4 * 26, s.count());
            }
        }
        Images.assertClean(img);
    }

    @Test
    void pathsFollowUnixPathRules() throws Exception {
        Path img = emptyImage();
        try (FileSystem fs = open(img, Map.of())) {
            Path p = fs.getPath("/a//b/", "c");
            assertEquals("/a/b/c", p.toString());
            assertEquals(3, p.getNameCount());
            assertEquals(fs.getPath("c"), p.getFileName());
            assertEquals(fs.getPath("/a/b"), p.getParent());
            assertEquals(fs.getPath("/"), p.getRoot());
            assertEquals(fs.getPath("b/c"), p.subpath(1, 3));
            assertTrue(p.startsWith("/a/b"));
            assertFalse(p.startsWith("/a/bc"));
            assertTrue(p.endsWith("b/c"));
            assertFalse(p.endsWith("/b/c"));
            assertEquals(fs.getPath("/a/c"), fs.getPath("/a/./b/../c").normalize());
            assertEquals(fs.getPath("/"), fs.getPath("/..").normalize());
            assertEquals(fs.getPath("../x"), fs.getPath("a/../../x").normalize());
            assertEquals(fs.getPath("../../x/y"), fs.getPath("/a/b").relativize(fs.getPath("/x/y")));
            assertEquals(fs.getPath("/a/b/x"), fs.getPath("/a/b").resolve("x"));
            assertEquals(fs.getPath("/x"), fs.getPath("/a/b").resolve("/x"));
            assertEquals(fs.getPath("/a/x"), fs.getPath("/a/b").resolveSibling("x"));
            assertEquals(fs.getPath("/rel"), fs.getPath("rel").toAbsolutePath());
            assertEquals(List.of("a", "b", "c"), toStrings(p));
            assertNotEquals(fs.getPath("a"), fs.getPath("/a"));
            assertTrue(fs.getPath("/a").compareTo(fs.getPath("/b")) < 0);
            assertEquals("", fs.getPath("").toString());
            assertEquals(1, fs.getPath("").getNameCount());
            assertEquals(null, fs.getPath("/").getFileName());
            assertEquals(null, fs.getPath("/a").getParent().getParent());
            assertThrows(NoSuchFileException.class, () -> fs.getPath("/nope").toRealPath());
            assertThrows(UnsupportedOperationException.class, fs::newWatchService);
            assertInstanceOf(String.class, p.toUri().toString());
        }
    }

    private static List<String> toStrings(Path p) {
        List<String> out = new ArrayList<>();
        p.forEach(n -> out.add(n.toString()));
        return out;
    }

}
