package io.jrump.bench.fs;

import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Extracts a whole ISO9660 image to a host directory, as {@code xorriso -osirrox on -indev IMG
 * -extract / DIR} does: the image opened through {@code Mounts} (read-only, its buffer cache),
 * the tree walked through the VFS, each regular file read in 1 MiB requests and written with a
 * {@link FileChannel}, directories made, symlinks made. Modes, owners and times are not copied
 * (xorriso sets them; here they would cost a few syscalls per file). Prints
 * {@code files= dirs= links= bytes= seconds= mib_s=}.
 *
 * <p>Usage: {@code IsoExtractBench IMG DIR [THREADS]} (DIR must not exist); DIR {@code -} reads
 * everything and writes nothing, to time the reading side alone. With THREADS above 1 the tree
 * is walked first (directories and links made), then the files are copied by that many threads.
 */
public final class IsoExtractBench {
    private static final int CHUNK = 1 << 20;

    private long files;
    private long dirs;
    private long links;
    private long bytes;
    private boolean discard;
    private int threads = 1;
    private final java.util.List<String[]> queued = new java.util.ArrayList<>();
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);

    private IsoExtractBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: IsoExtractBench IMG DIR [THREADS]");
            System.exit(2);
        }
        Path out = Path.of(args[1]);
        long t0 = System.nanoTime();
        IsoExtractBench b = new IsoExtractBench();
        try (JvmHost host = JvmHost.create("iso-extract");
             Vfs vfs = Mounts.mountImage(host, args[0], Mounts.Options.defaults().withReadOnly(true))) {
            b.discard = args[1].equals("-");
            if (!b.discard) {
                Files.createDirectory(out);
            }
            b.dirs++;
            b.threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
            b.extract(vfs, "/", out);
            b.copyQueued(vfs);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("files=%d dirs=%d links=%d bytes=%d seconds=%.3f mib_s=%.1f%n", b.files, b.dirs, b.links,
                b.bytes, s, b.bytes / 1048576.0 / s);
    }

    private void extract(Vfs vfs, String dir, Path to) throws ErrnoException, IOException {
        for (DirEntry e : vfs.readdir(dir)) {
            String name = e.name();
            if (name.equals(".") || name.equals("..")) {
                continue;
            }
            String path = dir.equals("/") ? "/" + name : dir + "/" + name;
            Path target = to.resolve(name);
            Attributes a = vfs.lstat(path);
            if (a.isDirectory()) {
                if (!discard) {
                    Files.createDirectory(target);
                }
                dirs++;
                extract(vfs, path, target);
            } else if (a.isSymlink()) {
                String link = vfs.readlink(path);
                if (!discard) {
                    Files.createSymbolicLink(target, Path.of(link));
                }
                links++;
            } else if (a.isRegular()) {
                if (threads > 1) {
                    queued.add(new String[] {path, target.toString()});
                } else {
                    bytes += copy(vfs, path, target, buffer);
                }
                files++;
            }
        }
    }

    /** The files queued by the walk, copied by {@code threads} threads, each with its own buffer. */
    private void copyQueued(Vfs vfs) throws Exception {
        if (queued.isEmpty()) {
            return;
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            java.util.List<java.util.concurrent.Future<Long>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    ByteBuffer own = ByteBuffer.allocateDirect(CHUNK);
                    long copied = 0;
                    for (int i; (i = next.getAndIncrement()) < queued.size(); ) {
                        copied += copy(vfs, queued.get(i)[0], Path.of(queued.get(i)[1]), own);
                    }
                    return copied;
                }));
            }
            for (java.util.concurrent.Future<Long> f : done) {
                bytes += f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    private long copy(Vfs vfs, String path, Path target, ByteBuffer buffer) throws ErrnoException, IOException {
        long bytes = 0;
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
        if (discard) {
            try {
                for (int n; (n = vfs.read(fd, buffer.clear())) > 0; ) {
                    bytes += n;
                }
            } finally {
                vfs.close(fd);
            }
            return bytes;
        }
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                buffer.clear();
                int n = vfs.read(fd, buffer);
                if (n <= 0) {
                    break;
                }
                buffer.flip();
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                bytes += n;
            }
        } finally {
            vfs.close(fd);
        }
        return bytes;
    }
}
