package io.jrump.host.linux;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.util.List;
import java.util.Optional;

/** Lists the Linux host for {@code rump hosts}, and makes one for code that finds hosts through ServiceLoader. */
public final class LinuxHostProvider implements HostProvider {
    @Override
    public String name() {
        return "linux";
    }

    @Override
    public String description() {
        return "native Linux host: the jvm host plus TAP interfaces, O_DIRECT files and block devices";
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
                "nic   tap:IFNAME   the Linux TAP interface IFNAME, created if missing",
                "nic   NAME         a port on the in-process Ethernet switch NAME");
    }
}
