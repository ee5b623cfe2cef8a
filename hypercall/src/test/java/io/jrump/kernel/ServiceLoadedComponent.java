package io.jrump.kernel;

import java.util.concurrent.atomic.AtomicInteger;

/** Registered in META-INF/services to show that boot finds components through ServiceLoader. */
public final class ServiceLoadedComponent implements Component {
    static final AtomicInteger starts = new AtomicInteger();
    static final AtomicInteger stops = new AtomicInteger();

    @Override
    public String name() {
        return "test-service-loaded";
    }

    @Override
    public void start(RumpKernel kernel) {
        starts.incrementAndGet();
    }

    @Override
    public void stop() {
        stops.incrementAndGet();
    }
}
