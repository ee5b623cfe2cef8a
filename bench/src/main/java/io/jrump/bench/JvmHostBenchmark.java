package io.jrump.bench;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The JVM host's hot paths: a task round trip through the event loop and a 4 KiB read from a
 * memory disk, each from submission to callback. Frames across the switch are in
 * {@link SwitchBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JvmHostBenchmark {
    private static final int BATCH = 1024;

    private JvmHost a;
    private HostBlockDevice disk;
    private final AtomicLong ran = new AtomicLong();
    private ByteBuffer block;

    @Setup(Level.Trial)
    public void setUp() throws ErrnoException {
        a = JvmHost.builder().name("bench-a").switches(new SwitchRegistry()).build();
        a.blockDevices().create("mem:bench", 64L << 20).close();
        disk = a.blockDevices().open("mem:bench", OpenMode.READ_WRITE);
        block = ByteBuffer.allocateDirect(4096);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
    }

    /** Tasks per second through execute() and the loop, waiting for each batch to drain. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void eventLoopExecute() {
        long target = ran.get() + BATCH;
        for (int i = 0; i < BATCH; i++) {
            a.scheduler().execute(ran::incrementAndGet);
        }
        while (ran.get() < target) {
            Thread.onSpinWait();
        }
    }

    /** 4 KiB reads per second from a memory disk, one at a time (queue depth 1). */
    @Benchmark
    public long memoryDiskRead4k() {
        AtomicLong done = new AtomicLong(-1);
        disk.read(4096L * (ran.incrementAndGet() & 1023), block, (n, e) -> done.set(n));
        while (done.get() < 0) {
            Thread.onSpinWait();
        }
        return done.get();
    }
}
