package io.jrump.fs.vfs;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.Hypercalls;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * A kind of filesystem, as NetBSD's {@code vfsops} or Linux's {@code file_system_type}: a name, a
 * probe that says whether a block device holds one, and a mount. Implementations are found
 * through {@link java.util.ServiceLoader} ({@code META-INF/services/io.jrump.fs.vfs.FileSystemType})
 * by {@link FileSystemTypes}, which every way in — {@code Mounts}, the nio provider, {@code rump fs},
 * {@code rump mount}, {@code rump image info} — asks; a new filesystem is one more such class.
 * Implementations are stateless and thread-safe.
 */
public interface FileSystemType {

    /**
     * How to mount: read-only or not, the wall clock for timestamps, filesystem-specific options
     * (as {@code mount -o}; a type refuses any it does not know with {@code EINVAL}), what to
     * close after the filesystem is unmounted, or at once if the mount fails, and the console that
     * warnings about damage the filesystem works around go to (none if null).
     */
    record Options(boolean readOnly, LongSupplier wallNanos, Map<String, String> options, List<AutoCloseable> owned,
                   HostConsole console, Hypercalls host) {
        public Options {
            Objects.requireNonNull(wallNanos, "wallNanos");
            options = Map.copyOf(options);
            owned = List.copyOf(owned);
        }

        public Options(boolean readOnly, LongSupplier wallNanos, Map<String, String> options, List<AutoCloseable> owned,
                       HostConsole console) {
            this(readOnly, wallNanos, options, owned, console, null);
        }

        /**
         * A {@code mount -o} string as options: {@code "force,check=full"} is {@code force} with
         * the value "" and {@code check} with "full"; empty items are skipped.
         *
         * @throws ErrnoException {@code EINVAL} for an item with no name ({@code "=x"}) or a name given twice
         */
        public static Map<String, String> parse(String data) throws ErrnoException {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            for (String item : data == null ? new String[0] : data.split(",")) {
                if (item.isBlank()) {
                    continue;
                }
                int eq = item.indexOf('=');
                String name = (eq < 0 ? item : item.substring(0, eq)).strip();
                if (name.isEmpty()) {
                    throw new ErrnoException(Errno.EINVAL, "mount option '" + item + "' has no name");
                }
                if (out.put(name, eq < 0 ? "" : item.substring(eq + 1).strip()) != null) {
                    throw new ErrnoException(Errno.EINVAL, "mount option '" + name + "' is given twice");
                }
            }
            return out;
        }

        /** Read-write unless {@code readOnly}, no extra options, nothing owned. */
        public static Options of(boolean readOnly, LongSupplier wallNanos) {
            return new Options(readOnly, wallNanos, Map.of(), List.of(), null, null);
        }

        public Options withOwned(List<AutoCloseable> things) {
            return new Options(readOnly, wallNanos, options, things, console, host);
        }

        public Options withOptions(Map<String, String> o) {
            return new Options(readOnly, wallNanos, o, owned, console, host);
        }

        public Options withConsole(HostConsole c) {
            return new Options(readOnly, wallNanos, options, owned, c, host);
        }

        /**
         * The same, with the host whose clock, scheduler and randomness a type may need beyond
         * timestamps (ext4's multi-mount protection waits on them); none if null.
         */
        public Options withHost(Hypercalls h) {
            return new Options(readOnly, wallNanos, options, owned, console, h);
        }

        /** Closes what the mount owns, after a failed mount: its errors go to {@code failure} as suppressed. */
        public void closeOwned(Throwable failure) {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    failure.addSuppressed(e);
                }
            }
        }
    }

    /** The type's name, as {@code mount -t} takes it: {@code ext4}, {@code vfat}, ... */
    String name();

    /** Other names the type answers to ({@code ext2} and {@code ext3} for {@code ext4}). */
    default List<String> aliases() {
        return List.of();
    }

    /**
     * What the device holds, if it is this type: one line such as {@code "ext4, 4096-byte blocks,
     * 65536 blocks, label 'root'"}; empty if it is not. Reads at most the first few KiB; never
     * writes.
     *
     * @throws ErrnoException only when the device cannot be read
     */
    Optional<String> probe(BlockDevice dev) throws ErrnoException;

    /**
     * Mounts the filesystem on {@code dev}. Closing the result unmounts it, then closes
     * {@code options.owned()}.
     *
     * @throws ErrnoException {@code EINVAL} for an unknown option, {@code EUCLEAN} or {@code EIO}
     *     naming the structure for a damaged filesystem, whatever the device reports; the owned
     *     resources are closed in every case
     */
    FileSystemOps mount(BlockDevice dev, Options options) throws ErrnoException;
}
