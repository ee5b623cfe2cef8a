package io.jrump.bench.fs;

import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code ls -lR} of one directory of many entries, the way {@code rump fs ls -lR IMG:/d} does it —
 * the image mounted read-only under its buffer cache, {@code readdir}, the names sorted, then
 * {@code lstat} of each by path through the VFS and one formatted line each — beside
 * {@code debugfs -R 'ls -l /d'} on the same image in the same run. The image is made first if it
 * is not there: {@code mke2fs -q -F -t ext4 -b 4096 -N (N + 4096) IMG (64 + N / 256)M}, N empty
 * files created in {@code /d} through our VFS, then {@code e2fsck -fyD} to index the directory
 * as the kernel would. Prints one line per round and the medians, as {@code key=value}.
 *
 * <p>Usage: {@code LsBench IMG N [ROUNDS]}.
 */
public final class LsBench {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT).withZone(ZoneOffset.UTC);

    /** One round: lines printed and seconds taken by each side. */
    public record Round(long oursLines, double oursSeconds, long debugfsLines, double debugfsSeconds) {
        public double ratio() {
            return debugfsSeconds / oursSeconds;
        }
    }

    private LsBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LsBench IMG N [ROUNDS]");
            System.exit(2);
        }
        Path img = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        if (!Files.exists(img)) {
            long t0 = System.nanoTime();
            make(img, n);
            System.out.printf("made=%s entries=%d seconds=%.1f%n", img, n, (System.nanoTime() - t0) / 1e9);
        }
        double[] ours = new double[rounds];
        double[] theirs = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            Round x = round(img);
            ours[r] = x.oursSeconds();
            theirs[r] = x.debugfsSeconds();
            System.out.printf("round=%d ours_lines=%d ours_s=%.3f debugfs_lines=%d debugfs_s=%.3f ratio=%.2f%n", r + 1,
                    x.oursLines(), x.oursSeconds(), x.debugfsLines(), x.debugfsSeconds(), x.ratio());
        }
        Arrays.sort(ours);
        Arrays.sort(theirs);
        System.out.printf("median ours_s=%.3f debugfs_s=%.3f ratio=%.2f%n", ours[rounds / 2], theirs[rounds / 2],
                theirs[rounds / 2] / ours[rounds / 2]);
    }

    /** Makes an ext4 image whose {@code /d} holds {@code n} empty files, indexed by e2fsck -D. */
    public static void make(Path img, int n) throws IOException, ErrnoException, InterruptedException {
        long mib = 64 + n / 256;
        exec("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-N", Integer.toString(n + 4096), img.toString(),
                mib + "M");
        try (JvmHost host = JvmHost.create("ls-bench"); Vfs vfs = Mounts.mountImage(host, img.toString(),
                Mounts.Options.defaults())) {
            vfs.mkdir("/d", 0755);
            for (int i = 0; i < n; i++) {
                vfs.close(vfs.open(String.format("/d/file-%07d", i), OpenFlags.O_CREAT | OpenFlags.O_WRONLY
                        | OpenFlags.O_EXCL, 0644));
            }
        }
        Process p = new ProcessBuilder("e2fsck", "-fyD", img.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        int rc = p.waitFor();
        if (rc != 0 && rc != 1) {
            throw new IOException("e2fsck -fyD " + img + " exited " + rc);
        }
    }

    /** One round: ours in this process, then debugfs as a process, on the same image. */
    public static Round round(Path img) throws IOException, ErrnoException, InterruptedException {
        long t0 = System.nanoTime();
        long ours;
        Counting out = new Counting();
        try (JvmHost host = JvmHost.create("ls-bench"); Vfs vfs = Mounts.mountImage(host, img.toString(),
                Mounts.Options.defaults().withReadOnly(true))) {
            PrintWriter w = new PrintWriter(out, false, StandardCharsets.UTF_8);
            list(vfs, "/d", w);
            w.flush();
            ours = out.lines;
        }
        double oursSeconds = (System.nanoTime() - t0) / 1e9;

        long t1 = System.nanoTime();
        Process p = new ProcessBuilder("debugfs", "-R", "ls -l /d", img.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Counting theirs = new Counting();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(theirs);
        }
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("debugfs -R 'ls -l /d' " + img + " failed");
        }
        double debugfsSeconds = (System.nanoTime() - t1) / 1e9;
        return new Round(ours, oursSeconds, theirs.lines, debugfsSeconds);
    }

    /** {@code rump fs ls -lR}'s walk: the same VFS calls and the same line format. */
    private static void list(Vfs vfs, String path, PrintWriter out) throws ErrnoException {
        out.println(path + ":");
        List<DirEntry> entries = new ArrayList<>(vfs.readdir(path));
        entries.sort((a, b) -> a.name().compareTo(b.name()));
        List<String> subdirs = new ArrayList<>();
        for (DirEntry e : entries) {
            if (e.name().equals(".") || e.name().equals("..")) {
                continue;
            }
            String child = path.endsWith("/") ? path + e.name() : path + "/" + e.name();
            Attributes st = vfs.lstat(child);
            out.printf("%s %3d %5d %5d %10d %s %s%s%n", mode(st.mode()), st.nlink(), st.uid(), st.gid(), st.size(),
                    TIME.format(Instant.ofEpochSecond(Math.floorDiv(st.mtimeNanos(), 1_000_000_000L))), e.name(),
                    st.isSymlink() ? " -> " + vfs.readlink(child) : "");
            if (st.isDirectory()) {
                subdirs.add(child);
            }
        }
        for (String d : subdirs) {
            out.println();
            list(vfs, d, out);
        }
    }

    private static String mode(int mode) {
        StringBuilder sb = new StringBuilder().append((mode & 0xF000) == 0x4000 ? 'd' : (mode & 0xF000) == 0xA000 ? 'l' : '-');
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        }
        return sb.toString();
    }

    private static void exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed:\n" + out);
        }
    }

    /** Discards what is written, counting lines. */
    private static final class Counting extends OutputStream {
        long lines;

        @Override
        public void write(int b) {
            if (b == '\n') {
                lines++;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    lines++;
                }
            }
        }
    }
}
