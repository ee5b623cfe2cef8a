package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockLayer;
import io.jrump.blk.part.Partitions;
import io.jrump.fs.VfsComponent;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.StatVfs;
import io.jrump.kernel.sys.Syscalls;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rump fs}: read the ext2/3/4 filesystem inside an image; the writing commands are in
 * {@link FsWriteCommand}. Locations are
 * {@code IMG[:PART]:/path}: {@code disk.qcow2:2:/etc/hostname}, {@code fs.img:/}; PART is a
 * partition number or a GPT partition name.
 */
@Command(name = "fs", description = "Read, change and check the filesystem in an image: ext2/3/4, vfat, exfat (iso9660 read-only).",
        subcommands = {FsCommand.Ls.class, FsCommand.Cat.class, FsCommand.StatCmd.class, FsCommand.Df.class,
            FsCommand.Fsck.class, FsWriteCommand.Mkdir.class, FsWriteCommand.Rm.class, FsWriteCommand.Mv.class,
            FsWriteCommand.Ln.class, FsWriteCommand.Chmod.class, FsWriteCommand.Chown.class, FsWriteCommand.Cp.class,
            FsWriteCommand.MkfsCmd.class})
final class FsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A parsed {@code IMG[:PART]:/path}. */
    record Location(String image, String partition, String path) {
        /** What mount(2) takes: the image, and {@code :PART} if a partition is named. */
        String device() {
            return partition == null ? image : image + ":" + partition;
        }

        /**
         * Device-name prefixes whose name goes on with a path ({@code vhost-user:/run/blk.sock}):
         * its {@code :/} is not the one that starts the path inside the image.
         */
        static final List<String> DEVICE_PREFIXES = List.of("vhost-user:", "direct:");
        /** The prefix of a PCI function's name, {@code pci:0000:00:05.0}: colons of its own. */
        static final String PCI_PREFIX = "pci:";
        private static final int PCI_ADDRESS = "0000:00:05.0".length();

        /**
         * How much of {@code text}'s start is a device name's own (a prefix with the path after
         * it, or a whole PCI name), in which no {@code :} separates a partition or path; 0 if none.
         */
        static int devicePrefixLength(String text) {
            if (text.startsWith(PCI_PREFIX)) {
                return Math.min(text.length(), PCI_PREFIX.length() + PCI_ADDRESS);
            }
            for (String p : DEVICE_PREFIXES) {
                if (text.startsWith(p)) {
                    return p.length();
                }
            }
            return 0;
        }

        /**
         * Whether {@code name} (an image, possibly prefixed) is there to open: a file or device that
         * is not a directory, a socket of {@code vhost-user:}, a PCI function of {@code pci:}.
         */
        static boolean deviceExists(String name) {
            if (name.startsWith(PCI_PREFIX)) {
                String address = name.substring(PCI_PREFIX.length());
                return !address.isEmpty() && address.indexOf('/') < 0
                        && java.nio.file.Files.exists(java.nio.file.Path.of("/sys/bus/pci/devices", address));
            }
            String path = name.substring(devicePrefixLength(name));
            if (path.isEmpty()) {
                return false;
            }
            java.nio.file.Path p = java.nio.file.Path.of(path);
            return java.nio.file.Files.exists(p) && !java.nio.file.Files.isDirectory(p);
        }

        static Location parse(CommandSpec spec, String text) {
            int prefix = devicePrefixLength(text);
            int slash = text.indexOf(":/", prefix);
            if (slash < 0) {
                throw new ParameterException(spec.commandLine(), "'" + text + "' is not IMG[:PART]:/path");
            }
            String head = text.substring(0, slash);
            String path = text.substring(slash + 1);
            int colon = head.lastIndexOf(':');
            if (colon > Math.max(0, prefix - 1)) {
                return new Location(head.substring(0, colon), head.substring(colon + 1), path);
            }
            return new Location(head, null, path);
        }
    }

    /** Work on an image's filesystem: {@code fs}, mounted read-only at "/" of a kernel whose system calls are {@code sys}. */
    interface FsWork {
        void run(Syscalls sys, FileSystemOps fs, String path) throws ErrnoException, IOException;
    }

    /** Mounts the filesystem a location names read-only (with the buffer cache below it), runs {@code work}, unmounts. */
    static void withFs(CommandSpec spec, String location, FsWork work) throws ErrnoException, IOException {
        Location loc = Location.parse(spec, location);
        try (RumpKernel kernel = bootFs(ImageHosts.create("rump-fs"))) {
            kernel.sys().mount(loc.device(), "/", "auto", VfsComponent.MS_RDONLY);
            FileSystemOps fs = kernel.component(VfsComponent.class).orElseThrow().vfs().mounted("/");
            try {
                work.run(kernel.sys(), fs, loc.path());
            } catch (ErrnoException e) {
                throw namingTheLocation(location, e);
            }
            kernel.sys().unmount("/"); // a failure here is the command's, not only a line on the console
        }
    }

    /**
     * A lookup failure names the location as the user typed it ({@code disk.img:/no/such}), as the
     * write commands do, rather than the path component the VFS stopped at.
     */
    static ErrnoException namingTheLocation(String location, ErrnoException e) {
        return switch (e.errno()) {
            case ENOENT, ENOTDIR, EISDIR, ELOOP, EACCES, ENAMETOOLONG -> new ErrnoException(e.errno(), location, e);
            default -> e;
        };
    }

    /** A kernel with the block and filesystem components only: the image commands need no network. */
    static RumpKernel bootFs(Hypercalls host) throws ErrnoException {
        return RumpKernel.boot(host, BootOptions.defaults().withName(host.name())
                .withComponentInstances(List.of(new BlockLayer(), new VfsComponent())));
    }

    /** Partition {@code spec} (a number or a GPT name) of {@code disk}; a disk without a table says what it holds instead. */
    static BlockDevice partition(BlockDevice disk, String spec) throws ErrnoException {
        try {
            return Partitions.open(disk, spec);
        } catch (ErrnoException e) {
            throw FileSystemTypes.withContents(e, disk);
        }
    }

    /** {@code IMG[:PART]} as a location of the filesystem's root, for commands about the whole filesystem. */
    static String wholeFilesystem(String location) {
        return location.indexOf(":/", Location.devicePrefixLength(location)) >= 0 ? location : location + ":/";
    }

    static String modeString(int mode) {
        char type = switch (mode & 0xF000) {
            case 0x4000 -> 'd';
            case 0xA000 -> 'l';
            case 0x2000 -> 'c';
            case 0x6000 -> 'b';
            case 0x1000 -> 'p';
            case 0xC000 -> 's';
            default -> '-';
        };
        StringBuilder sb = new StringBuilder().append(type);
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        }
        return sb.toString();
    }

    private static final DateTimeFormatter SECONDS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT).withZone(ZoneOffset.UTC);

    @Command(name = "ls", description = "List a directory.")
    static final class Ls implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "-l", description = "Long listing: mode, links, owner, size, time.")
        boolean longFormat;

        @Option(names = "-R", description = "Recurse into subdirectories.")
        boolean recursive;

        @Option(names = "-a", description = "Show . and .. too.")
        boolean all;

        @Parameters(paramLabel = "IMG[:PART]:/path", description = "Directory to list.")
        String location;

        @Override
        public Integer call() throws ErrnoException, IOException {
            // Buffered: the command's writer flushes at every line, a write(2) per entry of a large directory.
            PrintWriter out = new PrintWriter(new java.io.BufferedWriter(spec.commandLine().getOut(), 1 << 16), false);
            try {
                withFs(spec, location, (sys, fs, path) -> list(sys, path, out, 0));
            } finally {
                out.flush();
            }
            return 0;
        }

        private void list(Syscalls sys, String path, PrintWriter out, int depth) throws ErrnoException {
            if (depth > 64) {
                throw new ErrnoException(Errno.ELOOP, path + ": directories nest deeper than 64");
            }
            if (recursive) {
                out.println(path + ":");
            }
            List<String> subdirs = new ArrayList<>();
            List<DirEntry> entries = new ArrayList<>(sys.readdir(path));
            entries.sort((a, b) -> a.name().compareTo(b.name()));
            for (DirEntry e : entries) {
                boolean dot = e.name().equals(".") || e.name().equals("..");
                if (dot && !all) {
                    continue;
                }
                String child = path.endsWith("/") ? path + e.name() : path + "/" + e.name();
                // Without -l or -R the name is all there is to print: no lstat, as ls does not either.
                Attributes st = longFormat || recursive ? sys.lstat(child) : null;
                if (longFormat) {
                    out.printf("%s %3d %5d %5d %10d %s %s%s%n", modeString(st.mode()), st.nlink(), st.uid(), st.gid(),
                            st.size(), TIME.format(Instant.ofEpochSecond(Math.floorDiv(st.mtimeNanos(), 1_000_000_000L))),
                            e.name(), st.isSymlink() ? " -> " + sys.readlink(child) : "");
                } else {
                    out.println(e.name());
                }
                if (recursive && st.isDirectory() && !dot) {
                    subdirs.add(child);
                }
            }
            for (String d : subdirs) {
                out.println();
                list(sys, d, out, depth + 1);
            }
        }
    }

    @Command(name = "cat", description = "Copy a file's contents to standard output.")
    static final class Cat implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG[:PART]:/path", description = "File to print.")
        String location;

        /** Where the bytes go; standard output unless a test sets it. */
        OutputStream sink = System.out;

        @Override
        public Integer call() throws ErrnoException, IOException {
            spec.commandLine().getOut().flush();
            withFs(spec, location, (sys, fs, path) -> {
                ByteBuffer buf = ByteBuffer.allocate(1 << 20);
                int fd = sys.open(path, OpenFlags.O_RDONLY, 0);
                try {
                    int n;
                    while ((n = sys.read(fd, buf.clear())) > 0) {
                        sink.write(buf.array(), 0, n);
                    }
                } finally {
                    sys.close(fd);
                }
                sink.flush();
            });
            return 0;
        }
    }

    @Command(name = "fsck", description = "Check the filesystem read-only; exit 0 if clean, 4 if problems remain (as e2fsck -n).")
    static final class Fsck implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG[:PART]", description = "Image, or a partition of it.")
        String location;

        @picocli.CommandLine.Mixin
        ProgressLine.Flag progress;

        @Override
        public Integer call() throws ErrnoException, IOException {
            try {
                return checkMounted();
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN || !e.getMessage().contains(": group descriptor ")
                        || !e.getMessage().contains(": checksum ")) {
                    throw e;
                }
                // The mount refuses a descriptor whose checksum fails, as the kernel does; e2fsck -fn
                // checks such a filesystem anyway, and so does the checker opening it itself.
                return checkExt(spec.commandLine().getOut());
            }
        }

        private int checkExt(PrintWriter out) throws ErrnoException {
            Location loc = Location.parse(spec, wholeFilesystem(location));
            try (io.jrump.hypercall.Hypercalls host = ImageHosts.create("rump-fs");
                    BlockDevice disk = DiskImages.open(host, loc.image(), true)) {
                BlockDevice dev = loc.partition() == null ? disk : partition(disk, loc.partition());
                ProgressLine line = progress.line(spec.commandLine().getErr(), "checking", null);
                io.jrump.fs.ext.ExtCheck.Result r = io.jrump.fs.ext.ExtCheck.check(dev, line::setUnits);
                line.done();
                r.notes().forEach(n -> out.println("note: " + n));
                return report(out, r);
            }
        }

        private int report(PrintWriter out, io.jrump.fs.ext.ExtCheck.Result r) {
            r.problems().forEach(out::println);
            out.printf("%s: %d inodes, %d directories, %d blocks checked: %s%n", location, r.inodesChecked(),
                    r.directoriesChecked(), r.blocksClaimed(), r.isClean() ? "clean" : r.problems().size() + " problems");
            return r.isClean() ? 0 : 4;
        }

        private int checkMounted() throws ErrnoException, IOException {
            PrintWriter out = spec.commandLine().getOut();
            int[] exit = {0};
            withFs(spec, wholeFilesystem(location), (sys, fs, path) -> {
                ProgressLine line = progress.line(spec.commandLine().getErr(), "checking", null);
                if (fs instanceof io.jrump.fs.fat.FatFs fat) {
                    io.jrump.fs.fat.FatCheck.Result r = io.jrump.fs.fat.FatCheck.check(fat, line::setUnits);
                    line.done();
                    r.problems().forEach(out::println);
                    out.printf("%s: %d files, %d directories, %d clusters in use: %s%n", location, r.files(),
                            r.directories(), r.clustersUsed(), r.isClean() ? "clean" : r.problems().size() + " problems");
                    exit[0] = r.isClean() ? 0 : 4;
                    return;
                }
                if (fs instanceof io.jrump.fs.exfat.ExFatFs exfat) {
                    io.jrump.fs.exfat.ExFatCheck.Result r = io.jrump.fs.exfat.ExFatCheck.check(exfat, line::setUnits);
                    line.done();
                    r.problems().forEach(out::println);
                    out.printf("%s: %d files, %d directories, %d clusters in use: %s%n", location, r.files(),
                            r.directories(), r.clustersUsed(), r.isClean() ? "clean" : r.problems().size() + " problems");
                    exit[0] = r.isClean() ? 0 : 4;
                    return;
                }
                if (!(fs instanceof ExtVfs ext)) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, location + ": fsck checks ext2/3/4, vfat and exfat, not "
                            + fs.type());
                }
                io.jrump.fs.ext.ExtCheck.Result r = io.jrump.fs.ext.ExtCheck.check(ext.ext(), line::setUnits);
                line.done();
                exit[0] = report(out, r);
            });
            return exit[0];
        }
    }

    @Command(name = "df", description = "Show the filesystem's size, use and free space, as df does.")
    static final class Df implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG[:PART]", description = "Image, or a partition of it.")
        String location;

        @Override
        public Integer call() throws ErrnoException, IOException {
            PrintWriter out = spec.commandLine().getOut();
            withFs(spec, wholeFilesystem(location), (sys, fs, path) -> {
                StatVfs v = sys.statvfs("/");
                long k = v.blockSize() / 1024;
                long used = v.blocks() - v.freeBlocks();
                out.printf("%-24s %12s %12s %12s %5s %10s %10s%n", "Filesystem", "1K-blocks", "Used", "Available", "Use%",
                        "Inodes", "IFree");
                long usePct = used + v.availableBlocks() == 0 ? 0
                        : (used * 100 + used + v.availableBlocks() - 1) / (used + v.availableBlocks());
                out.printf("%-24s %12d %12d %12d %4d%% %10d %10d%n", location + " (" + fs.type() + ")", v.blocks() * k,
                        used * k, v.availableBlocks() * k, usePct, v.files(), v.freeFiles());
            });
            return 0;
        }
    }

    @Command(name = "stat", description = "Show a file's inode attributes (symlinks not followed).")
    static final class StatCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG[:PART]:/path", description = "File to describe.")
        String location;

        @Override
        public Integer call() throws ErrnoException, IOException {
            PrintWriter out = spec.commandLine().getOut();
            withFs(spec, location, (sys, fs, path) -> {
                Attributes st = sys.lstat(path);
                out.printf("  File: %s%s%n", path, st.isSymlink() ? " -> " + sys.readlink(path) : "");
                out.printf("  Size: %d\tBlocks: %d\tInode: %d\tLinks: %d%n", st.size(), st.blocks512(), st.ino(), st.nlink());
                out.printf("Access: (%04o/%s)  Uid: %d  Gid: %d%n", st.mode() & 07777, modeString(st.mode()), st.uid(), st.gid());
                out.printf("Modify: %s.%09d UTC%n", SECONDS.format(Instant.ofEpochSecond(Math.floorDiv(st.mtimeNanos(), 1_000_000_000L))),
                        Math.floorMod(st.mtimeNanos(), 1_000_000_000L));
            });
            return 0;
        }
    }
}
