package io.jrump.kernel.sys;

import io.jrump.hypercall.ErrnoException;
import java.util.List;

/** mount(2) and umount(2), as the filesystem component offers them to the kernel's {@link Syscalls}. */
public interface MountCalls {
    /**
     * Mounts what {@code source} names (a host block device or image, {@code IMAGE:N} for its
     * partition N) at {@code target}, as filesystem {@code type} ({@code "auto"} to probe).
     */
    void mount(String source, String target, String type, int flags) throws ErrnoException;

    void unmount(String target) throws ErrnoException;

    /** One line per mount, root first: {@code "/ ext4 rw"}. */
    List<String> mountPoints();
}
