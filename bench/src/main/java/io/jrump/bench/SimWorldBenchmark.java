package io.jrump.bench;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How fast the simulation runs: scheduled tasks per second of real time, and frames per second
 * across a simulated link, with tracing on as always. This bounds how many simulated seconds a
 * test or fuzz run gets per real second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SimWorldBenchmark {
    private static final int BATCH = 1024;

    private SimWorld world;
    private SimHost host;
    private HostNic tx;
    private ByteBuffer frame;
    private long received;

    @Setup(Level.Iteration)
    public void setUp() throws ErrnoException {
        world = new SimWorld(1);
        host = world.newHost("a");
        SimHost b = world.newHost("b");
        tx = host.networkInterfaces().open("bench", NicOptions.defaults(), f -> { });
        HostNic rx = b.networkInterfaces().open("bench", NicOptions.defaults(), f -> received++);
        frame = ByteBuffer.allocate(1514);
        rx.mac().write(frame, 0);
        tx.mac().write(frame, 6);
        ByteBuffer hello = ByteBuffer.allocate(60);
        MacAddress.BROADCAST.write(hello, 0);
        rx.mac().write(hello, 6);
        rx.send(hello);
        world.runFor(1_000_000);
    }

    /** Timer events per second: schedule a batch at spread deadlines, run them all. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long timers() {
        long now = world.now();
        long[] sum = new long[1];
        for (int i = 0; i < BATCH; i++) {
            int n = i;
            host.scheduler().executeAt(now + (i * 7919L) % 1_000_000, () -> sum[0] += n);
        }
        world.runFor(1_000_000);
        return sum[0];
    }

    /** 1514-byte frames per second across a simulated link, delivery included. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long frames() throws ErrnoException {
        for (int i = 0; i < BATCH; i++) {
            tx.send(frame);
        }
        world.runFor(1_000_000);
        return received;
    }
}
