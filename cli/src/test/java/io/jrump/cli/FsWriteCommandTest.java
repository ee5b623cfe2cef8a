package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writing {@code rump fs} commands against e2fsprogs: images are made with
 * {@code mke2fs -q -F -t ext4 IMG 32M} (or ext2), every write is followed by {@code e2fsck -fn IMG},
 * and results are read back with {@code debugfs -R 'stat /path' IMG}.
 */
class FsWriteCommandTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    @TempDir
    Path dir;

    record Tool(int exit, String out) {
    }

    private static Tool tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        int exit = p.waitFor();
        return new Tool(exit, new String(out, StandardCharsets.UTF_8) + new String(err, StandardCharsets.UTF_8));
    }

    private Path image(String type) throws Exception {
        Path img = dir.resolve(type + ".img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        Tool t = tool("mke2fs", "-q", "-F", "-t", type, img.toString(), "32M");
        assertEquals(0, t.exit(), t.out());
        return img;
    }

    private static void clean(Path img) throws Exception {
        Tool t = tool("e2fsck", "-fn", img.toString());
        assertEquals(0, t.exit(), "e2fsck -fn " + img + "\n" + t.out());
    }

    /** debugfs's stdout only (its banner goes to stderr). */
    private static String debugfs(Path img, String request) throws Exception {
        Process p = new ProcessBuilder("debugfs", "-R", request, img.toString()).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        return out;
    }

    /** Runs rump and requires the exit code, then requires the image to be clean. */
    private static RumpRun write(Path img, int exit, String... args) throws Exception {
        RumpRun r = RumpRun.expect(exit, args);
        clean(img);
        return r;
    }

    @Test
    void aRecursiveCopyIntoAFullImageStopsAtTheFirstEnospcInOneLineAndLeavesItClean() throws Exception {
        Path img = dir.resolve("small.img");
        Tool t = tool("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "2M");
        assertEquals(0, t.exit(), t.out());
        Path src = dir.resolve("many");
        Files.createDirectories(src);
        byte[] data = new byte[40_000];
        new java.util.Random(3).nextBytes(data);
        for (int i = 0; i < 80; i++) {
            Files.write(src.resolve("f" + i), data); // 3.2 MB into 2 MB
        }
        RumpRun r = write(img, 1, "fs", "cp", "-r", src.toString(), img + ":/many");
        List<String> lines = r.err().lines().toList();
        assertEquals(2, lines.size(), "one line for the file that did not fit, one summary\n" + r.err());
        assertTrue(lines.get(0).matches("rump: " + java.util.regex.Pattern.quote(img + ":/many/f") + "\\d+: No space left on "
                + "device \\(ENOSPC\\)"), lines.get(0));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("rump: stopped at the first ENOSPC: (\\d+) files \\(.+\\) copied")
                .matcher(lines.get(1));
        assertTrue(m.matches(), lines.get(1));
        // As many whole files as it says are in the image, each with its bytes.
        long whole = debugfs(img, "ls -l /many").lines().filter(l -> l.trim().matches(".*\\s40000\\s.*")).count();
        assertEquals(Long.parseLong(m.group(1)), whole, debugfs(img, "ls -l /many"));
    }

    @Test
    void progressCountsFilesAndBytesWhenAsked() throws Exception {
        Path img = image("ext4");
        Path src = dir.resolve("tree");
        Files.createDirectories(src.resolve("sub"));
        for (int i = 0; i < 30; i++) {
            Files.writeString(src.resolve((i % 2 == 0 ? "sub/" : "") + "f" + i), "x".repeat(1000));
        }
        Files.createSymbolicLink(src.resolve("link"), Path.of("f1"));
        RumpRun r = write(img, 0, "fs", "cp", "-r", "--progress", src.toString(), img + ":/tree");
        String last = r.err().substring(r.err().lastIndexOf('\r') + 1).strip();
        assertTrue(last.matches("copying \\[#{20}\\] 100%  31/31 files  29\\.3K/29\\.3K  .*/s  0:\\d\\d"), r.err());
        assertEquals("", RumpRun.expect(0, "fs", "cp", "-r", "--no-progress", src.toString(), img + ":/again").err());
        assertEquals("", RumpRun.expect(0, "fs", "cp", "-r", src.toString(), img + ":/auto").err(),
                "without a terminal and without --progress there is no line");
    }

    @Test
    void mkdirMakesParentsAndModes() throws Exception {
        Path img = image("ext4");
        write(img, 0, "fs", "mkdir", "-p", img + ":/a/b/c", img + ":/a/x");
        write(img, 0, "fs", "mkdir", "-p", img + ":/a/b"); // exists: fine with -p
        write(img, 0, "fs", "mkdir", "-m", "700", img + ":/m");
        assertTrue(debugfs(img, "stat /a/b/c").contains("Type: directory"));
        assertTrue(debugfs(img, "stat /a/b").contains("Mode:  0755"), debugfs(img, "stat /a/b"));
        assertTrue(debugfs(img, "stat /m").contains("Mode:  0700"), debugfs(img, "stat /m"));
        RumpRun r = write(img, 1, "fs", "mkdir", img + ":/a/b", img + ":/n");
        assertTrue(r.err().contains(img + ":/a/b: File exists"), r.err());
        assertTrue(debugfs(img, "stat /n").contains("Type: directory"), "goes on after an error");
        r = write(img, 1, "fs", "mkdir", img + ":/nope/x");
        assertTrue(r.err().contains("rump: " + img + ":/nope/x: No such file or directory"), r.err());
    }

    @Test
    void rmRemovesFilesAndTrees() throws Exception {
        Path img = image("ext4");
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "hello\n");
        write(img, 0, "fs", "mkdir", "-p", img + ":/t/a/b", img + ":/t/c");
        write(img, 0, "fs", "cp", f.toString(), img + ":/t/a/b/");
        write(img, 0, "fs", "cp", f.toString(), img + ":/t/c/g");
        write(img, 0, "fs", "cp", f.toString(), img + ":/top");
        write(img, 0, "fs", "ln", "-s", "a/b", img + ":/t/link");
        assertTrue(write(img, 1, "fs", "rm", img + ":/t").err().contains("Is a directory"));
        write(img, 0, "fs", "rm", img + ":/top");
        write(img, 0, "fs", "rm", "-r", img + ":/t");
        String ls = debugfs(img, "ls /");
        assertFalse(ls.contains(" t ") || ls.contains("top"), ls);
        assertTrue(write(img, 1, "fs", "rm", img + ":/missing").err().contains("No such file or directory"));
        write(img, 0, "fs", "rm", "-f", img + ":/missing");
        assertTrue(write(img, 1, "fs", "rm", "-r", img + ":/").err().contains("refusing"));
        assertTrue(write(img, 1, "fs", "rm", "-rf", img + "://").err().contains("refusing"));
    }

    @Test
    void mvRenamesAndMovesIntoDirectories() throws Exception {
        Path img = image("ext4");
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "moved\n");
        write(img, 0, "fs", "cp", f.toString(), img + ":/f");
        write(img, 0, "fs", "mkdir", img + ":/d", img + ":/e");
        write(img, 0, "fs", "mv", img + ":/f", img + ":/g");
        write(img, 0, "fs", "mv", img + ":/g", img + ":/d");
        assertEquals("moved\n", debugfs(img, "cat /d/g"));
        write(img, 0, "fs", "mv", img + ":/d", img + ":/e");
        assertEquals("moved\n", debugfs(img, "cat /e/d/g"));
        write(img, 0, "fs", "mv", img + ":/e/d", img + ":/renamed");
        assertEquals("moved\n", debugfs(img, "cat /renamed/g"));
        assertTrue(write(img, 1, "fs", "mv", img + ":/nothing", img + ":/x").err().contains("No such file or directory"));
        RumpRun.expect(2, "fs", "mv", img + ":/renamed", dir.resolve("other.img") + ":/x");
    }

    @Test
    void lnMakesSymbolicAndHardLinks() throws Exception {
        Path img = image("ext4");
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "linked\n");
        write(img, 0, "fs", "cp", f.toString(), img + ":/f");
        write(img, 0, "fs", "ln", "-s", "/etc/target", img + ":/sym");
        assertTrue(debugfs(img, "stat /sym").contains("\"/etc/target\""), debugfs(img, "stat /sym"));
        write(img, 0, "fs", "ln", "/f", img + ":/hard");
        write(img, 0, "fs", "mkdir", img + ":/d");
        write(img, 0, "fs", "ln", img + ":/f", img + ":/d");
        assertTrue(debugfs(img, "stat /f").contains("Links: 3"), debugfs(img, "stat /f"));
        assertEquals("linked\n", debugfs(img, "cat /d/f"));
        assertTrue(write(img, 1, "fs", "ln", "/f", img + ":/hard").err().contains("File exists"));
    }

    @Test
    void chmodAndChownChangeAttributes() throws Exception {
        Path img = image("ext4");
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "x");
        write(img, 0, "fs", "mkdir", "-p", img + ":/d/e");
        write(img, 0, "fs", "cp", f.toString(), img + ":/d/e/f");
        write(img, 0, "fs", "chmod", "640", img + ":/d/e/f");
        assertTrue(debugfs(img, "stat /d/e/f").contains("Mode:  0640"));
        write(img, 0, "fs", "chmod", "-R", "1777", img + ":/d");
        assertTrue(debugfs(img, "stat /d/e/f").contains("Mode:  01777"));
        write(img, 0, "fs", "chown", "-R", "1000:100", img + ":/d");
        String st = debugfs(img, "stat /d/e/f");
        assertTrue(st.contains("User:  1000") && st.contains("Group:   100"), st);
        RumpRun.expect(2, "fs", "chmod", "u+x", img + ":/d");
        RumpRun.expect(2, "fs", "chown", "root", img + ":/d");
    }

    private static void setTimes(Path p, long mtimeSeconds) throws Exception {
        Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class, NOFOLLOW)
                .setTimes(FileTime.from(mtimeSeconds, TimeUnit.SECONDS), FileTime.from(mtimeSeconds + 7, TimeUnit.SECONDS),
                        null);
    }

    @Test
    void cpCopiesTreesInAndOutKeepingWhatArchiveKeeps() throws Exception {
        Path img = image("ext4");
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("sub/deeper"));
        byte[] big = new byte[5 << 20];
        new Random(42).nextBytes(big);
        Files.write(tree.resolve("big.bin"), big);
        Files.writeString(tree.resolve("sub/script.sh"), "#!/bin/sh\necho hi\n");
        Files.setAttribute(tree.resolve("sub/script.sh"), "unix:mode", 0750);
        Files.writeString(tree.resolve("sub/deeper/private"), "secret\n");
        Files.setAttribute(tree.resolve("sub/deeper/private"), "unix:mode", 0600);
        Files.createSymbolicLink(tree.resolve("link"), Path.of("sub/script.sh"));
        Files.createSymbolicLink(tree.resolve("dangling"), Path.of("/no/such/target"));
        long t = 1_600_000_000L;
        for (String p : List.of("big.bin", "sub/script.sh", "sub/deeper/private", "link", "dangling", "sub/deeper", "sub")) {
            setTimes(tree.resolve(p), t += 1000);
        }
        setTimes(tree, t + 1000);

        // cp -r: contents, modes less the umask, symlinks inside kept as links.
        write(img, 0, "fs", "cp", "-r", tree.toString(), img + ":/");
        assertEquals("#!/bin/sh\necho hi\n", debugfs(img, "cat /tree/sub/script.sh"));
        assertTrue(debugfs(img, "stat /tree/sub/script.sh").contains("Mode:  0750"));
        assertTrue(debugfs(img, "stat /tree/link").contains("\"sub/script.sh\""));
        Path bigOut = dir.resolve("big.out");
        assertEquals(0, tool("debugfs", "-R", "dump /tree/big.bin " + bigOut, img.toString()).exit());
        assertArrayEquals(big, Files.readAllBytes(bigOut));

        // cp -a in, then out again: bytes, modes, mtimes and symlinks as they were. (Reading the
        // originals may move their atimes, so the atime to expect is the one cp -a sees.)
        FileTime bigAtime = (FileTime) Files.getAttribute(tree.resolve("big.bin"), "lastAccessTime");
        write(img, 0, "fs", "cp", "-a", tree.toString(), img + ":/archived");
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        write(img, 0, "fs", "cp", "-a", img + ":/archived", out.toString());
        Path back = out.resolve("archived");
        assertEquals(bigAtime, Files.getAttribute(back.resolve("big.bin"), "lastAccessTime")); // before reading it
        List<String> checked = new ArrayList<>();
        try (var walk = Files.walk(tree)) {
            for (Path p : walk.toList()) {
                Path rel = tree.relativize(p);
                Path q = back.resolve(rel.toString());
                assertEquals(Files.isSymbolicLink(p), Files.isSymbolicLink(q), rel.toString());
                if (Files.isSymbolicLink(p)) {
                    assertEquals(Files.readSymbolicLink(p), Files.readSymbolicLink(q), rel.toString());
                } else {
                    assertEquals(Files.getAttribute(p, "unix:mode"), Files.getAttribute(q, "unix:mode"), rel.toString());
                    if (Files.isRegularFile(p)) {
                        assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(q), rel.toString());
                    }
                }
                assertEquals(Files.getLastModifiedTime(p, NOFOLLOW), Files.getLastModifiedTime(q, NOFOLLOW), rel.toString());
                checked.add(rel.toString());
            }
        }
        assertEquals(8, checked.size(), checked.toString());

        // image to image, and a single file out under a new name
        write(img, 0, "fs", "cp", "-r", img + ":/tree/sub", img + ":/copy");
        assertEquals("secret\n", debugfs(img, "cat /copy/deeper/private"));
        write(img, 0, "fs", "cp", img + ":/tree/sub/script.sh", dir.resolve("s.sh").toString());
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(dir.resolve("s.sh")));
        // without -r a directory is left out, with an error
        assertTrue(write(img, 1, "fs", "cp", img + ":/tree", dir.resolve("x").toString()).err().contains("-r not specified"));
        assertTrue(write(img, 1, "fs", "cp", dir.resolve("none").toString(), img + ":/").err()
                .contains("No such file or directory"));
        assertTrue(write(img, 1, "fs", "cp", "-r", img + ":/tree", img + ":/tree/sub").err().contains("into itself"));
    }

    /** Whether the host directory keeps user.* attributes (ext4 does; tmpfs before Linux 6.6 does not). */
    private static boolean hostKeepsUserXattrs(Path f) {
        try {
            Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class)
                    .write("probe", java.nio.ByteBuffer.wrap(new byte[] {1}));
            Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class).delete("probe");
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void copyArchiveKeepsExtendedAttributes() throws Exception {
        Path img = image("ext4");
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "data\n");
        assertEquals(0, tool("debugfs", "-w", "-R", "write " + empty + " f", img.toString()).exit());
        assertEquals(0, tool("debugfs", "-w", "-R", "ea_set f user.color blue", img.toString()).exit());
        assertEquals(0, tool("debugfs", "-w", "-R", "ea_set f trusted.t secret", img.toString()).exit());

        // image to image: every namespace the copier may set (it runs as root inside the image's VFS)
        write(img, 0, "fs", "cp", "-a", img + ":/f", img + ":/g");
        String list = debugfs(img, "ea_list /g");
        assertTrue(list.contains("user.color (4) = \"blue\""), list);
        assertTrue(list.contains("trusted.t (6) = \"secret\""), list);

        // image to host and back: user.* where the host keeps it; silently left behind where it does not
        // (the other namespaces, which need root on the host: FsCopyXattrsTest)
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        write(img, 0, "fs", "cp", "-a", img + ":/f", out.toString());
        Path host = out.resolve("f");
        var view = Files.getFileAttributeView(host, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        if (hostKeepsUserXattrs(host)) {
            assertTrue(view.list().contains("color"), view.list().toString());
            view.write("shade", StandardCharsets.UTF_8.encode("dark"));
            write(img, 0, "fs", "cp", "-a", host.toString(), img + ":/h");
            String back = debugfs(img, "ea_list /h");
            assertTrue(back.contains("user.color (4) = \"blue\""), back);
            assertTrue(back.contains("user.shade (4) = \"dark\""), back);
        } else {
            assertEquals("data\n", Files.readString(host));
        }
    }

    @Test
    void namesThatCannotBeUsedOnTheHostAreRefused() {
        for (String bad : List.of("", ".", "..", "a/b", "a\0b", "/", "../etc")) {
            assertFalse(FsTree.isSafeName(bad), bad);
        }
        for (String good : List.of("a", "...", "..a", "a..", " ", "-rf", "ünï")) {
            assertTrue(FsTree.isSafeName(good), good);
        }
    }

    @Test
    void copyOutNeverWritesThroughSymlinksFromTheImage() throws Exception {
        Path img = image("ext4");
        Path outside = dir.resolve("outside");
        Files.createDirectories(outside);
        Path f = dir.resolve("payload");
        Files.writeString(f, "pwned\n");
        write(img, 0, "fs", "mkdir", "-p", img + ":/s", img + ":/d/evil");
        write(img, 0, "fs", "ln", "-s", outside.toString(), img + ":/s/evil");
        write(img, 0, "fs", "ln", "-s", "/etc", img + ":/s/etc");
        write(img, 0, "fs", "cp", f.toString(), img + ":/d/evil/payload");
        write(img, 0, "fs", "cp", f.toString(), img + ":/passwd");

        Path out = dir.resolve("out");
        Files.createDirectories(out);
        // The symlink comes out as a link; the directory of the same name must not be merged through it.
        RumpRun r = write(img, 1, "fs", "cp", "-a", img + ":/s/evil", img + ":/d/evil", out.toString());
        assertTrue(Files.isSymbolicLink(out.resolve("evil")));
        assertEquals(outside, Files.readSymbolicLink(out.resolve("evil")));
        assertFalse(Files.exists(outside.resolve("payload")), "wrote through a symlink from the image");
        assertTrue(r.err().contains("cannot overwrite non-directory"), r.err());

        // A link to /etc is copied as a link, and naming it as the destination does not write into /etc.
        write(img, 0, "fs", "cp", "-a", img + ":/s/etc", out.toString());
        assertEquals(Path.of("/etc"), Files.readSymbolicLink(out.resolve("etc")));
        r = write(img, 1, "fs", "cp", img + ":/passwd", out.resolve("etc").toString());
        assertTrue(r.err().contains("symbolic link"), r.err());
        assertTrue(Files.isSymbolicLink(out.resolve("etc")));
        assertFalse(Files.readString(Path.of("/etc/passwd")).contains("pwned"));
        r = write(img, 1, "fs", "cp", img + ":/passwd", out.resolve("evil").toString() + "/x");
        assertTrue(r.err().contains("symbolic link"), r.err());
        assertFalse(Files.exists(outside.resolve("x")));
        r = write(img, 1, "fs", "cp", img + ":/passwd", out.resolve("evil").toString());
        assertTrue(r.err().contains("symbolic link"), r.err());
        assertFalse(Files.exists(outside.resolve("passwd")));
        assertTrue(Files.isSymbolicLink(out.resolve("evil")));
        // An existing directory symlink in the tree being written into is not written through either.
        Files.createDirectories(out.resolve("real"));
        Files.createSymbolicLink(out.resolve("real/d"), outside);
        r = write(img, 1, "fs", "cp", "-r", img + ":/d", out.resolve("real").toString());
        assertFalse(Files.exists(outside.resolve("evil")));
    }

    /**
     * Directory entries that no kernel would make, crafted by patching names in an ext2 image (no
     * directory checksums there): {@code mke2fs -t ext2}, files /d/HOSTILE1..3 and /d/ok copied
     * in, then in the raw image "HOSTILE1" becomes "../../x1" (name_len kept), "HOSTILE2" becomes
     * ".." and "HOSTILE3" "." (name_len 2 and 1).
     */
    @Test
    void copyOutSkipsHostileNamesFromTheImage() throws Exception {
        Path img = image("ext2");
        Path f = dir.resolve("payload");
        Files.writeString(f, "pwned\n");
        write(img, 0, "fs", "mkdir", img + ":/d");
        for (String n : List.of("HOSTILE1", "HOSTILE2", "HOSTILE3", "ok")) {
            write(img, 0, "fs", "cp", f.toString(), img + ":/d/" + n);
        }
        byte[] raw = Files.readAllBytes(img);
        patchName(raw, "HOSTILE1", "../../x1");
        patchName(raw, "HOSTILE2", "..");
        patchName(raw, "HOSTILE3", ".");
        Files.write(img, raw);
        assertTrue(debugfs(img, "ls /d").contains("../../x1"), debugfs(img, "ls /d"));

        Path out = dir.resolve("out");
        Files.createDirectories(out);
        RumpRun r = RumpRun.expect(1, "fs", "cp", "-r", img + ":/d", out.toString());
        assertTrue(r.err().contains(img + ":/d/../../x1: unsafe name"), r.err());
        assertTrue(r.err().contains("unsafe name \"..\""), r.err());
        assertTrue(r.err().contains("unsafe name \".\""), r.err());
        assertEquals(List.of("ok"), Files.list(out.resolve("d")).map(p -> p.getFileName().toString()).toList());
        assertFalse(Files.exists(dir.resolve("x1")));
        assertEquals("pwned\n", Files.readString(out.resolve("d/ok")));
    }

    /** Renames a directory entry in a raw ext2 image: the name bytes, and name_len just before them. */
    private static void patchName(byte[] raw, String from, String to) {
        byte[] pat = from.getBytes(StandardCharsets.US_ASCII);
        for (int i = 8; i + pat.length <= raw.length; i++) {
            if ((raw[i - 2] & 0xff) == pat.length && java.util.Arrays.equals(raw, i, i + pat.length, pat, 0, pat.length)) {
                byte[] repl = to.getBytes(StandardCharsets.US_ASCII);
                raw[i - 2] = (byte) repl.length;
                System.arraycopy(repl, 0, raw, i, repl.length);
                return;
            }
        }
        throw new AssertionError(from + " not found in the image");
    }

    @Test
    void mkfsMakesFilesystemsThatE2fsprogsAccept() throws Exception {
        for (String type : List.of("ext2", "ext4")) {
            Path img = dir.resolve("new-" + type + ".img");
            RumpRun.expect(0, "fs", "mkfs", type, img.toString(), "--size", "24M", "--label", "rump-" + type);
            clean(img);
            Tool h = tool("dumpe2fs", "-h", img.toString());
            assertTrue(h.out().contains("Filesystem volume name:   rump-" + type), h.out());
            assertEquals(type.equals("ext4"), h.out().contains("has_journal"), h.out());
            Path f = dir.resolve("hello");
            Files.writeString(f, "hello " + type + "\n");
            write(img, 0, "fs", "cp", f.toString(), img + ":/hello");
            assertEquals("hello " + type + "\n", debugfs(img, "cat /hello"));

            RumpRun r = RumpRun.expect(1, "fs", "mkfs", type, img.toString());
            assertTrue(r.err().contains("--force"), r.err());
            assertEquals("hello " + type + "\n", debugfs(img, "cat /hello"));
            RumpRun.expect(0, "fs", "mkfs", type, img.toString(), "--force", "--block-size", "1024");
            clean(img);
            assertTrue(tool("dumpe2fs", "-h", img.toString()).out().contains("Block size:               1024"));
            assertFalse(debugfs(img, "ls /").contains("hello"));
        }
        Path q = dir.resolve("new.qcow2");
        RumpRun.expect(0, "fs", "mkfs", "ext4", q.toString(), "--size", "64M");
        assertTrue(RumpRun.expect(0, "fs", "fsck", q.toString()).out().contains("clean"));
        RumpRun.expect(1, "fs", "mkfs", "ext4", dir.resolve("missing.img").toString());

        // A partitioned disk: the whole disk only with --force; a partition as IMG:N.
        Path disk = dir.resolve("disk.img");
        RumpRun.expect(0, "image", "create", disk.toString(), "--size", "48M");
        RumpRun.expect(0, "part", "create", disk.toString(), "--table", "gpt");
        RumpRun.expect(0, "part", "add", disk.toString(), "--size", "16M", "--name", "root");
        assertTrue(RumpRun.expect(1, "fs", "mkfs", "ext4", disk.toString()).err().contains("partition table"));
        RumpRun.expect(0, "fs", "mkfs", "ext4", disk + ":root", "--label", "part1");
        Tool t = tool("e2fsck", "-fn", disk + "?offset=1048576");
        assertEquals(0, t.exit(), t.out());
        assertTrue(tool("dumpe2fs", "-h", disk + "?offset=1048576").out().contains("part1"));
        assertTrue(RumpRun.expect(1, "fs", "mkfs", "ext4", disk + ":1").err().contains("--force"));
        RumpRun.expect(2, "fs", "mkfs", "ext3", dir.resolve("x.img").toString(), "--size", "8M");
    }

    @Test
    void mkfsTakesFeatureListsAsMke2fsDoes() throws Exception {
        Path img = dir.resolve("meta.img");
        RumpRun.expect(0, "fs", "mkfs", "ext4", img.toString(), "--size", "300M", "-b", "1024",
                "-O", "meta_bg,^resize_inode", "-O", "^has_journal", "-E", "lazy_itable_init=1");
        clean(img);
        String dump = tool("dumpe2fs", "-h", img.toString()).out();
        assertTrue(dump.contains("meta_bg") && !dump.contains("resize_inode") && !dump.contains("has_journal"), dump);
        // A feature this mkfs does not make is refused by name before any image is created, as mke2fs exits 1.
        Path other = dir.resolve("other.img");
        assertTrue(RumpRun.expect(1, "fs", "mkfs", "ext4", other.toString(), "--size", "16M", "-O", "bigalloc")
                .err().contains("bigalloc"));
        assertTrue(RumpRun.expect(1, "fs", "mkfs", "ext4", other.toString(), "--size", "16M", "-O", "meta_bg")
                .err().contains("resize_inode and meta_bg"));
        assertFalse(java.nio.file.Files.exists(other));
        RumpRun.expect(2, "fs", "mkfs", "vfat", other.toString(), "--size", "16M", "-O", "extent");
    }

    @Test
    void ext2ImagesTakeWritesToo() throws Exception {
        Path img = image("ext2");
        Path f = dir.resolve("f");
        Files.writeString(f, "two\n");
        write(img, 0, "fs", "mkdir", "-p", img + ":/a/b");
        write(img, 0, "fs", "cp", f.toString(), img + ":/a/b/f");
        write(img, 0, "fs", "mv", img + ":/a/b/f", img + ":/a/g");
        write(img, 0, "fs", "rm", "-r", img + ":/a/b");
        assertEquals("two\n", debugfs(img, "cat /a/g"));
    }

    @Test
    void usageErrorsExitTwo() {
        RumpRun.expect(2, "fs", "mkdir");
        RumpRun r = RumpRun.expect(2, "fs", "rm", "no-location");
        assertTrue(r.err().contains("Try 'rump fs rm --help'"), r.err());
        RumpRun.expect(2, "fs", "cp", "a", "b");
        RumpRun.expect(2, "fs", "mkdir", "-m", "rwx", "x.img:/a");
    }

    @Test
    void aDamagedFilesystemIsWrittenOnlyWithTheMountOptionForce() throws Exception {
        Path img = image("ext2");
        Path f = dir.resolve("f");
        Files.writeString(f, "data");
        assertEquals(0, tool("debugfs", "-w", "-R", "write " + f + " f", img.toString()).exit());
        assertEquals(0, tool("debugfs", "-w", "-R", "sif /f links_count 4", img.toString()).exit());
        assertEquals(0, tool("debugfs", "-w", "-R", "ssv state 0", img.toString()).exit()); // not cleanly unmounted
        RumpRun refused = RumpRun.expect(1, "fs", "mkdir", img + ":/a");
        assertTrue(refused.err().contains("not cleanly unmounted") && refused.err().contains("'force'"), refused.err());
        RumpRun.expect(1, "fs", "mkdir", "-o", "bogus", img + ":/a");
        RumpRun.expect(0, "fs", "mkdir", "-o", "force", img + ":/a");
        assertTrue(debugfs(img, "ls /").contains("a"));
        assertTrue(tool("dumpe2fs", "-h", img.toString()).out().contains("clean with errors"),
                "the forced mount records the errors for e2fsck");
        RumpRun.expect(1, "fs", "cp", dir.resolve("f").toString(), img + ":/g"); // the error state now refuses it
        RumpRun.expect(0, "fs", "cp", "-o", "force", dir.resolve("f").toString(), img + ":/g");
    }
}
