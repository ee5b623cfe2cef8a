package io.jrump.host.linux;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The Linux host against the conformance kit, with its block devices on {@code direct:} files (so
 * {@link LinuxBlockDevice} with {@code O_DIRECT}) and its NICs on in-process switches (TAP needs a
 * second end outside the host; {@link TapNicTest} covers it).
 */
class LinuxHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() throws Exception {
        return new LinuxFixture(LinuxHost.DIRECT_PREFIX);
    }

    /** Polls real time; the hosts run on their own threads. */
    static final class LinuxFixture implements HostFixture {
        private final SwitchRegistry switches = new SwitchRegistry();
        private final Path dir;
        private final String prefix;
        private final AtomicInteger devices = new AtomicInteger();

        LinuxFixture(String prefix) throws Exception {
            this.prefix = prefix;
            this.dir = Files.createTempDirectory("jrump-linux-conformance");
        }

        @Override
        public Hypercalls newHost(String name) {
            return LinuxHost.over(JvmHost.builder().name(name).switches(switches).build());
        }

        @Override
        public String newDeviceName(String hint) {
            return prefix + dir.resolve(hint + "-" + devices.incrementAndGet() + ".img");
        }

        @Override
        public String linkName() {
            return "conformance";
        }

        @Override
        public void runUntil(BooleanSupplier condition, Duration limit) {
            long end = System.nanoTime() + limit.toNanos();
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() > end) {
                    throw new AssertionError("condition not reached within " + limit);
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted");
                }
            }
        }

        @Override
        public void runFor(Duration time) {
            try {
                Thread.sleep(time.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws java.io.IOException {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
