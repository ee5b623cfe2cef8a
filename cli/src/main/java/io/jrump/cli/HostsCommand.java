package io.jrump.cli;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.Component;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code rump hosts}: the hosts and components on the class path, and the hypercall version. */
@Command(name = "hosts", description = "List the hosts and kernel components this rump can use.")
final class HostsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("hypercall version " + Hypercalls.VERSION);
        out.println();
        out.println("hosts:");
        List<HostProvider> hosts = new ArrayList<>();
        ServiceLoader.load(HostProvider.class).forEach(hosts::add);
        hosts.sort(Comparator.comparing(HostProvider::name));
        for (HostProvider h : hosts) {
            String status = h.unavailableReason().map(r -> "unavailable: " + r).orElse("available");
            String version = h.hypercallVersion() == Hypercalls.VERSION ? ""
                    : " (implements hypercall version " + h.hypercallVersion() + ": cannot boot kernels)";
            out.printf("  %-6s %s%s%n", h.name(), status, version);
            out.printf("         %s%n", h.description());
            for (String d : h.deviceNames()) {
                out.printf("         %s%n", d);
            }
        }
        if (hosts.isEmpty()) {
            out.println("  (none found)");
        }
        out.println();
        out.println("components:");
        List<Component> components = new ArrayList<>();
        ServiceLoader.load(Component.class).forEach(components::add);
        components.sort(Comparator.comparing(Component::name));
        for (Component c : components) {
            out.printf("  %-6s %s%s%n", c.name(), c.getClass().getName(),
                    c.dependencies().isEmpty() ? "" : " (needs " + String.join(", ", c.dependencies()) + ")");
        }
        if (components.isEmpty()) {
            // rump-blk and rump-fs are libraries called directly; rump-net's NetStack is handed to
            // RumpKernel.boot as an instance (BootOptions.withComponentInstances).
            out.println("  (none registered for discovery: components are passed to boot as instances)");
        }
    }
}
