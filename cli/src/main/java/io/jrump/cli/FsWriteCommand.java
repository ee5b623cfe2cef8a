package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.Images;
import io.jrump.fs.VfsComponent;
import io.jrump.fs.ext.Mkfs;
import io.jrump.fs.ext.MkfsFeatures;
import io.jrump.fs.exfat.ExFatMkfs;
import io.jrump.fs.fat.FatMkfs;
import io.jrump.fs.fat.FatType;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.Syscalls;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The writing {@code rump fs} commands: mkdir, rm, mv, ln, chmod, chown, cp and mkfs. Each mounts
 * the image read-write, does its work and unmounts cleanly, also after an error. An error about
 * one operand is printed as {@code rump: IMG:/path: strerror (ENAME)} and the command goes on with the
 * next, exiting 1 at the end, as coreutils do; usage errors exit 2.
 */
final class FsWriteCommand {
    private FsWriteCommand() {
    }

    /** {@code path: strerror (ENAME)}: a failed call as coreutils print it, with the errno's name as every rump error line has. */
    static String describe(ErrnoException e) {
        return e.getMessage();
    }

    /** "/a//b/" as "/a/b"; the root stays "/". */
    static String clean(String path) {
        String p = path.replaceAll("/+", "/");
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    static String basename(String path) {
        String p = clean(path);
        return p.substring(p.lastIndexOf('/') + 1);
    }

    static String prefix(FsCommand.Location loc) {
        return loc.partition() == null ? loc.image() : loc.image() + ":" + loc.partition();
    }

    /**
     * The images a command has mounted, one kernel (blk and vfs, on one host they share) per image
     * and partition; closing unmounts all, and fails if writing one back failed.
     */
    static final class Session implements AutoCloseable {
        private final Hypercalls host = ImageHosts.create("rump-fs");
        private final Map<String, FsTree.Image> mounted = new LinkedHashMap<>();
        private final List<RumpKernel> kernels = new ArrayList<>();
        private final String fsOptions;

        /** {@code fsOptions}: the filesystem's mount options, as {@code mount -o} takes them ("" for none). */
        Session(String fsOptions) {
            this.fsOptions = fsOptions;
        }

        FsTree.Image mount(FsCommand.Location loc, boolean readOnly) throws ErrnoException {
            String key = Path.of(loc.image()).toAbsolutePath().normalize() + "\0" + loc.partition();
            FsTree.Image img = mounted.get(key);
            if (img == null) {
                RumpKernel kernel = FsCommand.bootFs(ForwardingHypercalls.lent(host));
                try {
                    kernel.sys().mount(loc.device(), "/", "auto", readOnly ? VfsComponent.MS_RDONLY : 0, fsOptions);
                } catch (ErrnoException | RuntimeException e) {
                    kernel.close();
                    throw e;
                }
                kernels.add(kernel);
                img = new FsTree.Image(kernel.sys(), prefix(loc));
                mounted.put(key, img);
            }
            return img;
        }

        @Override
        public void close() throws ErrnoException {
            ErrnoException first = null;
            for (int i = kernels.size() - 1; i >= 0; i--) {
                try {
                    kernels.get(i).sys().unmount("/"); // after closing what was left open
                } catch (ErrnoException e) {
                    first = first == null ? e : first;
                } finally {
                    kernels.get(i).close();
                }
            }
            host.close();
            if (first != null) {
                throw first;
            }
        }
    }

    /** {@code -o OPTS}: the filesystem's own mount options, for the commands that mount images. */
    static final class MountOpts {
        @Option(names = "-o", paramLabel = "OPTS", split = ",",
                description = "Filesystem mount options, as mount -o takes them (ext: force, check=none|auto|full, acl;"
                        + " vfat and exfat: uid=, gid=, umask=, ...).")
        List<String> options = new ArrayList<>();

        String data() {
            return String.join(",", options);
        }
    }

    interface Op {
        void run(FsTree.Image img, String path) throws ErrnoException;
    }

    /**
     * Runs {@code op} on each location, all mounted read-write; reports each failure and returns
     * the exit status.
     */
    static int forEach(CommandSpec spec, MountOpts mountOpts, List<String> locations, Op op) throws ErrnoException {
        List<FsCommand.Location> locs = new ArrayList<>();
        for (String text : locations) {
            locs.add(FsCommand.Location.parse(spec, text));
        }
        PrintWriter err = spec.commandLine().getErr();
        int status = 0;
        try (Session s = new Session(mountOpts.data())) {
            for (FsCommand.Location loc : locs) {
                FsTree.Image img = s.mount(loc, false);
                try {
                    op.run(img, clean(loc.path()));
                } catch (ErrnoException e) {
                    err.println("rump: " + describe(e));
                    err.flush();
                    status = 1;
                }
            }
        }
        return status;
    }

    static int parseMode(CommandSpec spec, String text) {
        if (!text.matches("[0-7]{1,4}")) {
            throw new ParameterException(spec.commandLine(), "invalid mode '" + text + "' (octal, like 755 or 0644)");
        }
        return Integer.parseInt(text, 8);
    }

    @Command(name = "mkdir", mixinStandardHelpOptions = true,
            description = "Make directories.")
    static final class Mkdir implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Option(names = "-p", description = "Make parent directories as needed; no error if the directory exists.")
        boolean parents;

        @Option(names = "-m", paramLabel = "MODE", description = "Permissions of the new directory (octal), as chmod.")
        String mode;

        @Parameters(arity = "1..*", paramLabel = "IMG[:PART]:/dir", description = "Directories to make.")
        List<String> dirs;

        @Override
        public Integer call() throws ErrnoException {
            int m = mode == null ? -1 : parseMode(spec, mode);
            return forEach(spec, mountOpts, dirs, (img, path) -> {
                Syscalls vfs = img.sys();
                if (!parents) {
                    try {
                        vfs.mkdir(path, 0777);
                    } catch (ErrnoException e) {
                        throw img.named(path, e);
                    }
                } else {
                    String cur = "";
                    for (String part : path.split("/")) {
                        if (part.isEmpty()) {
                            continue;
                        }
                        cur = cur + "/" + part;
                        FsTree.Meta st = img.stat(cur, true);
                        if (st == null) {
                            try {
                                vfs.mkdir(cur, 0777);
                            } catch (ErrnoException e) {
                                throw img.named(cur, e);
                            }
                        } else if (!st.isDirectory()) {
                            throw new ErrnoException(Errno.ENOTDIR, img.display(cur));
                        }
                    }
                }
                if (m >= 0) {
                    img.chmod(path, m);
                }
            });
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Remove files, or directory trees with -r.")
    static final class Rm implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Option(names = {"-r", "-R", "--recursive"}, description = "Remove directories and their contents.")
        boolean recursive;

        @Option(names = {"-f", "--force"}, description = "Ignore files that do not exist.")
        boolean force;

        @Parameters(arity = "1..*", paramLabel = "IMG[:PART]:/path", description = "Files to remove.")
        List<String> paths;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter err = spec.commandLine().getErr();
            return forEach(spec, mountOpts, paths, (img, path) -> {
                String name = basename(path);
                if (path.equals("/") || name.equals(".") || name.equals("..")) {
                    throw new ErrnoException(Errno.EPERM, "refusing to remove " + img.display(path));
                }
                FsTree.Meta st = img.stat(path, false);
                if (st == null) {
                    if (force) {
                        return;
                    }
                    throw new ErrnoException(Errno.ENOENT, img.display(path));
                }
                if (st.isDirectory()) {
                    if (!recursive) {
                        throw new ErrnoException(Errno.EISDIR, img.display(path));
                    }
                    removeTree(img, path, err, 0);
                } else {
                    unlink(img, path);
                }
            });
        }

        private static void unlink(FsTree.Image img, String path) throws ErrnoException {
            try {
                img.sys().unlink(path);
            } catch (ErrnoException e) {
                throw img.named(path, e);
            }
        }

        private static void removeTree(FsTree.Image img, String dir, PrintWriter err, int depth) throws ErrnoException {
            if (depth > 256) {
                throw new ErrnoException(Errno.ELOOP, img.display(dir) + ": directories nest deeper than 256");
            }
            for (String name : img.list(dir)) {
                String child = img.child(dir, name);
                if (!FsTree.isSafeName(name)) {
                    err.println("rump: " + img.display(child) + ": unsafe name " + FsCopy.quote(name) + "; skipped");
                    continue;
                }
                FsTree.Meta st = img.stat(child, false);
                if (st != null && st.isDirectory()) {
                    removeTree(img, child, err, depth + 1);
                } else if (st != null) {
                    unlink(img, child);
                }
            }
            try {
                img.sys().rmdir(dir);
            } catch (ErrnoException e) {
                throw img.named(dir, e);
            }
        }
    }

    /** Both locations, which must be in the same image and partition. */
    private static FsCommand.Location[] sameImage(CommandSpec spec, String a, String b) {
        FsCommand.Location la = FsCommand.Location.parse(spec, a);
        FsCommand.Location lb = FsCommand.Location.parse(spec, b);
        if (!Path.of(la.image()).toAbsolutePath().normalize().equals(Path.of(lb.image()).toAbsolutePath().normalize())
                || !String.valueOf(la.partition()).equals(String.valueOf(lb.partition()))) {
            throw new ParameterException(spec.commandLine(), "'" + a + "' and '" + b + "' are not in the same filesystem");
        }
        return new FsCommand.Location[] {la, lb};
    }

    @Command(name = "mv", mixinStandardHelpOptions = true,
            description = "Rename or move a file or directory within one filesystem.")
    static final class Mv implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Parameters(index = "0", paramLabel = "IMG[:PART]:/from", description = "What to move.")
        String from;

        @Parameters(index = "1", paramLabel = "IMG[:PART]:/to", description = "New name, or a directory to move it into.")
        String to;

        @Override
        public Integer call() throws ErrnoException {
            FsCommand.Location[] l = sameImage(spec, from, to);
            String src = clean(l[0].path());
            return forEach(spec, mountOpts, List.of(to), (img, dst) -> {
                FsTree.Meta target = img.stat(dst, true);
                if (target != null && target.isDirectory()) {
                    dst = img.child(dst, basename(src));
                }
                if (src.equals("/")) {
                    throw new ErrnoException(Errno.EBUSY, img.display(src));
                }
                try {
                    img.sys().rename(src, dst);
                } catch (ErrnoException e) {
                    throw new ErrnoException(e.errno(), img.display(src) + " -> " + img.display(dst), e);
                }
            });
        }
    }

    @Command(name = "ln", mixinStandardHelpOptions = true,
            description = "Make a hard link to a file in the same filesystem, or a symbolic link with -s.")
    static final class Ln implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Option(names = {"-s", "--symbolic"}, description = "Make a symbolic link holding TARGET as it is written.")
        boolean symbolic;

        @Parameters(index = "0", paramLabel = "TARGET",
                description = "With -s any text; else a path in the image (/path or IMG[:PART]:/path).")
        String target;

        @Parameters(index = "1", paramLabel = "IMG[:PART]:/linkpath", description = "The new name, or a directory for it.")
        String link;

        @Override
        public Integer call() throws ErrnoException {
            String existing = target;
            if (!symbolic) {
                existing = target.contains(":/") ? clean(sameImage(spec, target, link)[0].path())
                        : clean(target.startsWith("/") ? target : "/" + target);
            }
            String tgt = existing;
            return forEach(spec, mountOpts, List.of(link), (img, path) -> {
                FsTree.Meta dir = img.stat(path, true);
                if (dir != null && dir.isDirectory()) {
                    path = img.child(path, basename(tgt));
                }
                try {
                    if (symbolic) {
                        img.sys().symlink(tgt, path);
                    } else {
                        img.sys().link(tgt, path);
                    }
                } catch (ErrnoException e) {
                    throw new ErrnoException(e.errno(), e.detail().equals(tgt) ? img.display(tgt) : img.display(path), e);
                }
            });
        }
    }

    interface Change {
        void apply(FsTree.Image img, String path, boolean follow) throws ErrnoException;
    }

    /** Applies a change to a path, and with {@code recursive} to everything below it (symlinks inside not followed). */
    static void walk(FsTree.Image img, String path, boolean recursive, Change change) throws ErrnoException {
        change.apply(img, path, true);
        if (recursive) {
            FsTree.Meta st = img.stat(path, true);
            if (st != null && st.isDirectory()) {
                walkBelow(img, path, change, 0);
            }
        }
    }

    private static void walkBelow(FsTree.Image img, String dir, Change change, int depth) throws ErrnoException {
        if (depth > 256) {
            throw new ErrnoException(Errno.ELOOP, img.display(dir) + ": directories nest deeper than 256");
        }
        for (String name : img.list(dir)) {
            if (!FsTree.isSafeName(name)) {
                continue;
            }
            String child = img.child(dir, name);
            FsTree.Meta st = img.stat(child, false);
            if (st == null) {
                continue;
            }
            change.apply(img, child, false);
            if (st.isDirectory()) {
                walkBelow(img, child, change, depth + 1);
            }
        }
    }

    @Command(name = "chmod", mixinStandardHelpOptions = true,
            description = "Change permissions (octal MODE).")
    static final class Chmod implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Option(names = "-R", description = "Change directories' contents too (symlinks inside are left alone).")
        boolean recursive;

        @Parameters(index = "0", paramLabel = "MODE", description = "Octal mode, like 755 or 1777.")
        String mode;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "IMG[:PART]:/path", description = "Files to change.")
        List<String> paths;

        @Override
        public Integer call() throws ErrnoException {
            int m = parseMode(spec, mode);
            return forEach(spec, mountOpts, paths, (img, path) -> walk(img, path, recursive, (i, p, follow) -> {
                if (follow || !i.stat(p, false).isSymlink()) {
                    i.chmod(p, m);
                }
            }));
        }
    }

    @Command(name = "chown", mixinStandardHelpOptions = true,
            description = "Change the owner and group (numeric ids).")
    static final class Chown implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Option(names = "-R", description = "Change directories' contents too (symlinks inside: the link itself).")
        boolean recursive;

        @Parameters(index = "0", paramLabel = "UID[:GID]", description = "Numeric owner, and optionally group.")
        String owner;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "IMG[:PART]:/path", description = "Files to change.")
        List<String> paths;

        @Override
        public Integer call() throws ErrnoException {
            if (!owner.matches("\\d+(:\\d+)?|:\\d+")) {
                throw new ParameterException(spec.commandLine(), "invalid owner '" + owner + "' (numeric UID[:GID])");
            }
            String[] parts = owner.split(":", -1);
            long uid = parts[0].isEmpty() ? -1 : Long.parseLong(parts[0]);
            long gid = parts.length > 1 ? Long.parseLong(parts[1]) : -1;
            return forEach(spec, mountOpts, paths, (img, path) -> walk(img, path, recursive, (i, p, follow) -> {
                try {
                    if (follow) {
                        i.sys().chown(p, uid, gid);
                    } else {
                        i.sys().lchown(p, uid, gid);
                    }
                } catch (ErrnoException e) {
                    throw i.named(p, e);
                }
            }));
        }
    }

    @Command(name = "cp", mixinStandardHelpOptions = true,
            description = {"Copy files and trees into an image, out of it, or within it.",
        "Image paths are IMG[:PART]:/path (IMG must exist); anything else is a path on the host."})
    static final class Cp implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        MountOpts mountOpts;

        @Mixin
        ProgressLine.Flag progress;

        @Option(names = {"-r", "-R", "--recursive"}, description = "Copy directories; symlinks inside them stay symlinks.")
        boolean recursive;

        @Option(names = {"-a", "--archive"},
                description = "As -r, and keep modes, owners (on the host only as root), times and symlinks.")
        boolean archive;

        @Parameters(arity = "2..*", paramLabel = "SRC... DST", description = "Sources, then the destination.")
        List<String> args;

        /** Whether {@code text} names a place in an existing image rather than a host path. */
        static boolean isImage(String text) {
            int prefix = FsCommand.Location.devicePrefixLength(text);
            int i = text.indexOf(":/", prefix);
            if (i <= 0) {
                return false;
            }
            String head = text.substring(0, i);
            if (isDisk(head)) {
                return true;
            }
            int colon = head.lastIndexOf(':');
            return colon > Math.max(0, prefix - 1) && isDisk(head.substring(0, colon));
        }

        /** An image file, a block device, a device socket or a PCI function (anything but a directory that exists). */
        private static boolean isDisk(String name) {
            return FsCommand.Location.deviceExists(name);
        }

        @Override
        public Integer call() throws ErrnoException {
            List<String> sources = args.subList(0, args.size() - 1);
            String dstText = args.get(args.size() - 1);
            boolean dstImage = isImage(dstText);
            if (!dstImage && sources.stream().noneMatch(Cp::isImage)) {
                String missing = args.stream().filter(a -> a.indexOf(":/") > 0).map(a -> a.substring(0, a.indexOf(":/")))
                        .findFirst().map(i -> " (no image or block device '" + i + "')").orElse("");
                throw new ParameterException(spec.commandLine(), "neither the sources nor '" + dstText
                        + "' are in an image" + missing + "; use cp for host files");
            }
            PrintWriter err = spec.commandLine().getErr();
            try (FsWriteCommand.Session s = new FsWriteCommand.Session(mountOpts.data())) {
                FsTree dst;
                String dstPath;
                if (dstImage) {
                    FsCommand.Location l = FsCommand.Location.parse(spec, dstText);
                    dst = s.mount(l, false);
                    dstPath = clean(l.path());
                } else {
                    dstPath = dstText;
                    dst = new FsTree.Host(hostRoot(Path.of(dstText)));
                }
                FsTree.Meta dm = dst.stat(dstPath, true);
                boolean intoDir = dm != null && dm.isDirectory();
                if (sources.size() > 1 && !intoDir) {
                    err.println("rump: target '" + dst.display(dstPath) + "' is not a directory");
                    return 1;
                }
                List<FsTree> trees = new ArrayList<>();
                List<String> paths = new ArrayList<>();
                for (String src : sources) {
                    if (isImage(src)) {
                        FsCommand.Location l = FsCommand.Location.parse(spec, src);
                        trees.add(s.mount(l, true)); // read-only, unless it is the destination's too
                        paths.add(clean(l.path()));
                    } else {
                        trees.add(new FsTree.Host(null));
                        paths.add(src);
                    }
                }
                ProgressLine progress = this.progress.line(err, "copying", "files");
                if (this.progress.mayShow()) {
                    long bytes = 0;
                    long files = 0;
                    for (int i = 0; i < trees.size(); i++) {
                        long[] t = FsCopy.totals(trees.get(i), paths.get(i), !archive, 0);
                        bytes += t[0];
                        files += t[1];
                    }
                    progress.total(bytes, files);
                }
                FsCopy copy = new FsCopy(recursive, archive, err, progress);
                for (int i = 0; i < trees.size(); i++) {
                    FsTree st = trees.get(i);
                    String sp = paths.get(i);
                    String target = dstPath;
                    if (intoDir) {
                        String name = st instanceof FsTree.Image ? basename(sp) : hostName(sp);
                        if (name.isEmpty()) {
                            target = dstPath; // an image's root: its contents merge into the directory
                        } else if (!FsTree.isSafeName(name)) {
                            copy.warn(st.display(sp) + ": unsafe name " + FsCopy.quote(name) + "; skipped");
                            continue;
                        } else {
                            target = dst.child(dstPath, name);
                        }
                    }
                    copy.copyTop(st, sp, dst, target);
                }
                progress.done();
                if (copy.stopped() != null) {
                    err.println("rump: " + copy.stoppedSummary());
                }
                return copy.failed() ? 1 : 0;
            }
        }

        /**
         * Where a copy out of an image may write: the destination directory, or the parent of a new
         * name; but never a symlink at the end of the path the user gave (it could have come out of an
         * image in an earlier copy): the root moves up past it, so it is in the way of every write.
         */
        static Path hostRoot(Path dst) {
            Path p = dst.toAbsolutePath();
            Path root = Files.isDirectory(p) ? p : p.getParent();
            while (root != null && root.getParent() != null && Files.isSymbolicLink(root)) {
                root = root.getParent();
            }
            return root == null ? p.getRoot() : root.normalize();
        }

        private static String hostName(String path) {
            Path f = Path.of(path).toAbsolutePath().normalize().getFileName();
            return f == null ? "" : f.toString();
        }
    }

    @Command(name = "mkfs", mixinStandardHelpOptions = true,
            description = {"Make an ext2, ext4, vfat (FAT12/16/32) or exfat filesystem on an image or one of its partitions.",
        "Creates the image (raw, or qcow2 if its name ends in .qcow2) if it does not exist and --size is given."})
    static final class MkfsCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "TYPE", description = "ext2, ext4, vfat or exfat.")
        String type;

        @Parameters(index = "1", paramLabel = "IMG[:PART]", description = "Image, or a partition of it.")
        String location;

        @Option(names = "--size", description = "Size of a new image, e.g. 64M.")
        String size;

        @Option(names = {"-L", "--label"}, description = "Volume label, up to 16 bytes (ext) or 11 characters (vfat, exfat).")
        String label;

        @Option(names = "--fat", paramLabel = "12|16|32",
                description = "vfat: the FAT size (default: as mkfs.fat chooses, FAT32 from 512 MiB up).")
        Integer fatBits;

        @Option(names = {"-s", "--cluster-sectors"}, paramLabel = "N",
                description = "vfat: sectors per cluster, a power of two up to 128 (default: as mkfs.fat chooses).")
        Integer clusterSectors;

        @Option(names = "--cluster-size", paramLabel = "BYTES",
                description = "exfat: cluster size, a power of two from 512 bytes to 32 MiB (default: as mkfs.exfat chooses).")
        Long clusterBytes;

        @Option(names = {"-b", "--block-size"}, description = "1024, 2048 or 4096 (default).")
        Integer blockSize;

        @Option(names = {"-f", "--force"}, description = "Overwrite an existing ext filesystem.")
        boolean force;

        @Option(names = {"-O", "--features"}, paramLabel = "LIST",
                description = {"ext: features as mke2fs -O takes them, comma-separated, ^name to clear: has_journal, "
                    + "ext_attr, resize_inode, dir_index, filetype, meta_bg, extent, 64bit, flex_bg, sparse_super, "
                    + "large_file, huge_file, uninit_bg, dir_nlink, extra_isize, metadata_csum. Others are refused."})
        List<String> features;

        @Option(names = {"-E", "--extended"}, paramLabel = "OPTS",
                description = "ext: extended options as mke2fs -E takes them; lazy_itable_init=0|1 (default 0).")
        String extended;

        @Override
        public Integer call() throws ErrnoException {
            boolean vfat = List.of("vfat", "fat", "msdos").contains(type.toLowerCase(Locale.ROOT));
            boolean exfat = type.equalsIgnoreCase("exfat");
            Mkfs.Type t = switch (type.toLowerCase(Locale.ROOT)) {
                case "ext2" -> Mkfs.Type.EXT2;
                case "ext4" -> Mkfs.Type.EXT4;
                case "vfat", "fat", "msdos", "exfat" -> null;
                default -> throw new ParameterException(spec.commandLine(), "unknown filesystem type '" + type
                        + "' (ext2, ext4, vfat or exfat)");
            };
            if (!exfat && clusterBytes != null) {
                throw new ParameterException(spec.commandLine(), "--cluster-size is for exfat");
            }
            if (exfat && (fatBits != null || clusterSectors != null || blockSize != null)) {
                throw new ParameterException(spec.commandLine(), "--fat, --cluster-sectors and --block-size are not for "
                        + "exfat; it takes --cluster-size");
            }
            if (!vfat && (fatBits != null || clusterSectors != null)) {
                throw new ParameterException(spec.commandLine(), "--fat and --cluster-sectors are for vfat");
            }
            if (vfat && blockSize != null) {
                throw new ParameterException(spec.commandLine(), "--block-size is for ext2/ext4; vfat takes --cluster-sectors");
            }
            FatType fatType = null;
            if (fatBits != null) {
                fatType = switch (fatBits) {
                    case 12 -> FatType.FAT12;
                    case 16 -> FatType.FAT16;
                    case 32 -> FatType.FAT32;
                    default -> throw new ParameterException(spec.commandLine(), "--fat " + fatBits + ": 12, 16 or 32");
                };
            }
            if (t == null && (features != null || extended != null)) {
                throw new ParameterException(spec.commandLine(), "-O and -E are for ext2/ext4");
            }
            MkfsFeatures feats = t == null ? null : MkfsFeatures.defaults(t);
            if (features != null) {
                for (String list : features) {
                    feats = feats.with(list);
                }
            }
            boolean lazy = false;
            if (extended != null) {
                for (String e : extended.split(",")) {
                    switch (e.trim()) {
                        case "lazy_itable_init", "lazy_itable_init=1" -> lazy = true;
                        case "lazy_itable_init=0" -> lazy = false;
                        default -> throw new ErrnoException(Errno.EOPNOTSUPP, "mkfs: extended option '" + e.trim()
                                + "' is not one this mkfs takes (lazy_itable_init=0|1)");
                    }
                }
            }
            if (feats != null) {
                feats.validate(location + ": mkfs: ");
            }
            String image = location;
            String partition = null;
            if (!Files.exists(Path.of(location)) && location.lastIndexOf(':') > 0) {
                int colon = location.lastIndexOf(':');
                image = location.substring(0, colon);
                partition = location.substring(colon + 1);
            }
            long bytes = size == null ? -1 : ImageCommand.parseSize(spec, size);
            PrintWriter out = spec.commandLine().getOut();
            try (Hypercalls host = ImageHosts.create("rump-mkfs")) {
                if (!Files.exists(Path.of(image))) {
                    if (bytes < 0 || partition != null) {
                        throw new ErrnoException(Errno.ENOENT, image + (partition != null ? ""
                                : " (give --size to create it)"));
                    }
                    Images.create(host, image, ImageCommand.formatByExtension(image), bytes, Map.of());
                    out.printf("%s: created, %s%n", image, Sizes.human(bytes));
                } else if (bytes >= 0) {
                    throw new ParameterException(spec.commandLine(), "'" + image
                            + "' exists; --size is only for creating a new image");
                }
                try (BlockDevice disk = DiskImages.open(host, image, false)) {
                    BlockDevice dev = partition == null ? disk : FsCommand.partition(disk, partition);
                    var existing = force ? java.util.Optional.<FileSystemTypes.Match>empty() : FileSystemTypes.probe(dev);
                    if (existing.isPresent()) {
                        spec.commandLine().getErr().println("rump: " + location + ": already holds a filesystem ("
                                + existing.get().description() + "); use --force to overwrite it");
                        return 1;
                    }
                    if (!force && partition == null && hasPartitionTable(dev)) {
                        spec.commandLine().getErr().println("rump: " + location + ": holds a partition table; name a "
                                + "partition (" + image + ":1) or use --force to format the whole disk");
                        return 1;
                    }
                    if (exfat) {
                        ExFatMkfs.Options eo = ExFatMkfs.Options.defaults(host.random().nextLong() & 0xffff_ffffL)
                                .withLabel(label == null ? "" : label)
                                .withClusterBytes(clusterBytes == null ? 0 : clusterBytes);
                        ExFatMkfs.Layout l = ExFatMkfs.format(dev, eo);
                        disk.flush();
                        out.printf("%s: exfat, %s, %d-byte clusters, %d clusters%s%n", location, Sizes.human(dev.size()),
                                l.clusterBytes(), l.clusterCount(), label == null ? "" : ", label '" + label + "'");
                        return 0;
                    }
                    if (vfat) {
                        FatMkfs.Options fo = FatMkfs.Options.defaults(host.random().nextLong() & 0xffff_ffffL)
                                .withType(fatType).withLabel(label == null ? "" : label)
                                .withSectorsPerCluster(clusterSectors == null ? 0 : clusterSectors);
                        FatMkfs.Layout l = FatMkfs.format(dev, fo);
                        disk.flush();
                        out.printf("%s: vfat (%s), %s, %d-byte clusters%s%n", location, l.type(), Sizes.human(dev.size()),
                                l.bytesPerSector() * l.sectorsPerCluster(), label == null ? "" : ", label '" + label + "'");
                        return 0;
                    }
                    byte[] uuid = new byte[16];
                    host.random().nextBytes(uuid);
                    uuid[6] = (byte) ((uuid[6] & 0x0f) | 0x40);
                    uuid[8] = (byte) ((uuid[8] & 0x3f) | 0x80);
                    Mkfs.Options o = Mkfs.Options.defaults(t, uuid, host.clock().wallNanos() / 1_000_000_000L);
                    if (label != null) {
                        o = o.withLabel(label);
                    }
                    if (blockSize != null) {
                        o = o.withBlockSize(blockSize);
                    }
                    o = o.withFeatures(feats).withLazyItableInit(lazy);
                    Mkfs.format(dev, o);
                    dev.flush();
                    disk.flush();
                    out.printf("%s: %s, %s%s%n", location, t.name().toLowerCase(Locale.ROOT), Sizes.human(dev.size()),
                            label == null ? "" : ", label '" + label + "'");
                }
            }
            return 0;
        }

        /** An MBR (or GPT's protective MBR) signature in sector 0. */
        static boolean hasPartitionTable(BlockDevice dev) throws ErrnoException {
            if (dev.size() < 512) {
                return false;
            }
            ByteBuffer b = ByteBuffer.allocate(512);
            dev.read(0, b);
            return (b.get(510) & 0xff) == 0x55 && (b.get(511) & 0xff) == 0xAA;
        }
    }
}
