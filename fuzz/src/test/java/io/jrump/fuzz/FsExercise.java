package io.jrump.fuzz;

import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/**
 * What the filesystem fuzzers do with a mounted image: walk the whole tree (bounded) reading
 * every file and link, and (FAT, exFAT) make a few changes. Every failure goes to {@code defined},
 * which asserts it is an errno the harness allows.
 */
final class FsExercise {
    private FsExercise() {
    }

    /** Lists every directory, stats every entry, reads every file and link, visiting at most 200 directories. */
    static void walk(Vfs vfs, Consumer<ErrnoException> defined) {
        walk(vfs, defined, 200, Integer.MAX_VALUE, 8192);
    }

    /**
     * As {@link #walk(Vfs, Consumer)}, visiting at most {@code maxDirs} directories, the first
     * {@code maxEntries} entries of each, reading {@code readBytes} of each regular file. A
     * directory that cannot be listed is reported and the walk goes on.
     */
    static void walk(Vfs vfs, Consumer<ErrnoException> defined, int maxDirs, int maxEntries, int readBytes) {
        Deque<String> dirs = new ArrayDeque<>();
        dirs.add("/");
        int visited = 0;
        while (!dirs.isEmpty() && visited++ < maxDirs) {
            String dir = dirs.poll();
            List<DirEntry> entries;
            try {
                entries = vfs.readdir(dir);
            } catch (ErrnoException err) {
                defined.accept(err);
                continue;
            }
            for (DirEntry e : entries.subList(0, Math.min(maxEntries, entries.size()))) {
                if (e.name().equals(".") || e.name().equals("..") || e.name().contains("/") || e.name().isEmpty()) {
                    continue;
                }
                String path = dir.endsWith("/") ? dir + e.name() : dir + "/" + e.name();
                try {
                    Attributes st = vfs.lstat(path);
                    if (st.isDirectory()) {
                        dirs.add(path);
                    } else if (st.isSymlink()) {
                        vfs.readlink(path);
                    } else if (st.isRegular()) {
                        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
                        try {
                            vfs.read(fd, ByteBuffer.allocate(readBytes));
                        } finally {
                            vfs.close(fd);
                        }
                    }
                } catch (ErrnoException err) {
                    defined.accept(err);
                }
            }
        }
    }

    /** A file written, a directory made, a rename, an unlink and a truncate, on the seed images' names. */
    static void change(Vfs vfs, Consumer<ErrnoException> defined) {
        String[][] ops = {{"write", "/fuzz new file.txt"}, {"mkdir", "/fuzz dir"}, {"rename", "/SHORT.TXT", "/fuzz dir/moved"},
            {"unlink", "/Long Directory Name/a file.txt"}, {"truncate", "/Long Directory Name/sub/data.bin"}};
        for (String[] op : ops) {
            try {
                switch (op[0]) {
                    case "write" -> {
                        int fd = vfs.open(op[1], OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
                        try {
                            vfs.write(fd, ByteBuffer.allocate(3000));
                        } finally {
                            vfs.close(fd);
                        }
                    }
                    case "mkdir" -> vfs.mkdir(op[1], 0755);
                    case "rename" -> vfs.rename(op[1], op[2]);
                    case "unlink" -> vfs.unlink(op[1]);
                    default -> vfs.truncate(op[1], 100);
                }
            } catch (ErrnoException e) {
                defined.accept(e);
            }
        }
    }
}
