package io.jrump.host.jvm;

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

/** The JVM host against the conformance kit, with file-backed devices in a temporary directory. */
class JvmHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() throws Exception {
        return new JvmFixture(false);
    }

    /** Polls real time; the hosts run on their own threads. */
    static final class JvmFixture implements HostFixture {
        private final SwitchRegistry switches = new SwitchRegistry();
        private final Path dir;
        private final boolean memory;
        private final AtomicInteger devices = new AtomicInteger();

        JvmFixture(boolean memory) throws Exception {
            this.memory = memory;
            this.dir = Files.createTempDirectory("jrump-jvm-conformance");
        }

        @Override
        public Hypercalls newHost(String name) {
            return JvmHost.builder().name(name).switches(switches).build();
        }

        @Override
        public String newDeviceName(String hint) {
            String n = hint + "-" + devices.incrementAndGet();
            return memory ? JvmHost.MEMORY_PREFIX + n : dir.resolve(n + ".img").toString();
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
                Thread.onSpinWait();
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
