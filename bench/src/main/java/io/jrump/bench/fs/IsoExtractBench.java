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
 * <p>Usage: {@code IsoExtractBench IMG DIR} (DIR must not exist).
 */
public final class IsoExtractBench {
    private static final int CHUNK = 1 << 20;

    private long files;
    private long dirs;
    private long links;
    private long bytes;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);

    private IsoExtractBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: IsoExtractBench IMG DIR");
            System.exit(2);
        }
        Path out = Path.of(args[1]);
        long t0 = System.nanoTime();
        IsoExtractBench b = new IsoExtractBench();
        try (JvmHost host = JvmHost.create("iso-extract");
             Vfs vfs = Mounts.mountImage(host, args[0], Mounts.Options.defaults().withReadOnly(true))) {
            Files.createDirectory(out);
            b.dirs++;
            b.extract(vfs, "/", out);
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
                Files.createDirectory(target);
                dirs++;
                extract(vfs, path, target);
            } else if (a.isSymlink()) {
                Files.createSymbolicLink(target, Path.of(vfs.readlink(path)));
                links++;
            } else if (a.isRegular()) {
                copy(vfs, path, target);
                files++;
            }
        }
    }

    private void copy(Vfs vfs, String path, Path target) throws ErrnoException, IOException {
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
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
    }
}
