package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.exfat.ExFatCheck;
import io.jrump.fs.exfat.ExFatFs;
import io.jrump.fs.exfat.ExFatMountOptions;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

/**
 * Arbitrary bytes as an exFAT image on a 1 MiB disk (the smallest exFAT volume): mounted
 * read-only, checked and walked — every directory listed, every entry stat-ed, every file read —
 * then mounted read-write and changed (a file written, a directory made, a rename, an unlink, a
 * truncate). Each step works or fails with a defined errno; never an unchecked exception or a
 * hang. Seed: {@code mkfs.exfat -c 512 -b 4096 -L SEED} on 1 MiB, filled through exfat-fuse
 * with long and Unicode names, nested directories and two files appended in turn (FAT chains),
 * trailing zeros trimmed.
 */
class ExFatFsFuzzTest {
    private static final int DISK = 1 << 20;
    private static final Set<Errno> DEFINED = Set.of(Errno.EUCLEAN, Errno.EINVAL, Errno.EIO, Errno.ENOENT, Errno.ENOTDIR,
            Errno.EISDIR, Errno.ENOSPC, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EFBIG, Errno.ENAMETOOLONG, Errno.EPERM,
            Errno.ELOOP, Errno.EROFS, Errno.EOPNOTSUPP);

    @FuzzTest(maxDuration = "60s")
    void everyOperationIsTotal(byte[] input) throws Exception {
        FuzzDisks.Disk d = FuzzDisks.of(input, DISK);
        HostDisk disk = d.disk();
        for (boolean readOnly : new boolean[] {true, false}) {
            ExFatFs fs;
            try {
                fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), readOnly, () -> 0L, null);
            } catch (ErrnoException e) {
                defined(e);
                return;
            }
            try {
                ExFatCheck.check(fs);
            } catch (ErrnoException e) {
                defined(e);
            }
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", fs, readOnly);
            walk(vfs);
            if (!readOnly) {
                change(vfs);
            }
            try {
                vfs.close();
            } catch (ErrnoException e) {
                defined(e);
            }
        }
        // What was written is checked again: the check stays total on our own output.
        try (ExFatFs after = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> 0L, null)) {
            ExFatCheck.check(after);
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    private static void walk(Vfs vfs) {
        Deque<String> dirs = new ArrayDeque<>();
        dirs.add("/");
        int visited = 0;
        while (!dirs.isEmpty() && visited++ < 200) {
            String dir = dirs.poll();
            try {
                for (DirEntry e : vfs.readdir(dir)) {
                    if (e.name().equals(".") || e.name().equals("..") || e.name().contains("/")) {
                        continue;
                    }
                    String path = dir.endsWith("/") ? dir + e.name() : dir + "/" + e.name();
                    try {
                        Attributes st = vfs.stat(path);
                        if (st.isDirectory()) {
                            dirs.add(path);
                        } else {
                            int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
                            try {
                                vfs.read(fd, ByteBuffer.allocate(8192));
                            } finally {
                                vfs.close(fd);
                            }
                        }
                    } catch (ErrnoException err) {
                        defined(err);
                    }
                }
            } catch (ErrnoException err) {
                defined(err);
            }
        }
    }

    private static void change(Vfs vfs) {
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
                defined(e);
            }
        }
    }

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.errno() + ": " + e.getMessage());
    }
}
