package io.jrump.fs.iso;

import static io.jrump.fs.iso.IsoTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-damaged images — lying record lengths, a CE past the device, a CL loop, a directory whose
 * extent is itself, a multi-extent file of too many parts — each give EUCLEAN with a message
 * naming the structure and where it is, at once; never an unchecked exception or a hang.
 * Fixtures: small images from xorriso and genisoimage, patched in place.
 */
class IsoBadInputTest {
    private static final int B = 2048;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("iso-bad");

    @AfterEach
    void close() {
        host.close();
    }

    /** A walk of the whole tree through the filesystem's own operations; the EUCLEAN it meets. */
    private ErrnoException walkFails(Path img) {
        return assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            ErrnoException e = assertThrows(ErrnoException.class, () -> {
                try (FileSystemOps fs = new IsoFileSystemType().mount(HostDisk.open(host, img.toString(),
                        OpenMode.READ_ONLY), FileSystemType.Options.of(true, () -> 0))) {
                    walk(fs, fs.rootInode(), 0);
                }
            });
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            return e;
        });
    }

    private static void walk(FileSystemOps fs, long dir, int depth) throws ErrnoException {
        assertTrue(depth < 100, "walked deeper than the tree is");
        for (var e : fs.readdir(dir)) {
            if (!e.name().equals(".") && !e.name().equals("..") && fs.getattr(e.ino()).isDirectory()) {
                walk(fs, e.ino(), depth + 1);
            }
        }
    }

    private Path tree(String... files) throws Exception {
        Path t = dir.resolve("tree");
        Files.createDirectories(t.resolve("sub"));
        Files.writeString(t.resolve("sub/inner.txt"), "inner");
        for (String f : files) {
            Files.writeString(t.resolve(f), f);
        }
        return t;
    }

    private static long le32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    /** Writes both halves of a both-endian 32-bit field. */
    private static void both32(byte[] b, int off, long v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
            b[off + 7 - i] = (byte) (v >>> (8 * i));
        }
    }

    private static int rootBlock(byte[] img) {
        return (int) le32(img, 16 * B + 156 + 2);
    }

    /** Offsets (in the image) of the records in the directory block at {@code block}. */
    private static List<Integer> records(byte[] img, int block) {
        List<Integer> out = new ArrayList<>();
        int off = 0;
        while (off < B && img[block * B + off] != 0) {
            out.add(block * B + off);
            off += img[block * B + off] & 0xff;
        }
        return out;
    }

    private static int record(byte[] img, int block, String isoNamePrefix) {
        for (int r : records(img, block)) {
            String name = new String(img, r + 33, img[r + 32] & 0xff, StandardCharsets.ISO_8859_1);
            if (name.startsWith(isoNamePrefix)) {
                return r;
            }
        }
        throw new AssertionError("no record " + isoNamePrefix + " in block " + block);
    }

    private static int find(byte[] img, byte[] what, int from) {
        outer:
        for (int i = from; i + what.length <= img.length; i++) {
            for (int k = 0; k < what.length; k++) {
                if (img[i + k] != what[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not found");
    }

    @Test
    void recordLengthBelowTheMinimum() throws Exception {
        Path img = dir.resolve("short.iso");
        run("xorriso", "-as", "mkisofs", "-o", img.toString(), tree("a.txt", "b.txt").toString());
        byte[] b = Files.readAllBytes(img);
        int rec = record(b, rootBlock(b), "A.TXT");
        b[rec] = 20;
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("iso9660: directory record at block " + rootBlock(b) + " offset " + (rec % B)
                + ": length 20 is below the 34-byte minimum"), m);
    }

    @Test
    void recordLengthRunningPastItsBlock() throws Exception {
        byte[] block = new byte[B];
        block[1900] = (byte) 200;
        block[1900 + 32] = 1;
        ErrnoException e = assertThrows(ErrnoException.class, () -> DirRecord.parse(block, 1900, 23));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains(
                "iso9660: directory record at block 23 offset 1900: length 200 runs past the 2048-byte block"),
                e.getMessage());
        block[1900] = 40;
        block[1900 + 32] = 30;
        assertTrue(assertThrows(ErrnoException.class, () -> DirRecord.parse(block, 1900, 23)).getMessage()
                .contains("identifier length 30 runs past the record length 40"));
    }

    @Test
    void continuationAreaPastTheDevice() throws Exception {
        Path t = tree();
        Files.createSymbolicLink(t.resolve("long-link"), Path.of("x".repeat(200) + "/" + "y".repeat(200) + "/"
                + "z".repeat(200)));
        Path img = dir.resolve("ce.iso");
        run("xorriso", "-as", "mkisofs", "-R", "-o", img.toString(), t.toString());
        byte[] b = Files.readAllBytes(img);
        int ce = find(b, new byte[] {'C', 'E', 28, 1}, rootBlock(b) * B + 34);
        both32(b, ce + 4, 0x7fff_0000L);
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("SUSP continuation area at block 2147418112 offset "), m);
        assertTrue(m.contains("run past the end of the device"), m);
    }

    /** A CE that points at itself: the walk stops after 32 continuation areas. */
    @Test
    void continuationAreaLoop() throws Exception {
        Path t = tree();
        Files.createSymbolicLink(t.resolve("long-link"), Path.of("x".repeat(200) + "/" + "y".repeat(200) + "/"
                + "z".repeat(200)));
        Path img = dir.resolve("celoop.iso");
        run("xorriso", "-as", "mkisofs", "-R", "-o", img.toString(), t.toString());
        byte[] b = Files.readAllBytes(img);
        int ce = find(b, new byte[] {'C', 'E', 28, 1}, rootBlock(b) * B + 34);
        both32(b, ce + 4, ce / B);
        both32(b, ce + 12, ce % B);
        both32(b, ce + 20, 28);
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("more than 32 SUSP continuation areas"), m);
    }

    /** A directory that claims 100 MiB is refused before anything is read or allocated. */
    @Test
    void hugeDirectoryIsRefused() throws Exception {
        Path img = dir.resolve("hugedir.iso");
        run("xorriso", "-as", "mkisofs", "-o", img.toString(), tree().toString());
        byte[] b = Files.readAllBytes(img);
        int sub = record(b, rootBlock(b), "SUB");
        both32(b, sub + 10, 100L << 20);
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("104857600 bytes, more than the 16777216 this reader takes"), m);
    }

    @Test
    void timestampsShortAndLongFormWithTheirGmtOffsets() {
        // 2023-11-14 23:15:23 at GMT+1 (4 quarter hours): 22:15:23 UTC, 1700000123 s after the epoch.
        byte[] shortForm = {123, 11, 14, 23, 15, 23, 4};
        assertEquals(1_700_000_123L * 1_000_000_000L, IsoTime.short7(shortForm, 0));
        byte[] longForm = "2023111423152350".getBytes(StandardCharsets.US_ASCII);
        byte[] withOffset = java.util.Arrays.copyOf(longForm, 17);
        withOffset[16] = 4;
        assertEquals(1_700_000_123L * 1_000_000_000L + 500_000_000L, IsoTime.long17(withOffset, 0));
        assertEquals(IsoTime.NONE, IsoTime.long17(new byte[17], 0), "all zeros: not specified");
        assertEquals(IsoTime.NONE, IsoTime.short7(new byte[] {1, 13, 40, 0, 0, 0, 0}, 0), "month 13: no date");
    }

    @Test
    void directoryWhoseExtentIsItsParent() throws Exception {
        Path img = dir.resolve("self.iso");
        run("xorriso", "-as", "mkisofs", "-o", img.toString(), tree().toString());
        byte[] b = Files.readAllBytes(img);
        int root = rootBlock(b);
        int sub = record(b, root, "SUB");
        both32(b, sub + 2, root);
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("directory at block " + root + " contains itself"), m);
    }

    /** genisoimage relocates the deep directory; its CL placeholder is made to point at its own parent. */
    @Test
    void childLinkLoop() throws Exception {
        Path t = tree();
        Files.createDirectories(t.resolve("a/b/c/d/e/f/g/h/i"));
        Path img = dir.resolve("cl.iso");
        run("genisoimage", "-quiet", "-R", "-o", img.toString(), t.toString());
        byte[] b = Files.readAllBytes(img);
        int cl = find(b, new byte[] {'C', 'L', 12, 1}, 18 * B);
        both32(b, cl + 4, cl / B); // the directory the CL record sits in
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("directory at block " + cl / B + " contains itself"), m);
    }

    @Test
    void multiExtentFileOfTooManyParts() throws Exception {
        Path t = tree();
        Path many = t.resolve("many");
        Files.createDirectories(many);
        for (int i = 0; i < 5000; i++) {
            Files.writeString(many.resolve(String.format("f%04d", i)), "");
        }
        Path img = dir.resolve("multi.iso");
        run("xorriso", "-as", "mkisofs", "-o", img.toString(), t.toString());
        byte[] b = Files.readAllBytes(img);
        int manyRec = record(b, rootBlock(b), "MANY");
        int first = (int) le32(b, manyRec + 2);
        int blocks = (int) ((le32(b, manyRec + 10) + B - 1) / B);
        byte[] name = null;
        for (int blk = first; blk < first + blocks; blk++) {
            for (int r : records(b, blk)) {
                int nameLen = b[r + 32] & 0xff;
                if (nameLen == 1 && b[r + 33] <= 1) {
                    continue; // "." and ".."
                }
                if (name == null) {
                    name = java.util.Arrays.copyOfRange(b, r + 33, r + 33 + nameLen);
                }
                System.arraycopy(name, 0, b, r + 33, nameLen);
                b[r + 25] |= (byte) 0x80; // "not the final extent"
            }
        }
        Files.write(img, b);
        String m = walkFails(img).getMessage();
        assertTrue(m.contains("multi-extent file of more than 4096 extents"), m);
    }

    @Test
    void noPrimaryDescriptorAndGarbageAreRefused() throws Exception {
        Path img = dir.resolve("bad.iso");
        byte[] b = new byte[40 * B];
        System.arraycopy("\u0002CD001".getBytes(StandardCharsets.ISO_8859_1), 0, b, 16 * B, 6);
        b[17 * B] = (byte) 255;
        System.arraycopy("CD001".getBytes(StandardCharsets.ISO_8859_1), 0, b, 17 * B + 1, 5);
        Files.write(img, b);
        ErrnoException e = assertThrows(ErrnoException.class, () -> new IsoFileSystemType().mount(
                HostDisk.open(host, img.toString(), OpenMode.READ_ONLY), FileSystemType.Options.of(true, () -> 0)));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("no primary volume descriptor"), e.getMessage());
        try (HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            assertTrue(new IsoFileSystemType().probe(d).orElseThrow().startsWith("iso9660, damaged: "));
        }
    }
}
