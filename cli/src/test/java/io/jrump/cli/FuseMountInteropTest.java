package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump mount} against the Linux kernel's FUSE driver and e2fsprogs: an image made by
 * {@code mke2fs -t ext4 -d SRC}, mounted with {@code rump mount --foreground} (in this JVM, on a
 * background thread), read with {@code diff -r}, written with cp, mkdir, rm, mv and shell
 * appends, unmounted with {@code rump umount}; then {@code e2fsck -fn} is clean and
 * {@code debugfs} reads the changes. Needs root (other users skip it, and say so) and {@code /dev/fuse}: fails without it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount(2) of /dev/fuse); ./run-tests, as root, runs it")
class FuseMountInteropTest {
    @TempDir
    Path dir;

    private Path src;
    private Path img;
    private Path mnt;
    private final List<Path> mounts = new ArrayList<>();

    record Tool(int exit, String out) {
    }

    private static Tool tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (java.io.IOException e) {
                return new byte[0];
            }
        });
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + String.join(" ", cmd));
        }
        return new Tool(p.exitValue(), new String(out.get(), StandardCharsets.UTF_8));
    }

    private static String run(String... cmd) throws Exception {
        Tool t = tool(cmd);
        assertEquals(0, t.exit(), String.join(" ", cmd) + "\n" + t.out());
        return t.out();
    }

    /** debugfs's stdout only. */
    private static String debugfs(Path img, String request) throws Exception {
        Process p = new ProcessBuilder("debugfs", "-R", request, img.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        return out;
    }

    @BeforeEach
    void image() throws Exception {
        assertTrue(Files.exists(Path.of("/dev/fuse")), "/dev/fuse is missing: these tests need the FUSE driver");
        assertEquals("root", System.getProperty("user.name"), "these tests mount with mount(2) and need root");
        src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub/deeper"));
        Files.writeString(src.resolve("hello.txt"), "hello, fuse\n");
        Files.writeString(src.resolve("sub/notes.md"), "# notes\n".repeat(100));
        byte[] big = new byte[300_000];
        new java.util.Random(7).nextBytes(big);
        Files.write(src.resolve("sub/deeper/big.bin"), big);
        Files.createSymbolicLink(src.resolve("link"), Path.of("sub/notes.md"));
        img = dir.resolve("disk.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-d", src.toString(), img.toString(), "64M");
        mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
    }

    @AfterEach
    void unmountLeftovers() throws Exception {
        for (Path m : mounts) {
            if (MountCommand.isMounted(m.toAbsolutePath().normalize())) {
                tool("umount", "-l", m.toString());
            }
        }
    }

    /** Starts 'rump mount IMG MNT --foreground ARGS' on a thread and waits for the mount. */
    private CompletableFuture<RumpRun> mount(String... extra) throws Exception {
        mounts.add(mnt);
        return RumpRun.mountInForeground(img.toString(), mnt, extra);
    }

    private void umountAndCheck(CompletableFuture<RumpRun> served) throws Exception {
        RumpRun.expect(0, "umount", mnt.toString());
        RumpRun r = served.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertFalse(MountCommand.isMounted(mnt.toAbsolutePath().normalize()));
        Tool fsck = tool("e2fsck", "-fn", img.toString());
        assertEquals(0, fsck.exit(), "e2fsck -fn\n" + fsck.out());
    }

    @Test
    void readsTreeWritesThroughMountAndLeavesCleanImage() throws Exception {
        CompletableFuture<RumpRun> served = mount();
        assertTrue(Files.readString(Path.of("/proc/mounts")).contains(mnt.toAbsolutePath().normalize().toString()));
        run("diff", "-r", "--no-dereference", "-x", "lost+found", src.toString(), mnt.toString());
        assertEquals("sub/notes.md", run("readlink", mnt.resolve("link").toString()).strip());

        Path m = mnt;
        run("cp", src.resolve("sub/deeper/big.bin").toString(), m.resolve("copy.bin").toString());
        run("mkdir", "-p", m.resolve("new/dir").toString());
        run("sh", "-c", "echo made >" + m.resolve("new/dir/file.txt"));
        run("rm", m.resolve("hello.txt").toString());
        run("mv", m.resolve("sub/notes.md").toString(), m.resolve("new/moved.md").toString());
        run("sh", "-c", "echo x >> " + m.resolve("new/moved.md"));
        run("cmp", src.resolve("sub/deeper/big.bin").toString(), m.resolve("copy.bin").toString());
        assertEquals("# notes\n".repeat(100) + "x\n", Files.readString(m.resolve("new/moved.md")));
        assertFalse(Files.exists(m.resolve("hello.txt")));

        umountAndCheck(served);

        assertEquals("made\n", debugfs(img, "cat /new/dir/file.txt"));
        assertEquals("# notes\n".repeat(100) + "x\n", debugfs(img, "cat /new/moved.md"));
        Path back = dir.resolve("back.bin");
        run("debugfs", "-R", "dump /copy.bin " + back, img.toString());
        assertEquals(-1, Files.mismatch(src.resolve("sub/deeper/big.bin"), back));
        assertTrue(debugfs(img, "ls -l /").contains("link"));
        assertFalse(debugfs(img, "ls /").contains("hello.txt"));
        assertFalse(debugfs(img, "ls /sub").contains("notes.md"));
    }

    /** The ext4 image as a dynamic VHD (qemu-img's): mounted, written through the kernel, sound after. */
    @Test
    void aVhdImageThroughTheKernel() throws Exception {
        Path raw = img;
        img = dir.resolve("disk.vhd");
        run("qemu-img", "convert", "-f", "raw", "-O", "vpc", raw.toString(), img.toString());
        CompletableFuture<RumpRun> served = mount();
        run("diff", "-r", "--no-dereference", "-x", "lost+found", src.toString(), mnt.toString());
        run("cp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("copy.bin").toString());
        RumpRun.expect(0, "umount", mnt.toString());
        assertEquals(0, served.get(60, TimeUnit.SECONDS).code());
        Path back = dir.resolve("back.raw");
        run("qemu-img", "convert", "-f", "vpc", "-O", "raw", img.toString(), back.toString());
        Tool fsck = tool("e2fsck", "-fn", back.toString());
        assertEquals(0, fsck.exit(), "e2fsck -fn\n" + fsck.out());
        Path copy = dir.resolve("copy.bin");
        run("debugfs", "-R", "dump /copy.bin " + copy, back.toString());
        assertEquals(-1, Files.mismatch(src.resolve("sub/deeper/big.bin"), copy));
    }

    /** A FAT32 image from mkfs.fat and mcopy, served the same way: the kernel's FUSE driver over our vfat. */
    @Test
    void aFatImageThroughTheKernel() throws Exception {
        img = dir.resolve("fat.img");
        run("mkfs.fat", "-C", "-F", "32", img.toString(), "65536");
        Files.delete(src.resolve("link")); // FAT has no symbolic links
        ProcessBuilder pb = new ProcessBuilder("mcopy", "-s", "-i", img.toString(), src.resolve("hello.txt").toString(),
                src.resolve("sub").toString(), "::").redirectErrorStream(true);
        pb.environment().put("MTOOLS_SKIP_CHECK", "1");
        Process p = pb.start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "mcopy");
        CompletableFuture<RumpRun> served = mount();
        run("diff", "-r", src.toString(), mnt.toString());
        run("mkdir", "-p", mnt.resolve("A New Directory").toString());
        run("cp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("A New Directory/Big Copy.bin").toString());
        run("mv", mnt.resolve("hello.txt").toString(), mnt.resolve("A New Directory/Moved Hello.txt").toString());
        run("cmp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("a new directory/BIG COPY.BIN").toString());
        Tool ln = tool("ln", "-s", "x", mnt.resolve("link").toString());
        assertTrue(ln.exit() != 0 && ln.out().contains("Operation not permitted"), ln.out());
        RumpRun.expect(0, "umount", mnt.toString());
        assertEquals(0, served.get(60, TimeUnit.SECONDS).code());
        run("fsck.fat", "-n", img.toString());
        ProcessBuilder mt = new ProcessBuilder("mtype", "-i", img.toString(), "::A New Directory/Moved Hello.txt")
                .redirectErrorStream(true);
        mt.environment().put("MTOOLS_SKIP_CHECK", "1");
        Process t = mt.start();
        assertEquals("hello, fuse\n", new String(t.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertEquals(0, t.waitFor());
    }

    /** An image from mkfs.exfat, filled and changed through the kernel's FUSE driver over our exfat. */
    @Test
    void anExFatImageThroughTheKernel() throws Exception {
        img = dir.resolve("exfat.img");
        run("truncate", "-s", "64M", img.toString());
        run("mkfs.exfat", "-L", "FUSED", img.toString());
        Files.delete(src.resolve("link")); // exFAT has no symbolic links
        CompletableFuture<RumpRun> served = mount();
        run("cp", "-r", src.resolve("hello.txt").toString(), src.resolve("sub").toString(), mnt.toString());
        run("diff", "-r", src.toString(), mnt.toString());
        run("mkdir", "-p", mnt.resolve("A New Directory").toString());
        run("cp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("A New Directory/Big Copy.bin").toString());
        run("mv", mnt.resolve("hello.txt").toString(), mnt.resolve("A New Directory/Moved Hello.txt").toString());
        run("cmp", src.resolve("sub/deeper/big.bin").toString(), mnt.resolve("a new directory/BIG COPY.BIN").toString());
        Tool ln = tool("ln", "-s", "x", mnt.resolve("link").toString());
        assertTrue(ln.exit() != 0 && ln.out().contains("Operation not permitted"), ln.out());
        RumpRun.expect(0, "umount", mnt.toString());
        assertEquals(0, served.get(60, TimeUnit.SECONDS).code());
        run("fsck.exfat", "-n", img.toString());
        Path back = dir.resolve("back.txt");
        RumpRun.expect(0, "fs", "cp", img + ":/A New Directory/Moved Hello.txt", back.toString());
        assertEquals("hello, fuse\n", Files.readString(back));
    }

    @Test
    void concurrentWritersAndReaders() throws Exception {
        CompletableFuture<RumpRun> served = mount("--threads", "4");
        int workers = 4;
        int files = 10;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int id = w;
                all.add(pool.submit(() -> {
                    Path d = mnt.resolve("w" + id);
                    Files.createDirectory(d);
                    java.util.Random rnd = new java.util.Random(id);
                    for (int i = 0; i < files; i++) {
                        byte[] data = new byte[1000 + rnd.nextInt(200_000)];
                        rnd.nextBytes(data);
                        Path f = d.resolve("f" + i);
                        Files.write(f, data);
                        byte[] back = Files.readAllBytes(f);
                        if (!Arrays.equals(data, back)) {
                            throw new AssertionError(f + " read back differently");
                        }
                        // readers of the shared tree at the same time
                        if (!Files.readString(mnt.resolve("hello.txt")).equals("hello, fuse\n")) {
                            throw new AssertionError("hello.txt changed");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        umountAndCheck(served);
        for (int w = 0; w < workers; w++) {
            String ls = debugfs(img, "ls /w" + w);
            for (int i = 0; i < files; i++) {
                assertTrue(ls.contains("f" + i), "/w" + w + "/f" + i + " missing: " + ls);
            }
        }
    }

    @Test
    void posixAclsAreEnforcedByTheKernelWithTheMountOptionAcl() throws Exception {
        // The mount must be reachable by the other user the check runs as.
        for (Path p = mnt; p != null && p.startsWith(dir.getParent()); p = p.getParent()) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        CompletableFuture<RumpRun> served = mount("-o", "acl,allow_other");
        Files.writeString(mnt.resolve("denied.txt"), "secret\n");
        Files.writeString(mnt.resolve("open.txt"), "open\n");
        run("chmod", "644", mnt.resolve("denied.txt").toString(), mnt.resolve("open.txt").toString());
        run("setfacl", "-m", "u:nobody:---", mnt.resolve("denied.txt").toString());
        assertTrue(run("getfacl", "-c", mnt.resolve("denied.txt").toString()).contains("user:nobody:---"));
        String[] asNobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat"};
        Tool open = tool(concat(asNobody, mnt.resolve("open.txt").toString()));
        assertEquals(0, open.exit(), open.out());
        Tool denied = tool(concat(asNobody, mnt.resolve("denied.txt").toString()));
        assertTrue(denied.exit() != 0 && denied.out().contains("Permission denied"), denied.out());
        umountAndCheck(served);
        assertTrue(debugfs(img, "ea_list /denied.txt").contains("system.posix_acl_access"),
                "the ACL is stored as ext4 stores it");
    }

    private static String[] concat(String[] head, String last) {
        String[] all = Arrays.copyOf(head, head.length + 1);
        all[head.length] = last;
        return all;
    }

    @Test
    void readOnlyMountRefusesWrites() throws Exception {
        CompletableFuture<RumpRun> served = mount("-o", "ro");
        run("diff", "-r", "--no-dereference", "-x", "lost+found", src.toString(), mnt.toString());
        Tool t = tool("sh", "-c", "echo x > " + mnt.resolve("new.txt"));
        assertTrue(t.exit() != 0 && t.out().contains("Read-only"), t.out());
        umountAndCheck(served);
    }

    /** The background process's pid, from 'rump mount' without --foreground. */
    private long mountInBackground() throws Exception {
        mounts.add(mnt);
        Path log = dir.resolve("mount.log");
        RumpRun r = RumpRun.expect(0, "mount", img.toString(), mnt.toString(), "--log", log.toString());
        assertTrue(MountCommand.isMounted(mnt.toAbsolutePath().normalize()), r.all());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("by process (\\d+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        return Long.parseLong(m.group(1));
    }

    @Test
    void backgroundMountEndsWithUmount() throws Exception {
        long pid = mountInBackground();
        ProcessHandle server = ProcessHandle.of(pid).orElseThrow();
        run("diff", "-r", "--no-dereference", "-x", "lost+found", src.toString(), mnt.toString());
        run("sh", "-c", "echo background >> " + mnt.resolve("hello.txt"));
        RumpRun.expect(0, "umount", mnt.toString());
        assertFalse(server.isAlive(), "rump umount returned before the serving process ended");
        run("e2fsck", "-fn", img.toString());
        assertEquals("hello, fuse\nbackground\n", debugfs(img, "cat /hello.txt"));
    }

    @Test
    void theDefaultLogIsNamedAndRemovedWhenTheMountEndsCleanly() throws Exception {
        mounts.add(mnt);
        RumpRun r = RumpRun.expect(0, "mount", img.toString(), mnt.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(log: (\\S+), removed after a clean unmount\\)")
                .matcher(r.out());
        assertTrue(m.find(), r.all());
        Path log = Path.of(m.group(1));
        assertTrue(Files.isRegularFile(log), log + " while mounted");
        RumpRun.expect(0, "umount", mnt.toString());
        assertFalse(Files.exists(log), log + " left behind after a clean unmount");
    }

    @Test
    void aMountThatFailsPrintsWhyAndLeavesNoLogBehind() throws Exception {
        Path blank = dir.resolve("blank.img");
        Files.write(blank, new byte[1 << 20]);
        List<Path> before = ownMountLogs();
        RumpRun r = RumpRun.of("mount", blank.toString(), mnt.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("no filesystem"), r.all());
        assertEquals(before, ownMountLogs(), "a failed mount's default log is printed, then removed");

        Path kept = dir.resolve("kept.log");
        RumpRun.expect(1, "mount", blank.toString(), mnt.toString(), "--log", kept.toString());
        assertTrue(Files.readString(kept).contains("no filesystem"), "a log the user named is kept");
    }

    /** The default logs of mounts started by this JVM (rump-mount-PID-*.log in the temporary directory). */
    private static List<Path> ownMountLogs() throws Exception {
        String prefix = "rump-mount-" + ProcessHandle.current().pid() + "-";
        try (java.util.stream.Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
    }

    /**
     * A journal left needing recovery (debugfs's journal_open/journal_write/journal_close): the
     * background mount replays it, its log says so in the kernel's words, and the commands show
     * their progress when asked: the mount what the server last logged, the unmount the server's
     * write-back until it ends.
     */
    @Test
    void aJournalReplayAtMountIsLoggedAndBothEndsShowProgress() throws Exception {
        String bmap = run("debugfs", "-R", "bmap /hello.txt 0", img.toString());
        String block = bmap.lines().filter(l -> l.matches("\\d+")).findFirst().orElseThrow();
        Path newBlock = dir.resolve("block");
        byte[] contents = new byte[4096];
        byte[] text = "from the journal\n".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, contents, 0, text.length);
        Files.write(newBlock, contents);
        Path cmds = dir.resolve("cmds");
        Files.writeString(cmds, "jo\njw -b " + block + " " + newBlock + "\njc\n");
        run("debugfs", "-w", "-f", cmds.toString(), img.toString());
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("needs_recovery"), "the fixture needs recovery");

        mounts.add(mnt);
        Path log = dir.resolve("mount.log");
        RumpRun m = RumpRun.expect(0, "mount", "--progress", img.toString(), mnt.toString(), "--log", log.toString());
        assertTrue(m.err().contains("\rmounting " + img), m.all());
        String logged = Files.readString(log);
        assertTrue(logged.contains("ext4: recovering the journal: 1 blocks to replay")
                && logged.contains("ext4: journal recovery complete"), logged);
        assertEquals("from the jou", Files.readString(mnt.resolve("hello.txt")), "the replayed block, the file's 12 bytes");

        run("dd", "if=/dev/urandom", "of=" + mnt.resolve("blob"), "bs=1M", "count=16", "status=none");
        RumpRun u = RumpRun.expect(0, "umount", "--progress", mnt.toString());
        String last = u.err().substring(u.err().lastIndexOf('\r') + 1).strip();
        assertTrue(last.matches("writing back  process \\d+ done, .* written  \\d+:\\d\\d"), u.all());
        run("e2fsck", "-fn", img.toString());
    }

    @Test
    void sigtermUnmountsCleanly() throws Exception {
        long pid = mountInBackground();
        ProcessHandle server = ProcessHandle.of(pid).orElseThrow();
        run("cp", "-r", src.resolve("sub").toString(), mnt.resolve("sub2").toString());
        assertTrue(server.destroy(), "SIGTERM");
        server.onExit().get(60, TimeUnit.SECONDS);
        assertFalse(MountCommand.isMounted(mnt.toAbsolutePath().normalize()));
        run("e2fsck", "-fn", img.toString());
        assertEquals("# notes\n".repeat(100), debugfs(img, "cat /sub2/notes.md"));
    }

    @Test
    void missingMountpointIsAnError() throws Exception {
        RumpRun r = RumpRun.expect(1, "mount", img.toString(), dir.resolve("nowhere").toString(), "--foreground");
        assertTrue(r.err().contains("No such file or directory"), r.err());
        RumpRun.expect(1, "umount", mnt.toString());
    }
}
