package io.jrump.hypercall.conformance;

import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The fixture for hosts that run on real threads (the JVM host, the Linux host): polls real time
 * for {@link #runUntil}, and settles by queueing a marker task behind whatever each host's event
 * loop already holds. That is exact for hosts whose switch hands a frame to every receiving loop
 * before {@code send} returns, as the JVM host's in-process switch does.
 */
public final class RealTimeFixture implements HostFixture {
    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(10);

    private final String linkName;
    private final Function<String, Hypercalls> hostMaker;
    private final BiFunction<Path, String, String> deviceNamer;
    private final Path dir;
    private final AtomicInteger devices = new AtomicInteger();
    private final List<Hypercalls> hosts = new CopyOnWriteArrayList<>();

    /**
     * @param hostMaker makes a host by name; hosts it makes must share the segment {@code linkName}
     * @param deviceNamer the host's name for a fresh device, given a temporary directory (deleted on
     *     {@link #close}) and a unique stem
     */
    public RealTimeFixture(String linkName, Function<String, Hypercalls> hostMaker,
            BiFunction<Path, String, String> deviceNamer) throws IOException {
        this.linkName = linkName;
        this.hostMaker = hostMaker;
        this.deviceNamer = deviceNamer;
        this.dir = Files.createTempDirectory("jrump-conformance");
    }

    @Override
    public Hypercalls newHost(String name) {
        Hypercalls h = hostMaker.apply(name);
        hosts.add(h);
        return h;
    }

    @Override
    public String newDeviceName(String hint) {
        return deviceNamer.apply(dir, hint + "-" + devices.incrementAndGet());
    }

    @Override
    public String linkName() {
        return linkName;
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
    public void settle() {
        List<Hypercalls> open = List.copyOf(hosts);
        CountDownLatch markers = new CountDownLatch(open.size());
        for (Hypercalls h : open) {
            try {
                h.scheduler().execute(markers::countDown);
            } catch (IllegalStateException closed) {
                markers.countDown(); // a closed host has nothing left to deliver
            }
        }
        try {
            if (!markers.await(SETTLE_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("an event loop did not reach the marker within " + SETTLE_LIMIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    @Override
    public void close() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
