package io.jrump.host.jvm;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.util.List;
import java.util.Optional;

/** Lists the JVM host for {@code rump hosts}, and makes one for code that finds hosts through ServiceLoader. */
public final class JvmHostProvider implements HostProvider {
    @Override
    public String name() {
        return "jvm";
    }

    @Override
    public String description() {
        return "portable userspace host: real clock, event-loop thread, host files, in-process switch";
    }

    @Override
    public Optional<Hypercalls> createDefault(String instanceName) {
        return Optional.of(JvmHost.create(instanceName));
    }

    @Override
    public List<String> deviceNames() {
        return List.of(
                "block PATH      a regular host file; grows on writes past its end, stays sparse",
                "block mem:NAME  a memory disk of this host, made by create(name, size)",
                "nic   NAME      a port on the in-process Ethernet switch NAME");
    }
}
