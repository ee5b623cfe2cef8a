package io.jrump.fuzz.kit.program;

import io.jrump.fuzz.kit.Invariants;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Syscalls;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs a {@link Program} in a simulated world and checks it against a model after every call.
 *
 * <p>The world: host {@code a} (198.18.0.1/24) boots a kernel with the block layer, the VFS (a
 * {@link #CACHE_BYTES} buffer cache under the mount) and a TCP/IP stack and holds disk
 * {@code d0}, a fresh ext4 (journal on, 1 KiB blocks, fixed UUID and time, made once per JVM and
 * disk size); host {@code b} (198.18.0.2/24) boots a stack only; both
 * are on link {@code lan}. File calls go to a's {@link Syscalls}, socket calls to their host's.
 * Sockets are non-blocking (set right after {@code socket} and {@code accept}); a closed
 * descriptor, or one whose host lost power, is passed as -1. After each call the world runs
 * {@value #STEP_MILLIS} ms of virtual time.
 *
 * <p>Checked after each call (a failure is a finding at that call's index):
 * <ul>
 *   <li>file calls return what POSIX says for the modelled tree, errno included; {@code pread}
 *       returns the model's bytes, {@code stat} its type and size;</li>
 *   <li>{@code powercut()} cuts d0's power (unflushed writes lost, kept or torn), reboots host a
 *       and, if d0 was mounted, mounts it again: the tree must then be one of the model's states
 *       since the last commit point (fsync, sync, mount, umount) — names, types, sizes, and the
 *       bytes of every file not written since that point — and our fsck must find it clean;</li>
 *   <li>socket calls return success or an errno of their defined set ({@code EBADF} exactly when
 *       the descriptor is closed); bytes received are the next bytes the peer sent, never more;
 *       end of stream only after the peer shut down or closed and only after all its bytes;
 *       {@code send} after {@code SHUT_WR} fails; an accepted connection comes from a socket of
 *       the program;</li>
 *   <li>both stacks are sane ({@link Invariants#stackSane}) and no simulated task threw.</li>
 * </ul>
 * At the end (step index = number of calls): the link is healed and loss set to 0; every
 * connection with bytes outstanding whose ends are both open must deliver them within
 * {@value #WATCHDOG_MINUTES} virtual minutes while its receiver reads (or report an error); then the
 * tree must equal the model exactly and, after unmounting, our fsck must find d0 clean (both
 * skipped when d0 was never mounted: it still holds the fresh filesystem).
 *
 * <p>The same program gives the same run: the same {@link Result}, the same trace, the same
 * world trace hash.
 */
public final class ProgramRunner {
    /** Virtual time run after each call. */
    public static final long STEP_MILLIS = 1;
    /** How long the final liveness check waits for outstanding bytes, in virtual minutes. */
    public static final long WATCHDOG_MINUTES = 10;
    /** Host a's address. */
    public static final String ADDRESS_A = "198.18.0.1";
    /** Host b's address. */
    public static final String ADDRESS_B = "198.18.0.2";

    /** The buffer cache under the mount: 1 MiB, small like the disk, so that write-back and eviction run often. */
    public static final long CACHE_BYTES = 1 << 20;

    /** What a run found: nothing ({@link #ok()}), or the call at which an invariant broke and how. */
    public record Result(int step, String call, String message, List<String> trace, String worldTraceHash) {
        public Result {
            trace = List.copyOf(trace);
        }

        /** True when every check held. */
        public boolean ok() {
            return message == null;
        }

        /** "ok", or "finding at step N (call): what failed". */
        @Override
        public String toString() {
            return ok() ? "ok" : "finding at step " + step + " (" + call + "): " + message;
        }
    }

    /**
     * Something that changes the world behind the model's back after a call: for testing that the
     * checks catch what they claim to (a harness never sets one).
     */
    @FunctionalInterface
    public interface Interference {
        /** Called after call {@code step} (and its checks) with host a's system calls. */
        void after(int step, Syscalls hostA) throws ErrnoException;
    }

    private ProgramRunner() {
    }

    /** Runs {@code program} without printing. */
    public static Result run(Program program) {
        return run(program, null, null);
    }

    /** Runs {@code program}, printing each call and its result to {@code trace} (may be null) as it goes. */
    public static Result run(Program program, PrintStream trace) {
        return run(program, trace, null);
    }

    /** Runs {@code program} with {@code interference} (may be null) after each call. */
    public static Result run(Program program, PrintStream trace, Interference interference) {
        return new ProgramExecution(program, trace, interference).run();
    }

    /**
     * Reads the program in {@code file} and runs it, printing each call with its result or errno
     * as it goes, like strace, then the result: the entry point of {@code rump fuzz replay FILE}.
     *
     * @throws ErrnoException what {@link Program#parse} says of a malformed program
     * @throws IOException if the file cannot be read
     */
    public static Result replay(Path file, PrintStream trace) throws IOException, ErrnoException {
        if (Files.size(file) > Program.MAX_TEXT * 4L) {
            throw new ErrnoException(Errno.EINVAL, file + ": larger than a program can be");
        }
        Program p = Program.parse(Files.readString(file, StandardCharsets.UTF_8));
        Result r = run(p, trace);
        if (trace != null) {
            trace.println(r);
        }
        return r;
    }
}
