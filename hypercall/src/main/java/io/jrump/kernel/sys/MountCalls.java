package io.jrump.kernel.sys;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.List;

/** mount(2) and umount(2), as the filesystem component offers them to the kernel's {@link Syscalls}. */
public interface MountCalls {
    /**
     * Mounts what {@code source} names (a host block device or image, {@code IMAGE:N} for its
     * partition N) at {@code target}, as filesystem {@code type} ({@code "auto"} to probe).
     */
    void mount(String source, String target, String type, int flags) throws ErrnoException;

    /**
     * As {@link #mount(String, String, String, int)}, with {@code data}: the filesystem's own
     * options, comma-separated as {@code mount -o} takes them ({@code "force,check=full"}); empty
     * or null for none. A filesystem refuses an option it does not know with {@code EINVAL}.
     */
    default void mount(String source, String target, String type, int flags, String data) throws ErrnoException {
        if (data != null && !data.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "mount " + source + ": options '" + data
                    + "' given, but this filesystem component takes none");
        }
        mount(source, target, type, flags);
    }

    void unmount(String target) throws ErrnoException;

    /** One line per mount, root first: {@code "/ ext4 rw"}. */
    List<String> mountPoints();
}
