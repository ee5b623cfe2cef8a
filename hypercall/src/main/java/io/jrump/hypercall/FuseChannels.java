package io.jrump.hypercall;

/**
 * Optional device group: FUSE channels, the host's {@code /dev/fuse} mounts. A host that offers it
 * returns it from {@link Hypercalls#fuse()} (and from {@code optional(FuseChannels.class)}).
 * Thread-safe.
 */
public interface FuseChannels {
    /**
     * Opens a FUSE connection and mounts it on {@code mountpoint}, an existing directory of the
     * host. The returned channel delivers the kernel's requests for that mount.
     *
     * @param fsName the mount's source, as {@code /proc/mounts} shows it
     * @param readOnly mount read-only
     * @param allowOther let users other than the mounting one into the mount
     * @throws ErrnoException {@code ENOENT} or {@code ENOTDIR} for a missing or non-directory
     *     mountpoint; {@code EPERM} if the host may not mount (not root, and no other way); {@code
     *     ENODEV} if the host has no FUSE driver; {@code EINVAL} for a malformed name; {@code
     *     ESHUTDOWN} once the host is closed
     */
    HostFuseChannel open(String mountpoint, String fsName, boolean readOnly, boolean allowOther) throws ErrnoException;
}
