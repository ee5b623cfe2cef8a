package io.jrump.bench;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Frames per second from one kernel's NIC to another's receiver across the in-process switch. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SwitchBenchmark {
    /** Below the per-port queue limit, so no frame is dropped. */
    private static final int BATCH = 1024;

    @Param({"60", "1514", "9018"})
    int frameLength;

    private JvmHost a;
    private JvmHost b;
    private HostNic nicA;
    private final AtomicLong received = new AtomicLong();
    private ByteBuffer frame;

    @Setup(Level.Trial)
    public void setUp() throws ErrnoException {
        SwitchRegistry switches = new SwitchRegistry();
        a = JvmHost.builder().name("bench-a").switches(switches).build();
        b = JvmHost.builder().name("bench-b").switches(switches).build();
        nicA = a.networkInterfaces().open("bench", NicOptions.mtu(9000), f -> { });
        HostNic nicB = b.networkInterfaces().open("bench", NicOptions.mtu(9000), f -> received.incrementAndGet());
        frame = ByteBuffer.allocate(frameLength);
        nicB.mac().write(frame, 0);
        nicA.mac().write(frame, 6);
        // Teach the switch where b is, so frames to it are forwarded, not flooded.
        ByteBuffer hello = ByteBuffer.allocate(60);
        MacAddress.BROADCAST.write(hello, 0);
        nicB.mac().write(hello, 6);
        nicB.send(hello);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void forward() throws ErrnoException {
        long target = received.get() + BATCH;
        for (int i = 0; i < BATCH; i++) {
            nicA.send(frame);
        }
        while (received.get() < target) {
            Thread.onSpinWait();
        }
    }
}
