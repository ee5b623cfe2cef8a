package io.jrump.cli;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.host.sim.SimLink;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code rump demo}: boots two kernels on one Ethernet segment and shows frames crossing it, on
 * the JVM host or, reproducibly from a seed, on the simulation host.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Boot two kernels on one switch and show frames crossing it.",
        subcommands = DemoHttpCommand.class,
        footer = {"", "On --host sim the run is a pure function of --seed: it ends with a line 'trace HEX'",
            "that is the same for the same seed. The simulated link loses 20%% of frames and jitters delay.",
            "'rump demo http' serves a file over HTTP/1.1 from one kernel's TCP/IP stack to the other's."})
final class DemoCommand implements java.util.concurrent.Callable<Integer> {
    private static final String LINK = "demo0";

    @Spec
    CommandSpec spec;

    @Option(names = "--host", defaultValue = "jvm", description = "jvm or sim (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--seed", description = "Seed of the simulation (--host sim only; default 1).")
    Long seed;

    @Option(names = "--rounds", defaultValue = "5", description = "Ping/pong rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (rounds < 1 || rounds > 10_000) {
            throw new ParameterException(spec.commandLine(), "--rounds must be 1..10000, not " + rounds);
        }
        return switch (host) {
            case "jvm" -> {
                if (seed != null) {
                    throw new ParameterException(spec.commandLine(), "--seed needs --host sim");
                }
                yield onJvm();
            }
            case "sim" -> onSim(seed == null ? 1 : seed);
            default -> throw new ParameterException(spec.commandLine(),
                    "unknown host '" + host + "' (choose jvm or sim)");
        };
    }

    private int onJvm() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.println("jrump demo: two kernels on the in-process switch " + LINK + " (host jvm)");
        SwitchRegistry switches = new SwitchRegistry();
        try (RumpKernel a = boot(JvmHost.builder().name("a").switches(switches).build(), "a");
                RumpKernel b = boot(JvmHost.builder().name("b").switches(switches).build(), "b")) {
            FrameDemo demo = new FrameDemo(a, b, LINK, rounds, out);
            demo.start();
            if (!demo.finished().await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("demo did not finish in 30 s");
            }
            return summary(out, demo);
        }
    }

    private int onSim(long s) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.println("jrump demo: two kernels on the simulated switch " + LINK + " (host sim, seed " + s + ")");
        SimWorld world = new SimWorld(s);
        SimLink link = world.link(LINK);
        link.setLoss(0.2);
        link.setDelay(50_000, 30_000);
        try (RumpKernel a = boot(world.newHost("a"), "a"); RumpKernel b = boot(world.newHost("b"), "b")) {
            FrameDemo demo = new FrameDemo(a, b, LINK, rounds, out);
            demo.start();
            if (!world.runUntil(() -> demo.finished().getCount() == 0, Duration.ofSeconds(60))) {
                throw new IllegalStateException("demo did not finish in 60 s of simulated time");
            }
            int code = summary(out, demo);
            out.printf("link %s: %d frames delivered, %d lost%n", LINK, link.delivered(),
                    link.dropped(SimLink.Drop.LOSS));
            out.println("trace " + world.traceHex());
            return code;
        }
    }

    private static RumpKernel boot(Hypercalls host, String name) throws Exception {
        return RumpKernel.boot(host, BootOptions.defaults().withName(name));
    }

    private static int summary(PrintWriter out, FrameDemo demo) {
        out.printf("a sent %d pings and got %d pongs; b answered %d pings%n", demo.sent(), demo.replies(),
                demo.answered());
        if (demo.failure() != null) {
            out.flush();
            throw new IllegalStateException("demo failed: " + demo.failure());
        }
        return 0;
    }
}
