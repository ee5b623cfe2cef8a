package io.jrump.bench.fs;

import io.jrump.bench.Memory;
import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * One filesystem measurement per process, each a whole session — mount, work, unmount — printed
 * as one line {@code key=value ...} for bench/fs-bench.sh:
 * <ul>
 *   <li>{@code write IMG SRC} — copy the host file SRC into IMG as /big, 1 MiB at a time;</li>
 *   <li>{@code read IMG OUT} — copy /big out of IMG to the host file OUT;</li>
 *   <li>{@code smallfiles IMG N} — create N files of 16 bytes in /d, then list /d and stat each;</li>
 *   <li>{@code htree-create IMG N} — create N empty files in the one directory /h (an htree
 *       index as it grows), then sync;</li>
 *   <li>{@code htree-lookup IMG N M} — stat M names of /h/file-0 .. /h/file-(N-1) in a random
 *       order (seeded, the same every run), each a lookup through the index.</li>
 * </ul>
 */
public final class FsBench {
    private static final int CHUNK = 8 << 20;

    private FsBench() {
    }

    public static void main(String[] args) throws Exception {
        io.jrump.bench.Memory.watch(); // peak heap over the whole run
        if (args.length < 3) {
            System.err.println("usage: FsBench write IMG SRC | read IMG OUT | smallfiles IMG N | htree-create IMG N"
                    + " | htree-lookup IMG N M");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        String extra;
        try (JvmHost host = JvmHost.create("fs-bench")) {
            boolean readOnly = args[0].equals("read") || args[0].equals("htree-lookup");
            Vfs vfs = Mounts.mountImage(host, args[1], Mounts.Options.defaults().withReadOnly(readOnly));
            try {
                extra = switch (args[0]) {
                    case "write" -> write(vfs, Path.of(args[2]));
                    case "read" -> read(vfs, Path.of(args[2]));
                    case "smallfiles" -> smallFiles(vfs, Integer.parseInt(args[2]));
                    case "htree-create" -> htreeCreate(vfs, Integer.parseInt(args[2]));
                    case "htree-lookup" -> htreeLookup(vfs, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                    default -> throw new IllegalArgumentException("unknown mode " + args[0]);
                };
            } finally {
                vfs.close();
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=%s seconds=%.3f %s peak_heap_mib=%.1f%n", args[0], s, extra, Memory.peakHeapMib());
    }

    private static String write(Vfs vfs, Path src) throws Exception {
        long bytes = 0;
        int fd = vfs.open("/big", OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0644);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ)) {
            while (in.read(buf.clear()) > 0 || buf.position() > 0) {
                buf.flip();
                bytes += vfs.write(fd, buf);
            }
        }
        vfs.fsync(fd);
        vfs.close(fd);
        return "bytes=" + bytes;
    }

    private static String read(Vfs vfs, Path out) throws Exception {
        long bytes = 0;
        int fd = vfs.open("/big", OpenFlags.O_RDONLY, 0);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel o = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            int n;
            while ((n = vfs.read(fd, buf.clear())) > 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    o.write(buf);
                }
                bytes += n;
            }
        }
        vfs.close(fd);
        return "bytes=" + bytes;
    }

    private static String smallFiles(Vfs vfs, int count) throws Exception {
        long t0 = System.nanoTime();
        vfs.mkdir("/d", 0755);
        byte[] body = "sixteen bytes..\n".getBytes();
        for (int i = 0; i < count; i++) {
            int fd = vfs.open("/d/file-" + i, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0644);
            vfs.write(fd, ByteBuffer.wrap(body));
            vfs.close(fd);
        }
        vfs.sync();
        long t1 = System.nanoTime();
        List<DirEntry> entries = vfs.readdir("/d");
        long size = 0;
        for (DirEntry e : entries) {
            Attributes a = vfs.lstat("/d/" + e.name());
            size += a.size();
        }
        long t2 = System.nanoTime();
        return String.format("files=%d create_s=%.3f list_stat_s=%.3f listed=%d bytes=%d", count, (t1 - t0) / 1e9,
                (t2 - t1) / 1e9, entries.size() - 2, size);
    }

    private static String htreeCreate(Vfs vfs, int count) throws Exception {
        long t0 = System.nanoTime();
        vfs.mkdir("/h", 0755);
        for (int i = 0; i < count; i++) {
            vfs.close(vfs.open("/h/file-" + i, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0644));
        }
        vfs.sync();
        return String.format("files=%d phase_s=%.3f", count, (System.nanoTime() - t0) / 1e9);
    }

    private static String htreeLookup(Vfs vfs, int count, int lookups) throws Exception {
        long t0 = System.nanoTime();
        long state = 0x9E3779B97F4A7C15L; // a fixed xorshift sequence: the same names every run
        long found = 0;
        for (int i = 0; i < lookups; i++) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            Attributes a = vfs.lstat("/h/file-" + Long.remainderUnsigned(state, count));
            found += a.size() == 0 ? 1 : 0;
        }
        return String.format("lookups=%d found=%d phase_s=%.3f", lookups, found, (System.nanoTime() - t0) / 1e9);
    }
}
