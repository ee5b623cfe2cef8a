package io.jrump.cli;

import io.jrump.fs.VfsComponent;
import io.jrump.fs.fuse.FuseDispatcher;
import io.jrump.fs.fuse.FuseServer;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FuseChannels;
import io.jrump.hypercall.HostFuseChannel;
import io.jrump.kernel.RumpKernel;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rump mount} and {@code rump umount}: an image's filesystem through the kernel's FUSE driver. */
final class MountCommand {
    private MountCommand() {
    }

    /** Whether {@code mountpoint} (absolute, normalized) is a mount point now, per /proc/self/mountinfo. */
    static boolean isMounted(Path mountpoint) {
        String want = escape(mountpoint.toString());
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[4].equals(want)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** Octal escapes of mountinfo: space, tab, newline, backslash. */
    private static String escape(String path) {
        return path.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012");
    }

    static Path absolute(String path) {
        return Path.of(path).toAbsolutePath().normalize();
    }

    @Command(name = "mount", description = {
        "Mount an image's filesystem (ext2/3/4, vfat, exfat, iso9660) on a directory through the kernel's FUSE driver (Linux, root).",
        "Without --foreground the serving process goes to the background once the mount is up; "
            + "'rump umount' (or umount/fusermount3 -u) ends it, leaving the filesystem cleanly unmounted."})
    static final class Mount implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "IMG[:PART]", description = "Image (raw or qcow2), or a partition of it.")
        String location;

        @Parameters(index = "1", paramLabel = "MOUNTPOINT", description = "An existing directory.")
        String mountpoint;

        @Option(names = "-o", paramLabel = "OPTS", split = ",",
                description = "Mount options: ro, rw (default), allow_other; any other goes to the filesystem"
                        + " (ext: force, check=none|auto|full, acl; vfat/exfat: uid=, gid=, umask=, ...).")
        List<String> options = new ArrayList<>();

        @Option(names = {"-f", "--foreground"}, description = "Serve in this process until unmounted.")
        boolean foreground;

        @Option(names = "--threads", paramLabel = "N", defaultValue = "4",
                description = "Worker threads serving FUSE requests (default ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--log", paramLabel = "FILE",
                description = "Where the background process writes its output, kept (default: rump-mount-PID.log in the "
                        + "temporary directory, removed when the mount ends cleanly or fails to start).")
        Path log;

        @Mixin
        ProgressLine.Flag progress;

        /** The default log the serving process was started with: removed by it after a clean unmount. */
        @Option(names = "--remove-log-after-clean-unmount", paramLabel = "FILE", hidden = true)
        Path removeLog;

        @Override
        public Integer call() throws Exception {
            boolean readOnly = false;
            boolean allowOther = false;
            List<String> fsOptions = new ArrayList<>();
            for (String o : options) {
                switch (o.trim()) {
                    case "ro" -> readOnly = true;
                    case "rw" -> readOnly = false;
                    case "allow_other" -> allowOther = true;
                    case "" -> { }
                    default -> fsOptions.add(o.trim()); // the filesystem refuses those it does not know
                }
            }
            if (threads < 1 || threads > 256) {
                throw new ParameterException(spec.commandLine(), "--threads must be 1 to 256, not " + threads);
            }
            Path mnt = absolute(mountpoint);
            if (!Files.exists(mnt)) {
                throw new ErrnoException(Errno.ENOENT, "mount point " + mountpoint);
            }
            if (!Files.isDirectory(mnt)) {
                throw new ErrnoException(Errno.ENOTDIR, "mount point " + mountpoint);
            }
            FsCommand.Location loc = FsCommand.Location.parse(spec, FsCommand.wholeFilesystem(location));
            if (!loc.path().equals("/")) {
                throw new ParameterException(spec.commandLine(), "'" + location + "' is not IMG[:PART]");
            }
            if (!foreground) {
                return background(mnt, readOnly, allowOther, fsOptions);
            }
            return serve(loc, mnt, readOnly, allowOther, String.join(",", fsOptions));
        }

        private int serve(FsCommand.Location loc, Path mnt, boolean readOnly, boolean allowOther, String fsOptions)
                throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            RumpKernel kernel = RumpKernel.boot(ImageHosts.create("rump-mount"));
            try {
                FuseChannels fuse = kernel.host().fuse()
                        .orElseThrow(() -> new ErrnoException(Errno.ENOSYS, "this host cannot mount FUSE"));
                String device = loc.partition() == null ? loc.image() : loc.image() + ":" + loc.partition();
                kernel.sys().mount(device, "/", "auto", readOnly ? VfsComponent.MS_RDONLY : 0, fsOptions);
                // FUSE speaks vnode operations: it serves the filesystem the kernel mounted, below the syscalls.
                FileSystemOps fs = kernel.component(VfsComponent.class).orElseThrow().vfs().mounted("/");
                boolean fsClosed = false;
                try {
                    String source = "rump:" + (FsCommand.Location.devicePrefixLength(loc.image()) > 0 ? loc.image()
                            : absolute(loc.image()).toString()) + (loc.partition() == null ? "" : ":" + loc.partition());
                    HostFuseChannel channel = fuse.open(mnt.toString(), source.replace(",", "_"), readOnly, allowOther);
                    CountDownLatch cleanedUp = new CountDownLatch(1);
                    Thread hook = new Thread(() -> {
                        try {
                            channel.unmount();
                            cleanedUp.await(30, TimeUnit.SECONDS);
                        } catch (ErrnoException | InterruptedException e) {
                            // exiting anyway
                        }
                    }, "rump-mount-shutdown");
                    Runtime.getRuntime().addShutdownHook(hook);
                    AtomicInteger index = new AtomicInteger();
                    ExecutorService workers = Executors.newFixedThreadPool(threads, r -> {
                        Thread t = new Thread(r, "rump-fuse-" + index.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
                    try {
                        FuseServer server = new FuseServer(channel,
                                new FuseDispatcher(fs, kernel.host().clock()::wallNanos, FuseDispatcher.Options.fast()));
                        CompletableFuture<Void> done = server.start(workers, threads);
                        out.printf("%s mounted on %s (%s, %d threads)%n", location, mnt, readOnly ? "ro" : "rw", threads);
                        out.flush();
                        try {
                            done.get();
                        } catch (ExecutionException e) {
                            channel.unmount();
                            throw e.getCause() instanceof Exception c ? c : e;
                        }
                    } finally {
                        workers.shutdown();
                        workers.awaitTermination(10, TimeUnit.SECONDS);
                        channel.close();
                        fsClosed = true;
                        kernel.sys().unmount("/"); // data lost on the way fails the command
                        cleanedUp.countDown();
                        try {
                            Runtime.getRuntime().removeShutdownHook(hook);
                        } catch (IllegalStateException e) {
                            // shutting down
                        }
                    }
                    out.printf("%s unmounted from %s%n", location, mnt);
                    out.flush();
                    if (removeLog != null) {
                        Files.deleteIfExists(removeLog); // nothing went wrong: nothing to read in it
                    }
                    return 0;
                } finally {
                    if (!fsClosed) {
                        kernel.sys().unmount("/");
                    }
                }
            } finally {
                kernel.close();
            }
        }

        /** Runs this command again with --foreground as a background process; returns once it has mounted. */
        private int background(Path mnt, boolean readOnly, boolean allowOther, List<String> fsOptions) throws Exception {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> cmd = new ArrayList<>();
            cmd.add(java);
            cmd.addAll(serverJvmOptions(ManagementFactory.getRuntimeMXBean().getInputArguments()));
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                    Rump.class.getName(), "mount", location, mnt.toString(), "--foreground", "--threads",
                    Integer.toString(threads)));
            List<String> o = new ArrayList<>();
            o.add(readOnly ? "ro" : "rw");
            if (allowOther) {
                o.add("allow_other");
            }
            o.addAll(fsOptions);
            cmd.add("-o");
            cmd.add(String.join(",", o));
            Path logFile = log != null ? log : Files.createTempFile("rump-mount-" + ProcessHandle.current().pid() + "-", ".log");
            if (log == null) {
                cmd.addAll(List.of("--remove-log-after-clean-unmount", logFile.toString()));
            }
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            // The server may take long (a journal to replay): it is given up on only after a minute without progress.
            Liveness live = new Liveness(p.pid(), logFile);
            ProgressLine line = progress.line(spec.commandLine().getErr(), "mounting " + location, null);
            while (live.progressedWithin(TimeUnit.SECONDS.toNanos(60))) {
                if (isMounted(mnt)) {
                    line.done();
                    spec.commandLine().getOut().printf("%s mounted on %s by process %d (log: %s%s)%n", location, mnt,
                            p.pid(), logFile, log == null ? ", removed after a clean unmount" : "");
                    return 0;
                }
                line.setStatus(live.lastLogLine());
                if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                    line.breakLine();
                    String text = Files.exists(logFile) ? Files.readString(logFile).strip() : "";
                    spec.commandLine().getErr().println(text.isEmpty() ? "rump: mount failed (exit " + p.exitValue() + ")" : text);
                    if (log == null) {
                        Files.deleteIfExists(logFile); // what it said is printed above
                    }
                    return p.exitValue() == 0 ? 1 : p.exitValue();
                }
            }
            line.breakLine();
            p.destroy();
            throw new ErrnoException(Errno.ETIMEDOUT, "mount on " + mnt + " did not appear, and process " + p.pid()
                    + " did no I/O for a minute; see " + logFile);
        }
    }

    /**
     * The serving process's JVM options: this process's own (so {@code RUMP_JAVA_OPTS} reach it),
     * then, unless they choose otherwise, C1 only, compiling after a twentieth of the usual calls,
     * and the serial collector. Measured on two vCPUs (docs/performance.md): a 256 MiB copy is
     * about 260 requests of 1 MiB, too few for C2 to repay its compiling (which took as much CPU
     * as the copy) and so few that with the usual thresholds half of them ran interpreted; the
     * garbage is small, so one GC thread is plenty.
     */
    static List<String> serverJvmOptions(List<String> own) {
        List<String> opts = new ArrayList<>(own);
        if (own.stream().noneMatch(o -> o.startsWith("-XX:TieredStopAtLevel") || o.endsWith("TieredCompilation"))) {
            opts.add("-XX:TieredStopAtLevel=1");
        }
        if (own.stream().noneMatch(o -> o.matches("-XX:[+-]Use\\w*GC"))) {
            opts.add("-XX:+UseSerialGC");
        }
        if (own.stream().noneMatch(o -> o.startsWith("-XX:CompileThresholdScaling"))) {
            opts.add("-XX:CompileThresholdScaling=0.05");
        }
        if (own.stream().noneMatch(o -> o.startsWith("-Dorg.slf4j.simpleLogger.log.io.jrump.console="))) {
            opts.add("-Dorg.slf4j.simpleLogger.log.io.jrump.console=info"); // the log says what the kernel did
        }
        return opts;
    }

    @Command(name = "umount", description = "Unmount a 'rump mount' and wait for its serving process to finish.")
    static final class Umount implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "MOUNTPOINT", description = "Where the image is mounted.")
        String mountpoint;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
                description = "How long to wait for the serving process while it does no I/O (default ${DEFAULT-VALUE});"
                        + " writing back a large cache takes as long as it takes.")
        int timeoutSeconds;

        @Mixin
        ProgressLine.Flag progress;

        @Override
        public Integer call() throws Exception {
            Path mnt = absolute(mountpoint);
            if (!isMounted(mnt)) {
                throw new ErrnoException(Errno.EINVAL, mountpoint + ": not mounted");
            }
            List<ProcessHandle> servers = servers(mnt);
            boolean root = "root".equals(System.getProperty("user.name"));
            List<String> cmd = root ? List.of("umount", mnt.toString()) : List.of("fusermount3", "-u", mnt.toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + text);
            }
            for (ProcessHandle h : servers) {
                // Writing back the cache can take long; the server is waited for while it does I/O.
                Liveness live = new Liveness(h.pid(), null);
                ProgressLine line = progress.line(spec.commandLine().getErr(), "writing back", null);
                while (h.isAlive()) {
                    if (!live.progressedWithin(TimeUnit.SECONDS.toNanos(timeoutSeconds))) {
                        line.breakLine();
                        throw new ErrnoException(Errno.ETIMEDOUT, "process " + h.pid() + " serving " + mnt
                                + " still running, with no I/O for " + timeoutSeconds + " s");
                    }
                    line.setStatus("process " + h.pid() + ", " + Sizes.human(live.written()) + " written");
                    try {
                        h.onExit().get(100, TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.TimeoutException e) {
                        // still writing
                    }
                }
                line.setStatus("process " + h.pid() + " done, " + Sizes.human(live.written()) + " written");
                line.done();
            }
            return 0;
        }

        /** The other processes running 'rump mount ... MOUNTPOINT --foreground'. */
        private static List<ProcessHandle> servers(Path mnt) {
            long self = ProcessHandle.current().pid();
            List<ProcessHandle> found = new ArrayList<>();
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path d : (Iterable<Path>) procs::iterator) {
                    String name = d.getFileName().toString();
                    if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
                        continue;
                    }
                    List<String> args;
                    try {
                        args = List.of(new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).split("\0"));
                    } catch (IOException e) {
                        continue;
                    }
                    if (args.contains(Rump.class.getName()) && args.contains("mount") && args.contains("--foreground")
                            && args.contains(mnt.toString())) {
                        Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(name));
                        h.ifPresent(found::add);
                    }
                }
            } catch (IOException e) {
                return found;
            }
            return found;
        }
    }
}
