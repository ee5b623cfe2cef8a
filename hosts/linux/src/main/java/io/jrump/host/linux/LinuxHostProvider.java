package io.jrump.host.linux;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Lists the Linux host for {@code rump hosts}, and makes one for code that finds hosts through ServiceLoader. */
public final class LinuxHostProvider implements HostProvider {
    private static final Path TUN = Path.of("/dev/net/tun");
    private static final Path FUSE = Path.of("/dev/fuse");
    private static final int CAP_NET_ADMIN = 12;
    private static final int CAP_SYS_ADMIN = 21;

    @Override
    public String name() {
        return "linux";
    }

    @Override
    public String description() {
        return "native Linux host: the jvm host plus TAP interfaces, O_DIRECT files, block devices and FUSE mounts";
    }

    @Override
    public Optional<String> unavailableReason() {
        try {
            return LinuxHost.unavailableReason();
        } catch (LinkageError e) {
            return Optional.of("JNA is missing or broken: " + e);
        }
    }

    @Override
    public Optional<Hypercalls> createDefault(String instanceName) {
        return Optional.of(LinuxHost.create(instanceName));
    }

    @Override
    public List<String> deviceNames() {
        return List.of(
                "block direct:PATH  a regular file or block device, opened with O_DIRECT",
                "block /dev/NAME    a block device through the page cache",
                "block PATH         a regular host file, as on the jvm host",
                "block mem:NAME     a memory disk, as on the jvm host",
                "nic   tap:IFNAME   the Linux TAP interface IFNAME, created if missing (here: " + tapHere() + ")",
                "nic   NAME         a port on the in-process Ethernet switch NAME",
                "fuse  MOUNTPOINT   a FUSE mount through /dev/fuse (here: " + fuseHere() + ")");
    }

    /** What opening a TAP needs, checked on this machine. */
    static String tapHere() {
        if (!Files.isReadable(TUN) || !Files.isWritable(TUN)) {
            return "no usable " + TUN;
        }
        return hasCapability(CAP_NET_ADMIN) ? "can create and attach" : "can attach to a TAP owned by this user; creating needs CAP_NET_ADMIN";
    }

    /** What mounting needs, checked on this machine. */
    static String fuseHere() {
        if (!Files.isReadable(FUSE) || !Files.isWritable(FUSE)) {
            return "no usable " + FUSE;
        }
        if (hasCapability(CAP_SYS_ADMIN)) {
            return "mount(2) directly";
        }
        return onPath("fusermount3").map(f -> "through " + f).orElse("needs root or fusermount3, found neither");
    }

    private static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Whether this process has a capability in its effective set (/proc/self/status CapEff). */
    static boolean hasCapability(int bit) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(line.substring(7).strip(), 16) >>> bit & 1) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }
}
