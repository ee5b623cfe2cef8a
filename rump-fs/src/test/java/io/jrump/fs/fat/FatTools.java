package io.jrump.fs.fat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * dosfstools and mtools run from tests, and trees compared: a missing tool fails the test, it
 * does not skip it. mtools runs with {@code MTOOLS_SKIP_CHECK=1} (it would refuse images whose
 * geometry a floppy could not have) and {@code TZ=UTC} (it keeps local times, as DOS does).
 */
public final class FatTools {
    /** 2026-12-07 12:34:56 UTC, an even second (FAT keeps two-second steps). */
    public static final long NOW = 1_796_647_296_000_000_000L;

    private FatTools() {
    }

    public static int exec(StringBuilder out, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("MTOOLS_SKIP_CHECK", "1");
        pb.environment().put("TZ", "UTC");
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        return p.exitValue();
    }

    public static String run(String... cmd) throws Exception {
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, cmd), String.join(" ", cmd) + ":\n" + out);
        return out.toString();
    }

    /** {@code fsck.fat -n} finds nothing wrong: exit 0 and no complaint in its output. */
    public static void assertFsckClean(Path img) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "fsck.fat", "-n", "-v", img.toString());
        assertEquals(0, rc, "fsck.fat -n " + img + ":\n" + out);
        for (String bad : List.of("Dirty bit", "differ", "Free cluster summary wrong", "lost", "Orphan",
                "Bad short file name", "has a large number of bad entries", "Start does not point to parent",
                "bad cluster", "Contains a free cluster", "cross-linked", "File size is")) {
            assertTrue(!out.toString().contains(bad), "fsck.fat -n " + img + " says '" + bad + "':\n" + out);
        }
    }

    /** Mounts an image read-write (or read-only) on a new VFS; closing the VFS unmounts and closes the image. */
    public static Vfs mount(JvmHost host, Path img, boolean readOnly, Map<String, String> options) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        Vfs vfs = new Vfs(() -> NOW);
        vfs.mount("/", "vfat", dev, FileSystemType.Options.of(readOnly, () -> NOW).withOptions(options)
                .withOwned(List.of(dev)));
        return vfs;
    }

    public static byte[] readAll(Vfs vfs, String path) throws Exception {
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
        try {
            long size = vfs.stat(path).size();
            ByteBuffer b = ByteBuffer.allocate((int) size);
            while (b.hasRemaining() && vfs.read(fd, b) > 0) {
                // until full
            }
            return b.array();
        } finally {
            vfs.close(fd);
        }
    }

    public static void writeAll(Vfs vfs, String path, byte[] data) throws Exception {
        int fd = vfs.open(path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0644);
        try {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                vfs.write(fd, b);
            }
        } finally {
            vfs.close(fd);
        }
    }

    /** Every file and directory under {@code root} of the VFS: path to contents (null for a directory). */
    public static Map<String, byte[]> tree(Vfs vfs, String root) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        List<String> dirs = new ArrayList<>(List.of(root));
        while (!dirs.isEmpty()) {
            String d = dirs.remove(dirs.size() - 1);
            for (DirEntry e : vfs.readdir(d)) {
                if (e.name().equals(".") || e.name().equals("..")) {
                    continue;
                }
                String p = d.endsWith("/") ? d + e.name() : d + "/" + e.name();
                if (vfs.stat(p).isDirectory()) {
                    out.put(p, null);
                    dirs.add(p);
                } else {
                    out.put(p, readAll(vfs, p));
                }
            }
        }
        return out;
    }

    /** The same for a host directory, paths starting with "/". */
    public static Map<String, byte[]> tree(Path root) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.equals(root)) {
                    continue;
                }
                String rel = "/" + root.relativize(p).toString();
                out.put(rel, Files.isDirectory(p) ? null : Files.readAllBytes(p));
            }
        }
        return out;
    }

    /** Asserts two trees hold the same paths and the same bytes. */
    public static void assertSameTree(Map<String, byte[]> want, Map<String, byte[]> got) {
        assertEquals(want.keySet(), got.keySet(), "the same names");
        for (Map.Entry<String, byte[]> e : want.entrySet()) {
            byte[] g = got.get(e.getKey());
            if (e.getValue() == null) {
                assertEquals(null, g, e.getKey() + " is a directory");
            } else {
                assertTrue(g != null && java.util.Arrays.equals(e.getValue(), g), e.getKey() + ": the same bytes");
            }
        }
    }
}
