package io.jrump.fuzz.kit.program;

import static io.jrump.fuzz.kit.program.ProgramRunner.ADDRESS_A;
import static io.jrump.fuzz.kit.program.ProgramRunner.ADDRESS_B;
import static io.jrump.fuzz.kit.program.ProgramRunner.CACHE_BYTES;
import static io.jrump.fuzz.kit.program.ProgramRunner.STEP_MILLIS;
import static io.jrump.fuzz.kit.program.ProgramRunner.WATCHDOG_MINUTES;

import io.jrump.blk.BlockLayer;
import io.jrump.blk.HostDisk;
import io.jrump.fs.VfsComponent;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.fuzz.kit.program.ProgramRunner.Interference;
import io.jrump.fuzz.kit.program.ProgramRunner.Result;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.Syscalls;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** One run of a program: the world, the model, and the checks {@link ProgramRunner} describes. */
final class ProgramExecution {
    private static final long MS = 1_000_000L;
    private static final int POLLIN = 1;
    private static final Set<Errno> CONNECT_ERRORS = EnumSet.of(Errno.EINPROGRESS, Errno.EALREADY, Errno.EISCONN,
            Errno.ECONNREFUSED, Errno.ECONNRESET, Errno.ETIMEDOUT, Errno.ENETUNREACH, Errno.EHOSTUNREACH,
            Errno.EADDRNOTAVAIL, Errno.EADDRINUSE, Errno.EINVAL, Errno.ECONNABORTED, Errno.EOPNOTSUPP);
    private static final Set<Errno> BIND_ERRORS = EnumSet.of(Errno.EINVAL, Errno.EADDRINUSE, Errno.EADDRNOTAVAIL);
    private static final Set<Errno> LISTEN_ERRORS = EnumSet.of(Errno.EINVAL, Errno.EISCONN, Errno.EADDRINUSE,
            Errno.EOPNOTSUPP);
    private static final Set<Errno> ACCEPT_ERRORS = EnumSet.of(Errno.EAGAIN, Errno.EINVAL, Errno.ECONNABORTED);
    private static final Set<Errno> STREAM_ERRORS = EnumSet.of(Errno.EAGAIN, Errno.EPIPE, Errno.ENOTCONN,
            Errno.ECONNRESET, Errno.ETIMEDOUT, Errno.ECONNREFUSED, Errno.ECONNABORTED, Errno.EINVAL, Errno.EHOSTUNREACH,
            Errno.ENETUNREACH);
    private static final Set<Errno> SHUTDOWN_ERRORS = EnumSet.of(Errno.ENOTCONN, Errno.EINVAL);
    /** Errors that end a connection: after one, the liveness check leaves the connection alone. */
    private static final Set<Errno> FATAL = EnumSet.of(Errno.ECONNRESET, Errno.ETIMEDOUT, Errno.ECONNREFUSED,
            Errno.ECONNABORTED, Errno.EPIPE, Errno.EHOSTUNREACH, Errno.ENETUNREACH);

    /** A descriptor the program holds. */
    private static final class Res {
        final String host;
        int fd;
        FileModel.Node node;
        int flags;
        StreamEnd end;
        boolean listening;

        Res(String host, int fd) {
            this.host = host;
            this.fd = fd;
        }
    }

    private final Program program;
    private final PrintStream out;
    private final Interference interference;
    private final List<String> trace = new ArrayList<>();
    private final Map<Integer, Res> res = new HashMap<>();
    private final List<StreamEnd> ends = new ArrayList<>();
    private final FileModel model = new FileModel();
    private SimWorld world;
    private SimDisk disk;
    private SimHost hostA;
    private RumpKernel kernelA;
    private RumpKernel kernelB;
    private NetStack stackA;
    private NetStack stackB;
    private boolean mounted;
    private boolean everMounted;
    private String line;

    ProgramExecution(Program program, PrintStream out, Interference interference) {
        this.program = program;
        this.out = out;
        this.interference = interference;
    }

    Result run() {
        int step = -1;
        String call = "setup";
        try {
            setUp();
            for (step = 0; step < program.calls().size(); step++) {
                Call c = program.calls().get(step);
                call = c.toString();
                line = "[" + step + "] " + call;
                execute(c);
                note(line);
                line = null;
                afterEach();
                if (interference != null) {
                    interference.after(step, kernelA.sys());
                }
            }
            call = "end";
            line = "[" + step + "] end";
            finish();
            note(line);
            line = null;
            return new Result(-1, null, null, trace, world.traceHex());
        } catch (Finding | AssertionError e) {
            return finding(step, call, e.getMessage());
        } catch (ErrnoException | RuntimeException e) {
            return finding(step, call, "the runner's own call failed: " + e);
        } finally {
            closeAll();
        }
    }

    private Result finding(int step, String call, String message) {
        if (line != null) {
            note(line);
        }
        note("  FINDING at step " + step + ": " + message);
        return new Result(step, call, message, trace, world == null ? "" : world.traceHex());
    }

    private void note(String s) {
        trace.add(s);
        if (out != null) {
            out.println(s);
        }
    }

    private void setUp() throws ErrnoException {
        world = new SimWorld(program.seed());
        disk = world.createDisk(Signature.DISK, (long) program.diskMib() << 20);
        SimHost h = world.newHost("a");
        try (HostDisk d = HostDisk.open(h, Signature.DISK, OpenMode.READ_WRITE)) {
            FreshExt4.writeTo(d, program.diskMib());
        }
        disk.setTornWrites(true);
        bootA(h);
        stackB = new NetStack();
        kernelB = boot(world.newHost("b"), BootOptions.defaults().withName("b").withComponentInstances(List.of(stackB)),
                stackB, ADDRESS_B);
        model.commit();
    }

    private void bootA(SimHost h) throws ErrnoException {
        hostA = h;
        stackA = new NetStack();
        kernelA = boot(h, BootOptions.defaults().withName("a").withProperty(VfsComponent.CACHE_BYTES, Long.toString(CACHE_BYTES))
                .withComponentInstances(List.of(new BlockLayer(), new VfsComponent(), stackA)), stackA, ADDRESS_A);
    }

    private static RumpKernel boot(SimHost h, BootOptions options, NetStack stack, String address) throws ErrnoException {
        RumpKernel k = RumpKernel.boot(h, options);
        stack.addInterface(Signature.LINK, NicOptions.defaults());
        stack.addAddress(Signature.LINK, Ipv4Address.parse(address), 24);
        return k;
    }

    private void closeAll() {
        if (kernelA != null) {
            kernelA.close();
        }
        if (kernelB != null) {
            kernelB.close();
        }
    }

    private Syscalls sys(String host) {
        return host.equals("b") ? kernelB.sys() : kernelA.sys();
    }

    private void afterEach() throws ErrnoException, Finding {
        world.runFor(STEP_MILLIS * MS);
        Invariants.stackSane(stackA);
        Invariants.stackSane(stackB);
        Invariants.noFailures(world);
    }

    // ---- calls ------------------------------------------------------------------------------

    /** An errno (or null) from running {@code body}; "internal error" is a finding. */
    private Errno attempt(Body body) throws Finding {
        try {
            body.run();
            return null;
        } catch (ErrnoException e) {
            if (Invariants.isInternalError(e)) {
                throw new Finding("internal error: " + e.getMessage());
            }
            return e.errno();
        }
    }

    @FunctionalInterface
    private interface Body {
        void run() throws ErrnoException;
    }

    private void expect(Errno expected, Errno got) throws Finding {
        line += got == null ? " = ok" : " -> " + got;
        if (expected != got) {
            throw new Finding("expected " + (expected == null ? "success" : expected) + ", got "
                    + (got == null ? "success" : got));
        }
    }

    private void expectAmong(Set<Errno> allowed, Errno got, Res r) throws Finding {
        line += got == null ? " = ok" : " -> " + got;
        if (r != null && r.fd < 0) {
            if (got != Errno.EBADF) {
                throw new Finding("a closed descriptor: expected EBADF, got " + (got == null ? "success" : got));
            }
            return;
        }
        if (got != null && !allowed.contains(got)) {
            throw new Finding(got + " is not among the errnos defined for this call " + allowed);
        }
    }

    private Res res(Call c, int arg) {
        return res.get(((Call.Resource) c.args().get(arg)).n());
    }

    private String str(Call c, int arg) {
        return (String) c.args().get(arg);
    }

    private long num(Call c, int arg) {
        return (Long) c.args().get(arg);
    }

    private void execute(Call c) throws ErrnoException, Finding {
        Syscalls a = kernelA.sys();
        switch (c.name()) {
            case "mount" -> {
                Errno e = mounted ? Errno.EBUSY : null;
                expect(e, attempt(() -> a.mount(Signature.DISK, "/", "ext4", 0)));
                if (e == null) {
                    mounted = true;
                    everMounted = true;
                    model.commit();
                }
            }
            case "umount" -> {
                boolean open = res.values().stream().anyMatch(r -> r.node != null && r.fd >= 0);
                Errno e = !mounted ? Errno.ENOENT : open ? Errno.EBUSY : null;
                expect(e, attempt(() -> a.unmount("/")));
                if (e == null) {
                    mounted = false;
                    model.commit();
                }
            }
            case "open" -> open(c, a);
            case "close" -> {
                Res r = res(c, 0);
                Errno e = r.fd < 0 ? Errno.EBADF : null;
                expect(e, attempt(() -> sys(r.host).close(r.fd)));
                if (r.end != null) {
                    r.end.closed = true;
                }
                r.fd = -1;
            }
            case "pwrite" -> {
                Res r = res(c, 0);
                byte[] data = ((Data) c.args().get(1)).bytes();
                long off = num(c, 2);
                Errno e = r.fd < 0 || !OpenFlags.writable(r.flags) ? Errno.EBADF : null;
                int[] n = {-1};
                expect(e, attempt(() -> n[0] = a.pwrite(r.fd, ByteBuffer.wrap(data), off)));
                if (e == null) {
                    line += " " + n[0];
                    if (n[0] != data.length) {
                        throw new Finding("pwrite of " + data.length + " bytes wrote " + n[0]);
                    }
                    FileModel.write(r.node, data, off);
                    model.remember();
                }
            }
            case "pread" -> {
                Res r = res(c, 0);
                int len = (int) num(c, 1);
                long off = num(c, 2);
                Errno e = r.fd < 0 || !OpenFlags.readable(r.flags) ? Errno.EBADF : r.node.type == 'd' ? Errno.EISDIR : null;
                ByteBuffer got = ByteBuffer.allocate(len);
                int[] n = {-1};
                expect(e, attempt(() -> n[0] = a.pread(r.fd, got, off)));
                if (e == null) {
                    line += " " + n[0];
                    byte[] want = off >= r.node.data.length ? new byte[0]
                            : Arrays.copyOfRange(r.node.data, (int) off, (int) Math.min(r.node.data.length, off + len));
                    if (n[0] != want.length || !Arrays.equals(want, Arrays.copyOf(got.array(), n[0]))) {
                        throw new Finding("pread returned " + n[0] + " bytes " + Finding.firstDifference(want, got.array(), n[0])
                                + "; the model has " + want.length);
                    }
                }
            }
            case "ftruncate" -> {
                Res r = res(c, 0);
                long len = num(c, 1);
                Errno e = r.fd < 0 ? Errno.EBADF : !OpenFlags.writable(r.flags) ? Errno.EINVAL : null;
                expect(e, attempt(() -> a.ftruncate(r.fd, len)));
                if (e == null) {
                    FileModel.truncate(r.node, len);
                    model.remember();
                }
            }
            case "fsync" -> {
                Res r = res(c, 0);
                Errno e = r.fd < 0 ? Errno.EBADF : null;
                expect(e, attempt(() -> a.fsync(r.fd)));
                if (e == null) {
                    model.commit();
                }
            }
            case "sync" -> {
                expect(null, attempt(a::sync));
                if (mounted) {
                    model.commit();
                }
            }
            case "stat" -> {
                String p = str(c, 0);
                FileModel.Node n = model.tree.get(p);
                Errno e = pathError(p);
                if (e == null && n == null) {
                    e = Errno.ENOENT;
                }
                Attributes[] at = {null};
                expect(e, attempt(() -> at[0] = a.stat(p)));
                if (e == null) {
                    line += " " + (at[0].isDirectory() ? "dir" : "file " + at[0].size());
                    if (at[0].isDirectory() != (n.type == 'd') || (n.type == 'f' && at[0].size() != n.data.length)) {
                        throw new Finding("stat says " + (at[0].isDirectory() ? "a directory" : "a file of " + at[0].size())
                                + ", the model has " + (n.type == 'd' ? "a directory" : "a file of " + n.data.length));
                    }
                }
            }
            case "unlink" -> {
                String p = str(c, 0);
                FileModel.Node n = model.tree.get(p);
                Errno e = pathError(p);
                if (e == null) {
                    e = n == null ? Errno.ENOENT : n.type == 'd' ? Errno.EISDIR : null;
                }
                expect(e, attempt(() -> a.unlink(p)));
                if (e == null) {
                    model.tree.remove(p);
                    model.remember();
                }
            }
            case "mkdir" -> {
                String p = str(c, 0);
                int mode = (int) num(c, 1);
                Errno e = pathError(p);
                if (e == null && model.tree.containsKey(p)) {
                    e = Errno.EEXIST;
                }
                expect(e, attempt(() -> a.mkdir(p, mode)));
                if (e == null) {
                    model.tree.put(p, new FileModel.Node('d'));
                    model.remember();
                }
            }
            case "rmdir" -> {
                String p = str(c, 0);
                FileModel.Node n = model.tree.get(p);
                Errno e = pathError(p);
                if (e == null) {
                    e = n == null ? Errno.ENOENT : n.type != 'd' ? Errno.ENOTDIR : model.hasChildren(p) ? Errno.ENOTEMPTY : null;
                }
                expect(e, attempt(() -> a.rmdir(p)));
                if (e == null) {
                    model.tree.remove(p);
                    model.remember();
                }
            }
            case "rename" -> {
                String from = str(c, 0);
                String to = str(c, 1);
                Errno e = mounted ? model.renameError(from, to) : Errno.ENOENT;
                expect(e, attempt(() -> a.rename(from, to)));
                if (e == null) {
                    model.rename(from, to);
                    model.remember();
                }
            }
            case "socket" -> {
                int[] fd = {-1};
                Syscalls s = sys(c.host());
                expect(null, attempt(() -> {
                    fd[0] = s.socket(2, 1, 0);
                    s.setNonBlocking(fd[0], true);
                }));
                line += " " + fd[0];
                define(c, fd[0], c.host());
            }
            case "bind" -> {
                Res r = res(c, 0);
                expectAmong(BIND_ERRORS, attempt(() -> sys(r.host).bind(r.fd, address(str(c, 1)))), r);
            }
            case "listen" -> {
                Res r = res(c, 0);
                Errno got = attempt(() -> sys(r.host).listen(r.fd, (int) num(c, 1)));
                expectAmong(LISTEN_ERRORS, got, r);
                r.listening |= got == null;
            }
            case "connect" -> {
                Res r = res(c, 0);
                Errno got = attempt(() -> sys(r.host).connect(r.fd, address(str(c, 1))));
                expectAmong(CONNECT_ERRORS, got, r);
                if (r.fd >= 0 && (got == null || got == Errno.EINPROGRESS) && r.end.local == null) {
                    InetSocketAddress local = sys(r.host).getsockname(r.fd);
                    r.end.local = local.getAddress().getHostAddress() + ":" + local.getPort();
                }
            }
            case "accept" -> {
                Res r = res(c, 0);
                int[] fd = {-1};
                Errno got = attempt(() -> {
                    fd[0] = sys(r.host).accept(r.fd);
                    sys(r.host).setNonBlocking(fd[0], true);
                });
                expectAmong(ACCEPT_ERRORS, got, r);
                if (got != null) {
                    define(c, -1, r.host); // what it would have returned stands for a closed descriptor
                } else {
                    line += " " + fd[0];
                    Res s = define(c, fd[0], r.host);
                    InetSocketAddress peer = sys(r.host).getpeername(fd[0]);
                    String from = peer.getAddress().getHostAddress() + ":" + peer.getPort();
                    StreamEnd client = null;
                    for (StreamEnd e : ends) {
                        if (from.equals(e.local) && e.peer == null) {
                            client = e;
                        }
                    }
                    if (client == null) {
                        throw new Finding("accepted a connection from " + from + ", which no socket of the program connected from");
                    }
                    client.peer = s.end;
                    s.end.peer = client;
                }
            }
            case "send" -> send(c);
            case "recv" -> recv(c);
            case "shutdown" -> {
                Res r = res(c, 0);
                int how = (int) num(c, 1);
                Errno got = attempt(() -> sys(r.host).shutdown(r.fd, how));
                expectAmong(SHUTDOWN_ERRORS, got, r);
                if (got == null) {
                    r.end.shutWr |= how != 0;
                    r.end.shutRd |= how != 1;
                }
            }
            case "powercut" -> powerCut();
            case "link_down" -> {
                world.link(Signature.LINK).partition(Set.of("a"));
                line += " = ok";
            }
            case "link_up" -> {
                world.link(Signature.LINK).heal();
                line += " = ok";
            }
            case "loss" -> {
                world.link(Signature.LINK).setLoss(num(c, 1) / 100.0);
                line += " = ok";
            }
            case "sleep" -> {
                world.runFor(num(c, 0) * MS);
                line += " = ok";
            }
            default -> throw new ErrnoException(Errno.ENOSYS, "the runner has no case for " + c.name());
        }
    }

    private Res define(Call c, int fd, String host) {
        Res r = new Res(host, fd);
        res.put(c.result(), r);
        if (c.signature().returns() == Signature.Returns.SOCKET) {
            r.end = new StreamEnd(host);
            ends.add(r.end);
        }
        return r;
    }

    /** ENOENT when nothing is mounted, else the parent's error, else null. */
    private Errno pathError(String p) {
        return mounted ? model.parentError(p) : Errno.ENOENT;
    }

    private void open(Call c, Syscalls a) throws Finding {
        String p = str(c, 0);
        int flags = (int) num(c, 1);
        int mode = (int) num(c, 2);
        boolean creat = (flags & OpenFlags.O_CREAT) != 0;
        boolean trunc = (flags & OpenFlags.O_TRUNC) != 0;
        boolean write = OpenFlags.writable(flags);
        FileModel.Node n = model.tree.get(p);
        Errno e = pathError(p);
        if (e == null) {
            if (creat && n != null && (flags & OpenFlags.O_EXCL) != 0) {
                e = Errno.EEXIST;
            } else if (!creat && n == null) {
                e = Errno.ENOENT;
            } else if (n != null && n.type == 'd' && (write || trunc || creat)) {
                e = Errno.EISDIR;
            }
        }
        int[] fd = {-1};
        expect(e, attempt(() -> fd[0] = a.open(p, flags, mode)));
        if (e == null) {
            line += " " + fd[0];
            if (n == null) {
                n = new FileModel.Node('f');
                n.dirty = true;
                model.tree.put(p, n);
                model.remember();
            } else if (trunc && write && n.type == 'f' && n.data.length > 0) {
                FileModel.truncate(n, 0);
                model.remember();
            }
            Res r = define(c, fd[0], "a");
            r.node = n;
            r.flags = flags;
        } else {
            define(c, -1, "a");
        }
    }

    private void send(Call c) throws Finding {
        Res r = res(c, 0);
        byte[] data = ((Data) c.args().get(1)).bytes();
        int[] n = {-1};
        Errno got = attempt(() -> n[0] = sys(r.host).send(r.fd, ByteBuffer.wrap(data), 0));
        expectAmong(STREAM_ERRORS, got, r);
        if (got == null) {
            line += " " + n[0];
            if (n[0] < 0 || n[0] > data.length || (data.length > 0 && n[0] == 0)) {
                throw new Finding("send of " + data.length + " bytes returned " + n[0]);
            }
            if (r.end.shutWr && data.length > 0) {
                throw new Finding("send succeeded after shutdown(SHUT_WR)");
            }
            r.end.sent.write(data, 0, n[0]);
        } else if (FATAL.contains(got)) {
            r.end.failed = true;
        }
    }

    private void recv(Call c) throws Finding {
        Res r = res(c, 0);
        int len = (int) num(c, 1);
        ByteBuffer b = ByteBuffer.allocate(len);
        int[] n = {-1};
        Errno got = attempt(() -> n[0] = sys(r.host).recv(r.fd, b, 0).length());
        expectAmong(STREAM_ERRORS, got, r);
        if (got == null) {
            line += " " + n[0];
            r.end.received(b.array(), n[0], len);
        } else if (FATAL.contains(got)) {
            r.end.failed = true;
        }
    }

    private static InetSocketAddress address(String a) throws ErrnoException {
        int colon = a.lastIndexOf(':');
        try {
            return new InetSocketAddress(InetAddress.getByAddress(Ipv4Address.parse(a.substring(0, colon)).toBytes()),
                    Integer.parseInt(a.substring(colon + 1))); // a literal: no name lookup
        } catch (UnknownHostException e) {
            throw new ErrnoException(Errno.EINVAL, a);
        }
    }
    // ---- power cut -----------------------------------------------------------------------

    private void powerCut() throws ErrnoException, Finding {
        line += " (" + disk.unflushedWrites() + " unflushed writes)";
        disk.powerCut();
        for (Res r : res.values()) {
            if (r.host.equals("a")) {
                r.fd = -1;
                if (r.end != null) {
                    r.end.dead = true;
                }
            }
        }
        hostA.muteConsole(); // its unmount can only report the writes the cut lost: expected, not news
        kernelA.close();
        kernelA = null;
        bootA(world.newHost("a"));
        if (!mounted) {
            return;
        }
        Errno e = attempt(() -> kernelA.sys().mount(Signature.DISK, "/", "ext4", 0));
        if (e != null) {
            throw new Finding("mounting d0 again after the power cut failed with " + e);
        }
        FileModel.State match = null;
        String first = null;
        for (int i = model.sinceCommit.size() - 1; i >= 0 && match == null; i--) {
            FileModel.State s = model.sinceCommit.get(i);
            String m = MountedTree.mismatch(kernelA.sys(), s.tree(), s.liveOf());
            if (m == null) {
                match = s;
            } else if (first == null) {
                first = m;
            }
        }
        if (match == null) {
            throw new Finding("after the power cut the tree is none of the " + model.sinceCommit.size()
                    + " states since the last commit point; against the latest: " + first);
        }
        // Adopt the recovered state: the matched tree, with what the disk holds of files written since the commit.
        TreeMap<String, FileModel.Node> tree = new TreeMap<>();
        for (Map.Entry<String, FileModel.Node> x : match.tree().entrySet()) {
            FileModel.Node n = new FileModel.Node(x.getValue().type);
            n.data = n.type == 'f' ? MountedTree.readAll(kernelA.sys(), x.getKey()) : n.data;
            tree.put(x.getKey(), n);
        }
        model.tree = tree;
        line += " = ok, recovered " + (model.sinceCommit.indexOf(match)) + " calls after the commit point";
        Errno u = attempt(() -> kernelA.sys().unmount("/"));
        if (u != null) {
            throw new Finding("unmounting after the recovery failed with " + u);
        }
        fsckClean("after the power cut and recovery");
        Errno m = attempt(() -> kernelA.sys().mount(Signature.DISK, "/", "ext4", 0));
        if (m != null) {
            throw new Finding("mounting after the check failed with " + m);
        }
        model.commit();
    }

    private void fsckClean(String when) throws ErrnoException, Finding {
        try (HostDisk d = HostDisk.open(hostA, Signature.DISK, OpenMode.READ_ONLY)) {
            Invariants.extClean(d);
        } catch (AssertionError e) {
            throw new Finding(when + ": " + e.getMessage());
        }
    }
    // ---- the end ---------------------------------------------------------------------------

    private void finish() throws ErrnoException, Finding {
        world.link(Signature.LINK).heal();
        world.link(Signature.LINK).setLoss(0);
        for (StreamEnd rx : ends) {
            if (rx.awaitsBytes()) {
                drain(rx, rx.peer);
            }
        }
        if (!everMounted) {
            line += " = ok (d0 never mounted: still the fresh filesystem)";
            return;
        }
        Syscalls a = kernelA.sys();
        if (!mounted) {
            Errno e = attempt(() -> a.mount(Signature.DISK, "/", "ext4", 0));
            if (e != null) {
                throw new Finding("mounting d0 for the final check failed with " + e);
            }
        }
        String m = MountedTree.mismatch(a, model.tree, null);
        if (m != null) {
            throw new Finding("the tree at the end: " + m);
        }
        for (Res r : res.values()) {
            if (r.node != null && r.fd >= 0) {
                a.close(r.fd);
                r.fd = -1;
            }
        }
        Errno u = attempt(() -> a.unmount("/"));
        if (u != null) {
            throw new Finding("the final unmount failed with " + u);
        }
        fsckClean("after the final unmount");
        line += " = ok";
    }

    /** Whether {@code fd} has bytes, an end of stream or an error for a reader. */
    private static boolean readable(Syscalls s, int fd) {
        try {
            return s.poll(fd, POLLIN) != 0;
        } catch (ErrnoException e) {
            return true; // recv will report it
        }
    }

    /** Reads at {@code rx} until every byte {@code tx} sent arrived, an error ends it, or the watchdog fires. */
    private void drain(StreamEnd rx, StreamEnd tx) throws ErrnoException, Finding {
        Res r = null;
        for (Res x : res.values()) {
            if (x.end == rx) {
                r = x;
            }
        }
        long deadline = world.now() + WATCHDOG_MINUTES * 60_000 * MS;
        Syscalls s = sys(rx.host);
        int fd = r.fd;
        while (rx.delivered < tx.sent.size()) {
            // Run the world until the receiver has something to read (or an error to report), no further than the deadline.
            boolean ready = world.now() < deadline
                    && world.runUntil(() -> readable(s, fd), Duration.ofNanos(deadline - world.now()));
            if (!ready) {
                throw new Finding("liveness: " + rx.delivered + " of " + tx.sent.size() + " bytes delivered "
                        + WATCHDOG_MINUTES + " virtual minutes after the link came back, both ends open and reading");
            }
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            int[] n = {-1};
            Errno got = attempt(() -> n[0] = s.recv(fd, b, 0).length());
            if (got == Errno.EAGAIN) {
                throw new Finding("poll said readable, recv said EAGAIN");
            }
            if (got != null) {
                if (!FATAL.contains(got)) {
                    throw new Finding("recv at the end failed with " + got);
                }
                return;
            }
            rx.received(b.array(), n[0], b.capacity());
            if (n[0] == 0) {
                return;
            }
        }
        line += " [" + tx.sent.size() + " bytes delivered]";
    }
}
